-- The jobs API's statements. Every statement is scoped by organization ($1) and user ($2):
-- another user's or organization's job is indistinguishable from a missing one.
-- Columns are listed explicitly (the job_columns fragment below): engine columns (seq,
-- locked_by, attempts, ...) never leave the database through the API.

-- The columns of a job the service reads, listed once: the API shows them (status as
-- text, which needs no type look-up by the driver), the worker reads them as a Job
-- (domain/job.py). The engine's own columns (seq, locked_by, locked_at, attempts,
-- cancelled_at) are not among them; neither reads the worker's claim, which selects only
-- what the engine uses (db/queries/worker.sql). The last five are the workflows' and the
-- webhooks': the schedule and the template a job came from, its dependencies, its
-- callback URL.
-- fragment: job_columns
id, organization_id, user_id, job_type, status::text AS status, priority, retry_count,
max_retries, payload, result, error_message, progress, total_steps, current_step,
step_label, started_at, completed_at, scheduled_at, created_at, updated_at, schedule_id,
template_id, depends_on, blocked_by, callback_url

-- The status poll in ONE round trip (it is the hot path): membership, the permission
-- ($3), and the job ($4) if it is the caller's. The job is joined only when the
-- permission holds, so a 403 never depends on whether the job exists. It is fetched by
-- primary key alone (a materialized CTE) and its owner checked afterwards: with the owner
-- in the same WHERE, PostgreSQL's generic plan for this prepared statement walked the
-- owner's whole (organization, user) index range instead, one row per job they own.
-- name: job_with_access
WITH job AS MATERIALIZED (
    SELECT {{job_columns}} FROM jobs WHERE id = $4
)
SELECT a.is_member, a.allowed, j.*
  FROM (SELECT EXISTS (SELECT 1 FROM organization_members m
                        WHERE m.organization_id = $1 AND m.user_id = $2) AS is_member,
               EXISTS (SELECT 1 FROM user_roles ur
                         JOIN role_permissions rp ON rp.role_name = ur.role_name
                        WHERE ur.organization_id = $1 AND ur.user_id = $2
                          AND rp.permission_name = $3) AS allowed) a
  LEFT JOIN job j ON a.allowed AND j.organization_id = $1 AND j.user_id = $2;

-- A new job and its audit row in one statement (one transaction), if the organization's
-- quotas admit it: jobrunner_admit_job (migration 0004) takes the organization's turn
-- (an advisory lock held to commit) and counts with a fresh snapshot, so concurrent
-- creations never exceed a limit. $9/$10: the settings' limits (NULL: none). $11: the
-- template the job is started from (NULL: none); $12: the job's id when the caller chose
-- it (an idempotent creation names it in its stored answer first; NULL: a new one).
-- $13/$14: the dependencies (domain/dependencies.py; '[]' and 0 for none) and how many
-- are unmet. $15: the callback URL given; without one, the organization's default
-- (organization_webhooks), fixed for the job from now on. Answers the new id, or NULL and
-- why not. The INSERT trigger wakes the workers.
-- name: create_job
WITH admit AS MATERIALIZED (
    SELECT refused, quota, retry_after FROM jobrunner_admit_job($1, $2, $9, $10)
), job AS (
    INSERT INTO jobs (id, organization_id, user_id, job_type, priority, max_retries, payload,
                      total_steps, scheduled_at, template_id, depends_on, blocked_by, callback_url)
    SELECT coalesce($12::uuid, gen_random_uuid()), $1, $2, $3, $4::integer, $5::integer, $6::jsonb,
           $7::integer, $8::timestamptz, $11::uuid, $13::jsonb, $14::integer,
           coalesce($15::text, (SELECT w.callback_url FROM organization_webhooks w
                                 WHERE w.organization_id = $1))
      FROM admit WHERE admit.refused IS NULL
    RETURNING id, organization_id, user_id, job_type, priority, max_retries, scheduled_at, template_id,
              depends_on
), audit AS (
    INSERT INTO audit_logs (organization_id, user_id, actor, action, job_id, details)
    SELECT organization_id, user_id, 'user', 'job.created', id,
           jsonb_build_object('jobType', job_type, 'priority', priority,
                              'maxRetries', max_retries, 'scheduledAt', scheduled_at,
                              'templateId', template_id)
           || CASE WHEN depends_on = '[]' THEN '{}' ELSE jsonb_build_object('dependsOn', depends_on) END
      FROM job
)
SELECT (SELECT id FROM job) AS id, refused, quota, retry_after FROM admit;

