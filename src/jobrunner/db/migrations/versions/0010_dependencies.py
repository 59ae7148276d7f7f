"""Job dependencies: a job created with ``dependsOn`` waits (queued) until every job it
depends on has succeeded; if one fails or is cancelled, it is cancelled too, in the same
transaction.

- ``jobs.depends_on``: the dependencies as the API shows them (``[{"jobId", "as"}]``),
  written once at creation. ``jobs_waiting_on_idx`` (GIN, only over waiting jobs) finds
  the jobs still waiting on a given job.
- ``jobs.blocked_by``: how many of them have not succeeded yet. A job with
  ``blocked_by > 0`` is not ready: the claim's index (``jobs_ready_idx``) and the ready
  counts of ``job_queue_orgs`` (0007) leave it out, so the claim never reads it.
- ``jobs.has_dependants``: set on a job when another starts depending on it; the trigger
  ``jobs_resolve_dependants`` fires only for such jobs (a predicate in its WHEN), so the
  outcomes of ordinary jobs never enter PL/pgSQL.

Changes to 0007's claim and ready-count triggers: the same function bodies, re-created
with one more predicate, ``blocked_by = 0``, in what counts as ready (``_ready`` below;
``blocked=False`` gives 0007's text back, which the downgrade installs):
``jobrunner_count_queue`` counts a job as ready only when it is not blocked, in each of
its four transition-table filters; ``jobrunner_claim_jobs`` takes only unblocked jobs in
its per-organization LATERAL (so its plan matches the re-created partial index
``jobs_ready_idx``; the final UPDATE's re-check is unchanged). ``jobs_ready_idx`` and
``jobs_scheduled_idx`` (0001) are re-created with the predicate.

Revision ID: 0010
Revises: 0011
Create Date: 2026-12-01
"""

from alembic import op

revision = "0010"
down_revision = "0011"
branch_labels = None
depends_on = None


def _ready(alias: str, *, blocked: bool = True) -> str:
    """What counts as a ready job (queued or retrying, not held), for rows named ``alias``;
    with ``blocked``, this migration's predicate: not waiting on other jobs."""
    test = f"{alias}.status IN ('queued', 'retrying') AND {alias}.locked_by IS NULL"
    return test + (f" AND {alias}.blocked_by = 0" if blocked else "")


def _count_queue(blocked: bool) -> str:
    """0007's jobrunner_count_queue; with ``blocked``, blocked jobs are not ready (0010)."""
    n, o = _ready("n", blocked=blocked), _ready("o", blocked=blocked)
    return f"""
CREATE OR REPLACE FUNCTION jobrunner_count_queue() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_orgs text[];
    v_ready bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(c.organization_id), array_agg(c.ready) INTO v_orgs, v_ready
          FROM (SELECT n.organization_id, count(*) AS ready FROM new_jobs n
                 WHERE {n}
                 GROUP BY n.organization_id) c;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(c.organization_id), array_agg(-c.ready) INTO v_orgs, v_ready
          FROM (SELECT o.organization_id, count(*) AS ready FROM old_jobs o
                 WHERE {o}
                 GROUP BY o.organization_id) c;
    ELSE
        SELECT array_agg(c.organization_id), array_agg(c.ready) INTO v_orgs, v_ready
          FROM (SELECT x.organization_id, sum(x.ready) AS ready
                  FROM (SELECT n.organization_id, 1 AS ready FROM new_jobs n
                         WHERE {n}
                        UNION ALL
                        SELECT o.organization_id, -1 FROM old_jobs o
                         WHERE {o}) x
                 GROUP BY x.organization_id) c
         WHERE c.ready <> 0;
    END IF;
    IF v_orgs IS NOT NULL THEN
        PERFORM jobrunner_queue_orgs_add(v_orgs, v_ready);
    END IF;
    RETURN NULL;
END $$;
"""


def _claim(blocked: bool) -> str:
    """0007's jobrunner_claim_jobs (comments there); with ``blocked``, only unblocked jobs
    are candidates (0010), which is also what lets it use the new jobs_ready_idx."""
    return f"""
CREATE OR REPLACE FUNCTION jobrunner_claim_jobs(p_worker text, p_limit integer, p_org_limit integer)
RETURNS SETOF jobs LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('jobrunner_claim_jobs'));
    RETURN QUERY
    WITH candidates AS (
        SELECT c.id
          FROM (
              SELECT q.organization_id,
                     (SELECT coalesce(o.max_concurrent_jobs, p_org_limit)
                        FROM organizations o WHERE o.id = q.organization_id)
                     - (SELECT count(*) FROM jobs h
                         WHERE h.organization_id = q.organization_id AND h.locked_by IS NOT NULL) AS free
                FROM job_queue_orgs q
               WHERE q.ready > 0
               ORDER BY q.turn
          ) r
          CROSS JOIN LATERAL (
              SELECT j.id FROM jobs j
               WHERE j.organization_id = r.organization_id
                 AND {_ready("j", blocked=blocked)}
                 AND (j.scheduled_at IS NULL OR j.scheduled_at <= now())
               ORDER BY j.priority DESC, j.seq
               LIMIT greatest(r.free, 0)
          ) c
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
     WHERE j.id = ANY (ARRAY(SELECT c.id FROM candidates c))
       AND j.status IN ('queued', 'retrying') AND j.locked_by IS NULL
    RETURNING j.*;
END $$;
"""


def _indexes(blocked: bool) -> str:
    """0001's claim index and wake-up index, over the ready jobs."""
    ready = _ready("jobs", blocked=blocked).replace("jobs.", "")
    return f"""
CREATE INDEX jobs_ready_idx ON jobs (organization_id, priority DESC, seq) WHERE {ready};
CREATE INDEX jobs_scheduled_idx ON jobs (scheduled_at) WHERE {ready} AND scheduled_at IS NOT NULL;
"""


