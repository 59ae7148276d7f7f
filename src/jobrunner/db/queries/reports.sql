-- Export reports and their files (reports/, exports/).
--
-- Every report statement takes the organization as $1 and its filters, in the order its
-- report module declares them, as $2, $3, ...; a NULL filter means "not filtered". Dates
-- are whole UTC days: dateFrom includes its day, dateTo includes its day too. The writers
-- wrap these statements (reports/sql.py) to format or neutralise columns, so each one
-- selects plain typed columns under the names its report module lists.

-- Quotes of one organization. The customer join repeats the organization, so a quote can
-- never pull another organization's customer into a file.
-- name: report_quotes
SELECT q.quote_number, c.name AS customer_name, c.email AS customer_email, q.status,
       q.currency, q.subtotal, q.tax, q.total, q.valid_until, q.created_at
  FROM quotes q
  JOIN customers c ON c.id = q.customer_id AND c.organization_id = q.organization_id
 WHERE q.organization_id = $1::text
   AND ($2::date IS NULL OR q.created_at >= $2::date::timestamp AT TIME ZONE 'UTC')
   AND ($3::date IS NULL OR q.created_at < ($3::date + 1)::timestamp AT TIME ZONE 'UTC')
   AND ($4::text IS NULL OR q.status = $4::text)
 ORDER BY q.created_at, q.id;

-- name: report_customers
SELECT c.id, c.name, c.email, c.country, c.created_at
  FROM customers c
 WHERE c.organization_id = $1::text
   AND ($2::date IS NULL OR c.created_at >= $2::date::timestamp AT TIME ZONE 'UTC')
   AND ($3::date IS NULL OR c.created_at < ($3::date + 1)::timestamp AT TIME ZONE 'UTC')
 ORDER BY c.created_at, c.id;

-- details is exported as its JSON text: it is free-form, and holds no money by rule.
-- name: report_audit_log
SELECT a.id, a.created_at, a.actor, a.user_id, a.action, a.job_id::text AS job_id,
       a.details::text AS details
  FROM audit_logs a
 WHERE a.organization_id = $1::text
   AND ($2::date IS NULL OR a.created_at >= $2::date::timestamp AT TIME ZONE 'UTC')
   AND ($3::date IS NULL OR a.created_at < ($3::date + 1)::timestamp AT TIME ZONE 'UTC')
 ORDER BY a.created_at, a.id;

-- A report's extra permission (e.g. reports.export_audit_log), through the user's roles
-- in the job's organization, read at run time so a revoked role counts at once.
-- name: export_user_has_permission
SELECT EXISTS (
    SELECT 1
      FROM user_roles ur
      JOIN role_permissions rp ON rp.role_name = ur.role_name
     WHERE ur.organization_id = $1 AND ur.user_id = $2 AND rp.permission_name = $3
);

-- A retried attempt that reaches the end again replaces its job's row.
-- name: export_file_upsert
INSERT INTO export_files (job_id, organization_id, user_id, report_type, format, storage_key,
                          download_name, content_type, size_bytes, record_count, created_at,
                          expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
ON CONFLICT (job_id) DO UPDATE
   SET storage_key = EXCLUDED.storage_key, download_name = EXCLUDED.download_name,
       content_type = EXCLUDED.content_type, size_bytes = EXCLUDED.size_bytes,
       record_count = EXCLUDED.record_count, created_at = EXCLUDED.created_at,
       expires_at = EXCLUDED.expires_at, deleted_at = NULL;

-- name: export_file_by_job
SELECT job_id, organization_id, user_id, report_type, format, storage_key, download_name,
       content_type, size_bytes, record_count, created_at, expires_at, deleted_at
  FROM export_files WHERE job_id = $1;

-- name: export_file_delete
DELETE FROM export_files WHERE job_id = $1;

-- Expired files still on disk, oldest first, a batch at a time ($1 = now, $2 = batch size).
-- name: export_files_expired
SELECT job_id, storage_key FROM export_files
 WHERE deleted_at IS NULL AND expires_at <= $1
 ORDER BY expires_at LIMIT $2;

-- name: export_file_mark_deleted
UPDATE export_files SET deleted_at = $2 WHERE job_id = $1 AND deleted_at IS NULL;
