"""Foundation: organizations, users, RBAC, jobs, workers, audit log, and the demo domain
(customers, quotes) that exports read.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """

CREATE TABLE organizations (
    id text PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 64),
    name text NOT NULL,
    -- NULL: the service-wide limit (JOBRUNNER_ORG_CONCURRENCY_LIMIT) applies.
    max_concurrent_jobs integer CHECK (max_concurrent_jobs >= 1),
    created_at timestamptz(3) NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id text PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 64),
    email text NOT NULL UNIQUE,
    display_name text NOT NULL,
    created_at timestamptz(3) NOT NULL DEFAULT now()
);

CREATE TABLE organization_members (
    organization_id text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    user_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at timestamptz(3) NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, user_id)
);

CREATE TABLE permissions (
    name text PRIMARY KEY,
    description text NOT NULL
);

CREATE TABLE roles (
    name text PRIMARY KEY,
    description text NOT NULL
);

CREATE TABLE role_permissions (
    role_name text NOT NULL REFERENCES roles(name) ON DELETE CASCADE,
    permission_name text NOT NULL REFERENCES permissions(name) ON DELETE CASCADE,
    PRIMARY KEY (role_name, permission_name)
);

-- Roles are granted per organization: the same user may be admin in one and viewer in another.
CREATE TABLE user_roles (
    organization_id text NOT NULL,
    user_id text NOT NULL,
    role_name text NOT NULL REFERENCES roles(name) ON DELETE CASCADE,
    PRIMARY KEY (organization_id, user_id, role_name),
    FOREIGN KEY (organization_id, user_id)
        REFERENCES organization_members(organization_id, user_id) ON DELETE CASCADE
);

INSERT INTO permissions (name, description) VALUES
    ('jobs.create_jobs', 'Create background jobs'),
    ('jobs.view_jobs', 'View job status and list jobs'),
    ('jobs.cancel_jobs', 'Cancel queued or running jobs'),
    ('jobs.retry_jobs', 'Retry failed jobs'),
    ('reports.export_reports', 'Create export_report jobs'),
    ('reports.export_audit_log', 'Export the audit_log report'),
    ('data.process_data', 'Create data_processing jobs'),
    ('notifications.send_notifications', 'Create notification jobs'),
    ('maintenance.run_cleanup', 'Create cleanup jobs'),
    ('integrations.run_sync', 'Create sync jobs'),
    ('integrations.manage_integrations', 'Configure integrations');

INSERT INTO roles (name, description) VALUES
    ('admin', 'Everything in the organization'),
    ('member', 'Runs and manages their own jobs'),
    ('viewer', 'Views their own jobs');

INSERT INTO role_permissions (role_name, permission_name)
    SELECT 'admin', name FROM permissions;
INSERT INTO role_permissions (role_name, permission_name) VALUES
    ('member', 'jobs.create_jobs'), ('member', 'jobs.view_jobs'),
    ('member', 'jobs.cancel_jobs'), ('member', 'jobs.retry_jobs'),
    ('member', 'reports.export_reports'), ('member', 'data.process_data'),
    ('member', 'notifications.send_notifications'), ('member', 'integrations.run_sync'),
    ('viewer', 'jobs.view_jobs');

-- The six states of the product document (domain/states.py documents each).
CREATE TYPE job_status AS ENUM ('queued', 'running', 'succeeded', 'failed', 'cancelled', 'retrying');

-- Worker processes announce themselves and heartbeat here; a job whose locked_by names a
-- worker with a stale heartbeat is rescued.
CREATE TABLE workers (
    id text PRIMARY KEY,
    hostname text NOT NULL,
    pid integer NOT NULL,
    concurrency integer NOT NULL,
    started_at timestamptz(3) NOT NULL DEFAULT now(),
    heartbeat_at timestamptz(3) NOT NULL DEFAULT now()
);

