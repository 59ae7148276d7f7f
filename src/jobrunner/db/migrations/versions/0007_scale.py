"""Scale: a claim whose cost does not grow with the number of organizations with backlog,
rescue of workers whose database session is gone, and an index for global retention.

- ``job_queue_orgs``: per organization, how many of its jobs are ready (queued or retrying,
  unlocked), kept exact by statement-level triggers on ``jobs`` in the same transactions,
  plus a round-robin ``turn``. The claim walks this small table in turn order and stops
  once it has its batch, instead of a loose index scan over every organization with ready
  work; it counts the held jobs of only the organizations it visits (``jobs_held_idx``)
  instead of every held job.
- ``workers.holds_session_lock``: the worker holds a session-level advisory lock on its own
  id on its LISTEN connection; a rescuer that can take that lock knows the session ended.
- ``jobs_retention_idx``: finished, unlocked jobs by completion time (maintenance prunes
  them by ``JOBRUNNER_JOB_RETENTION_DAYS``).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-20
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


# The claim's last step, the same in 0001's claim and this one: the candidates, by primary
# key, now held by the worker.
_CLAIM_UPDATE = """    UPDATE jobs j
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
       -- No FOR UPDATE SKIP LOCKED above: claimers already take turns. A job the API is
       -- changing right now (a cancel) is waited for, then re-checked here (READ COMMITTED
       -- re-evaluates these conditions on the newest row): a job cancelled meanwhile is
       -- not claimed.
       AND j.status IN ('queued', 'retrying') AND j.locked_by IS NULL
    RETURNING j.*;
END $$;
"""


def upgrade() -> None:
    op.execute(
        """
-- The claim's queue of organizations. One row per organization that ever had a job; rows
-- are small and few (one per tenant), so the walk below reads a handful of them.
--   ready: jobs with status queued/retrying and locked_by NULL (due or scheduled later)
--   turn:  round-robin position; an organization that gets a job claimed goes to the back
-- Held jobs are not counted here: a job's success (running -> succeeded, unlocked) then
-- changes no row of this table, so outcomes never wait on a claim's row locks.
CREATE SEQUENCE job_queue_orgs_turn_seq;
CREATE TABLE job_queue_orgs (
    organization_id text PRIMARY KEY REFERENCES organizations(id) ON DELETE CASCADE,
    -- Never negative (jobrunner_queue_orgs_add checks; not a CHECK constraint, which
    -- would refuse the negative change an upsert proposes before it meets the row).
    ready integer NOT NULL DEFAULT 0,
    turn bigint NOT NULL DEFAULT nextval('job_queue_orgs_turn_seq')
);
ALTER SEQUENCE job_queue_orgs_turn_seq OWNED BY job_queue_orgs.turn;
-- The claim's walk: organizations with ready work, longest waiting first.
CREATE INDEX job_queue_orgs_turn_idx ON job_queue_orgs (turn) WHERE ready > 0;

INSERT INTO job_queue_orgs (organization_id, ready)
SELECT organization_id, count(*) FILTER (WHERE status IN ('queued', 'retrying') AND locked_by IS NULL)
  FROM jobs GROUP BY organization_id ORDER BY organization_id;

-- The jobs an organization holds (locked_by set, whatever the status: a cancelled job
-- whose processor is still stopping keeps its slot): what its limit counts. The claim
-- counts them for the organizations it visits only.
CREATE INDEX jobs_held_idx ON jobs (organization_id) WHERE locked_by IS NOT NULL;

-- Adds per-organization changes of the counts. Rows are upserted in organization order,
-- so two statements touching the same organizations lock their rows in the same order and
-- never deadlock; a claim (ready goes down; so does a cancel of a queued job, harmlessly)
-- sends the organization to the back of the turn. A count below zero is a bug (a change
-- the triggers missed): it fails loudly.
CREATE FUNCTION jobrunner_queue_orgs_add(p_orgs text[], p_ready bigint[])
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v_negative boolean;
BEGIN
    WITH added AS (
        INSERT INTO job_queue_orgs AS q (organization_id, ready)
        SELECT d.org, d.ready
          FROM unnest(p_orgs, p_ready) AS d(org, ready)
         WHERE d.ready <> 0
         ORDER BY d.org
        ON CONFLICT (organization_id) DO UPDATE
           SET ready = q.ready + excluded.ready,
               turn = CASE WHEN excluded.ready < 0 THEN excluded.turn ELSE q.turn END
        RETURNING q.ready
    )
    SELECT bool_or(added.ready < 0) INTO v_negative FROM added;
    IF v_negative THEN
        RAISE EXCEPTION 'job_queue_orgs: a count went below zero' USING ERRCODE = 'check_violation';
    END IF;
END $$;

