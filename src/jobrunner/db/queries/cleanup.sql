-- Retention (the cleanup job type). Every delete works in small batches, each its own
-- short transaction, and skips rows another transaction holds (SKIP LOCKED): cleanup
-- never waits on, nor blocks, the jobs and uploads in use.

-- name: cleanup_cutoff
SELECT now() - make_interval(days => $1);

-- Finished jobs of the organization completed before the cutoff. Queued, running and
-- retrying jobs are never candidates, nor is a cancelled job whose processor still holds
-- it (locked_by set).
-- name: count_old_jobs
SELECT count(*) FROM jobs
 WHERE organization_id = $1 AND status IN ('succeeded', 'failed', 'cancelled')
   AND completed_at < $2 AND locked_by IS NULL;

-- name: lock_old_jobs
SELECT id, job_type FROM jobs
 WHERE organization_id = $1 AND status IN ('succeeded', 'failed', 'cancelled')
   AND completed_at < $2 AND locked_by IS NULL
 ORDER BY completed_at
 LIMIT $3
   FOR UPDATE SKIP LOCKED;

-- Re-checks the state: the rows are locked, so it cannot have changed, but the guard
-- keeps this statement safe on its own.
-- name: delete_jobs
DELETE FROM jobs
 WHERE id = ANY($1::uuid[]) AND status IN ('succeeded', 'failed', 'cancelled') AND locked_by IS NULL;

-- Uploads created before the cutoff that no unfinished import is about to read.
-- name: count_old_uploads
SELECT count(*) FROM uploads u
 WHERE u.organization_id = $1 AND u.created_at < $2;

-- name: delete_old_uploads
WITH doomed AS (
    SELECT u.id FROM uploads u
     WHERE u.organization_id = $1 AND u.created_at < $2
       AND NOT EXISTS (
           SELECT 1 FROM jobs j
            WHERE j.organization_id = u.organization_id AND j.job_type = 'data_processing'
              AND j.status IN ('queued', 'running', 'retrying')
              AND j.payload ->> 'uploadId' = u.id::text)
     ORDER BY u.created_at
     LIMIT $3
       FOR UPDATE SKIP LOCKED
)
DELETE FROM uploads u USING doomed d WHERE u.id = d.id
RETURNING u.storage_key;

-- Export files live in the exports feature's ledger (migration 0002). Expired (or older
-- than the cutoff) files still on disk: the row is kept with deleted_at set, so an old
-- link answers 410, not 404.

-- name: count_old_export_files
SELECT count(*) FROM export_files
 WHERE organization_id = $1 AND deleted_at IS NULL AND (expires_at <= now() OR created_at < $2);

-- name: mark_old_export_files_deleted
WITH doomed AS (
    SELECT job_id FROM export_files
     WHERE organization_id = $1 AND deleted_at IS NULL AND (expires_at <= now() OR created_at < $2)
     ORDER BY created_at
     LIMIT $3
       FOR UPDATE SKIP LOCKED
)
UPDATE export_files f SET deleted_at = now() FROM doomed d WHERE f.job_id = d.job_id
RETURNING f.storage_key;

-- The export files of jobs about to be deleted: marked deleted in the same transaction
-- (export_files is a ledger of what is in storage and outlives its job), removed from disk
-- after the commit.
-- name: mark_export_files_of_jobs_deleted
UPDATE export_files SET deleted_at = now()
 WHERE job_id = ANY($1::uuid[]) AND deleted_at IS NULL
RETURNING storage_key;

-- Global retention (maintenance, JOBRUNNER_JOB_RETENTION_DAYS = $1): up to $2 finished jobs
-- completed before the cutoff, nobody holding them. Organization by organization, each
-- one's oldest first through jobs_finished_idx (no index of its own: migration 0015), so
-- an organization without expired jobs costs one index probe. Deleted with delete_jobs
-- like cleanup's.
-- name: lock_expired_jobs
SELECT e.id, e.job_type
  FROM organizations o
 CROSS JOIN LATERAL (
     SELECT j.id, j.job_type FROM jobs j
      WHERE j.organization_id = o.id
        AND j.status IN ('succeeded', 'failed', 'cancelled') AND j.locked_by IS NULL
        AND j.completed_at < now() - make_interval(days => $1)
      ORDER BY j.completed_at
      LIMIT $2
        FOR UPDATE SKIP LOCKED
 ) e
 LIMIT $2;
