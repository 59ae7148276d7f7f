"""Flow control and circuit breakers, enforced inside the claim (issue 14, parts 3 and 4).

Configuration (operators: ``jobrunner flow ...``; every change audited in ``flow_changes``):

- ``flow_tiers``: plans (free, pro, enterprise): running jobs per organization and a
  fairness weight. ``organization_tiers`` puts an organization on a tier.
- ``job_type_limits``: per job type, a cap on running jobs on the whole cluster and a cap
  per organization.
- ``rate_limits``: at most N starts per period, for one job type or all, per organization
  or for the whole cluster; ``rate_limit_windows`` holds the fixed windows' counts,
  updated by the claim in its own transaction (exact across workers: claimers take turns).
- ``circuit_breaker_rules``: per job type, opt-in: after N transient failures in a row
  within a window, the claim stops taking that type for a cool-down, then lets one trial
  job through (half-open): success closes, failure reopens. One breaker for the cluster,
  or one per organization (``per_organization``: each organization's integration target,
  e.g. its webhook receiver, fails on its own). ``circuit_breakers`` holds their state
  (``organization_id`` '' for the cluster's). ``finish_jobs`` records outcomes of the
  watched types only.
- ``flow_control``: one row, ``active`` when anything above can hold a job back (a tier
  assignment, a cap, a rate limit, a breaker that is not closed), kept by statement
  triggers. The claim reads it first: with nothing configured it runs the claim of 0007
  unchanged (one extra single-row read); otherwise the flow-controlled claim below.

``jobrunner_claim_jobs`` is re-created with that branch; 0007's triggers on ``jobs`` and
``job_queue_orgs`` are not changed. The flow-controlled path writes ``job_queue_orgs.turn``
once after its claim (weighted turns, see there).

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-01
"""

from alembic import op

revision = "0014"
down_revision = "0012"
branch_labels = None
depends_on = None

# The claim's final UPDATE, as in 0007 (kept identical: both paths end with it).
_CLAIM_UPDATE_0007 = """    UPDATE jobs j
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
"""

# 0007's claim as 0010 left it (only jobs not waiting on dependencies): the fast path
# (and the downgrade).
_CLAIM_0007 = """
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
                 AND j.blocked_by = 0  -- not waiting on its dependencies (0010)
                 AND (j.scheduled_at IS NULL OR j.scheduled_at <= now())
               ORDER BY j.priority DESC, j.seq
               LIMIT greatest(r.free, 0)
          ) c
         LIMIT p_limit
    )
"""

_CLAIM_FUNCTION_0007 = (
    """
CREATE OR REPLACE FUNCTION jobrunner_claim_jobs(p_worker text, p_limit integer, p_org_limit integer)
RETURNS SETOF jobs LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('jobrunner_claim_jobs'));
    RETURN QUERY"""
    + _CLAIM_0007
    + _CLAIM_UPDATE_0007
    + "END $$;\n"
)


