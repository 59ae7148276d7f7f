-- Flow control and circuit breakers (migration 0014; docs/flow-control.md): the operators'
-- configuration (`jobrunner flow ...`), an organization's view of it (/v1/admin/flow) and
-- breakers' manual reset. The claim enforces all of it (jobrunner_claim_jobs_flow).

-- Who is changing the configuration, for flow_changes (this transaction only).
-- name: flow_set_actor
SELECT set_config('jobrunner.actor', $1, true);

-- Every change takes the flow_control row first: the lock order of migration 0014 (the
-- row, then the rows changed), so changes never deadlock with the workers' breaker writes.
-- name: flow_lock
SELECT 1 FROM flow_control FOR UPDATE;

-- name: flow_tiers
SELECT t.name, t.max_running, t.weight,
       (SELECT count(*) FROM organization_tiers o WHERE o.tier = t.name)::integer AS organizations
  FROM flow_tiers t ORDER BY t.max_running, t.name;

-- name: flow_tier_set
INSERT INTO flow_tiers AS t (name, max_running, weight) VALUES ($1, $2, $3)
ON CONFLICT (name) DO UPDATE SET max_running = excluded.max_running, weight = excluded.weight, updated_at = now();

-- A tier still assigned is refused (foreign key): answers whether one was deleted.
-- name: flow_tier_delete
DELETE FROM flow_tiers WHERE name = $1 RETURNING name;

-- name: flow_org_tier_set
INSERT INTO organization_tiers AS o (organization_id, tier) VALUES ($1, $2)
ON CONFLICT (organization_id) DO UPDATE SET tier = excluded.tier, updated_at = now();

-- name: flow_org_tier_clear
DELETE FROM organization_tiers WHERE organization_id = $1 RETURNING organization_id;

-- name: flow_org_tiers
SELECT organization_id, tier FROM organization_tiers ORDER BY organization_id;

-- Caps of a job type; both NULL removes the row.
-- name: flow_type_limit_set
WITH removed AS (
    DELETE FROM job_type_limits WHERE job_type = $1 AND $2::integer IS NULL AND $3::integer IS NULL
)
INSERT INTO job_type_limits AS l (job_type, max_running, max_running_per_org)
SELECT $1, $2, $3 WHERE $2::integer IS NOT NULL OR $3::integer IS NOT NULL
ON CONFLICT (job_type) DO UPDATE
   SET max_running = excluded.max_running, max_running_per_org = excluded.max_running_per_org, updated_at = now();

-- Caps with the jobs running of each type now (jobs_held_idx: the held jobs only).
-- name: flow_type_limits
SELECT l.job_type, l.max_running, l.max_running_per_org,
       (SELECT count(*) FROM jobs j WHERE j.locked_by IS NOT NULL AND j.job_type = l.job_type)::integer AS running
  FROM job_type_limits l ORDER BY l.job_type;

-- name: flow_rate_limit_set
INSERT INTO rate_limits AS r (job_type, per_organization, max_starts, period_seconds) VALUES ($1, $2, $3, $4)
ON CONFLICT (job_type, per_organization) DO UPDATE
   SET max_starts = excluded.max_starts, period_seconds = excluded.period_seconds, updated_at = now();

-- name: flow_rate_limit_delete
DELETE FROM rate_limits WHERE job_type IS NOT DISTINCT FROM $1 AND per_organization = $2 RETURNING id;

-- Rate limits with the starts counted in the current window: the organization's own
-- ($1; NULL: none) or the cluster's.
-- name: flow_rate_limits
SELECT r.job_type, r.per_organization, r.max_starts, r.period_seconds,
       coalesce((SELECT w.starts FROM rate_limit_windows w
                  WHERE w.rate_limit_id = r.id
                    AND w.organization_id = CASE WHEN r.per_organization THEN coalesce($1, '') ELSE '' END
                    AND w.window_start = to_timestamp(floor(extract(epoch FROM now()) / r.period_seconds)
                                                      * r.period_seconds)), 0)::integer AS used
  FROM rate_limits r ORDER BY r.job_type NULLS FIRST, r.per_organization;

-- name: flow_breaker_set
INSERT INTO circuit_breaker_rules AS r (job_type, per_organization, failure_threshold, window_seconds, cooldown_seconds)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (job_type) DO UPDATE
   SET per_organization = excluded.per_organization, failure_threshold = excluded.failure_threshold,
       window_seconds = excluded.window_seconds, cooldown_seconds = excluded.cooldown_seconds, updated_at = now();

