-- Integrations: an organization's external endpoints (webhook notifications, sync).

-- name: find_integration
SELECT organization_id, name, target_url, secret
  FROM integrations WHERE organization_id = $1 AND name = $2;

-- Create or replace, by user $5, with an audit row (integration.created or .updated: the
-- name and the target URL, never the secret); the answer never carries the secret.
-- name: put_integration
WITH put AS (
    INSERT INTO integrations AS i (organization_id, name, target_url, secret)
    VALUES ($1, $2, $3, $4)
    ON CONFLICT (organization_id, name) DO UPDATE
       SET target_url = EXCLUDED.target_url, secret = EXCLUDED.secret, updated_at = now()
    RETURNING i.name, i.target_url, i.created_at, i.updated_at, (xmax = 0) AS created
), audit AS (
    INSERT INTO audit_logs (organization_id, user_id, actor, action, details)
    SELECT $1, $5, 'user', CASE WHEN created THEN 'integration.created' ELSE 'integration.updated' END,
           jsonb_build_object('name', name, 'targetUrl', target_url)
      FROM put
)
SELECT * FROM put;

-- name: get_integration_public
SELECT name, target_url, created_at, updated_at
  FROM integrations WHERE organization_id = $1 AND name = $2;

-- A secret read in plain text (saved before encryption) or sealed with an older key is
-- written again, sealed with the first key; only if nobody replaced it meanwhile.
-- name: reseal_integration_secret
UPDATE integrations SET secret = $4
 WHERE organization_id = $1 AND name = $2 AND secret = $3;
