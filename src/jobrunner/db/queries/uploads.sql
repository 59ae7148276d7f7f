-- Uploads (POST /v1/uploads) and the rejected-rows download of imports.

-- A new upload, if the organization's stored uploads stay within its quota ($7: the
-- setting; organization_limits overrides it). jobrunner_admit_upload (migration 0004)
-- takes the organization's turn and sums with a fresh snapshot: concurrent uploads never
-- exceed the quota. id is NULL when refused.
-- name: create_upload
WITH admit AS MATERIALIZED (
    SELECT refused, quota, used_bytes FROM jobrunner_admit_upload($2, $6, $7)
), upload AS (
    INSERT INTO uploads (id, organization_id, user_id, filename, storage_key, size_bytes)
    SELECT $1::uuid, $2, $3, $4, $5, $6::bigint FROM admit WHERE admit.refused IS NULL
    RETURNING id, filename, size_bytes, created_at
)
SELECT u.id, u.filename, u.size_bytes, u.created_at, a.refused, a.quota, a.used_bytes
  FROM admit a LEFT JOIN upload u ON true;

-- One of the caller's uploads (GET /v1/uploads/{id}, the Location of its creation): no row
-- when it is not theirs (another user's or organization's is indistinguishable from none).
-- name: upload_of_owner
SELECT id, filename, size_bytes, created_at FROM uploads
 WHERE id = $1 AND organization_id = $2 AND user_id = $3;

-- The quota (NULL: none) and the bytes stored, before receiving an upload: a cheap early
-- refusal; create_upload makes the exact check.
-- name: upload_room
SELECT coalesce(l.max_upload_bytes, $2::bigint) AS quota,
       (SELECT coalesce(sum(size_bytes), 0) FROM uploads WHERE organization_id = $1)::bigint AS used_bytes
  FROM (SELECT 1) one LEFT JOIN organization_limits l ON l.organization_id = $1;

-- The owner of an import job (for the rejected-rows download): NULL row when none.
-- name: import_job_owner
SELECT user_id, organization_id, status FROM jobs WHERE id = $1 AND job_type = 'data_processing';
