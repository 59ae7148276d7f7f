"""Fewer index entries per job: one index of held jobs instead of two, and no index of its
own for global retention.

Every job is written three times (created, claimed, finished) and none of those updates is
HOT (status and locked_by are in index predicates), so each write adds an entry to every
index whose predicate the new row version meets. Waves 1 and 2 grew that to 14 entries a
job; this revision takes two away:

- ``jobs_locked_idx`` (locked_by, organization_id) and ``jobs_held_idx`` (organization_id)
  both indexed the held jobs. One index, ``jobs_held_idx`` (organization_id, locked_by),
  serves the claim's count per organization and the lookups by worker (held jobs are few:
  at most the running capacity, so a scan of all of them is small).
- ``jobs_retention_idx`` (completed_at) duplicated ``jobs_finished_idx`` (organization_id,
  completed_at). Global retention now walks the organizations and reads each one's oldest
  finished jobs through ``jobs_finished_idx`` (db/queries/cleanup.sql).

Revision ID: 0015
Revises: 0009
Create Date: 2026-12-01
"""

from alembic import op

revision = "0015"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
DROP INDEX jobs_retention_idx;
DROP INDEX jobs_locked_idx;
DROP INDEX jobs_held_idx;
CREATE INDEX jobs_held_idx ON jobs (organization_id, locked_by) WHERE locked_by IS NOT NULL;
"""
    )


def downgrade() -> None:
    op.execute(
        """
DROP INDEX jobs_held_idx;
CREATE INDEX jobs_held_idx ON jobs (organization_id) WHERE locked_by IS NOT NULL;
CREATE INDEX jobs_locked_idx ON jobs (locked_by, organization_id) WHERE locked_by IS NOT NULL;
CREATE INDEX jobs_retention_idx ON jobs (completed_at)
    WHERE status IN ('succeeded', 'failed', 'cancelled') AND locked_by IS NULL;
"""
    )