-- name: count_jobs
SELECT count(*) FROM jobs
 WHERE organization_id = $1 AND user_id = $2
   AND ($3::job_status IS NULL OR status = $3::job_status)
   AND ($4::text IS NULL OR job_type = $4)
   AND ($5::text IS NULL OR id::text LIKE $5 || '%');

-- Newest first; seq breaks ties between jobs created in the same millisecond so pages
-- never overlap. Served by jobs_owner_created_idx. A payload or result whose JSON text is
-- longer than $7 bytes stays in the database (NULL here, named in `omitted`): list pages
-- stay small however large the jobs are; the status endpoint has them in full. The sizes
-- are measured on the page's rows only (the LIMIT applies first).
-- name: list_jobs
SELECT id, organization_id, user_id, job_type, status, priority, retry_count, max_retries,
       CASE WHEN payload_big THEN NULL ELSE payload END AS payload,
       CASE WHEN result_big THEN NULL ELSE result END AS result,
       error_message, progress, total_steps, current_step, step_label, started_at,
       completed_at, scheduled_at, created_at, updated_at, schedule_id, template_id,
       depends_on, blocked_by, callback_url,
       array_remove(ARRAY[CASE WHEN payload_big THEN 'payload' END,
                          CASE WHEN result_big THEN 'result' END], NULL) AS omitted
  FROM (SELECT p.*, octet_length(p.payload::text) > $7 AS payload_big,
               coalesce(octet_length(p.result::text) > $7, false) AS result_big
          FROM (SELECT {{job_columns}}, seq
                  FROM jobs
                 WHERE organization_id = $1 AND user_id = $2
                   AND ($3::job_status IS NULL OR status = $3::job_status)
                   AND ($4::text IS NULL OR job_type = $4)
                   AND ($8::text IS NULL OR id::text LIKE $8 || '%')
                 ORDER BY created_at DESC, seq DESC
                 LIMIT $5 OFFSET $6) p) sized
 ORDER BY created_at DESC, seq DESC;

-- Cancel as one guarded UPDATE: only the caller's job, only from a cancellable state.
-- Under READ COMMITTED a concurrent cancel or retry that changed the row first makes the
-- WHERE fail on re-check, so exactly one of two racing transitions wins. locked_by stays:
-- the worker clears it when its processor has stopped. The audit row is part of the same
-- statement; the jobs_notify_status trigger tells the holding worker at once. `target`
-- (the snapshot before the update) tells a 409 (job exists) from a 404.
-- name: cancel_job
WITH target AS (
    SELECT id FROM jobs WHERE id = $3 AND organization_id = $1 AND user_id = $2
), changed AS (
    UPDATE jobs
       SET status = 'cancelled', cancelled_at = now(), completed_at = now(), updated_at = now()
     WHERE id = $3 AND organization_id = $1 AND user_id = $2
       AND status IN ('queued', 'running', 'retrying')
    RETURNING id, organization_id, user_id
), audit AS (
    INSERT INTO audit_logs (organization_id, user_id, actor, action, job_id, details)
    SELECT organization_id, user_id, 'user', 'job.cancelled', id, '{}'::jsonb FROM changed
)
SELECT EXISTS (SELECT 1 FROM target) AS found,
       (SELECT count(*) FROM changed) = 1 AS changed;

-- Manual retry as one guarded UPDATE: only from failed with retries left. Resets the
-- attempt's traces and hands the job back to the queue; the jobs_notify_status trigger
-- wakes the workers.
-- name: retry_job
WITH target AS (
    SELECT id FROM jobs WHERE id = $3 AND organization_id = $1 AND user_id = $2
), changed AS (
    UPDATE jobs
       SET status = 'queued', retry_count = retry_count + 1, error_message = NULL,
           result = NULL, started_at = NULL, completed_at = NULL, scheduled_at = NULL,
           step_label = NULL, progress = 0, current_step = 0, locked_by = NULL,
           locked_at = NULL, updated_at = now()
     WHERE id = $3 AND organization_id = $1 AND user_id = $2
       AND status = 'failed' AND retry_count < max_retries
    RETURNING id, organization_id, user_id, retry_count
), audit AS (
    INSERT INTO audit_logs (organization_id, user_id, actor, action, job_id, details)
    SELECT organization_id, user_id, 'user', 'job.retried', id,
           jsonb_build_object('retryCount', retry_count) FROM changed
)
SELECT EXISTS (SELECT 1 FROM target) AS found,
       (SELECT count(*) FROM changed) = 1 AS changed;
