"""The operations console: the ``jobs.manage_jobs`` permission (admin role) and the index
that lists every job of an organization newest first.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-20
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
INSERT INTO permissions (name, description) VALUES
    ('jobs.manage_jobs', 'See and steer every job of the organization (the operations console)');
INSERT INTO role_permissions (role_name, permission_name) VALUES ('admin', 'jobs.manage_jobs');

-- The console's list: every job of an organization, newest first (admin_list_jobs).
-- jobs_owner_created_idx starts with the user, so it serves one user's jobs only.
CREATE INDEX jobs_org_created_idx ON jobs (organization_id, created_at DESC, seq DESC);
"""
    )


def downgrade() -> None:
    op.execute(
        """
DROP INDEX jobs_org_created_idx;
DELETE FROM permissions WHERE name = 'jobs.manage_jobs';
"""
    )