def upgrade() -> None:
    op.execute(
        """
-- ---------------------------------------------------------------- configuration

-- Plans. max_running: jobs an organization on the tier may run at once (its own
-- organizations.max_concurrent_jobs still wins when set); weight: its share of the
-- workers under contention (weight 3: three jobs per turn where weight 1 gets one).
CREATE TABLE flow_tiers (
    name text PRIMARY KEY CHECK (name ~ '^[a-z0-9_-]{1,40}$'),
    max_running integer NOT NULL CHECK (max_running >= 0),
    weight integer NOT NULL DEFAULT 1 CHECK (weight BETWEEN 1 AND 100),
    updated_at timestamptz(3) NOT NULL DEFAULT now()
);
INSERT INTO flow_tiers (name, max_running, weight) VALUES
    ('free', 1, 1), ('pro', 5, 1), ('enterprise', 20, 3);

CREATE TABLE organization_tiers (
    organization_id text PRIMARY KEY REFERENCES organizations(id) ON DELETE CASCADE,
    tier text NOT NULL REFERENCES flow_tiers(name),
    updated_at timestamptz(3) NOT NULL DEFAULT now()
);

-- Per job type: running jobs on the whole cluster (max_running) and per organization
-- (max_running_per_org); NULL: no cap.
CREATE TABLE job_type_limits (
    job_type varchar(50) PRIMARY KEY,
    max_running integer CHECK (max_running >= 0),
    max_running_per_org integer CHECK (max_running_per_org >= 0),
    updated_at timestamptz(3) NOT NULL DEFAULT now()
);

-- At most max_starts claims (starts of attempts) per fixed window of period_seconds, of
-- one job type (NULL: all types), per organization (each its own window) or for the
-- cluster (one window).
CREATE TABLE rate_limits (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_type varchar(50),
    per_organization boolean NOT NULL,
    max_starts integer NOT NULL CHECK (max_starts >= 1),
    period_seconds integer NOT NULL CHECK (period_seconds BETWEEN 1 AND 86400),
    updated_at timestamptz(3) NOT NULL DEFAULT now(),
    UNIQUE NULLS NOT DISTINCT (job_type, per_organization)
);
-- The current window of each rate limit ('' as organization: the cluster's window).
CREATE TABLE rate_limit_windows (
    rate_limit_id bigint NOT NULL REFERENCES rate_limits(id) ON DELETE CASCADE,
    organization_id text NOT NULL,
    window_start timestamptz NOT NULL,
    starts integer NOT NULL,
    PRIMARY KEY (rate_limit_id, organization_id)
);

-- Which job types have a circuit breaker, and how it trips: failure_threshold transient
-- failures in a row within window_seconds open it for cooldown_seconds. per_organization:
-- a breaker per organization (its own integration target, e.g. its webhook receiver);
-- else one for the cluster.
CREATE TABLE circuit_breaker_rules (
    job_type varchar(50) PRIMARY KEY,
    per_organization boolean NOT NULL DEFAULT false,
    failure_threshold integer NOT NULL CHECK (failure_threshold >= 1),
    window_seconds integer NOT NULL CHECK (window_seconds >= 1),
    cooldown_seconds integer NOT NULL CHECK (cooldown_seconds >= 1),
    updated_at timestamptz(3) NOT NULL DEFAULT now()
);
-- A breaker's state (a row from its first transient failure on): closed (claimed as usual;
-- failures counts transient failures in a row since window_started_at), open (not claimed
-- until retry_at), half_open (one trial job, trial_job_id, runs; no other is claimed).
CREATE TABLE circuit_breakers (
    job_type varchar(50) NOT NULL REFERENCES circuit_breaker_rules(job_type) ON DELETE CASCADE,
    organization_id text NOT NULL,    -- '' : the cluster's breaker
    state text NOT NULL DEFAULT 'closed' CHECK (state IN ('closed', 'open', 'half_open')),
    failures integer NOT NULL DEFAULT 0,
    window_started_at timestamptz(3),
    opened_at timestamptz(3),
    retry_at timestamptz(3),
    trial_job_id uuid,
    last_error text,
    updated_at timestamptz(3) NOT NULL DEFAULT now(),
    PRIMARY KEY (job_type, organization_id)
);
-- Breakers holding work back (the claim, the waiting reasons): few rows.
CREATE INDEX circuit_breakers_tripped_idx ON circuit_breakers (organization_id) WHERE state <> 'closed';

-- Every change of the configuration above, whoever makes it (the CLI names itself in the
-- setting jobrunner.actor; plain SQL shows as the database user).
CREATE TABLE flow_changes (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    changed_at timestamptz(3) NOT NULL DEFAULT now(),
    actor text NOT NULL,
    subject text NOT NULL,
    operation text NOT NULL,
    before jsonb,
    after jsonb
);
CREATE FUNCTION jobrunner_audit_flow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO flow_changes (actor, subject, operation, before, after)
    VALUES (coalesce(nullif(current_setting('jobrunner.actor', true), ''), current_user),
            TG_TABLE_NAME, lower(TG_OP),
            CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE to_jsonb(OLD) - 'updated_at' END,
            CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE to_jsonb(NEW) - 'updated_at' END);
    RETURN NULL;
END $$;
CREATE TRIGGER flow_tiers_audit AFTER INSERT OR UPDATE OR DELETE ON flow_tiers
    FOR EACH ROW EXECUTE FUNCTION jobrunner_audit_flow();
CREATE TRIGGER organization_tiers_audit AFTER INSERT OR UPDATE OR DELETE ON organization_tiers
    FOR EACH ROW EXECUTE FUNCTION jobrunner_audit_flow();
CREATE TRIGGER job_type_limits_audit AFTER INSERT OR UPDATE OR DELETE ON job_type_limits
    FOR EACH ROW EXECUTE FUNCTION jobrunner_audit_flow();
CREATE TRIGGER rate_limits_audit AFTER INSERT OR UPDATE OR DELETE ON rate_limits
    FOR EACH ROW EXECUTE FUNCTION jobrunner_audit_flow();
CREATE TRIGGER circuit_breaker_rules_audit AFTER INSERT OR UPDATE OR DELETE ON circuit_breaker_rules
    FOR EACH ROW EXECUTE FUNCTION jobrunner_audit_flow();
-- Breakers' state: only manual resets (the claim's and the workers' changes are not
-- configuration); the CLI and the API set jobrunner.actor for those.
CREATE TRIGGER circuit_breakers_audit AFTER UPDATE ON circuit_breakers
    FOR EACH ROW WHEN (current_setting('jobrunner.actor', true) IS NOT NULL
                       AND current_setting('jobrunner.actor', true) <> '')
    EXECUTE FUNCTION jobrunner_audit_flow();

-- ---------------------------------------------------------------- the switch

-- One row: may anything hold a ready job back besides the per-organization limit? The
-- claim reads this first and takes 0007's path when not.
CREATE TABLE flow_control (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    active boolean NOT NULL
);
INSERT INTO flow_control VALUES (true, false);

-- Recomputed after each statement on the configuration (statement triggers). The row is
-- locked first, then read in a fresh snapshot (a volatile function's statements each take
-- one): two concurrent changes recompute one after the other, the later seeing the earlier.
-- Lock order: whoever changes breakers or configuration locks this row BEFORE the rows it
-- changes (jobrunner_breaker_record, the claim's trials, `jobrunner flow`, the API's reset),
-- so that two writers never wait on each other in a circle.
CREATE FUNCTION jobrunner_flow_refresh() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM flow_control FOR UPDATE;
    UPDATE flow_control
       SET active = v.active
      FROM (SELECT EXISTS (SELECT 1 FROM organization_tiers)
                OR EXISTS (SELECT 1 FROM job_type_limits
                            WHERE max_running IS NOT NULL OR max_running_per_org IS NOT NULL)
                OR EXISTS (SELECT 1 FROM rate_limits)
                OR EXISTS (SELECT 1 FROM circuit_breakers WHERE state <> 'closed') AS active) v
     WHERE flow_control.active IS DISTINCT FROM v.active;
    RETURN NULL;
END $$;
CREATE TRIGGER organization_tiers_flow AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON organization_tiers
    FOR EACH STATEMENT EXECUTE FUNCTION jobrunner_flow_refresh();
CREATE TRIGGER job_type_limits_flow AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON job_type_limits
    FOR EACH STATEMENT EXECUTE FUNCTION jobrunner_flow_refresh();
CREATE TRIGGER rate_limits_flow AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON rate_limits
    FOR EACH STATEMENT EXECUTE FUNCTION jobrunner_flow_refresh();
CREATE TRIGGER circuit_breakers_flow AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON circuit_breakers
    FOR EACH STATEMENT EXECUTE FUNCTION jobrunner_flow_refresh();

-- Weighted turns: jobs an organization took in its current turn (the flow-controlled claim
-- keeps its place in job_queue_orgs until it has taken its tier's weight).
CREATE TABLE flow_org_turns (
    organization_id text PRIMARY KEY REFERENCES organizations(id) ON DELETE CASCADE,
    used integer NOT NULL
);

-- ---------------------------------------------------------------- breakers' outcomes

-- Outcomes of attempts of a breaker-watched job type in one organization, one call per
-- (type, organization) per finish_jobs batch: any success closes the breaker (a half-open
-- trial that succeeded, or a closed one's count of failures starts again); otherwise
-- p_failures transient failures are added (a new window when the last one is over) and
-- the breaker opens at the threshold, or reopens when it was half-open (its trial failed).
CREATE FUNCTION jobrunner_breaker_record(p_type text, p_org text, p_failures bigint, p_successes bigint,
                                         p_error text)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    v_rule circuit_breaker_rules%ROWTYPE;
    v_key text;
BEGIN
    SELECT * INTO v_rule FROM circuit_breaker_rules WHERE job_type = p_type;
    IF NOT FOUND THEN
        RETURN 0;
    END IF;
    v_key := CASE WHEN v_rule.per_organization THEN p_org ELSE '' END;
    IF p_successes > 0 THEN
        -- Usually nothing to close: a read first, so that no UPDATE statement (and its
        -- flow_control trigger) runs for the successes of a healthy type.
        IF EXISTS (SELECT 1 FROM circuit_breakers
                    WHERE job_type = p_type AND organization_id = v_key AND (state <> 'closed' OR failures > 0)) THEN
            PERFORM 1 FROM flow_control FOR UPDATE;   -- lock order: see jobrunner_flow_refresh
            UPDATE circuit_breakers
               SET state = 'closed', failures = 0, window_started_at = NULL, opened_at = NULL,
                   retry_at = NULL, trial_job_id = NULL, updated_at = now()
             WHERE job_type = p_type AND organization_id = v_key AND (state <> 'closed' OR failures > 0);
        END IF;
    ELSIF p_failures > 0 THEN
        PERFORM 1 FROM flow_control FOR UPDATE;       -- lock order: see jobrunner_flow_refresh
        INSERT INTO circuit_breakers AS b (job_type, organization_id, failures, window_started_at, last_error)
        VALUES (p_type, v_key, p_failures, now(), p_error)
        ON CONFLICT (job_type, organization_id) DO UPDATE
           SET failures = CASE WHEN b.state = 'closed'
                                    AND b.window_started_at > now() - make_interval(secs => v_rule.window_seconds)
                               THEN b.failures + p_failures ELSE p_failures END,
               window_started_at = CASE WHEN b.state = 'closed'
                                             AND b.window_started_at > now() - make_interval(secs => v_rule.window_seconds)
                                        THEN b.window_started_at ELSE now() END,
               last_error = coalesce(p_error, b.last_error),
               updated_at = now();
        UPDATE circuit_breakers b
           SET state = 'open', opened_at = now(), trial_job_id = NULL,
               retry_at = now() + make_interval(secs => v_rule.cooldown_seconds)
         WHERE b.job_type = p_type AND b.organization_id = v_key
           AND (b.state = 'half_open' OR b.failures >= v_rule.failure_threshold);
    END IF;
    RETURN 1;
END $$;
"""
        + _CLAIM_FUNCTION_FLOW
    )


