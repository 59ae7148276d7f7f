-- Job templates: saved job configurations of an organization ($1 in every statement:
-- another organization's template is indistinguishable from a missing one). Every change
-- writes its audit row in the same statement (template.created, .updated, .deleted).

-- fragment: template_columns
id, organization_id, name, job_type, payload, priority, max_retries, created_by, created_at, updated_at

-- A new template by user $2; no row back when the organization has one of that name.
-- name: insert_template
WITH t AS (
    INSERT INTO job_templates (organization_id, name, job_type, payload, priority, max_retries, created_by)
    VALUES ($1, $3, $4, $5::jsonb, $6, $7, $2)
    ON CONFLICT (organization_id, name) DO NOTHING
    RETURNING {{template_columns}}
), audit AS (
    INSERT INTO audit_logs (organization_id, user_id, actor, action, details)
    SELECT $1, $2, 'user', 'template.created',
           jsonb_build_object('templateId', id, 'name', name, 'jobType', job_type)
      FROM t
)
SELECT * FROM t;

-- name: count_templates
SELECT count(*) FROM job_templates WHERE organization_id = $1;

-- By name, then id (names are unique per organization).
-- name: list_templates
SELECT {{template_columns}} FROM job_templates
 WHERE organization_id = $1
 ORDER BY name, id
 LIMIT $2 OFFSET $3;

-- name: get_template
SELECT {{template_columns}} FROM job_templates WHERE organization_id = $1 AND id = $2;

-- Replace a template's fields (the service merged the PATCH over the current ones), by
-- user $2. No row back when the template is gone; a name another template of the
-- organization has raises a unique violation (the repository's 409).
-- name: update_template
WITH t AS (
    UPDATE job_templates
       SET name = $4, job_type = $5, payload = $6::jsonb, priority = $7, max_retries = $8,
           updated_at = now()
     WHERE organization_id = $1 AND id = $3
    RETURNING {{template_columns}}
), audit AS (
    INSERT INTO audit_logs (organization_id, user_id, actor, action, details)
    SELECT $1, $2, 'user', 'template.updated',
           jsonb_build_object('templateId', id, 'name', name, 'jobType', job_type, 'changed', $9::text[])
      FROM t
)
SELECT * FROM t;

-- name: delete_template
WITH t AS (
    DELETE FROM job_templates WHERE organization_id = $1 AND id = $3
    RETURNING id, name, job_type
), audit AS (
    INSERT INTO audit_logs (organization_id, user_id, actor, action, details)
    SELECT $1, $2, 'user', 'template.deleted',
           jsonb_build_object('templateId', id, 'name', name, 'jobType', job_type)
      FROM t
)
SELECT count(*) = 1 FROM t;
