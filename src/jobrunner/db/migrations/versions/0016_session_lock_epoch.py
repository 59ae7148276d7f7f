"""A worker's session lock counts only if it was taken since the database server started.

A restart of PostgreSQL ends every session, so every worker's session-level advisory lock
is gone at once, while the workers themselves live on and their processors keep running.
Until each worker's listener reconnects and takes its lock again, a rescuer could take it
and hand back, as "gone", jobs whose worker is alive (a double run, and the job's own
outcome lost). ``workers.session_locked_at`` records when the lock was taken; the rescuer
trusts the lock only when that is later than ``pg_postmaster_start_time()``, and otherwise
falls back to the lease, as for a worker without a session lock.

Revision ID: 0016
Revises: 0014
Create Date: 2026-12-01
"""

from alembic import op

revision = "0016"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE workers ADD COLUMN session_locked_at timestamptz")


def downgrade() -> None:
    op.execute("ALTER TABLE workers DROP COLUMN session_locked_at")