# The claim with flow control. Claimers take turns (the advisory lock), so every count read
# here is exact: no other claim runs until this transaction commits.
_CLAIM_FUNCTION_FLOW = (
    """
CREATE OR REPLACE FUNCTION jobrunner_claim_jobs(p_worker text, p_limit integer, p_org_limit integer)
RETURNS SETOF jobs LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('jobrunner_claim_jobs'));
    -- Nothing configured (the usual case): 0007's claim, unchanged.
    IF NOT (SELECT f.active FROM flow_control f) THEN
        RETURN QUERY"""
    + _CLAIM_0007
    + _CLAIM_UPDATE_0007
    + """        RETURN;
    END IF;
    RETURN QUERY SELECT * FROM jobrunner_claim_jobs_flow(p_worker, p_limit, p_org_limit);
END $$;

-- The flow-controlled claim: picks job by job, so every cap, rate limit and breaker is
-- checked against what this claim already took.
--   1. Blocked job types, for the whole claim: open breakers (a breaker whose cool-down is
--      over lets one trial job through and turns half-open), types at their cluster cap.
--   2. Organizations in round-robin turn (job_queue_orgs), each taking in one turn up to its
--      tier's weight (less what it took in this turn already, flow_org_turns) and up to its
--      free slots (organizations.max_concurrent_jobs, else its tier's max_running, else the
--      service's limit, minus the jobs it holds). Further passes over the same organizations
--      while the batch is not full, each a new turn.
--   3. Within an organization its best due jobs (jobs_ready_idx), skipping the blocked
--      types; a type reaching its per-organization cap or a rate limit is blocked for the
--      organization (or for the claim when the limit is the cluster's).
--   4. The jobs are claimed as in 0007; rate-limit windows are counted; an organization
--      whose turn is not used up gets its place in the turn order back.
CREATE FUNCTION jobrunner_claim_jobs_flow(p_worker text, p_limit integer, p_org_limit integer)
RETURNS SETOF jobs LANGUAGE plpgsql
-- Its per-organization statements run once per organization visited with new values each
-- time: planned once (generic plans, jobs_ready_idx), not re-planned on every call.
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    v_ids uuid[] := '{}';
    v_blocked text[] := '{}';      -- job types no organization may start now
    v_caps jsonb;                  -- {job_type: [max_running, max_running_per_org]}
    v_type_held jsonb;             -- {job_type: held on the cluster}, capped types only
    v_rates jsonb;                 -- [{id, job_type, per_org, max, period}]
    v_rate_used jsonb := '{}';     -- {"id/org": starts in the current window}
    v_has_rates boolean;
    v_trial_taken boolean := false;
    v_trials jsonb := '{}';        -- {"org/job_type": trial job id}: breakers turning half-open ('' org: cluster's)
    v_tripped jsonb;               -- {org: [job_type]}: per-organization breakers holding back a type
    v_orgs text[] := '{}';         -- organizations visited (pass 1), for later passes
    v_turns bigint[] := '{}';
    v_free int[] := '{}';
    v_weight int[] := '{}';
    v_used int[] := '{}';          -- taken in the current turn (flow_org_turns + this claim)
    v_done boolean[] := '{}';      -- nothing more to take from it in this claim
    v_org_blocked text[];
    v_org_type_held jsonb := '{}';  -- {"org/job_type": held}, types capped per organization
    v_cursor refcursor;
    v_more boolean := true;        -- the cursor of organizations is not exhausted
    v_progress boolean;
    v_i int;
    v_org text;
    v_quantum int;
    v_limit int;
    v_seen int;
    v_taken int;
    v_stop boolean := false;
    v_type text;
    v_n int;
    v_rate jsonb;
    v_key text;
    v_ok boolean;
    v_full_block boolean;
    v_row record;
    v_job record;
BEGIN
    -- 1. Caps, held jobs of the capped types (jobs_held_idx: the held jobs only), rate
    -- limits, breakers.
    SELECT coalesce(jsonb_object_agg(l.job_type, jsonb_build_array(l.max_running, l.max_running_per_org)), '{}')
      INTO v_caps FROM job_type_limits l
     WHERE l.max_running IS NOT NULL OR l.max_running_per_org IS NOT NULL;
    SELECT coalesce(jsonb_object_agg(h.job_type, h.n), '{}') INTO v_type_held
      FROM (SELECT held.job_type, count(*) AS n FROM jobs held
             WHERE held.locked_by IS NOT NULL
               AND held.job_type IN (SELECT l.job_type FROM job_type_limits l WHERE l.max_running IS NOT NULL)
             GROUP BY held.job_type) h;
    SELECT coalesce(jsonb_agg(jsonb_build_object('id', rl.id, 'job_type', rl.job_type,
                    'per_org', rl.per_organization, 'max', rl.max_starts, 'period', rl.period_seconds)), '[]')
      INTO v_rates FROM rate_limits rl;
    v_has_rates := jsonb_array_length(v_rates) > 0;
    -- Rate-limit windows still current, as counted so far.
    SELECT coalesce(jsonb_object_agg(w.rate_limit_id || '/' || w.organization_id, w.starts), '{}')
      INTO v_rate_used
      FROM rate_limit_windows w JOIN rate_limits rl ON rl.id = w.rate_limit_id
     WHERE w.window_start = to_timestamp(floor(extract(epoch FROM now()) / rl.period_seconds) * rl.period_seconds);
    -- Breakers: an open one blocks its type (for the cluster, or in its organization);
    -- one whose cool-down is over lets one trial job through (taken below; it turns
    -- half-open then), as does a half-open one whose trial is no longer held (rescued,
    -- cancelled). circuit_breakers_tripped_idx: the few breakers not closed.
    SELECT coalesce(array_agg(t.job_type), '{}') INTO v_blocked
      FROM circuit_breakers t
     WHERE t.state <> 'closed' AND t.organization_id = ''
       AND ((t.state = 'open' AND t.retry_at > now())
            OR (t.state = 'half_open'
                AND EXISTS (SELECT 1 FROM jobs h WHERE h.id = t.trial_job_id AND h.locked_by IS NOT NULL)));
    SELECT coalesce(jsonb_object_agg(o.organization_id, o.types), '{}') INTO v_tripped
      FROM (SELECT t.organization_id, jsonb_agg(t.job_type) AS types
              FROM circuit_breakers t
             WHERE t.state <> 'closed' AND t.organization_id <> ''
               AND ((t.state = 'open' AND t.retry_at > now())
                    OR (t.state = 'half_open'
                        AND EXISTS (SELECT 1 FROM jobs h WHERE h.id = t.trial_job_id AND h.locked_by IS NOT NULL)))
             GROUP BY t.organization_id) o;
    SELECT coalesce(jsonb_object_agg(t.organization_id || '/' || t.job_type, NULL), '{}') INTO v_trials
      FROM circuit_breakers t
     WHERE t.state <> 'closed'
       AND NOT (t.organization_id = '' AND t.job_type = ANY (v_blocked))
       AND NOT coalesce((v_tripped -> t.organization_id) ? t.job_type, false);
    FOR v_type IN SELECT key FROM jsonb_each(v_caps) LOOP
        IF (v_caps -> v_type ->> 0) IS NOT NULL
           AND coalesce((v_type_held ->> v_type)::int, 0) >= (v_caps -> v_type ->> 0)::int THEN
            v_blocked := v_blocked || v_type;
        END IF;
    END LOOP;

    -- 2. Passes over the organizations. The first pass reads them lazily, in turn order
    -- (job_queue_orgs_turn_idx), from a cursor: it stops once the batch is full, so a claim
    -- reads about as many organizations as it takes jobs from, however many have backlog.
    -- Later passes go over the organizations the first one met.
    OPEN v_cursor FOR
        SELECT q.organization_id, q.turn,
               (SELECT coalesce(o.max_concurrent_jobs, t.max_running, p_org_limit)
                  FROM organizations o
                  LEFT JOIN organization_tiers ot ON ot.organization_id = o.id
                  LEFT JOIN flow_tiers t ON t.name = ot.tier
                 WHERE o.id = q.organization_id)
               - (SELECT count(*) FROM jobs h
                   WHERE h.organization_id = q.organization_id AND h.locked_by IS NOT NULL) AS free,
               (SELECT t.weight FROM organization_tiers ot JOIN flow_tiers t ON t.name = ot.tier
                 WHERE ot.organization_id = q.organization_id) AS weight,
               (SELECT u.used FROM flow_org_turns u WHERE u.organization_id = q.organization_id) AS used
          FROM job_queue_orgs q
         WHERE q.ready > 0
         ORDER BY q.turn;
    LOOP
        v_progress := false;
        v_i := 0;
        WHILE NOT v_stop AND cardinality(v_ids) < p_limit LOOP
            v_i := v_i + 1;
            IF v_i > cardinality(v_orgs) THEN
                EXIT WHEN NOT v_more;
                FETCH v_cursor INTO v_row;
                IF NOT FOUND THEN
                    v_more := false;
                    EXIT;
                END IF;
                IF v_row.free <= 0 THEN
                    v_i := v_i - 1;       -- at its limit: not met for this claim
                    CONTINUE;
                END IF;
                v_orgs := v_orgs || v_row.organization_id;
                v_turns := v_turns || v_row.turn;
                v_free := v_free || v_row.free::int;
                v_weight := v_weight || coalesce(v_row.weight, 1);
                v_used := v_used || least(coalesce(v_row.used, 0), coalesce(v_row.weight, 1) - 1);
                v_done := v_done || false;
            END IF;
            CONTINUE WHEN v_done[v_i];
            v_org := v_orgs[v_i];
            -- A new turn once the last one is used up.
            IF v_used[v_i] >= v_weight[v_i] THEN
                v_used[v_i] := 0;
            END IF;
            v_quantum := least(v_weight[v_i] - v_used[v_i], v_free[v_i], p_limit - cardinality(v_ids));
            v_taken := 0;
            -- Types its own breakers hold back.
            v_org_blocked := '{}';
            IF v_tripped ? v_org THEN
                v_org_blocked := ARRAY(SELECT jsonb_array_elements_text(v_tripped -> v_org));
            END IF;
            v_full_block := false;
            -- 3. Its best due jobs not yet taken; blocked types are skipped (the lists grow
            -- while walking).
            -- First as many as it may take (usually all it needs); when some were held
            -- back, once more past them. Bounded: jobs behind more than 1,000 held-back
            -- jobs of their own organization wait until those move (docs/flow-control.md).
            v_limit := v_quantum;
            <<scan>>
            LOOP
            v_seen := 0;
            FOR v_job IN
                SELECT c.id, c.job_type FROM jobs c
                 WHERE c.organization_id = v_org
                   AND c.status IN ('queued', 'retrying') AND c.locked_by IS NULL
                   AND c.blocked_by = 0  -- not waiting on its dependencies (0010)
                   AND (c.scheduled_at IS NULL OR c.scheduled_at <= now())
                   AND NOT (c.id = ANY (v_ids))
                 ORDER BY c.priority DESC, c.seq
                 LIMIT v_limit
            LOOP
                v_seen := v_seen + 1;
                EXIT WHEN v_taken >= v_quantum OR v_stop;
                CONTINUE WHEN v_job.job_type = ANY (v_blocked) OR v_job.job_type = ANY (v_org_blocked);
                v_ok := true;
                -- Per-organization cap of its type (held jobs: jobs_held_idx).
                v_key := v_org || '/' || v_job.job_type;
                IF (v_caps -> v_job.job_type ->> 1) IS NOT NULL THEN
                    IF NOT v_org_type_held ? v_key THEN
                        SELECT count(*) INTO v_n FROM jobs h
                         WHERE h.organization_id = v_org AND h.locked_by IS NOT NULL AND h.job_type = v_job.job_type;
                        v_org_type_held := v_org_type_held || jsonb_build_object(v_key, v_n);
                    END IF;
                    IF (v_org_type_held ->> v_key)::int >= (v_caps -> v_job.job_type ->> 1)::int THEN
                        v_org_blocked := v_org_blocked || v_job.job_type::text;
                        v_ok := false;
                    END IF;
                END IF;
                -- Rate limits that apply to it: all must have room.
                IF v_ok AND v_has_rates THEN
                    FOR v_rate IN SELECT value FROM jsonb_array_elements(v_rates) LOOP
                        CONTINUE WHEN (v_rate ->> 'job_type') IS NOT NULL AND (v_rate ->> 'job_type') <> v_job.job_type;
                        v_key := (v_rate ->> 'id') || '/' || CASE WHEN (v_rate ->> 'per_org')::boolean THEN v_org ELSE '' END;
                        IF coalesce((v_rate_used ->> v_key)::int, 0) >= (v_rate ->> 'max')::int THEN
                            v_ok := false;
                            IF (v_rate ->> 'per_org')::boolean THEN
                                IF (v_rate ->> 'job_type') IS NULL THEN
                                    v_full_block := true;     -- nothing more of this organization
                                ELSE
                                    v_org_blocked := v_org_blocked || v_job.job_type::text;
                                END IF;
                            ELSIF (v_rate ->> 'job_type') IS NULL THEN
                                v_stop := true;               -- nothing more at all
                            ELSE
                                v_blocked := v_blocked || v_job.job_type::text;
                            END IF;
                        END IF;
                    END LOOP;
                END IF;
                EXIT WHEN v_full_block;
                CONTINUE WHEN NOT v_ok;
                -- Taken: count it everywhere.
                v_ids := v_ids || v_job.id;
                v_taken := v_taken + 1;
                IF v_has_rates THEN
                    FOR v_rate IN SELECT value FROM jsonb_array_elements(v_rates) LOOP
                        CONTINUE WHEN (v_rate ->> 'job_type') IS NOT NULL AND (v_rate ->> 'job_type') <> v_job.job_type;
                        v_key := (v_rate ->> 'id') || '/' || CASE WHEN (v_rate ->> 'per_org')::boolean THEN v_org ELSE '' END;
                        v_rate_used := v_rate_used || jsonb_build_object(v_key, coalesce((v_rate_used ->> v_key)::int, 0) + 1);
                    END LOOP;
                END IF;
                v_key := v_org || '/' || v_job.job_type;
                IF v_org_type_held ? v_key THEN
                    v_org_type_held := v_org_type_held
                        || jsonb_build_object(v_key, (v_org_type_held ->> v_key)::int + 1);
                END IF;
                IF v_type_held ? v_job.job_type OR (v_caps -> v_job.job_type ->> 0) IS NOT NULL THEN
                    v_type_held := v_type_held
                        || jsonb_build_object(v_job.job_type, coalesce((v_type_held ->> v_job.job_type)::int, 0) + 1);
                    IF (v_caps -> v_job.job_type ->> 0) IS NOT NULL
                       AND (v_type_held ->> v_job.job_type)::int >= (v_caps -> v_job.job_type ->> 0)::int THEN
                        v_blocked := v_blocked || v_job.job_type::text;
                    END IF;
                END IF;
                -- A breaker's trial: one job, then the type waits for its outcome (on the
                -- cluster, or in this organization).
                IF v_trials ? ('/' || v_job.job_type) THEN
                    v_trial_taken := true;
                    v_trials := v_trials || jsonb_build_object('/' || v_job.job_type, v_job.id);
                    v_blocked := v_blocked || v_job.job_type::text;
                ELSIF v_trials ? (v_org || '/' || v_job.job_type) THEN
                    v_trial_taken := true;
                    v_trials := v_trials || jsonb_build_object(v_org || '/' || v_job.job_type, v_job.id);
                    v_tripped := v_tripped
                        || jsonb_build_object(v_org, coalesce(v_tripped -> v_org, '[]') || to_jsonb(v_job.job_type::text));
                    v_org_blocked := v_org_blocked || v_job.job_type::text;
                END IF;
            END LOOP;
            EXIT scan WHEN v_taken >= v_quantum OR v_stop OR v_full_block OR v_seen < v_limit OR v_limit > v_quantum;
            v_limit := v_quantum + 1000;
            END LOOP scan;
            v_free[v_i] := v_free[v_i] - v_taken;
            v_used[v_i] := v_used[v_i] + v_taken;
            IF v_taken > 0 THEN
                v_progress := true;
            END IF;
            -- Done for this claim: no free slot, or it offered less than it could take.
            IF v_free[v_i] <= 0 OR v_taken < v_quantum OR v_full_block THEN
                v_done[v_i] := true;
            END IF;
        END LOOP;
        -- The first pass is over once the cursor is exhausted (or the batch is full).
        EXIT WHEN v_stop OR NOT v_progress OR cardinality(v_ids) >= p_limit;
    END LOOP;
    CLOSE v_cursor;

    -- 4. Claim them (0007's UPDATE). A breaker turning half-open below: the flow_control
    -- row first (lock order, see jobrunner_flow_refresh).
    IF v_trial_taken THEN
        PERFORM 1 FROM flow_control FOR UPDATE;
    END IF;
    RETURN QUERY
    WITH candidates AS (SELECT unnest(v_ids) AS id)
"""
    + _CLAIM_UPDATE_0007
    + """
    -- Rate-limit windows: one upsert per window used (a new window starts the count again).
    IF v_has_rates THEN
    INSERT INTO rate_limit_windows AS w (rate_limit_id, organization_id, window_start, starts)
    SELECT split_part(u.key, '/', 1)::bigint, substr(u.key, strpos(u.key, '/') + 1),
           to_timestamp(floor(extract(epoch FROM now()) / rl.period_seconds) * rl.period_seconds),
           u.value::int
      FROM jsonb_each_text(v_rate_used) u
      JOIN rate_limits rl ON rl.id = split_part(u.key, '/', 1)::bigint
     ORDER BY 1, 2
    ON CONFLICT (rate_limit_id, organization_id) DO UPDATE
       SET window_start = excluded.window_start, starts = excluded.starts
     WHERE w.starts IS DISTINCT FROM excluded.starts OR w.window_start IS DISTINCT FROM excluded.window_start;
    END IF;

    -- Breakers letting a trial through turn half-open (only then: the statement fires the
    -- flow_control trigger).
    IF v_trial_taken THEN
    UPDATE circuit_breakers b
       SET state = 'half_open', trial_job_id = (v_trials ->> (b.organization_id || '/' || b.job_type))::uuid,
           updated_at = now()
     WHERE b.state <> 'closed' AND (v_trials ->> (b.organization_id || '/' || b.job_type)) IS NOT NULL;
    END IF;

    -- Weighted turns: the trigger of 0007 sent every organization that got a job to the
    -- back; one that has not used up its turn gets its place back, and the jobs it took
    -- in this turn are remembered.
    IF cardinality(v_orgs) > 0 THEN
        UPDATE job_queue_orgs q SET turn = d.turn
          FROM unnest(v_orgs, v_turns, v_used, v_weight) AS d(org, turn, used, weight)
         WHERE q.organization_id = d.org AND d.used > 0 AND d.used < d.weight AND q.turn <> d.turn;
        INSERT INTO flow_org_turns AS u (organization_id, used)
        SELECT d.org, CASE WHEN d.used >= d.weight THEN 0 ELSE d.used END
          FROM unnest(v_orgs, v_used, v_weight) AS d(org, used, weight)
         WHERE d.weight > 1
         ORDER BY d.org
        ON CONFLICT (organization_id) DO UPDATE SET used = excluded.used
         WHERE u.used <> excluded.used;
    END IF;
END $$;
"""
)


def downgrade() -> None:
    op.execute(
        _CLAIM_FUNCTION_0007
        + """
DROP FUNCTION jobrunner_claim_jobs_flow(text, integer, integer);
DROP FUNCTION jobrunner_breaker_record(text, text, bigint, bigint, text);
DROP TABLE flow_org_turns;
DROP TABLE flow_control;
DROP FUNCTION jobrunner_flow_refresh() CASCADE;
DROP TABLE flow_changes;
DROP TABLE circuit_breakers;
DROP TABLE circuit_breaker_rules;
DROP TABLE rate_limit_windows;
DROP TABLE rate_limits;
DROP TABLE job_type_limits;
DROP TABLE organization_tiers;
DROP TABLE flow_tiers;
DROP FUNCTION jobrunner_audit_flow();
"""
    )
