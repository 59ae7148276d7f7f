"""Completion webhooks (docs/webhooks.md).

- ``jobs.callback_url``: where the job's final states are POSTed (given at creation, or
  the organization's default copied in then); NULL for most jobs.
- ``organization_webhooks``: per organization, the default callback URL and the signing
  secret (``whsec_...``, sealed at rest like integration secrets); after a rotation the
  previous secret keeps signing too until ``previous_secret_expires_at``.
- ``webhook_deliveries``: the outbox. One row per final state of a job with a callback,
  written by the trigger ``jobs_enqueue_callback`` in the same transaction as the state
  change, whoever makes it (worker, API cancel, console, rescuer). Its ``WHEN`` clause is a
  few comparisons on the new row, so jobs without a callback never run PL/pgSQL. The
  delivery loop of the worker processes claims due rows (``FOR UPDATE SKIP LOCKED``),
  and records each attempt in ``attempts`` (a JSON array, at most
  JOBRUNNER_CALLBACK_MAX_ATTEMPTS entries).

Revision ID: 0013
Revises: 0010
Create Date: 2026-12-01
"""

from alembic import op

revision = "0013"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
ALTER TABLE jobs ADD COLUMN callback_url text
    CONSTRAINT jobs_callback_url_length CHECK (octet_length(callback_url) <= 4096);

CREATE TABLE organization_webhooks (
    organization_id text PRIMARY KEY REFERENCES organizations(id) ON DELETE CASCADE,
    callback_url text CHECK (octet_length(callback_url) <= 4096),
    secret text NOT NULL,
    previous_secret text,
    previous_secret_expires_at timestamptz,
    secret_rotated_at timestamptz NOT NULL DEFAULT now(),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE webhook_deliveries (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    job_id uuid NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    organization_id text NOT NULL,
    event text NOT NULL CHECK (event IN ('job.succeeded', 'job.failed', 'job.cancelled')),
    url text NOT NULL,
    state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
    -- The body sent: made at the first attempt, the same bytes on every retry.
    body bytea,
    attempts jsonb NOT NULL DEFAULT '[]',
    attempt_count integer NOT NULL DEFAULT 0,
    -- When the next attempt is due; while one is under way, the end of its lease.
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    locked_by text,
    created_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    CHECK ((state = 'pending') = (finished_at IS NULL))
);
-- The delivery loop's claim: due pending rows only.
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
-- A job's deliveries (status endpoint, cascade on delete).
CREATE INDEX webhook_deliveries_job_idx ON webhook_deliveries (job_id, created_at);

CREATE FUNCTION jobrunner_enqueue_callback() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO webhook_deliveries (job_id, organization_id, event, url)
    VALUES (NEW.id, NEW.organization_id, 'job.' || NEW.status::text, NEW.callback_url);
    PERFORM pg_notify('jobrunner_webhooks', '');
    RETURN NULL;
END $$;

CREATE TRIGGER jobs_enqueue_callback
    AFTER UPDATE OF status ON jobs
    FOR EACH ROW
    WHEN (NEW.callback_url IS NOT NULL
          AND NEW.status IS DISTINCT FROM OLD.status
          AND NEW.status IN ('succeeded', 'failed', 'cancelled'))
    EXECUTE FUNCTION jobrunner_enqueue_callback();
"""
    )


def downgrade() -> None:
    op.execute(
        """
DROP TRIGGER jobs_enqueue_callback ON jobs;
DROP FUNCTION jobrunner_enqueue_callback();
DROP TABLE webhook_deliveries;
DROP TABLE organization_webhooks;
ALTER TABLE jobs DROP COLUMN callback_url;
"""
    )
