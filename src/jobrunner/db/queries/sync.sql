-- Sync: pushing an organization's changed records to an integration in (updated_at, id)
-- order, one checkpoint per (organization, integration, dataset).

-- One sync per integration and dataset at a time, with no session state (so it holds
-- through PgBouncer in transaction mode): in one short transaction a sync takes its turn
-- (sync_take_turn: an advisory lock held to commit), then claims the dataset
-- (sync_claim, a fresh snapshot) unless another running sync job holds it. The claim is
-- the job's sync_runs row and lasts while the job is running: once it ends, or a rescuer
-- takes it from a dead worker, it no longer counts.
-- name: sync_take_turn
SELECT pg_advisory_xact_lock(hashtext('jobrunner_sync'), hashtext($1 || '/' || $2 || '/' || $3));

-- $4: the claiming job. True: claimed (or its own already).
-- name: sync_claim
WITH holder AS (
    SELECT r.job_id FROM sync_runs r JOIN jobs j ON j.id = r.job_id
     WHERE j.status = 'running' AND j.job_type = 'sync' AND j.organization_id = $1
       AND j.payload->>'integration' = $2 AND j.payload->>'dataset' = $3 AND r.job_id <> $4
     LIMIT 1
), claim AS (
    INSERT INTO sync_runs (job_id) SELECT $4 WHERE NOT EXISTS (SELECT 1 FROM holder)
    ON CONFLICT (job_id) DO NOTHING
)
SELECT NOT EXISTS (SELECT 1 FROM holder);

-- name: sync_checkpoint
SELECT cursor_updated_at, cursor_id FROM sync_checkpoints
 WHERE organization_id = $1 AND integration = $2 AND dataset = $3;

-- name: save_sync_checkpoint
INSERT INTO sync_checkpoints AS s (organization_id, integration, dataset, cursor_updated_at, cursor_id, batches, records)
VALUES ($1, $2, $3, $4, $5, 1, $6)
ON CONFLICT (organization_id, integration, dataset) DO UPDATE
   SET cursor_updated_at = EXCLUDED.cursor_updated_at, cursor_id = EXCLUDED.cursor_id,
       batches = s.batches + 1, records = s.records + EXCLUDED.records, updated_at = now();

-- name: add_sync_run
INSERT INTO sync_runs AS r (job_id, batches, records) VALUES ($1, 1, $2)
ON CONFLICT (job_id) DO UPDATE SET batches = r.batches + 1, records = r.records + EXCLUDED.records;

-- name: sync_run
SELECT batches, records FROM sync_runs WHERE job_id = $1;

-- Records changed after the cursor ($2, $3) up to the sync's start ($4): the keyset
-- (updated_at, id) walks customers_org_updated_idx.
-- name: count_changed_customers
SELECT count(*) FROM customers
 WHERE organization_id = $1 AND (updated_at, id) > ($2, $3) AND updated_at <= $4;

-- name: changed_customers
SELECT id, name, email, country, created_at, updated_at FROM customers
 WHERE organization_id = $1 AND (updated_at, id) > ($2, $3) AND updated_at <= $4
 ORDER BY updated_at, id LIMIT $5;

-- name: count_changed_quotes
SELECT count(*) FROM quotes
 WHERE organization_id = $1 AND (updated_at, id) > ($2, $3) AND updated_at <= $4;

-- Amounts as text: exact decimals in the JSON, never floats.
-- name: changed_quotes
SELECT id, quote_number, customer_id, status, currency, subtotal::text AS subtotal, tax::text AS tax,
       total::text AS total, valid_until, created_at, updated_at
  FROM quotes
 WHERE organization_id = $1 AND (updated_at, id) > ($2, $3) AND updated_at <= $4
 ORDER BY updated_at, id LIMIT $5;

-- The database's clock: the end of what this sync pushes (the same clock as updated_at).
-- name: sync_now
SELECT now();