CREATE TABLE jobs (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- Insertion order: ties within a priority run oldest first, exactly.
    seq bigint GENERATED ALWAYS AS IDENTITY,
    organization_id text NOT NULL REFERENCES organizations(id),
    user_id text NOT NULL REFERENCES users(id),
    job_type varchar(50) NOT NULL,
    status job_status NOT NULL DEFAULT 'queued',
    priority integer NOT NULL DEFAULT 0 CHECK (priority BETWEEN 0 AND 10),
    retry_count integer NOT NULL DEFAULT 0 CHECK (retry_count >= 0),
    max_retries integer NOT NULL DEFAULT 3 CHECK (max_retries BETWEEN 0 AND 10),
    payload jsonb NOT NULL DEFAULT '{}',
    result jsonb,
    error_message text,
    progress integer NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    total_steps integer CHECK (total_steps >= 0),
    current_step integer NOT NULL DEFAULT 0 CHECK (current_step >= 0),
    step_label text,
    started_at timestamptz(3),
    completed_at timestamptz(3),
    scheduled_at timestamptz(3),
    created_at timestamptz(3) NOT NULL DEFAULT now(),
    updated_at timestamptz(3) NOT NULL DEFAULT now(),
    -- The engine's columns: which worker holds the job (NULL when none does), since when,
    -- how many attempts were started, and when it was cancelled.
    locked_by text,
    locked_at timestamptz(3),
    attempts integer NOT NULL DEFAULT 0,
    cancelled_at timestamptz(3),
    CONSTRAINT jobs_completed_at_iff_final
        CHECK ((status IN ('succeeded', 'failed', 'cancelled')) = (completed_at IS NOT NULL)),
    CONSTRAINT jobs_running_is_locked CHECK (status <> 'running' OR locked_by IS NOT NULL),
    CONSTRAINT jobs_queued_is_unlocked CHECK (status <> 'queued' OR locked_by IS NULL),
    CONSTRAINT jobs_cancelled_at_iff_cancelled CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL))
);

-- The list query: a user's jobs, newest first, optionally by status or type.
CREATE INDEX jobs_owner_created_idx ON jobs (organization_id, user_id, created_at DESC, seq DESC);
-- The claim: per organization, ready jobs in priority order (see jobrunner_claim_jobs).
CREATE INDEX jobs_ready_idx ON jobs (organization_id, priority DESC, seq)
    WHERE status IN ('queued', 'retrying') AND locked_by IS NULL;
-- Running jobs per organization (the per-organization limit) and per worker (rescue).
CREATE INDEX jobs_locked_idx ON jobs (locked_by, organization_id) WHERE locked_by IS NOT NULL;

-- New jobs wake the workers: one notification per INSERT statement, not per row.
CREATE FUNCTION jobrunner_notify_new_jobs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('jobrunner_jobs', '');
    RETURN NULL;
END $$;
CREATE TRIGGER jobs_notify_insert AFTER INSERT ON jobs
    FOR EACH STATEMENT EXECUTE FUNCTION jobrunner_notify_new_jobs();

-- The next scheduled attempt (a delayed job or a retry's backoff): an idle worker sleeps
-- until the earliest one is due instead of polling.
CREATE INDEX jobs_scheduled_idx ON jobs (scheduled_at)
    WHERE status IN ('queued', 'retrying') AND locked_by IS NULL AND scheduled_at IS NOT NULL;

-- State changes the workers must hear about whoever makes them (the API, an operator's
-- SQL): a cancel of a job a worker holds (payload = the job id, the holder stops its
-- processor), and a job put back in the queue (manual retry, shutdown hand-back).
CREATE FUNCTION jobrunner_notify_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = 'cancelled' THEN
        PERFORM pg_notify('jobrunner_cancel', NEW.id::text);
    ELSE
        PERFORM pg_notify('jobrunner_jobs', '');
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER jobs_notify_status AFTER UPDATE OF status ON jobs
    FOR EACH ROW
    WHEN (NEW.status IS DISTINCT FROM OLD.status
          AND ((NEW.status = 'cancelled' AND NEW.locked_by IS NOT NULL) OR NEW.status = 'queued'))
    EXECUTE FUNCTION jobrunner_notify_status();

-- The claim, as one call. Claimers take turns (a transaction-scoped advisory lock), so
-- the count of running jobs per organization cannot race another claimer's: the
-- per-organization limit is exact across any number of workers on any number of machines.
-- Held for one statement only.
CREATE FUNCTION jobrunner_claim_jobs(p_worker text, p_limit integer, p_org_limit integer)
RETURNS SETOF jobs LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('jobrunner_claim_jobs'));
    RETURN QUERY
    WITH RECURSIVE
    -- Organizations that have ready work: a loose index scan over jobs_ready_idx, one
    -- index probe per organization however deep its backlog.
    ready_orgs AS (
        (SELECT j.organization_id FROM jobs j
          WHERE j.status IN ('queued', 'retrying') AND j.locked_by IS NULL
          ORDER BY j.organization_id LIMIT 1)
        UNION ALL
        SELECT (SELECT j.organization_id FROM jobs j
                 WHERE j.status IN ('queued', 'retrying') AND j.locked_by IS NULL
                   AND j.organization_id > r.organization_id
                 ORDER BY j.organization_id LIMIT 1)
          FROM ready_orgs r WHERE r.organization_id IS NOT NULL
    ),
    -- What each organization runs now (held by a worker, whatever the status).
    running AS (
        SELECT j.organization_id, count(*)::integer AS n
          FROM jobs j WHERE j.locked_by IS NOT NULL GROUP BY j.organization_id
    ),
    -- Each organization offers at most its free slots, best first, so a busy tenant's
    -- backlog never holds back a quiet tenant's job.
    candidates AS (
        SELECT c.id, c.priority, c.seq
          FROM ready_orgs r
          JOIN organizations o ON o.id = r.organization_id
          LEFT JOIN running n ON n.organization_id = r.organization_id
          CROSS JOIN LATERAL (
              SELECT j.id, j.priority, j.seq FROM jobs j
               WHERE j.organization_id = r.organization_id
                 AND j.status IN ('queued', 'retrying') AND j.locked_by IS NULL
                 AND (j.scheduled_at IS NULL OR j.scheduled_at <= now())
               ORDER BY j.priority DESC, j.seq
               LIMIT greatest(coalesce(o.max_concurrent_jobs, p_org_limit) - coalesce(n.n, 0), 0)
          ) c
         ORDER BY c.priority DESC, c.seq
         LIMIT p_limit
    )
    UPDATE jobs j
       SET status = CASE WHEN j.status = 'queued' THEN 'running'::job_status ELSE j.status END,
           locked_by = p_worker,
           locked_at = now(),
           attempts = j.attempts + 1,
           started_at = now(),
           progress = 0,
           current_step = 0,
           step_label = NULL,
           updated_at = now()
     -- By primary key (= ANY of an array): a join here may hash the whole table.
     WHERE j.id = ANY (ARRAY(SELECT c.id FROM candidates c))
       -- No FOR UPDATE SKIP LOCKED above: claimers already take turns, and locking each
       -- organization's free slots would lock more rows than are claimed. A job the API
       -- is changing right now (a cancel) is waited for, then re-checked here (READ
       -- COMMITTED re-evaluates these conditions on the newest row): a job cancelled in
       -- the meantime is not claimed.
       AND j.status IN ('queued', 'retrying') AND j.locked_by IS NULL
    RETURNING j.*;
