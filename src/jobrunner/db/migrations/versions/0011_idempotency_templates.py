"""Idempotent creation and job templates (issue 13, parts 3 and 4).

- ``idempotency_keys``: the answer to a ``POST /v1/jobs`` sent with an ``Idempotency-Key``,
  per organization, user and key, written in the same transaction as the job it created
  (a concurrent request with the same key waits on the row and then replays it). Rows
  older than ``JOBRUNNER_IDEMPOTENCY_KEY_TTL_SECONDS`` are pruned by the maintenance.
- ``job_templates``: saved job configurations of an organization (unique name), and the
  ``templates.manage_templates`` permission (admin role) to change them.
- ``jobs.template_id``: the template a job was started from. No foreign key: the job keeps
  saying where it came from after the template is deleted.

Revision ID: 0011
Revises: 0015
Create Date: 2026-12-01
"""

from alembic import op

revision = "0011"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
CREATE TABLE idempotency_keys (
    organization_id text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    user_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    key text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    -- SHA-256 of the request body's canonical JSON (sorted keys, no whitespace).
    request_hash bytea NOT NULL,
    -- No foreign key: the answer is replayed as it was, even once the job is deleted.
    job_id uuid NOT NULL,
    response_status integer NOT NULL,
    response_body jsonb NOT NULL,
    created_at timestamptz(3) NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, user_id, key)
);
-- The maintenance's prune (oldest first).
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

CREATE TABLE job_templates (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    job_type varchar(50) NOT NULL,
    payload jsonb NOT NULL DEFAULT '{}',
    priority integer NOT NULL DEFAULT 0 CHECK (priority BETWEEN 0 AND 10),
    max_retries integer NOT NULL CHECK (max_retries BETWEEN 0 AND 10),
    created_by text REFERENCES users(id) ON DELETE SET NULL,
    created_at timestamptz(3) NOT NULL DEFAULT now(),
    updated_at timestamptz(3) NOT NULL DEFAULT now(),
    CONSTRAINT job_templates_name_unique UNIQUE (organization_id, name)
);

ALTER TABLE jobs ADD COLUMN template_id uuid;

INSERT INTO permissions (name, description) VALUES
    ('templates.manage_templates', 'Create, change and delete the organization''s job templates');
INSERT INTO role_permissions (role_name, permission_name) VALUES ('admin', 'templates.manage_templates');
"""
    )


def downgrade() -> None:
    op.execute(
        """
DELETE FROM permissions WHERE name = 'templates.manage_templates';
ALTER TABLE jobs DROP COLUMN template_id;
DROP TABLE job_templates;
DROP TABLE idempotency_keys;
"""
    )