-- Its state goes with it (cascade).
-- name: flow_breaker_delete
DELETE FROM circuit_breaker_rules WHERE job_type = $1 RETURNING job_type;

-- name: flow_breaker_rules
SELECT job_type, per_organization, failure_threshold, window_seconds, cooldown_seconds
  FROM circuit_breaker_rules ORDER BY job_type;

-- Every breaker that counted a failure ('' organization: the cluster's), tripped first.
-- name: flow_breakers
SELECT b.job_type, nullif(b.organization_id, '') AS organization_id, b.state, b.failures, r.failure_threshold,
       b.opened_at, b.retry_at, b.trial_job_id, b.last_error
  FROM circuit_breakers b JOIN circuit_breaker_rules r USING (job_type)
 ORDER BY b.state = 'closed', b.job_type, b.organization_id
 LIMIT $1;

-- The breakers that apply to organization $1: per job type with a rule, its own breaker
-- (per-organization rules) or the cluster's. Never another organization's row.
-- name: flow_org_breakers
SELECT r.job_type, r.per_organization, r.failure_threshold, r.window_seconds, r.cooldown_seconds,
       coalesce(b.state, 'closed') AS state, coalesce(b.failures, 0) AS failures, b.opened_at, b.retry_at
  FROM circuit_breaker_rules r
  LEFT JOIN circuit_breakers b
    ON b.job_type = r.job_type AND b.organization_id = CASE WHEN r.per_organization THEN $1 ELSE '' END
 ORDER BY r.job_type;

-- A manual reset: closed, its count of failures cleared. $2: one organization's breaker
-- ('' the cluster's); NULL: every breaker of the type. Answers the states it left.
-- name: flow_breaker_reset
UPDATE circuit_breakers b
   SET state = 'closed', failures = 0, window_started_at = NULL, opened_at = NULL, retry_at = NULL,
       trial_job_id = NULL, updated_at = now()
  FROM (SELECT job_type, organization_id, state FROM circuit_breakers
         WHERE job_type = $1 AND ($2::text IS NULL OR organization_id = $2)
         ORDER BY organization_id FOR UPDATE) old
 WHERE b.job_type = old.job_type AND b.organization_id = old.organization_id
RETURNING old.state AS previous_state;

-- The reset as the organization's audit row too (the console's caller).
-- name: flow_breaker_reset_audit
INSERT INTO audit_logs (organization_id, user_id, actor, action, details)
VALUES ($1, $2, 'user', 'breaker.reset', jsonb_build_object('jobType', $3::text, 'previousState', $4::text));

-- Job types whose breaker holds organization $1's jobs back now (the cluster's or its own;
-- open, or half-open with a trial running): why a queued job of that type waits.
-- circuit_breakers_tripped_idx.
-- name: flow_paused_types
SELECT DISTINCT ON (job_type) job_type, state, retry_at
  FROM circuit_breakers
 WHERE state <> 'closed' AND organization_id IN ('', $1)
 ORDER BY job_type, state = 'half_open', retry_at DESC;

-- Breakers by job type and state, for the metrics (each rule's three states, 0 included).
-- name: metrics_breakers
SELECT r.job_type, s.state, count(b.job_type)::integer AS breakers
  FROM circuit_breaker_rules r
 CROSS JOIN (VALUES ('closed'), ('open'), ('half_open')) AS s(state)
  LEFT JOIN circuit_breakers b ON b.job_type = r.job_type AND b.state = s.state
 GROUP BY r.job_type, s.state
 ORDER BY r.job_type, s.state;

-- An organization's tier and weight, and its limit as the claim computes it.
-- name: flow_organization
SELECT ot.tier, coalesce(t.weight, 1) AS weight,
       coalesce(o.max_concurrent_jobs, t.max_running, $2::integer) AS max_running,
       (SELECT count(*) FROM jobs h WHERE h.organization_id = o.id AND h.locked_by IS NOT NULL)::integer AS running
  FROM organizations o
  LEFT JOIN organization_tiers ot ON ot.organization_id = o.id
  LEFT JOIN flow_tiers t ON t.name = ot.tier
 WHERE o.id = $1;

-- The last changes of the configuration (operators).
-- name: flow_changes
SELECT changed_at, actor, subject, operation, before, after FROM flow_changes ORDER BY id DESC LIMIT $1;