END $$;

CREATE TABLE audit_logs (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    -- NULL when the system acted (rescue, timeout).
    user_id text REFERENCES users(id) ON DELETE SET NULL,
    actor text NOT NULL CHECK (actor IN ('user', 'system')),
    action text NOT NULL,
    job_id uuid,
    details jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz(3) NOT NULL DEFAULT now()
);
CREATE INDEX audit_logs_org_created_idx ON audit_logs (organization_id, created_at);
CREATE INDEX audit_logs_job_idx ON audit_logs (job_id);

-- The demo domain that exports read.
CREATE TABLE customers (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name text NOT NULL,
    email text NOT NULL,
    country char(2) NOT NULL,
    created_at timestamptz(3) NOT NULL DEFAULT now(),
    updated_at timestamptz(3) NOT NULL DEFAULT now(),
    UNIQUE (organization_id, email),
    -- Target of quotes' tenant-consistent foreign key.
    UNIQUE (organization_id, id)
);
CREATE INDEX customers_org_created_idx ON customers (organization_id, created_at);

CREATE TABLE quotes (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id text NOT NULL,
    quote_number text NOT NULL,
    customer_id bigint NOT NULL,
    status text NOT NULL CHECK (status IN ('draft', 'sent', 'accepted', 'rejected', 'expired')),
    currency char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    subtotal numeric(14, 2) NOT NULL CHECK (subtotal >= 0),
    tax numeric(14, 2) NOT NULL CHECK (tax >= 0),
    total numeric(14, 2) NOT NULL CHECK (total = subtotal + tax),
    valid_until date NOT NULL,
    created_at timestamptz(3) NOT NULL DEFAULT now(),
    updated_at timestamptz(3) NOT NULL DEFAULT now(),
    UNIQUE (organization_id, quote_number),
    -- A quote's customer belongs to the quote's organization (and so does the quote).
    FOREIGN KEY (organization_id, customer_id)
        REFERENCES customers(organization_id, id) ON DELETE CASCADE
);
CREATE INDEX quotes_org_created_idx ON quotes (organization_id, created_at);
"""
    )


def downgrade() -> None:
    op.execute(
        """
DROP TABLE quotes;
DROP TABLE customers;
DROP TABLE audit_logs;
DROP FUNCTION jobrunner_claim_jobs(text, integer, integer);
DROP TABLE jobs;
DROP FUNCTION jobrunner_notify_status();
DROP FUNCTION jobrunner_notify_new_jobs();
DROP TABLE workers;
DROP TYPE job_status;
DROP TABLE user_roles;
DROP TABLE role_permissions;
DROP TABLE roles;
DROP TABLE permissions;
DROP TABLE organization_members;
DROP TABLE users;
DROP TABLE organizations;
"""
    )
