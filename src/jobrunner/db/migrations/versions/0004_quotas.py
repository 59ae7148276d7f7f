"""Per-organization quotas: queued jobs, job creations per user per minute, stored upload
bytes. Limits come from settings; ``organization_limits`` overrides them per organization.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
-- An organization's own quotas. NULL in a column means the service's setting
-- (JOBRUNNER_QUOTA_*); 0 refuses everything of that kind.
CREATE TABLE organization_limits (
    organization_id text PRIMARY KEY REFERENCES organizations(id) ON DELETE CASCADE,
    max_queued_jobs integer CHECK (max_queued_jobs >= 0),
    max_creations_per_minute integer CHECK (max_creations_per_minute >= 0),
    max_upload_bytes bigint CHECK (max_upload_bytes >= 0),
    updated_at timestamptz(3) NOT NULL DEFAULT now()
);

-- May this user of this organization create one more job? Called inside the statement
-- that inserts the job (db/queries/jobs.sql, create_job), so the check and the insert
-- are one transaction. Creations of one organization take turns on a transaction-scoped
-- advisory lock, held until that transaction commits; each query of this (volatile)
-- function takes a fresh snapshot after the lock, so it sees every job committed by the
-- turn before: the limits are exact across any number of API processes. The counts stop
-- at the limit (LIMIT), so a check costs at most that many index entries
-- (jobs_ready_idx, jobs_owner_created_idx). A NULL default means no limit.
-- Answers one row: refused (NULL, 'queued_jobs' or 'creations_per_minute'), the limit
-- that refused, and for the rate the seconds until the oldest creation leaves the minute.
CREATE FUNCTION jobrunner_admit_job(p_org text, p_user text, p_max_queued integer,
                                    p_max_per_minute integer)
RETURNS TABLE (refused text, quota bigint, retry_after integer)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_max_queued integer := p_max_queued;
    v_max_rate integer := p_max_per_minute;
    v_count integer;
    v_oldest timestamptz;
    v_since timestamptz;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('jobrunner_quota_jobs'), hashtext(p_org));
    SELECT coalesce(l.max_queued_jobs, p_max_queued), coalesce(l.max_creations_per_minute, p_max_per_minute)
      INTO v_max_queued, v_max_rate
      FROM organization_limits l WHERE l.organization_id = p_org;
    IF NOT FOUND THEN
        v_max_queued := p_max_queued;
        v_max_rate := p_max_per_minute;
    END IF;
    IF v_max_queued IS NOT NULL THEN
        -- Not yet started: queued, or retrying while waiting for its next attempt.
        SELECT count(*) INTO v_count FROM (
            SELECT 1 FROM jobs j
             WHERE j.organization_id = p_org AND j.status IN ('queued', 'retrying')
               AND j.locked_by IS NULL
             LIMIT v_max_queued) waiting;
        IF v_count >= v_max_queued THEN
            RETURN QUERY SELECT 'queued_jobs'::text, v_max_queued::bigint, NULL::integer;
            RETURN;
        END IF;
    END IF;
    IF v_max_rate IS NOT NULL THEN
        -- A variable, not clock_timestamp() in the WHERE: a volatile call cannot bound
        -- the index scan, which would then walk all of the user's jobs.
        v_since := clock_timestamp() - interval '1 minute';
        SELECT count(*), min(recent.created_at) INTO v_count, v_oldest FROM (
            SELECT j.created_at FROM jobs j
             WHERE j.organization_id = p_org AND j.user_id = p_user
               AND j.created_at > v_since
             ORDER BY j.created_at DESC
             LIMIT v_max_rate) recent;
        IF v_count >= v_max_rate THEN
            RETURN QUERY SELECT 'creations_per_minute'::text, v_max_rate::bigint,
                greatest(1, ceil(extract(epoch FROM v_oldest - v_since)))::integer;
            RETURN;
        END IF;
    END IF;
    RETURN QUERY SELECT NULL::text, NULL::bigint, NULL::integer;
END;
$$;

-- May this organization store p_bytes more of uploads? Same pattern as above (its own
-- lock key, so uploads and job creations do not wait on each other). Answers the bytes
-- already stored and the limit too, for the refusal's message.
CREATE FUNCTION jobrunner_admit_upload(p_org text, p_bytes bigint, p_max_bytes bigint)
RETURNS TABLE (refused text, quota bigint, used_bytes bigint)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_max bigint := p_max_bytes;
    v_used bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('jobrunner_quota_uploads'), hashtext(p_org));
    SELECT coalesce(l.max_upload_bytes, p_max_bytes) INTO v_max
      FROM organization_limits l WHERE l.organization_id = p_org;
    IF NOT FOUND THEN
        v_max := p_max_bytes;
    END IF;
    SELECT coalesce(sum(u.size_bytes), 0) INTO v_used FROM uploads u WHERE u.organization_id = p_org;
    IF v_max IS NOT NULL AND v_used + p_bytes > v_max THEN
        RETURN QUERY SELECT 'upload_bytes'::text, v_max, v_used;
        RETURN;
    END IF;
    RETURN QUERY SELECT NULL::text, v_max, v_used;
END;
$$;
"""
    )


def downgrade() -> None:
    op.execute(
        """
DROP FUNCTION jobrunner_admit_upload(text, bigint, bigint);
DROP FUNCTION jobrunner_admit_job(text, text, integer, integer);
DROP TABLE organization_limits;
"""
    )