-- One call per statement (transition tables), never per row: a claim or a batch of
-- outcomes of 100 jobs costs one aggregate and at most one upsert. Statements that change
-- no count (progress writes, successes, failures) upsert nothing.
CREATE FUNCTION jobrunner_count_queue() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_orgs text[];
    v_ready bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(c.organization_id), array_agg(c.ready) INTO v_orgs, v_ready
          FROM (SELECT n.organization_id, count(*) AS ready FROM new_jobs n
                 WHERE n.status IN ('queued', 'retrying') AND n.locked_by IS NULL
                 GROUP BY n.organization_id) c;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(c.organization_id), array_agg(-c.ready) INTO v_orgs, v_ready
          FROM (SELECT o.organization_id, count(*) AS ready FROM old_jobs o
                 WHERE o.status IN ('queued', 'retrying') AND o.locked_by IS NULL
                 GROUP BY o.organization_id) c;
    ELSE
        SELECT array_agg(c.organization_id), array_agg(c.ready) INTO v_orgs, v_ready
          FROM (SELECT x.organization_id, sum(x.ready) AS ready
                  FROM (SELECT n.organization_id, 1 AS ready FROM new_jobs n
                         WHERE n.status IN ('queued', 'retrying') AND n.locked_by IS NULL
                        UNION ALL
                        SELECT o.organization_id, -1 FROM old_jobs o
                         WHERE o.status IN ('queued', 'retrying') AND o.locked_by IS NULL) x
                 GROUP BY x.organization_id) c
         WHERE c.ready <> 0;
    END IF;
    IF v_orgs IS NOT NULL THEN
        PERFORM jobrunner_queue_orgs_add(v_orgs, v_ready);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER jobs_count_queue_insert AFTER INSERT ON jobs
    REFERENCING NEW TABLE AS new_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION jobrunner_count_queue();
CREATE TRIGGER jobs_count_queue_update AFTER UPDATE ON jobs
    REFERENCING OLD TABLE AS old_jobs NEW TABLE AS new_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION jobrunner_count_queue();
CREATE TRIGGER jobs_count_queue_delete AFTER DELETE ON jobs
    REFERENCING OLD TABLE AS old_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION jobrunner_count_queue();

CREATE FUNCTION jobrunner_reset_queue() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM job_queue_orgs;
    RETURN NULL;
END $$;
CREATE TRIGGER jobs_count_queue_truncate AFTER TRUNCATE ON jobs
    FOR EACH STATEMENT EXECUTE FUNCTION jobrunner_reset_queue();

-- The claim, as one call. Claimers take turns (a transaction-scoped advisory lock), so
-- the counts of held jobs cannot race another claimer's: the per-organization limit is
-- exact across any number of workers on any number of machines. Held for one statement.
CREATE OR REPLACE FUNCTION jobrunner_claim_jobs(p_worker text, p_limit integer, p_org_limit integer)
RETURNS SETOF jobs LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('jobrunner_claim_jobs'));
    RETURN QUERY
    WITH candidates AS (
        SELECT c.id
          FROM (
              -- Organizations with ready work in round-robin order (job_queue_orgs_turn_idx),
              -- each with its free slots: its limit minus the jobs it holds (jobs_held_idx;
              -- at most about its limit). Read lazily: the LIMIT below stops the walk once
              -- the batch is full, so a claim reads about as many organizations as it takes
              -- jobs from (plus those at their limit), however many have backlog.
              SELECT q.organization_id,
                     (SELECT coalesce(o.max_concurrent_jobs, p_org_limit)
                        FROM organizations o WHERE o.id = q.organization_id)
                     - (SELECT count(*) FROM jobs h
                         WHERE h.organization_id = q.organization_id AND h.locked_by IS NOT NULL) AS free
                FROM job_queue_orgs q
               WHERE q.ready > 0
               ORDER BY q.turn
          ) r
          -- Per organization, its best due jobs up to its free slots (jobs_ready_idx), so
          -- a busy tenant's backlog never holds back a quiet tenant's job.
          CROSS JOIN LATERAL (
              SELECT j.id FROM jobs j
               WHERE j.organization_id = r.organization_id
                 AND j.status IN ('queued', 'retrying') AND j.locked_by IS NULL
                 AND (j.scheduled_at IS NULL OR j.scheduled_at <= now())
               ORDER BY j.priority DESC, j.seq
               LIMIT greatest(r.free, 0)
          ) c
         LIMIT p_limit
    )
"""
        + _CLAIM_UPDATE
        + """
-- Set (true) by a worker once it holds the session-level advisory lock on its own id on
-- its LISTEN connection; false: it holds none (no such connection, e.g. through PgBouncer
-- in transaction mode), so only the heartbeat lease tells that it is gone.
ALTER TABLE workers ADD COLUMN holds_session_lock boolean NOT NULL DEFAULT false;

-- Global retention (maintenance): finished jobs nobody holds, oldest first.
CREATE INDEX jobs_retention_idx ON jobs (completed_at)
    WHERE status IN ('succeeded', 'failed', 'cancelled') AND locked_by IS NULL;
"""
    )


def downgrade() -> None:
    op.execute(
        """
DROP INDEX jobs_retention_idx;
ALTER TABLE workers DROP COLUMN holds_session_lock;
DROP TRIGGER jobs_count_queue_truncate ON jobs;
DROP TRIGGER jobs_count_queue_delete ON jobs;
DROP TRIGGER jobs_count_queue_update ON jobs;
DROP TRIGGER jobs_count_queue_insert ON jobs;
DROP FUNCTION jobrunner_reset_queue();
DROP FUNCTION jobrunner_count_queue();
DROP FUNCTION jobrunner_queue_orgs_add(text[], bigint[]);
DROP INDEX jobs_held_idx;
DROP TABLE job_queue_orgs;

-- The claim of 0001: a loose index scan over every organization with ready work.
CREATE OR REPLACE FUNCTION jobrunner_claim_jobs(p_worker text, p_limit integer, p_org_limit integer)
RETURNS SETOF jobs LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('jobrunner_claim_jobs'));
    RETURN QUERY
    WITH RECURSIVE
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
    running AS (
        SELECT j.organization_id, count(*)::integer AS n
          FROM jobs j WHERE j.locked_by IS NOT NULL GROUP BY j.organization_id
    ),
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
"""
        + _CLAIM_UPDATE
    )
