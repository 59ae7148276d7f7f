"""Audit rows without a foreign-key check on their organization.

Every finished job writes an audit row (issue 11: outcomes the system decides are audited),
in the same statement as its outcome. The foreign key from ``audit_logs.organization_id``
to ``organizations`` made PostgreSQL check, row by row, that the organization exists and
lock its row (``FOR KEY SHARE``): 14–26 % of the database's CPU time per finished job in
``benchmarks/drain.py``. The rows are written only by jobrunner's own statements, for
organizations those statements just read, so the check guards nothing; what the key also
did, deleting an organization's audit rows with it, is kept by a statement trigger on
``organizations``.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01
"""

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
ALTER TABLE audit_logs DROP CONSTRAINT audit_logs_organization_id_fkey;

CREATE FUNCTION jobrunner_delete_organization_audit() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM audit_logs a USING gone o WHERE a.organization_id = o.id;
    RETURN NULL;
END $$;

CREATE TRIGGER organizations_delete_audit AFTER DELETE ON organizations
    REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION jobrunner_delete_organization_audit();
"""
    )


def downgrade() -> None:
    op.execute(
        """
DROP TRIGGER organizations_delete_audit ON organizations;
DROP FUNCTION jobrunner_delete_organization_audit();
DELETE FROM audit_logs a WHERE NOT EXISTS (SELECT 1 FROM organizations o WHERE o.id = a.organization_id);
ALTER TABLE audit_logs ADD CONSTRAINT audit_logs_organization_id_fkey
    FOREIGN KEY (organization_id) REFERENCES organizations(id) ON DELETE CASCADE;
"""
    )
