-- Recurring schedules (docs/workflows.md). The API's statements are scoped by the
-- organization ($1): another organization's schedule is indistinguishable from a missing
-- one. Every change writes its audit row in the same statement.

-- fragment: schedule_columns
id, organization_id, user_id, cron, timezone, job_type, payload, priority, max_retries,
paused, misfire_policy, overlap_policy, next_run_at, last_run_at, last_job_id, last_error,
last_error_at, created_at, updated_at

-- name: create_schedule
WITH created AS (
    INSERT INTO schedules (organization_id, user_id, cron, timezone, job_type, payload, priority,
                           max_retries, paused, misfire_policy, overlap_policy, next_run_at)
    VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::integer, $8::integer, $9::boolean, $10, $11,
            $12::timestamptz)
    RETURNING {{schedule_columns}}
), audit AS (
    INSERT INTO audit_logs (organization_id, user_id, actor, action, details)
    SELECT organization_id, user_id, 'user', 'schedule.created',
           jsonb_build_object('scheduleId', id, 'cron', cron, 'timezone', timezone,
                              'jobType', job_type, 'paused', paused)
      FROM created
)
SELECT * FROM created;

-- name: count_schedules
SELECT count(*) FROM schedules WHERE organization_id = $1;

-- Newest first (schedules_org_created_idx).
-- name: list_schedules
SELECT {{schedule_columns}}
  FROM schedules
 WHERE organization_id = $1
 ORDER BY created_at DESC, seq DESC
 LIMIT $2 OFFSET $3;

-- name: get_schedule
SELECT {{schedule_columns}} FROM schedules WHERE id = $2 AND organization_id = $1;

-- Every editable column at once (the service merged the change into the current row).
-- $3 is the user making the change (audited; the owner stays). $14: whether the timing
-- changed (cron, zone, paused), so $13 is the new next fire time; otherwise the row's own
-- stays, as the scheduler may have moved it on since the service read the row. `changes`
-- names what differs from before.
-- name: update_schedule
WITH before AS (
    SELECT * FROM schedules WHERE id = $2 AND organization_id = $1 FOR UPDATE
), changed AS (
    UPDATE schedules s
       SET cron = $4, timezone = $5, job_type = $6, payload = $7::jsonb, priority = $8::integer,
           max_retries = $9::integer, paused = $10::boolean, misfire_policy = $11,
           overlap_policy = $12,
           next_run_at = CASE WHEN $14::boolean THEN $13::timestamptz ELSE b.next_run_at END,
           updated_at = now()
      FROM before b
     WHERE s.id = b.id
    RETURNING s.*
), audit AS (
    INSERT INTO audit_logs (organization_id, user_id, actor, action, details)
    SELECT c.organization_id, $3, 'user',
           CASE WHEN c.paused AND NOT b.paused THEN 'schedule.paused'
                WHEN b.paused AND NOT c.paused THEN 'schedule.resumed'
                ELSE 'schedule.updated' END,
           jsonb_build_object('scheduleId', c.id, 'changes',
               (SELECT coalesce(jsonb_object_agg(n.key, n.value), '{}'::jsonb)
                  FROM jsonb_each(to_jsonb(c) - 'updated_at' - 'next_run_at') n
                 WHERE to_jsonb(b) -> n.key IS DISTINCT FROM n.value))
      FROM changed c JOIN before b ON b.id = c.id
)
SELECT {{schedule_columns}} FROM changed;

-- name: delete_schedule
WITH deleted AS (
    DELETE FROM schedules WHERE id = $2 AND organization_id = $1
    RETURNING id, organization_id, cron, job_type
), audit AS (
    INSERT INTO audit_logs (organization_id, user_id, actor, action, details)
    SELECT organization_id, $3, 'user', 'schedule.deleted',
           jsonb_build_object('scheduleId', id, 'cron', cron, 'jobType', job_type)
      FROM deleted
)
SELECT count(*) = 1 FROM deleted;

-- The scheduler (schedules/firing.py), one schedule per transaction. The earliest due
-- active schedule that no other scheduler holds, locked until this transaction ends:
-- with SKIP LOCKED, several worker processes fire different schedules at once and never
-- the same one. `now` is the database's clock, the one clock every machine shares.
-- name: lock_due_schedule
SELECT {{schedule_columns}}, now() AS now
  FROM schedules
 WHERE NOT paused AND next_run_at <= now()
 ORDER BY next_run_at
 LIMIT 1
   FOR UPDATE SKIP LOCKED;

-- Whether a job of the schedule is still waiting or running (overlap: skip), through
-- jobs_schedule_firing_idx.
-- name: schedule_has_active_job
SELECT EXISTS (SELECT 1 FROM jobs
                WHERE schedule_id = $1 AND status IN ('queued', 'running', 'retrying'));

-- One firing's job, under the same quotas as POST /v1/jobs (jobrunner_admit_job, see
-- create_job) and audited as the owner's job created by the system. Like a job created
-- through POST /v1/jobs without a callbackUrl, it takes the organization's default
-- callback URL (organization_webhooks), fixed for the job from now on. The unique
-- (schedule_id, scheduled_for) makes a second insert for the same firing a no-op: `id`
-- is NULL then and `refused` too.
-- name: create_scheduled_job
WITH admit AS MATERIALIZED (
    SELECT refused, quota, retry_after FROM jobrunner_admit_job($1, $2, $9, $10)
), job AS (
    INSERT INTO jobs (organization_id, user_id, job_type, priority, max_retries, payload,
                      total_steps, schedule_id, scheduled_for, callback_url)
    SELECT $1, $2, $3, $4::integer, $5::integer, $6::jsonb, $7::integer, $8::uuid, $11::timestamptz,
           -- The organization's default callback URL, as for a job created over the API
           -- without one (docs/webhooks.md).
           (SELECT w.callback_url FROM organization_webhooks w WHERE w.organization_id = $1)
      FROM admit WHERE admit.refused IS NULL
        ON CONFLICT (schedule_id, scheduled_for) WHERE schedule_id IS NOT NULL DO NOTHING
    RETURNING id, organization_id, user_id, job_type, priority, max_retries, schedule_id, scheduled_for
), audit AS (
    INSERT INTO audit_logs (organization_id, user_id, actor, action, job_id, details)
    SELECT organization_id, user_id, 'system', 'job.created', id,
           jsonb_build_object('jobType', job_type, 'priority', priority,
                              'maxRetries', max_retries, 'scheduleId', schedule_id,
                              'scheduledFor', scheduled_for)
      FROM job
)
SELECT (SELECT id FROM job) AS id, refused, quota, retry_after FROM admit;

-- After a round for one schedule: its next fire time, and what the round did. $3/$4:
-- the last fire time that made a job and that job (NULL: keep the previous ones); $5:
-- why a firing made no job (NULL: it did; the error is cleared).
-- name: schedule_fired
UPDATE schedules
   SET next_run_at = $2::timestamptz,
       last_run_at = coalesce($3::timestamptz, last_run_at),
       last_job_id = coalesce($4::uuid, last_job_id),
       last_error = $5,
       last_error_at = CASE WHEN $5::text IS NULL THEN NULL ELSE now() END
 WHERE id = $1;
