-- analytics pre-aggregated metrics: one row per asset, metric and bucket width (time_bucket
-- says which: 1m, 5m, 1h, 1d). 1 day chunks, 8 hash partitions by asset, compressed after 30 days.
-- PK includes "timestamp" and asset_id: unique keys on a hypertable must contain every
-- partitioning column (the document declares id alone).
CREATE TABLE analytics.metrics (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    "timestamp" timestamptz NOT NULL,
    time_bucket interval NOT NULL,
    asset_id varchar(100) NOT NULL,
    metric_type varchar(100) NOT NULL,
    metric_name varchar(100) NOT NULL,
    tenant_id varchar(100) NOT NULL,
    value_count bigint NOT NULL,
    value_sum double precision,
    value_avg double precision,
    value_min double precision,
    value_max double precision,
    value_p50 double precision,
    value_p95 double precision,
    value_p99 double precision,
    value_stddev double precision,
    dimensions jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT metrics_pkey PRIMARY KEY (id, "timestamp", asset_id),
    CONSTRAINT metrics_time_bucket_positive CHECK (time_bucket > interval '0 seconds'),
    CONSTRAINT metrics_value_count_nonneg CHECK (value_count >= 0),
    CONSTRAINT metrics_min_le_max CHECK (value_min <= value_max)
);

-- Declared so that create_hypertable does not add an undeclared default time index.
CREATE INDEX idx_metrics_time ON analytics.metrics ("timestamp" DESC);

CREATE INDEX idx_metrics_asset_time ON analytics.metrics (asset_id, metric_name, "timestamp" DESC);

CREATE INDEX idx_metrics_tenant_time ON analytics.metrics (tenant_id, "timestamp" DESC);

CREATE INDEX idx_metrics_type ON analytics.metrics (metric_type, metric_name, "timestamp" DESC);

SELECT create_hypertable('analytics.metrics', by_range('timestamp', INTERVAL '1 day'));

SELECT add_dimension('analytics.metrics', by_hash('asset_id', 8));

-- The document adds a compression policy without compression settings; they come first.
ALTER TABLE analytics.metrics SET (timescaledb.compress, timescaledb.compress_segmentby = 'asset_id', timescaledb.compress_orderby = 'metric_name, timestamp DESC, id');

SELECT add_compression_policy('analytics.metrics', compress_after => INTERVAL '30 days');

-- Hourly rollup of the 5 minute rows. value_count and value_sum are added to the document's
-- columns so that a consumer can compute a count-weighted mean (avg_value averages averages).
CREATE MATERIALIZED VIEW analytics.metrics_hourly WITH (timescaledb.continuous) AS
SELECT
    time_bucket(INTERVAL '1 hour', m."timestamp") AS bucket,
    m.asset_id,
    m.metric_type,
    m.metric_name,
    m.tenant_id,
    count(*) AS count,
    sum(m.value_count) AS value_count,
    sum(m.value_sum) AS value_sum,
    avg(m.value_avg) AS avg_value,
    min(m.value_min) AS min_value,
    max(m.value_max) AS max_value,
    percentile_cont(0.95) WITHIN GROUP (ORDER BY m.value_p95) AS p95_value,
    percentile_cont(0.99) WITHIN GROUP (ORDER BY m.value_p99) AS p99_value
FROM analytics.metrics m
WHERE m.time_bucket = INTERVAL '5 minutes'
GROUP BY bucket, m.asset_id, m.metric_type, m.metric_name, m.tenant_id
WITH NO DATA;

-- The document's window (2 hours to 1 hour) holds a single 1 hour bucket, which TimescaleDB
-- rejects; this one covers five. analytics.metrics has no retention policy to stay within.
SELECT add_continuous_aggregate_policy('analytics.metrics_hourly', start_offset => INTERVAL '6 hours', end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '1 hour');
