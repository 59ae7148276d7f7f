"""Quota changes are audited: every insert, update or delete of an organization's row in
``organization_limits`` (migration 0004) writes an ``organization.limits_changed`` audit
row with the limits before and after. No API changes quotas (operators edit the table),
so a trigger is the one place that sees every change, whoever makes it.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
CREATE FUNCTION jobrunner_audit_limits() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    org text := COALESCE(NEW.organization_id, OLD.organization_id);
BEGIN
    INSERT INTO audit_logs (organization_id, user_id, actor, action, details)
    SELECT org, NULL, 'system', 'organization.limits_changed',
           jsonb_build_object(
               'operation', lower(TG_OP),
               'before', CASE WHEN TG_OP = 'INSERT' THEN NULL
                              ELSE to_jsonb(OLD) - 'organization_id' - 'updated_at' END,
               'after', CASE WHEN TG_OP = 'DELETE' THEN NULL
                             ELSE to_jsonb(NEW) - 'organization_id' - 'updated_at' END)
     -- The organization itself being deleted cascades here: nothing left to audit.
     WHERE EXISTS (SELECT 1 FROM organizations WHERE id = org);
    RETURN NULL;
END $$;

CREATE TRIGGER organization_limits_audit
    AFTER INSERT OR UPDATE OR DELETE ON organization_limits
    FOR EACH ROW EXECUTE FUNCTION jobrunner_audit_limits();
"""
    )


def downgrade() -> None:
    op.execute(
        """
DROP TRIGGER organization_limits_audit ON organization_limits;
DROP FUNCTION jobrunner_audit_limits();
"""
    )
