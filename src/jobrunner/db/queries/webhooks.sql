-- Completion webhooks (docs/webhooks.md): the organization's settings and secret, and the
-- outbox the delivery loop drains (webhook_deliveries, written by the jobs_enqueue_callback
-- trigger of migration 0013).

-- The organization's webhook settings, created with secret $2 (sealed) if it has none yet,
-- so every organization that can receive a webhook has exactly one secret.
-- name: ensure_organization_webhook
WITH made AS (
    INSERT INTO organization_webhooks (organization_id, secret) VALUES ($1, $2)
    ON CONFLICT (organization_id) DO NOTHING
    RETURNING *
)
SELECT * FROM made
UNION ALL
SELECT * FROM organization_webhooks WHERE organization_id = $1 AND NOT EXISTS (SELECT 1 FROM made);

-- Set the default callback URL ($2, NULL: none) by user $4, with an audit row; $3: a
-- sealed secret in case the organization has none yet.
-- name: put_organization_webhook
WITH put AS (
    INSERT INTO organization_webhooks AS w (organization_id, callback_url, secret) VALUES ($1, $2, $3)
    ON CONFLICT (organization_id) DO UPDATE SET callback_url = EXCLUDED.callback_url, updated_at = now()
    RETURNING w.*
), audit AS (
    INSERT INTO audit_logs (organization_id, user_id, actor, action, details)
    SELECT $1, $4, 'user', 'webhook.settings_updated', jsonb_build_object('callbackUrl', callback_url) FROM put
)
SELECT * FROM put;

-- A new secret ($2, sealed) by user $4; the current one becomes the previous one and keeps
-- signing for $3 seconds. Audited (never the secrets).
-- name: rotate_organization_webhook_secret
WITH rotated AS (
    INSERT INTO organization_webhooks AS w (organization_id, secret) VALUES ($1, $2)
    ON CONFLICT (organization_id) DO UPDATE
       SET previous_secret = w.secret,
           previous_secret_expires_at = now() + make_interval(secs => $3),
           secret = EXCLUDED.secret, secret_rotated_at = now(), updated_at = now()
    RETURNING w.*
), audit AS (
    INSERT INTO audit_logs (organization_id, user_id, actor, action, details)
    SELECT $1, $4, 'user', 'webhook.secret_rotated', '{}'::jsonb FROM rotated
)
SELECT * FROM rotated;

-- A secret read sealed with an older key (or in plain text) is written again with the
-- first key, only if nobody replaced it meanwhile.
-- name: reseal_organization_webhook_secret
UPDATE organization_webhooks SET secret = $3 WHERE organization_id = $1 AND secret = $2;

-- Claim up to $2 due deliveries for dispatcher $1: rows another dispatcher holds are
-- skipped (SKIP LOCKED), and a claimed row's next_attempt_at moves $3 seconds ahead (its
-- lease), so no other dispatcher takes it while the attempt is under way; a dispatcher
-- that dies mid-attempt leaves it to be tried again when the lease ends.
-- name: claim_webhook_deliveries
WITH due AS (
    SELECT id FROM webhook_deliveries
     WHERE state = 'pending' AND next_attempt_at <= now()
     ORDER BY next_attempt_at
     LIMIT $2
       FOR UPDATE SKIP LOCKED
)
UPDATE webhook_deliveries d
   SET locked_by = $1, next_attempt_at = now() + make_interval(secs => $3)
  FROM due
 WHERE d.id = due.id
RETURNING d.id, d.job_id, d.organization_id, d.event, d.url, d.body, d.attempt_count, d.created_at;

-- The job a delivery is about, as the status endpoint shows it.
-- name: webhook_job
SELECT {{job_columns}}, callback_url FROM jobs WHERE id = $1;

-- One attempt's outcome, by the dispatcher that holds the delivery ($2): the body sent
-- (kept from the first attempt on), the attempt appended ($3: a JSON object), the new state
-- ($4) and, while pending, when the next attempt is due ($5 seconds from now).
-- name: record_webhook_attempt
UPDATE webhook_deliveries
   SET body = coalesce(body, $6),
       attempts = attempts || jsonb_build_array($3::jsonb),
       attempt_count = attempt_count + 1,
       state = $4,
       next_attempt_at = CASE WHEN $4 = 'pending' THEN now() + make_interval(secs => $5) ELSE next_attempt_at END,
       finished_at = CASE WHEN $4 = 'pending' THEN NULL ELSE now() END,
       locked_by = NULL
 WHERE id = $1 AND locked_by = $2 AND state = 'pending';

-- A job's deliveries, oldest first (the status endpoint, only for jobs with a callback).
-- name: job_webhook_deliveries
SELECT id, event, state, attempts, next_attempt_at, created_at
  FROM webhook_deliveries WHERE job_id = $1
 ORDER BY created_at, id;
