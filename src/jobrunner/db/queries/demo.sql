-- Demo domain data for exports: customers and quotes per organization, generated inside
-- PostgreSQL (one statement each) so a million quotes take seconds. Re-running tops up:
-- natural keys (email, quote_number) make every statement idempotent.

-- name: demo_customers
INSERT INTO customers (organization_id, name, email, country, created_at)
SELECT $1,
       -- One customer whose name a spreadsheet would run as a formula, to show neutralisation.
       CASE WHEN g = 7 THEN '=HYPERLINK("http://example.com","Click me")'
            ELSE (ARRAY['Northwind', 'Contoso', 'Initech', 'Umbrella', 'Stark', 'Wayne', 'Tyrell', 'Cyberdyne'])[1 + g % 8]
                 || ' ' || (ARRAY['Trading', 'Labs', 'Holdings', 'Foods', 'Logistics', 'Studio'])[1 + (g / 8) % 6]
                 || ' #' || g END,
       'customer' || g || '@' || replace($1, '_', '-') || '.example.com',
       (ARRAY['US', 'GB', 'DE', 'FR', 'NL', 'ES', 'IT', 'SE'])[1 + (g * 7) % 8],
       timestamptz '2023-01-01 00:00:00+00' + ((g * 7919) % 1095) * interval '1 day'
  FROM generate_series(1, $2::integer) AS g
ON CONFLICT (organization_id, email) DO NOTHING;

-- Quotes spread over 2023-2025; amounts are typed numerics (total = subtotal + tax), drawn
-- from a hash of the quote number so the data is the same on every machine.
-- name: demo_quotes
WITH customer_ids AS (
    SELECT array_agg(id ORDER BY id) AS ids FROM customers WHERE organization_id = $1
), numbers AS (
    SELECT g, abs(hashint4(g)) AS h1, abs(hashint4(g + 1000003)) AS h2 FROM generate_series(1, $2::integer) AS g
), amounts AS (
    SELECT g, h1, h2, round((100 + (h1 % 990000) / 100.0)::numeric, 2) AS subtotal FROM numbers
)
INSERT INTO quotes (organization_id, quote_number, customer_id, status, currency,
                    subtotal, tax, total, valid_until, created_at)
SELECT $1,
       'Q-' || lpad(a.g::text, 7, '0'),
       c.ids[1 + a.h2 % array_length(c.ids, 1)],
       (ARRAY['draft', 'sent', 'accepted', 'rejected', 'expired'])[1 + a.h1 % 5],
       (ARRAY['USD', 'EUR', 'GBP'])[1 + a.h2 % 3],
       a.subtotal,
       round(a.subtotal * 0.2, 2),
       a.subtotal + round(a.subtotal * 0.2, 2),
       (timestamptz '2023-01-01 00:00:00+00' + (a.h2 % 94608000) * interval '1 second')::date + 30,
       timestamptz '2023-01-01 00:00:00+00' + (a.h2 % 94608000) * interval '1 second'
  FROM amounts a CROSS JOIN customer_ids c
ON CONFLICT (organization_id, quote_number) DO NOTHING;

-- name: count_quotes
SELECT count(*) FROM quotes;

-- Fresh statistics after a bulk load, so the first export is planned well.
-- name: analyze_demo_tables
ANALYZE customers, quotes;

-- A demo job template (docs/operations.md#the-database): kept when the organization already
-- has one of that name, so re-running tops up and never overwrites an administrator's edit.
-- No audit row: nobody made it through the API.
-- name: demo_template
INSERT INTO job_templates (organization_id, created_by, name, job_type, payload, priority, max_retries)
VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7)
ON CONFLICT (organization_id, name) DO NOTHING;

-- A demo recurring schedule, created PAUSED (next_run_at NULL): it shows what a schedule
-- looks like and fires nothing until an administrator resumes it. Only for an organization
-- without any schedule, so re-running never adds a second one.
-- name: demo_paused_schedule
INSERT INTO schedules (organization_id, user_id, cron, timezone, job_type, payload, priority, max_retries,
                       paused, next_run_at)
SELECT $1, $2, $3, $4, $5, $6::jsonb, $7, $8, true, NULL
 WHERE NOT EXISTS (SELECT 1 FROM schedules WHERE organization_id = $1);
