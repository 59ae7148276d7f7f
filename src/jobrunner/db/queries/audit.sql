-- The audit trail. Rows are written by the same statement as the change they record
-- (see jobs.sql: create_job, cancel_job, retry_job); this file reads them back.

-- name: audit_trail_for_job
SELECT organization_id, user_id, actor, action, job_id, details, created_at
  FROM audit_logs
 WHERE organization_id = $1 AND job_id = $2
 ORDER BY id;
