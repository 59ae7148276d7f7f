-- Who the caller is, for pages that adapt to permissions (GET /v1/me).

-- Whether the user is a member of the organization, their display name, and every
-- permission their roles in that organization grant. Read on every request (no cache):
-- revoking a role shows at the next call.
-- name: me_access
SELECT EXISTS (SELECT 1 FROM organization_members m
                WHERE m.organization_id = $1 AND m.user_id = $2) AS is_member,
       (SELECT u.display_name FROM users u WHERE u.id = $2) AS display_name,
       ARRAY(SELECT DISTINCT rp.permission_name
               FROM user_roles ur
               JOIN role_permissions rp ON rp.role_name = ur.role_name
              WHERE ur.organization_id = $1 AND ur.user_id = $2
              ORDER BY rp.permission_name) AS permissions;
