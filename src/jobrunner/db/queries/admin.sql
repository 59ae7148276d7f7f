-- The operations console's statements (jobs/admin.py). Every statement is scoped by the
-- caller's organization ($1) and nothing else: an administrator with jobs.manage_jobs sees
-- every user's jobs of their organization, and no other organization's.

-- Which jobs a console filter names. The same parameters in every statement that uses it:
--   $2, $3  an id or id prefix as a range of uuids (the primary key serves it)
--   $4      the user who created the job       $5  the job type
--   $6      any of these states                 $7, $8  created in [$7, $8)
--   $9      a selection of ids
-- NULL means "any". The statements run with plan_cache_mode = force_custom_plan (see
-- AdminRepository), so the planner sees the values and picks the index they allow.
-- fragment: admin_job_filter
organization_id = $1
AND ($2::uuid IS NULL OR id BETWEEN $2::uuid AND $3::uuid)
AND ($4::text IS NULL OR user_id = $4::text)
AND ($5::text IS NULL OR job_type = $5::text)
AND ($6::job_status[] IS NULL OR status = ANY ($6::job_status[]))
AND ($7::timestamptz IS NULL OR created_at >= $7::timestamptz)
AND ($8::timestamptz IS NULL OR created_at < $8::timestamptz)
AND ($9::uuid[] IS NULL OR id = ANY ($9::uuid[]))

-- How many jobs the filter names, counted up to $10 (a console shows "more than 10 000"
-- rather than counting an organization's whole history).
-- name: admin_count_jobs
SELECT count(*) FROM (SELECT 1 FROM jobs WHERE {{admin_job_filter}} LIMIT $10) c;

-- One page of the organization's jobs, newest first (jobs_org_created_idx; a user filter
-- takes jobs_owner_created_idx, an id the primary key). No payload or result: the detail
-- has them.
-- name: admin_list_jobs
SELECT id, user_id, job_type, status::text AS status, priority, retry_count, max_retries,
       progress, error_message, created_at, started_at, completed_at, scheduled_at, updated_at
  FROM jobs
 WHERE {{admin_job_filter}}
 ORDER BY created_at DESC, seq DESC
 LIMIT $10 OFFSET $11;

-- One job of the organization with the engine's view of it (attempts started, holder).
-- name: admin_job
SELECT {{job_columns}}, attempts, locked_by
  FROM jobs WHERE id = $2 AND organization_id = $1;

-- A job's history: every audit row about it, oldest first, whoever wrote it (the API,
-- the console, the worker, the rescuer), with the acting user's name. At most $3 rows.
-- name: admin_job_history
SELECT a.id, a.created_at, a.actor, a.action, a.user_id, u.display_name, a.details
  FROM audit_logs a
  LEFT JOIN users u ON u.id = a.user_id
 WHERE a.job_id = $2 AND a.organization_id = $1
 ORDER BY a.created_at, a.id
 LIMIT $3;

-- Bulk cancel of what a filter or a selection names, in ONE statement: at most $10 jobs
-- of the cancellable states (the same guard as cancel_job; the trigger of migration 0005
-- checks the move), each with an audit row by the administrator ($11). `more`: the filter
-- names further cancellable jobs (call again). A job that changed state since the
-- snapshot is re-checked by the UPDATE (READ COMMITTED) and left alone.
-- name: admin_cancel_jobs
WITH picked AS (
    SELECT id FROM jobs
     WHERE {{admin_job_filter}} AND status IN ('queued', 'running', 'retrying')
     LIMIT $10 + 1
), changed AS (
    UPDATE jobs
       SET status = 'cancelled', cancelled_at = now(), completed_at = now(), updated_at = now()
     WHERE id = ANY (ARRAY(SELECT id FROM picked LIMIT $10))
       AND organization_id = $1 AND status IN ('queued', 'running', 'retrying')
    RETURNING id, organization_id
), audit AS (
    INSERT INTO audit_logs (organization_id, user_id, actor, action, job_id, details)
    SELECT organization_id, $11, 'user', 'job.cancelled', id, '{"via": "console"}'::jsonb FROM changed
)
SELECT ARRAY(SELECT id FROM changed) AS ids, (SELECT count(*) FROM picked) > $10 AS more;

