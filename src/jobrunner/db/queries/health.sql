-- The cheapest round trip: /healthz, and the LISTEN connection's keep-alive (a dead
-- socket shows up as an error here).
-- name: ping
SELECT 1;
