-- Server-sent events (jobs/push.py, docs/push.md). Changes arrive as notifications on
-- channel jobrunner_job_events (the statement-level triggers of migration 0012); the API
-- re-reads the jobs someone watches with these.

-- The watched jobs that changed, by primary key, in one round trip for a whole batch of
-- notifications.
-- name: event_jobs
SELECT {{job_columns}} FROM jobs WHERE id = ANY($1::uuid[]);

-- A user's jobs changed after $5 (resuming a stream with Last-Event-ID), oldest change
-- first, filtered like the list endpoint (status $3, job type $4); at most $6. Walks the
-- owner's jobs (jobs_owner_created_idx): no index on updated_at, which every progress
-- write changes (it would cost those writes their HOT updates).
-- name: changed_jobs_of_owner
SELECT {{job_columns}} FROM jobs
 WHERE organization_id = $1 AND user_id = $2
   AND ($3::job_status IS NULL OR status = $3::job_status)
   AND ($4::text IS NULL OR job_type = $4)
   AND updated_at > $5
 ORDER BY updated_at, id
 LIMIT $6;

-- A user's unfinished jobs (a stream opened without Last-Event-ID starts with them),
-- newest first, filtered like the list endpoint; at most $5.
-- name: active_jobs_of_owner
SELECT {{job_columns}} FROM jobs
 WHERE organization_id = $1 AND user_id = $2
   AND status IN ('queued', 'running', 'retrying')
   AND ($3::job_status IS NULL OR status = $3::job_status)
   AND ($4::text IS NULL OR job_type = $4)
 ORDER BY created_at DESC, seq DESC
 LIMIT $5;

-- Of the (organization, user) pairs watching streams, those still members with the
-- permission $3: one statement for every open stream of the process, each heartbeat.
-- name: owners_still_allowed
SELECT p.organization_id, p.user_id
  FROM unnest($1::text[], $2::text[]) AS p(organization_id, user_id)
 WHERE EXISTS (SELECT 1 FROM organization_members m
                WHERE m.organization_id = p.organization_id AND m.user_id = p.user_id)
   AND EXISTS (SELECT 1 FROM user_roles ur
                 JOIN role_permissions rp ON rp.role_name = ur.role_name
                WHERE ur.organization_id = p.organization_id AND ur.user_id = p.user_id
                  AND rp.permission_name = $3);
