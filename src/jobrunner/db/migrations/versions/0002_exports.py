"""Exports: one row per generated export file, for downloads and retention.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
-- The file an export_report job produced. The download route authorizes against
-- organization_id/user_id (the owner) and answers 410 once expires_at has passed;
-- retention deletes the file and sets deleted_at, keeping the row so that old links
-- still answer 410 instead of 404. A ledger of what is in storage: no foreign keys, so
-- that deleting a job (or truncating jobs) never loses track of a file retention must
-- still delete.
CREATE TABLE export_files (
    job_id uuid PRIMARY KEY,
    organization_id text NOT NULL,
    user_id text NOT NULL,
    report_type text NOT NULL,
    format text NOT NULL CHECK (format IN ('csv', 'json', 'xlsx')),
    storage_key text NOT NULL UNIQUE,
    download_name text NOT NULL,
    content_type text NOT NULL,
    size_bytes bigint NOT NULL CHECK (size_bytes >= 0),
    record_count bigint NOT NULL CHECK (record_count >= 0),
    created_at timestamptz(3) NOT NULL DEFAULT now(),
    expires_at timestamptz(3) NOT NULL,
    deleted_at timestamptz(3),
    CHECK (expires_at >= created_at)
);
-- Retention finds expired files still on disk.
CREATE INDEX export_files_expiry_idx ON export_files (expires_at) WHERE deleted_at IS NULL;
"""
    )


def downgrade() -> None:
    op.execute("DROP TABLE export_files;")
