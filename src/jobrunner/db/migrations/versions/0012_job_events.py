"""Job events for server-sent events (docs/push.md): every statement that inserts or
updates jobs sends, after commit, on channel ``jobrunner_job_events`` one notification per
~7 kB of changed rows, one line per job: ``<job id> <status> <organization id> <user id>``.

Statement-level triggers (transition tables, like the queue counts of 0007), never per row:
a claim or a batch of outcomes of 100 jobs costs one trigger call and one or two
notifications, whoever makes the change (worker, API, console, rescuer, an operator's SQL).
The API's one LISTEN connection reads them, filters by who is watching, and re-reads the
watched jobs by primary key.

Revision ID: 0012
Revises: 0013
Create Date: 2026-12-01
"""

from alembic import op

revision = "0012"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
-- Lines are at most 36 + 10 + 2 x 64 characters (ids are at most 64 characters, up to
-- 4 bytes each), so grouping by a running sum of 7000 bytes keeps every notification below
-- PostgreSQL's 8000-byte payload limit. Rows in no particular order: the API re-reads them.
CREATE FUNCTION jobrunner_notify_job_events() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_chunk text;
BEGIN
    FOR v_chunk IN
        SELECT string_agg(l.line, E'\\n')
          FROM (SELECT c.line,
                       sum(octet_length(c.line) + 1) OVER (ROWS UNBOUNDED PRECEDING) / 7000 AS part
                  FROM (SELECT n.id::text || ' ' || n.status::text || ' ' || n.organization_id
                               || ' ' || n.user_id AS line
                          FROM new_jobs n) c) l
         GROUP BY l.part
    LOOP
        PERFORM pg_notify('jobrunner_job_events', v_chunk);
    END LOOP;
    RETURN NULL;
END $$;
CREATE TRIGGER jobs_notify_events_insert AFTER INSERT ON jobs
    REFERENCING NEW TABLE AS new_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION jobrunner_notify_job_events();
CREATE TRIGGER jobs_notify_events_update AFTER UPDATE ON jobs
    REFERENCING NEW TABLE AS new_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION jobrunner_notify_job_events();
"""
    )


def downgrade() -> None:
    op.execute(
        """
DROP TRIGGER jobs_notify_events_update ON jobs;
DROP TRIGGER jobs_notify_events_insert ON jobs;
DROP FUNCTION jobrunner_notify_job_events();
"""
    )
