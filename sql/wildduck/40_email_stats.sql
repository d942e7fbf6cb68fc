-- wildduck continuous aggregates over email_events (PRD section 6.3), each with the
-- document's grouping. event_type is part of every grouping; the delivered/bounced/deferred
-- counts let a dashboard roll the other dimensions up with plain sums, without a CASE.
-- Refresh windows stay far inside the raw table's 180 day retention and cover many buckets.

-- 5 minute buckets by sender domain, MTA node, sending IP and event type.
CREATE MATERIALIZED VIEW wildduck.email_stats_5m WITH (timescaledb.continuous) AS
SELECT
    time_bucket(INTERVAL '5 minutes', e.time) AS bucket,
    e.from_domain,
    e.mta_node,
    e.sending_ip,
    e.event_type,
    count(*) AS event_count,
    count(*) FILTER (WHERE e.event_type = 'delivered') AS delivered_count,
    count(*) FILTER (WHERE e.event_type = 'bounced') AS bounced_count,
    count(*) FILTER (WHERE e.event_type = 'deferred') AS deferred_count,
    count(*) FILTER (WHERE e.bounce_type = 'hard') AS hard_bounce_count,
    sum(e.message_size) AS total_bytes,
    avg(e.delivery_time_ms) AS avg_delivery_time_ms,
    max(e.delivery_time_ms) AS max_delivery_time_ms,
    avg(e.spam_score) AS avg_spam_score
FROM wildduck.email_events e
GROUP BY bucket, e.from_domain, e.mta_node, e.sending_ip, e.event_type
WITH NO DATA;

SELECT add_continuous_aggregate_policy('wildduck.email_stats_5m', start_offset => INTERVAL '2 hours', end_offset => INTERVAL '5 minutes', schedule_interval => INTERVAL '5 minutes');

-- 1 hour buckets by sender domain, recipient domain, MTA node and event type.
CREATE MATERIALIZED VIEW wildduck.email_stats_1h WITH (timescaledb.continuous) AS
SELECT
    time_bucket(INTERVAL '1 hour', e.time) AS bucket,
    e.from_domain,
    e.to_domain,
    e.mta_node,
    e.event_type,
    count(*) AS event_count,
    count(*) FILTER (WHERE e.event_type = 'delivered') AS delivered_count,
    count(*) FILTER (WHERE e.event_type = 'bounced') AS bounced_count,
    count(*) FILTER (WHERE e.event_type = 'deferred') AS deferred_count,
    count(*) FILTER (WHERE e.bounce_type = 'hard') AS hard_bounce_count,
    sum(e.message_size) AS total_bytes,
    avg(e.delivery_time_ms) AS avg_delivery_time_ms,
    max(e.delivery_time_ms) AS max_delivery_time_ms,
    avg(e.spam_score) AS avg_spam_score
FROM wildduck.email_events e
GROUP BY bucket, e.from_domain, e.to_domain, e.mta_node, e.event_type
WITH NO DATA;

SELECT add_continuous_aggregate_policy('wildduck.email_stats_1h', start_offset => INTERVAL '6 hours', end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '30 minutes');

-- 1 day buckets by sender domain and user, recipient domain, MTA node, sending IP and
-- event type; kept 730 days, long after the raw events are dropped.
CREATE MATERIALIZED VIEW wildduck.email_stats_daily WITH (timescaledb.continuous) AS
SELECT
    time_bucket(INTERVAL '1 day', e.time) AS bucket,
    e.from_domain,
    e.from_user,
    e.to_domain,
    e.mta_node,
    e.sending_ip,
    e.event_type,
    count(*) AS event_count,
    count(*) FILTER (WHERE e.event_type = 'delivered') AS delivered_count,
    count(*) FILTER (WHERE e.event_type = 'bounced') AS bounced_count,
    count(*) FILTER (WHERE e.event_type = 'deferred') AS deferred_count,
    count(*) FILTER (WHERE e.bounce_type = 'hard') AS hard_bounce_count,
    sum(e.message_size) AS total_bytes,
    avg(e.delivery_time_ms) AS avg_delivery_time_ms,
    max(e.delivery_time_ms) AS max_delivery_time_ms,
    avg(e.spam_score) AS avg_spam_score
FROM wildduck.email_events e
GROUP BY bucket, e.from_domain, e.from_user, e.to_domain, e.mta_node, e.sending_ip, e.event_type
WITH NO DATA;

SELECT add_continuous_aggregate_policy('wildduck.email_stats_daily', start_offset => INTERVAL '3 days', end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '1 hour');

SELECT add_retention_policy('wildduck.email_stats_daily', drop_after => INTERVAL '730 days');
