-- Notification jobs: recipients and what an earlier attempt already delivered.

-- The recipients that are members of the organization (ids not returned are not).
-- name: notification_recipients
SELECT u.id, u.email, u.display_name
  FROM users u
  JOIN organization_members m ON m.user_id = u.id AND m.organization_id = $1
 WHERE u.id = ANY($2::text[]);

-- name: delivered_recipients
SELECT recipient FROM notification_deliveries WHERE job_id = $1;

-- name: record_delivery
INSERT INTO notification_deliveries (job_id, recipient) VALUES ($1, $2)
ON CONFLICT DO NOTHING;