_DROP_INDEXES = """
DROP INDEX jobs_ready_idx;
DROP INDEX jobs_scheduled_idx;
"""


def upgrade() -> None:
    op.execute(
        """
ALTER TABLE jobs
    ADD COLUMN depends_on jsonb NOT NULL DEFAULT '[]',
    ADD COLUMN blocked_by integer NOT NULL DEFAULT 0,
    ADD COLUMN has_dependants boolean NOT NULL DEFAULT false,
    ADD CONSTRAINT jobs_blocked_by_not_negative CHECK (blocked_by >= 0),
    -- A job waiting on others is never held by a worker: it is queued until they all
    -- succeed, or cancelled (by its owner, or because one of them failed).
    ADD CONSTRAINT jobs_blocked_is_waiting CHECK (blocked_by = 0 OR status IN ('queued', 'cancelled'));

-- The jobs still waiting on a given job: depends_on @> '[{"jobId": "<id>"}]'. Only
-- waiting jobs are in it, so it stays as small as the set of jobs that wait.
CREATE INDEX jobs_waiting_on_idx ON jobs USING gin (depends_on jsonb_path_ops) WHERE blocked_by > 0;

-- Cancels the jobs still waiting (queued, blocked_by > 0) on p_dependency, which ended
-- p_status (failed or cancelled): errorMessage names the dependency, an audit row (actor
-- system) says why. p_only: only that job (a new job whose dependency had already ended,
-- db/queries/dependencies.sql). Their own dependants follow through the trigger below.
CREATE FUNCTION jobrunner_cancel_dependants(p_dependency uuid, p_job_type text, p_status job_status,
                                            p_only uuid DEFAULT NULL)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    WITH cancelled AS (
        UPDATE jobs d
           SET status = 'cancelled', cancelled_at = now(), completed_at = now(), updated_at = now(),
               error_message = format('Cancelled: its dependency %s (job %s, %s) %s',
                   (SELECT e->>'as' FROM jsonb_array_elements(d.depends_on) e
                     WHERE e->>'jobId' = p_dependency::text LIMIT 1),
                   p_dependency, p_job_type, p_status)
         WHERE d.depends_on @> jsonb_build_array(jsonb_build_object('jobId', p_dependency::text))
           AND d.blocked_by > 0 AND d.status = 'queued' AND (p_only IS NULL OR d.id = p_only)
        RETURNING d.id, d.organization_id
    )
    INSERT INTO audit_logs (organization_id, user_id, actor, action, job_id, details)
    SELECT c.organization_id, NULL, 'system', 'job.cancelled', c.id,
           jsonb_build_object('reason', 'dependency', 'dependency', p_dependency, 'dependencyStatus', p_status)
      FROM cancelled c;
END $$;

-- A dependency's final status decides its waiting dependants, in the transaction that
-- sets it (a worker's outcome, a rescue, a cancel through the API or the console):
--   succeeded:           each dependant waits for one job less; at 0 it is ready (the
--                        0007 ready counts see it through their UPDATE trigger) and the
--                        workers are woken;
--   failed or cancelled: each dependant is cancelled (jobrunner_cancel_dependants); its
--                        own dependants follow (this trigger fires again for them).
-- Only dependants still waiting (queued, blocked_by > 0) are touched: a dependant its
-- owner cancelled stays as it is.
CREATE FUNCTION jobrunner_resolve_dependants() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_ready integer;
BEGIN
    IF NEW.status = 'succeeded' THEN
        WITH unblocked AS (
            UPDATE jobs d SET blocked_by = d.blocked_by - 1, updated_at = now()
             WHERE d.depends_on @> jsonb_build_array(jsonb_build_object('jobId', NEW.id::text))
               AND d.blocked_by > 0 AND d.status = 'queued'
            RETURNING d.blocked_by
        )
        SELECT count(*) FILTER (WHERE blocked_by = 0) INTO v_ready FROM unblocked;
        IF v_ready > 0 THEN
            PERFORM pg_notify('jobrunner_jobs', '');
        END IF;
    ELSE
        PERFORM jobrunner_cancel_dependants(NEW.id, NEW.job_type, NEW.status);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER jobs_resolve_dependants AFTER UPDATE OF status ON jobs
    FOR EACH ROW
    WHEN (NEW.has_dependants AND NEW.status IS DISTINCT FROM OLD.status
          AND NEW.status IN ('succeeded', 'failed', 'cancelled'))
    EXECUTE FUNCTION jobrunner_resolve_dependants();
"""
        + _DROP_INDEXES
        + _indexes(blocked=True)
        + _count_queue(blocked=True)
        + _claim(blocked=True)
    )


def downgrade() -> None:
    op.execute(
        """
DROP TRIGGER jobs_resolve_dependants ON jobs;
DROP FUNCTION jobrunner_resolve_dependants();
DROP FUNCTION jobrunner_cancel_dependants(uuid, text, job_status, uuid);
"""
        + _claim(blocked=False)
        + _count_queue(blocked=False)
        + _DROP_INDEXES
        + """
ALTER TABLE jobs
    DROP COLUMN has_dependants,
    DROP COLUMN blocked_by,
    DROP COLUMN depends_on;
"""
        + _indexes(blocked=False)
        + """
-- Jobs that were waiting are ready now: count them as 0007 does.
INSERT INTO job_queue_orgs (organization_id, ready)
SELECT organization_id, count(*) FILTER (WHERE status IN ('queued', 'retrying') AND locked_by IS NULL)
  FROM jobs GROUP BY organization_id ORDER BY organization_id
ON CONFLICT (organization_id) DO UPDATE SET ready = excluded.ready;
"""
    )
