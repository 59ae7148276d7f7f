-- Integrations: an organization's external endpoints (webhook notifications, sync).

-- name: find_integration
SELECT organization_id, name, target_url, secret
  FROM integrations WHERE organization_id = $1 AND name = $2;

-- Create or replace; the answer never carries the secret.
-- name: put_integration
INSERT INTO integrations AS i (organization_id, name, target_url, secret)
VALUES ($1, $2, $3, $4)
ON CONFLICT (organization_id, name) DO UPDATE
   SET target_url = EXCLUDED.target_url, secret = EXCLUDED.secret, updated_at = now()
RETURNING i.name, i.target_url, i.created_at, i.updated_at, (xmax = 0) AS created;

-- name: get_integration_public
SELECT name, target_url, created_at, updated_at
  FROM integrations WHERE organization_id = $1 AND name = $2;
