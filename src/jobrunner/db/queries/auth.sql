-- Access checks. Permissions are read from the database on every request (no cache), so
-- revoking a role takes effect at once.

-- Whether the user is a member of the organization, and which of the permissions asked
-- for ($3) their roles in that organization grant.
-- name: access_for
SELECT EXISTS (SELECT 1 FROM organization_members m
                WHERE m.organization_id = $1 AND m.user_id = $2) AS is_member,
       ARRAY(SELECT DISTINCT rp.permission_name
               FROM user_roles ur
               JOIN role_permissions rp ON rp.role_name = ur.role_name
              WHERE ur.organization_id = $1 AND ur.user_id = $2
                AND rp.permission_name = ANY($3::text[])) AS granted;
