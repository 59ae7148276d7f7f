"""The job state machine, enforced by the database: the allowed changes of status as a
table generated from ``domain/states.py`` (TRANSITIONS), and a trigger that refuses any
other change with SQLSTATE JR001. The statements' ``WHERE status IN (...)`` guards stay:
they resolve races (a late write loses quietly); the trigger catches bugs (an impossible
write fails loudly).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-13
"""

from alembic import op

from jobrunner.domain.states import ILLEGAL_TRANSITION_MESSAGE, ILLEGAL_TRANSITION_SQLSTATE, TRANSITIONS

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _rows(cast: str = "") -> str:
    return ",\n    ".join(f"('{source.value}'{cast}, '{target.value}'{cast})" for source, target in TRANSITIONS)


def upgrade() -> None:
    op.execute(
        f"""
-- Every change of a job's status there is (generated from domain/states.py TRANSITIONS,
-- which also says who makes each one and with which statement). Staying in a state is no
-- change and needs no row.
CREATE TABLE job_status_transitions (
    from_status job_status NOT NULL,
    to_status job_status NOT NULL,
    PRIMARY KEY (from_status, to_status),
    CHECK (from_status <> to_status)
);
INSERT INTO job_status_transitions (from_status, to_status) VALUES
    {_rows()};

-- Refuses a change of status the table does not list. A repair by hand, or a test's
-- set-up, may skip it inside one transaction with
-- SET LOCAL jobrunner.unchecked_transitions = 'on'; the service never does.
CREATE FUNCTION jobrunner_check_transition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM job_status_transitions t
                    WHERE t.from_status = OLD.status AND t.to_status = NEW.status)
       AND current_setting('jobrunner.unchecked_transitions', true) IS DISTINCT FROM 'on' THEN
        RAISE EXCEPTION '{ILLEGAL_TRANSITION_MESSAGE}: % -> % (job %)', OLD.status, NEW.status, OLD.id
            USING ERRCODE = '{ILLEGAL_TRANSITION_SQLSTATE}',
                  HINT = 'domain/states.py TRANSITIONS lists the allowed changes';
    END IF;
    RETURN NEW;
END $$;
-- Fires only when the status changes (a retry's new attempt stays retrying, progress
-- writes stay running), and only for a change the WHEN does not know as allowed: the same
-- list as the table, compared in the executor, so the claim and the outcome writes (the
-- drain's hot path) never enter PL/pgSQL; the function decides by the table.
CREATE TRIGGER jobs_check_transition BEFORE UPDATE OF status ON jobs
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status
          AND (OLD.status, NEW.status) NOT IN (
    {_rows("::job_status")}))
    EXECUTE FUNCTION jobrunner_check_transition();
"""
    )


def downgrade() -> None:
    op.execute(
        """
DROP TRIGGER jobs_check_transition ON jobs;
DROP FUNCTION jobrunner_check_transition();
DROP TABLE job_status_transitions;
"""
    )
