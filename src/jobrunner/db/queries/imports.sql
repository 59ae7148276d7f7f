-- Imports (the data_processing job type). Each batch: its validated rows are COPYed into a
-- temporary table, written with one INSERT ... SELECT, and its marker inserted, all in one
-- transaction: a retried attempt skips exactly the batches whose marker exists.

-- The caller's own upload (another user's, even in the same organization, is not found).
-- name: find_upload
SELECT storage_key, filename, size_bytes FROM uploads
 WHERE id = $1 AND organization_id = $2 AND user_id = $3;

-- name: import_batches_of_job
SELECT batch_no, inserted, updated, rejections FROM import_batches WHERE job_id = $1;

-- name: record_import_batch
INSERT INTO import_batches (job_id, batch_no, inserted, updated, rejections)
VALUES ($1, $2, $3, $4, $5);

-- name: import_customers_temp
CREATE TEMPORARY TABLE import_customers (
    line integer NOT NULL, name text NOT NULL, email text NOT NULL, country text NOT NULL
) ON COMMIT DROP;

-- Rows whose email exists already are not returned: the caller rejects them.
-- name: import_customers_insert
INSERT INTO customers (organization_id, name, email, country)
SELECT $1, t.name, t.email, t.country FROM import_customers t ORDER BY t.line
ON CONFLICT (organization_id, email) DO NOTHING
RETURNING email;

-- (xmax = 0) is true for a row this statement inserted, false for one it updated.
-- name: import_customers_upsert
INSERT INTO customers AS c (organization_id, name, email, country)
SELECT $1, t.name, t.email, t.country FROM import_customers t ORDER BY t.line
ON CONFLICT (organization_id, email) DO UPDATE
   SET name = EXCLUDED.name, country = EXCLUDED.country, updated_at = now()
RETURNING c.email, (c.xmax = 0) AS inserted;

-- name: import_quotes_temp
CREATE TEMPORARY TABLE import_quotes (
    line integer NOT NULL, quote_number text NOT NULL, customer_email text NOT NULL,
    status text NOT NULL, currency text NOT NULL, subtotal text NOT NULL, tax text NOT NULL,
    total text NOT NULL, valid_until text NOT NULL
) ON COMMIT DROP;

-- A quote's customer must exist in the quote's organization.
-- name: import_quotes_unknown_customers
SELECT t.line FROM import_quotes t
 WHERE NOT EXISTS (SELECT 1 FROM customers c WHERE c.organization_id = $1 AND c.email = t.customer_email);

-- Amounts arrive as checked decimal strings and are cast here (numeric, never float).
-- name: import_quotes_insert
INSERT INTO quotes (organization_id, quote_number, customer_id, status, currency, subtotal, tax, total, valid_until)
SELECT $1, t.quote_number, c.id, t.status, t.currency, t.subtotal::numeric, t.tax::numeric,
       t.total::numeric, t.valid_until::date
  FROM import_quotes t JOIN customers c ON c.organization_id = $1 AND c.email = t.customer_email
 ORDER BY t.line
ON CONFLICT (organization_id, quote_number) DO NOTHING
RETURNING quote_number;

-- name: import_quotes_upsert
INSERT INTO quotes AS q (organization_id, quote_number, customer_id, status, currency, subtotal, tax, total, valid_until)
SELECT $1, t.quote_number, c.id, t.status, t.currency, t.subtotal::numeric, t.tax::numeric,
       t.total::numeric, t.valid_until::date
  FROM import_quotes t JOIN customers c ON c.organization_id = $1 AND c.email = t.customer_email
 ORDER BY t.line
ON CONFLICT (organization_id, quote_number) DO UPDATE
   SET customer_id = EXCLUDED.customer_id, status = EXCLUDED.status, currency = EXCLUDED.currency,
       subtotal = EXCLUDED.subtotal, tax = EXCLUDED.tax, total = EXCLUDED.total,
       valid_until = EXCLUDED.valid_until, updated_at = now()
RETURNING q.quote_number, (q.xmax = 0) AS inserted;
