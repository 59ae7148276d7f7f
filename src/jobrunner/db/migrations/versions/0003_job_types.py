"""The other four job types: integrations (webhook and sync targets), notification
deliveries, uploads and import batch markers, sync checkpoints.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
-- An organization's external endpoints: a target URL and the secret that signs every
-- POST to it (HMAC-SHA256). The secret is write-only through the API. The integration
-- named 'notifications' receives the organization's webhook notifications.
CREATE TABLE integrations (
    organization_id text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name text NOT NULL CHECK (name ~ '^[a-z0-9][a-z0-9_-]{0,63}$'),
    target_url text NOT NULL CHECK (target_url ~ '^https?://'),
    secret text NOT NULL CHECK (length(secret) >= 16),
    created_at timestamptz(3) NOT NULL DEFAULT now(),
    updated_at timestamptz(3) NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, name)
);

-- Who a notification job already reached: a retried attempt skips them (at most one
-- email per recipient per job, barring a crash between sending and this insert).
CREATE TABLE notification_deliveries (
    job_id uuid NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    recipient text NOT NULL,
    delivered_at timestamptz(3) NOT NULL DEFAULT now(),
    PRIMARY KEY (job_id, recipient)
);

-- CSV files uploaded for imports; the file lives under DATA_DIR/uploads/<storage_key>.
CREATE TABLE uploads (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    user_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    filename text NOT NULL,
    storage_key text NOT NULL UNIQUE,
    size_bytes bigint NOT NULL CHECK (size_bytes >= 0),
    created_at timestamptz(3) NOT NULL DEFAULT now()
);
CREATE INDEX uploads_org_created_idx ON uploads (organization_id, created_at);

-- Import idempotency: a batch's rows and its marker commit in one transaction, so a
-- retried attempt skips exactly the batches an earlier attempt wrote. ``rejections``
-- keeps the rows the database refused ([[line, reason], ...]: an existing key, an unknown
-- customer) so the retried attempt's rejected-rows file still lists them.
CREATE TABLE import_batches (
    job_id uuid NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    batch_no integer NOT NULL CHECK (batch_no >= 0),
    inserted integer NOT NULL CHECK (inserted >= 0),
    updated integer NOT NULL CHECK (updated >= 0),
    rejections jsonb NOT NULL DEFAULT '[]',
    written_at timestamptz(3) NOT NULL DEFAULT now(),
    PRIMARY KEY (job_id, batch_no)
);

-- Where the last acknowledged sync batch ended: (updated_at, id) of its last record.
CREATE TABLE sync_checkpoints (
    organization_id text NOT NULL,
    integration text NOT NULL,
    dataset text NOT NULL CHECK (dataset IN ('customers', 'quotes')),
    cursor_updated_at timestamptz(3) NOT NULL,
    cursor_id bigint NOT NULL,
    batches bigint NOT NULL DEFAULT 0,
    records bigint NOT NULL DEFAULT 0,
    updated_at timestamptz(3) NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, integration, dataset),
    FOREIGN KEY (organization_id, integration)
        REFERENCES integrations(organization_id, name) ON DELETE CASCADE
);

-- What one sync job pushed over all its attempts (its result), saved with the checkpoint.
CREATE TABLE sync_runs (
    job_id uuid PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,
    batches integer NOT NULL DEFAULT 0,
    records integer NOT NULL DEFAULT 0
);

-- Retention finds an organization's old finished jobs (cleanup).
CREATE INDEX jobs_finished_idx ON jobs (organization_id, completed_at)
    WHERE status IN ('succeeded', 'failed', 'cancelled');

-- Sync reads changes in (updated_at, id) order per organization.
CREATE INDEX customers_org_updated_idx ON customers (organization_id, updated_at, id);
CREATE INDEX quotes_org_updated_idx ON quotes (organization_id, updated_at, id);
"""
    )


def downgrade() -> None:
    op.execute(
        """
DROP INDEX quotes_org_updated_idx;
DROP INDEX customers_org_updated_idx;
DROP INDEX jobs_finished_idx;
DROP TABLE sync_runs;
DROP TABLE sync_checkpoints;
DROP TABLE import_batches;
DROP TABLE uploads;
DROP TABLE notification_deliveries;
DROP TABLE integrations;
"""
    )
