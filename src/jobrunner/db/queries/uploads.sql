-- Uploads (POST /v1/uploads) and the rejected-rows download of imports.

-- name: create_upload
INSERT INTO uploads (id, organization_id, user_id, filename, storage_key, size_bytes)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING id, filename, size_bytes, created_at;

-- The owner of an import job (for the rejected-rows download): NULL row when none.
-- name: import_job_owner
SELECT user_id, organization_id, status FROM jobs WHERE id = $1 AND job_type = 'data_processing';
