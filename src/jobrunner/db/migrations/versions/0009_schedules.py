"""Recurring schedules (docs/workflows.md): the ``schedules`` table, the
``schedules.manage_schedules`` permission (admin role), and the link from a job back to
the schedule firing that made it.

Exactly one job per firing: ``jobs (schedule_id, scheduled_for)`` is unique, so however
many scheduler loops (one per worker process) race for a firing, one insert wins. The
scheduler also locks each due schedule ``FOR UPDATE SKIP LOCKED`` while it fires it, so
the others do not even try.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
INSERT INTO permissions (name, description) VALUES
    ('schedules.manage_schedules', 'Create, change, pause and delete the organization''s recurring schedules');
INSERT INTO role_permissions (role_name, permission_name) VALUES ('admin', 'schedules.manage_schedules');

CREATE TABLE schedules (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- Creation order, to break ties between schedules created in the same millisecond.
    seq bigint GENERATED ALWAYS AS IDENTITY,
    organization_id text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    -- The owner: every job of the schedule is created as this user, with their permissions.
    user_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    cron text NOT NULL CHECK (length(cron) BETWEEN 1 AND 200),
    timezone text NOT NULL CHECK (length(timezone) BETWEEN 1 AND 64),
    job_type varchar(50) NOT NULL,
    payload jsonb NOT NULL DEFAULT '{}',
    priority integer NOT NULL DEFAULT 0 CHECK (priority BETWEEN 0 AND 10),
    max_retries integer NOT NULL CHECK (max_retries BETWEEN 0 AND 10),
    paused boolean NOT NULL DEFAULT false,
    misfire_policy text NOT NULL DEFAULT 'run_once' CHECK (misfire_policy IN ('run_once', 'skip')),
    overlap_policy text NOT NULL DEFAULT 'allow' CHECK (overlap_policy IN ('allow', 'skip')),
    -- The next fire time; NULL while paused (resuming computes it from the time of resuming).
    next_run_at timestamptz(3),
    -- The fire time of the last firing that created a job, and that job.
    last_run_at timestamptz(3),
    last_job_id uuid,
    -- Why the last firing created no job (owner lost a permission, overlap, misfire,
    -- quota); NULL once a firing creates a job again.
    last_error text,
    last_error_at timestamptz(3),
    created_at timestamptz(3) NOT NULL DEFAULT now(),
    updated_at timestamptz(3) NOT NULL DEFAULT now(),
    CONSTRAINT schedules_paused_has_no_next_run CHECK (paused = (next_run_at IS NULL))
);
-- The scheduler's question, asked by every worker process every few seconds: which
-- active schedules are due.
CREATE INDEX schedules_due_idx ON schedules (next_run_at) WHERE NOT paused;
-- The list: an organization's schedules, newest first.
CREATE INDEX schedules_org_created_idx ON schedules (organization_id, created_at DESC, seq DESC);

-- A job made by a schedule names it and the fire time it is for. Both NULL for every
-- other job: adding them rewrites nothing, and the partial index below holds only
-- scheduled jobs, so job inserts, claims and finishes do not pay for it.
ALTER TABLE jobs
    ADD COLUMN schedule_id uuid REFERENCES schedules(id) ON DELETE SET NULL,
    ADD COLUMN scheduled_for timestamptz(3),
    ADD CONSTRAINT jobs_schedule_firing_pair CHECK ((schedule_id IS NULL) OR (scheduled_for IS NOT NULL));
-- Exactly one job per firing; also serves "is a job of this schedule still active"
-- (overlap: skip) and ON DELETE SET NULL when a schedule is deleted.
CREATE UNIQUE INDEX jobs_schedule_firing_idx ON jobs (schedule_id, scheduled_for)
    WHERE schedule_id IS NOT NULL;
"""
    )


def downgrade() -> None:
    op.execute(
        """
DROP INDEX jobs_schedule_firing_idx;
ALTER TABLE jobs DROP CONSTRAINT jobs_schedule_firing_pair,
                 DROP COLUMN scheduled_for,
                 DROP COLUMN schedule_id;
DROP TABLE schedules;
DELETE FROM permissions WHERE name = 'schedules.manage_schedules';
"""
    )
