-- Demo identities (DECISIONS.md, "Demo identities"). Idempotent.

-- name: upsert_organization
INSERT INTO organizations (id, name) VALUES ($1, $2)
ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name;

-- name: upsert_user
INSERT INTO users (id, email, display_name) VALUES ($1, $2, $3)
ON CONFLICT (id) DO UPDATE SET email = EXCLUDED.email, display_name = EXCLUDED.display_name;

-- name: add_member
INSERT INTO organization_members (organization_id, user_id) VALUES ($1, $2)
ON CONFLICT DO NOTHING;

-- name: grant_role
INSERT INTO user_roles (organization_id, user_id, role_name) VALUES ($1, $2, $3)
ON CONFLICT DO NOTHING;

-- The organization a token is issued for: the one asked for, or the user's first.
-- name: find_membership
SELECT organization_id FROM organization_members
 WHERE user_id = $1 AND ($2::text IS NULL OR organization_id = $2)
 ORDER BY organization_id LIMIT 1;