-- "Retry anyway", in bulk or for one job: failed jobs back to the queue whatever their
-- retries (the one exception to canRetry), with a fresh automatic retry budget
-- (retry_count 0). At most $10 jobs; the audit row keeps the count it had.
-- name: admin_retry_jobs
WITH picked AS (
    SELECT id, retry_count FROM jobs
     WHERE {{admin_job_filter}} AND status = 'failed'
     LIMIT $10 + 1
), batch AS (
    SELECT id, retry_count FROM picked LIMIT $10
), changed AS (
    UPDATE jobs j
       SET status = 'queued', retry_count = 0, error_message = NULL, result = NULL,
           started_at = NULL, completed_at = NULL, scheduled_at = NULL, step_label = NULL,
           progress = 0, current_step = 0, locked_by = NULL, locked_at = NULL, updated_at = now()
      FROM batch b
     WHERE j.id = ANY (ARRAY(SELECT id FROM batch)) AND j.id = b.id
       AND j.organization_id = $1 AND j.status = 'failed'
    RETURNING j.id, j.organization_id, j.max_retries, b.retry_count AS previous
), audit AS (
    INSERT INTO audit_logs (organization_id, user_id, actor, action, job_id, details)
    SELECT organization_id, $11, 'user', 'job.retried_anyway', id,
           jsonb_build_object('via', 'console', 'previousRetryCount', previous, 'maxRetries', max_retries)
      FROM changed
)
SELECT ARRAY(SELECT id FROM changed) AS ids, (SELECT count(*) FROM picked) > $10 AS more;

-- The organization's running jobs against its limit (organizations.max_concurrent_jobs,
-- else the setting $2). Held jobs, as the claim counts them (jobs_held_idx).
-- name: admin_queue_running
SELECT (SELECT count(*) FROM jobs WHERE locked_by IS NOT NULL AND organization_id = $1)::integer AS running,
       -- As the claim computes it: the organization's own limit, else its tier's (0014).
       coalesce((SELECT coalesce(o.max_concurrent_jobs, t.max_running)
                   FROM organizations o
                   LEFT JOIN organization_tiers ot ON ot.organization_id = o.id
                   LEFT JOIN flow_tiers t ON t.name = ot.tier
                  WHERE o.id = $1), $2::integer) AS max_running;

-- Waiting jobs by type (jobs_ready_idx): due now, or scheduled later (a delayed job or a
-- retry's backoff); the oldest due job has waited since it was created or became due.
-- Jobs waiting on their dependencies (blocked_by > 0) wait for other jobs, not for a
-- worker: not counted (and the predicate is the index's, migration 0010).
-- name: admin_queue_waiting
SELECT job_type,
       count(*) FILTER (WHERE scheduled_at IS NULL OR scheduled_at <= now())::integer AS due,
       count(*) FILTER (WHERE scheduled_at > now())::integer AS scheduled,
       min(greatest(created_at, scheduled_at)) FILTER (WHERE scheduled_at IS NULL OR scheduled_at <= now())
           AS oldest_due_since
  FROM jobs
 WHERE organization_id = $1 AND status IN ('queued', 'retrying') AND locked_by IS NULL AND blocked_by = 0
 GROUP BY job_type
 ORDER BY job_type;

-- Jobs that ended in each of the last twelve five-minute buckets (jobs_finished_idx).
-- name: admin_queue_throughput
SELECT b.start AS bucket_start,
       count(j.id) FILTER (WHERE j.status = 'succeeded')::integer AS succeeded,
       count(j.id) FILTER (WHERE j.status = 'failed')::integer AS failed,
       count(j.id) FILTER (WHERE j.status = 'cancelled')::integer AS cancelled
  FROM generate_series(date_bin('5 minutes', now(), 'epoch') - interval '55 minutes',
                       date_bin('5 minutes', now(), 'epoch'), interval '5 minutes') AS b(start)
  LEFT JOIN jobs j
    ON j.organization_id = $1 AND j.status IN ('succeeded', 'failed', 'cancelled')
   AND j.completed_at >= b.start AND j.completed_at < b.start + interval '5 minutes'
 GROUP BY b.start
 ORDER BY b.start;

-- The worker processes (shared by every organization): slots in use in all, and by the
-- caller's organization (jobs_held_idx: held jobs are few).
-- name: admin_workers
SELECT w.id, w.hostname, w.pid, w.concurrency, w.started_at, w.heartbeat_at,
       extract(epoch FROM now() - w.heartbeat_at)::float8 AS heartbeat_age,
       (SELECT count(*) FROM jobs j WHERE j.locked_by = w.id)::integer AS in_use,
       (SELECT count(*) FROM jobs j WHERE j.locked_by = w.id AND j.organization_id = $1)::integer AS org_in_use
  FROM workers w
 ORDER BY w.hostname, w.pid, w.id;
