-- The cluster-wide snapshot the API serves at /metrics (observability/snapshot.py), read
-- every JOBRUNNER_METRICS_SNAPSHOT_INTERVAL_SECONDS, not per scrape. Bounded labels: by
-- state and job type; organizations only as the top few by backlog.

-- Jobs waiting (queued, retrying between attempts) and running, by state and type, with
-- the age of the oldest one that is due. Waiting jobs through jobs_ready_idx's predicate,
-- running ones through jobs_held_idx's. Jobs waiting on their dependencies (blocked_by
-- > 0, migration 0010) are not waiting for a worker: not counted.
-- name: metrics_active_jobs
SELECT status::text AS status, job_type, count(*) AS jobs,
       coalesce(extract(epoch FROM now() - min(coalesce(scheduled_at, created_at))
                        FILTER (WHERE coalesce(scheduled_at, created_at) <= now())), 0)::float8 AS oldest_seconds
  FROM jobs
 WHERE status IN ('queued', 'retrying') AND locked_by IS NULL AND blocked_by = 0
 GROUP BY status, job_type
UNION ALL
SELECT 'running', job_type, count(*), 0
  FROM jobs
 WHERE locked_by IS NOT NULL
 GROUP BY job_type;

-- The organizations with the most jobs waiting ($1 of them).
-- name: metrics_top_backlog
SELECT organization_id, count(*) AS jobs
  FROM jobs
 WHERE status IN ('queued', 'retrying') AND locked_by IS NULL AND blocked_by = 0
 GROUP BY organization_id
 ORDER BY jobs DESC, organization_id
 LIMIT $1;

-- Workers alive (heartbeat within the lease, $1 seconds) and silent, their slots, and the
-- age of the freshest heartbeat.
-- name: metrics_workers
SELECT count(*) FILTER (WHERE heartbeat_at > now() - make_interval(secs => $1)) AS alive,
       count(*) FILTER (WHERE heartbeat_at <= now() - make_interval(secs => $1)) AS silent,
       coalesce(sum(concurrency) FILTER (WHERE heartbeat_at > now() - make_interval(secs => $1)), 0) AS slots,
       extract(epoch FROM now() - max(heartbeat_at))::float8 AS freshest_heartbeat_age
  FROM workers;
