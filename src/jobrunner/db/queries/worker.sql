-- The worker engine's statements. Every write a worker makes to a job is guarded:
-- `locked_by = $me AND status IN ('running', 'retrying')`, so a late write never
-- overwrites a cancel, a rescue or a final state.

-- Claim up to $2 ready jobs for worker $1 with at most $3 running per organization
-- (organizations.max_concurrent_jobs overrides it). See jobrunner_claim_jobs in 0007:
-- organizations in round-robin turn, each offering its best jobs up to its free slots.
-- UPDATE … RETURNING has no order: sort so the batch starts best first.
-- Only what the engine reads (domain/job.py), not every column the API shows: the claim
-- is the hot path, and decoding timestamps the engine never reads costs it. The queue
-- wait (from when the job was due, created or scheduled, to this attempt's start) comes
-- computed, by the database's clock.
-- name: claim_jobs
SELECT id, organization_id, user_id, job_type, status::text AS status, priority, retry_count,
       max_retries, payload, total_steps, attempts,
       greatest(extract(epoch FROM started_at - greatest(created_at, coalesce(scheduled_at, created_at))),
                0)::float8 AS queue_wait
  FROM jobrunner_claim_jobs($1, $2, $3)
 ORDER BY priority DESC, seq;

-- When the earliest delayed job or retry becomes due (NULL: none waiting). A job waiting
-- on its dependencies (blocked_by > 0) is not: its last dependency's success wakes the
-- workers. The predicate is jobs_scheduled_idx's (migration 0010).
-- name: next_scheduled_at
SELECT extract(epoch FROM min(scheduled_at) - now())::float8 AS seconds
  FROM jobs
 WHERE status IN ('queued', 'retrying') AND locked_by IS NULL AND blocked_by = 0 AND scheduled_at IS NOT NULL;

-- Progress and step boundaries of many jobs in one statement. Progress never goes back
-- within an attempt (greatest); the claim resets it to 0 for each attempt.
-- name: write_progress
UPDATE jobs j
   SET progress = greatest(j.progress, u.progress),
       current_step = u.step,
       step_label = u.label,
       updated_at = now()
  FROM unnest($2::uuid[], $3::int[], $4::int[], $5::text[]) AS u(id, progress, step, label)
 WHERE j.id = ANY($2::uuid[])  -- the jobs by primary key, not a hash of the whole table
   AND j.id = u.id AND j.locked_by = $1 AND j.status IN ('running', 'retrying');

-- The outcomes of many attempts in one statement. $3 is the new status:
--   succeeded: progress 100, the last step, the result;
--   failed:    the error message, progress where the attempt left it;
--   retrying:  retry_count + $7 (1 after a failure, 0 when handed back at shutdown), the
--              next attempt at now() + $6 seconds;
--   queued:    a first attempt handed back at shutdown, as if never started.
-- Whatever the outcome, the job is released (locked_by NULL) and its org slot freed.
-- Each applied outcome the system decided leaves an audit row (actor system, the worker
-- and attempt in details): job.succeeded, job.failed (with the error) and
-- job.attempt_failed (a transient failure that will be retried, with the error); a
-- hand-back at shutdown leaves none.
-- name: finish_jobs
WITH finished AS (
UPDATE jobs j
   SET status = o.status,
       result = CASE WHEN o.status = 'succeeded' THEN o.result END,
       error_message = CASE WHEN o.status IN ('failed', 'retrying') THEN coalesce(o.error, j.error_message) END,
       progress = CASE WHEN o.status = 'succeeded' THEN 100
                       WHEN o.status = 'queued' THEN 0 ELSE j.progress END,
       current_step = CASE WHEN o.status = 'succeeded' THEN coalesce(j.total_steps, j.current_step)
                           WHEN o.status = 'queued' THEN 0 ELSE j.current_step END,
       step_label = CASE WHEN o.status = 'queued' THEN NULL ELSE j.step_label END,
       started_at = CASE WHEN o.status = 'queued' THEN NULL ELSE j.started_at END,
       retry_count = j.retry_count + CASE WHEN o.status = 'retrying' THEN o.bump ELSE 0 END,
       scheduled_at = CASE WHEN o.status = 'retrying'
                           THEN now() + make_interval(secs => o.delay) ELSE j.scheduled_at END,
       completed_at = CASE WHEN o.status IN ('succeeded', 'failed') THEN now() END,
       locked_by = NULL,
       locked_at = NULL,
       updated_at = now()
  FROM unnest($2::uuid[], $3::job_status[], $4::jsonb[], $5::text[], $6::float8[], $7::int[])
       AS o(id, status, result, error, delay, bump)
 WHERE j.id = ANY($2::uuid[])  -- the jobs by primary key, not a hash of the whole table
   AND j.id = o.id AND j.locked_by = $1 AND j.status IN ('running', 'retrying')
RETURNING j.id, j.organization_id, j.status, j.attempts, j.error_message, o.bump,
          j.job_type, j.retry_count, j.max_retries
), audit AS (
    INSERT INTO audit_logs (organization_id, user_id, actor, action, job_id, details)
    SELECT organization_id, NULL, 'system',
           CASE status WHEN 'succeeded' THEN 'job.succeeded' WHEN 'failed' THEN 'job.failed'
                ELSE 'job.attempt_failed' END,
           id,
           jsonb_strip_nulls(jsonb_build_object(
               'worker', $1::text, 'attempt', attempts,
               'error', CASE WHEN status <> 'succeeded' THEN error_message END))
      FROM finished
     WHERE status IN ('succeeded', 'failed') OR (status = 'retrying' AND bump > 0)
), breakers AS MATERIALIZED (
    -- Circuit breakers (migration 0014) of the job types that have one: a semi-join with
    -- that small table, empty unless a breaker is configured. Transient failures: a retry
    -- coming, or a failure with no retries left (a permanent error on a last attempt
    -- counts too); a hand-back at shutdown is neither.
    SELECT count(jobrunner_breaker_record(b.job_type, b.organization_id, b.failures, b.successes, b.error)) AS n
      FROM (SELECT f.job_type, f.organization_id,
                   count(*) FILTER (WHERE (f.status = 'retrying' AND f.bump > 0)
                                       OR (f.status = 'failed' AND f.retry_count >= f.max_retries)) AS failures,
                   count(*) FILTER (WHERE f.status = 'succeeded') AS successes,
                   max(f.error_message) AS error
              FROM finished f
             WHERE f.job_type IN (SELECT r.job_type FROM circuit_breaker_rules r)
             GROUP BY f.job_type, f.organization_id
             ORDER BY f.job_type, f.organization_id) b
)
SELECT id FROM finished, breakers;

-- Let go of jobs that are no longer ours to finish (cancelled while running): only the
-- lock goes, which frees the organization's slot once the processor has stopped. Only
-- final jobs: a running one is finished through finish_jobs, never just dropped.
-- name: release_jobs
UPDATE jobs SET locked_by = NULL, locked_at = NULL
 WHERE id = ANY($2::uuid[]) AND locked_by = $1 AND status IN ('succeeded', 'failed', 'cancelled');

-- Of the jobs this worker runs, those it must stop: cancelled, or no longer held by it
-- (rescued after it was presumed dead). The fallback for a lost cancel notification.
-- name: jobs_to_stop
SELECT id FROM jobs
 WHERE id = ANY($2::uuid[])
   AND (status NOT IN ('running', 'retrying') OR locked_by IS DISTINCT FROM $1);

-- System actions on jobs (rescue, timeout) leave audit rows like the users' actions do.
-- name: insert_system_audit
INSERT INTO audit_logs (organization_id, user_id, actor, action, job_id, details)
SELECT a.organization_id, NULL, 'system', a.action, a.job_id, a.details
  FROM unnest($1::text[], $2::text[], $3::uuid[], $4::jsonb[]) AS a(organization_id, action, job_id, details);

-- Announce this worker, then keep its heartbeat fresh. A heartbeat re-creates the row if a rescuer removed it while this worker was stalled.
-- name: heartbeat_worker
INSERT INTO workers (id, hostname, pid, concurrency) VALUES ($1, $2, $3, $4)
ON CONFLICT (id) DO UPDATE SET heartbeat_at = now();

-- name: delete_worker
DELETE FROM workers WHERE id = $1;

-- Hold this worker's session-level advisory lock on its own id, on its LISTEN connection
-- (db/notify.py), and say so in its row: while that session lives, no rescuer can take
-- the lock. Answers whether it is held (false: another session holds the same key, a hash
-- collision; the lease alone then tells that this worker is gone). `session_locked_at`
-- says when: a lock taken before the server's last start is gone with that start.
-- name: hold_worker_session_lock
UPDATE workers SET holds_session_lock = held.ok,
                   session_locked_at = CASE WHEN held.ok THEN now() END
  FROM (SELECT w.id, pg_try_advisory_lock(hashtext('jobrunner_worker'), hashtext(w.id)) AS ok
          FROM workers w WHERE w.id = $1) AS held  -- no row, no lock taken
 WHERE workers.id = held.id
RETURNING holds_session_lock;

-- Jobs held by a worker that is gone: its session ended (it took its session lock since
-- the server last started, and a rescuer can now take that lock, for this transaction
-- only; after a restart every lock is gone until its worker takes it again, and the
-- lease alone tells meanwhile), or it stopped heartbeating
-- ($1 seconds: connected but hung, or no session lock to tell, e.g. through PgBouncer in
-- transaction mode), or it has no row at all. `reason` says which ('session' or 'lease').
-- Locked so that two rescuers never handle the same job. The transaction's caller decides
-- each job's fate (rescue_jobs) before committing.
-- name: select_orphaned_jobs
WITH alive AS MATERIALIZED (
    SELECT w.id FROM workers w WHERE w.heartbeat_at > now() - make_interval(secs => $1)
), session_gone AS MATERIALIZED (
    SELECT w.id FROM workers w
     WHERE w.holds_session_lock AND w.session_locked_at > pg_postmaster_start_time()
       AND w.id IN (SELECT id FROM alive)
       AND pg_try_advisory_xact_lock(hashtext('jobrunner_worker'), hashtext(w.id))
)
SELECT j.id, j.organization_id, j.locked_by, j.status, j.retry_count, j.max_retries, j.job_type,
       CASE WHEN j.locked_by IN (SELECT id FROM session_gone) THEN 'session' ELSE 'lease' END AS reason
  FROM jobs j
 WHERE j.locked_by IS NOT NULL
   AND (j.locked_by IN (SELECT id FROM session_gone) OR j.locked_by NOT IN (SELECT id FROM alive))
   FOR UPDATE OF j SKIP LOCKED;

-- The rescue of orphaned jobs: running/retrying ones fail transiently ($3 = retrying with
-- the next attempt $5 seconds from now, or failed); any other (cancelled while its worker
-- died) is only released. Guarded by the dead holder's id.
-- name: rescue_jobs
UPDATE jobs j
   SET status = CASE WHEN j.status IN ('running', 'retrying') THEN o.status ELSE j.status END,
       error_message = CASE WHEN j.status IN ('running', 'retrying') THEN o.error ELSE j.error_message END,
       retry_count = j.retry_count + CASE WHEN j.status IN ('running', 'retrying') AND o.status = 'retrying' THEN 1 ELSE 0 END,
       scheduled_at = CASE WHEN j.status IN ('running', 'retrying') AND o.status = 'retrying'
                           THEN now() + make_interval(secs => o.delay) ELSE j.scheduled_at END,
       completed_at = CASE WHEN j.status IN ('running', 'retrying') AND o.status = 'failed' THEN now()
                           ELSE j.completed_at END,
       locked_by = NULL,
       locked_at = NULL,
       updated_at = now()
  FROM unnest($1::uuid[], $2::text[], $3::job_status[], $4::text[], $5::float8[])
       AS o(id, holder, status, error, delay)
 WHERE j.id = ANY($1::uuid[]) AND j.id = o.id AND j.locked_by = o.holder
RETURNING j.id, j.organization_id, j.status, o.holder;

-- Worker rows whose heartbeat stopped long ago and that hold no job any more.
-- name: delete_dead_workers
DELETE FROM workers w
 WHERE w.heartbeat_at < now() - make_interval(secs => $1)
   AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.locked_by = w.id);

