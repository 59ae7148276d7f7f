-- Job dependencies (migration 0010; domain/dependencies.py).

-- At creation, in the new job's transaction: the caller's jobs among $3, marked as having
-- a dependant (the jobs_resolve_dependants trigger fires only for such jobs), with their
-- status. The UPDATE waits for a concurrent change of status of any of them (a worker's
-- outcome, a cancel) and answers the status it left, so either that change sees the
-- mark and resolves the new dependant, or this sees the final status.
-- name: mark_dependencies
UPDATE jobs SET has_dependants = true
 WHERE id = ANY($3::uuid[]) AND organization_id = $1 AND user_id = $2
RETURNING id, job_type, status::text AS status;

-- A new job one of whose dependencies ($2, a $3 job) had already ended $4 (failed or
-- cancelled) before it was created: cancelled at once, in its creation's transaction, as
-- the trigger would have cancelled it had that dependency ended a moment later.
-- name: cancel_for_ended_dependency
SELECT jobrunner_cancel_dependants($2, $3, $4::job_status, $1);

-- What a running job sees of the jobs it depends on: each by its name, with its result
-- (of the job's own organization only). One deleted since (retention) has job_type NULL.
-- name: dependency_results
SELECT d."as" AS name, d."jobId" AS job_id, j.job_type, j.status::text AS status, j.result,
       j.user_id, j.organization_id
  FROM jobs me
 CROSS JOIN LATERAL jsonb_to_recordset(me.depends_on) AS d("jobId" uuid, "as" text)
  LEFT JOIN jobs j ON j.id = d."jobId" AND j.organization_id = me.organization_id
 WHERE me.id = $1;
