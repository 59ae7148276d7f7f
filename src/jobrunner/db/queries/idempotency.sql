-- Idempotent creation (POST /v1/jobs with an Idempotency-Key): the stored answer of a
-- key, per organization ($1), user ($2) and key ($3). A key is live for $4 seconds
-- (JOBRUNNER_IDEMPOTENCY_KEY_TTL_SECONDS); an older row is as good as absent (the
-- maintenance deletes it: prune_idempotency_keys).

-- The live answer of a key, if any (read before validating a request, so that a replay
-- does not depend on what changed since: a scheduledAt now past, a deleted template).
-- name: find_idempotency_key
SELECT request_hash, job_id, response_status, response_body
  FROM idempotency_keys
 WHERE organization_id = $1 AND user_id = $2 AND key = $3
   AND created_at > now() - make_interval(secs => $4);

-- Take the key for a new job, in the transaction that creates the job: the answer ($6,
-- $7, $8) is known before the job exists (its id is chosen by the caller). A concurrent
-- request with the same key waits here on the uncommitted row, then finds it taken
-- (no row back) and replays it. An expired row not yet pruned is taken over. Answers
-- one row when the key is now ours.
-- name: take_idempotency_key
INSERT INTO idempotency_keys AS k (organization_id, user_id, key, request_hash, job_id,
                                   response_status, response_body)
VALUES ($1, $2, $3, $5, $6, $7, $8::jsonb)
ON CONFLICT (organization_id, user_id, key) DO UPDATE
   SET request_hash = EXCLUDED.request_hash, job_id = EXCLUDED.job_id,
       response_status = EXCLUDED.response_status, response_body = EXCLUDED.response_body,
       created_at = now()
 WHERE k.created_at <= now() - make_interval(secs => $4)
RETURNING true AS taken;

-- Keys older than $1 seconds, $2 at a time, oldest first (idempotency_keys_created_idx);
-- rows another transaction holds are left for the next batch. Answers how many went.
-- name: prune_idempotency_keys
WITH doomed AS (
    SELECT organization_id, user_id, key FROM idempotency_keys
     WHERE created_at <= now() - make_interval(secs => $1)
     ORDER BY created_at
     LIMIT $2
       FOR UPDATE SKIP LOCKED
), gone AS (
    DELETE FROM idempotency_keys k USING doomed d
     WHERE k.organization_id = d.organization_id AND k.user_id = d.user_id AND k.key = d.key
    RETURNING 1
)
SELECT count(*) FROM gone;
