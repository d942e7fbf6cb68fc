-- analytics raw events: about 100,000 rows per second, inserted in batches.
-- 1 day chunks, 4 hash partitions by tenant, compressed after 7 days, kept 365 days.
-- PK includes "timestamp" and tenant_id: unique keys on a hypertable must contain every
-- partitioning column (the document declares id alone).
CREATE TABLE analytics.events (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    "timestamp" timestamptz NOT NULL,
    source_module varchar(50) NOT NULL,
    event_type varchar(50) NOT NULL,
    correlation_id uuid,
    parent_event_id uuid,
    asset_id varchar(100),
    severity varchar(20) NOT NULL,
    environment varchar(50) NOT NULL,
    tenant_id varchar(100) NOT NULL,
    payload jsonb NOT NULL,
    metadata jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT events_pkey PRIMARY KEY (id, "timestamp", tenant_id)
);

-- Declared so that create_hypertable does not add an undeclared default time index.
CREATE INDEX idx_events_time ON analytics.events ("timestamp" DESC);

CREATE INDEX idx_events_asset_time ON analytics.events (asset_id, "timestamp" DESC);

CREATE INDEX idx_events_type_time ON analytics.events (event_type, "timestamp" DESC);

CREATE INDEX idx_events_tenant_time ON analytics.events (tenant_id, "timestamp" DESC);

CREATE INDEX idx_events_correlation ON analytics.events (correlation_id)
    WHERE correlation_id IS NOT NULL;

CREATE INDEX idx_events_severity ON analytics.events (severity, "timestamp" DESC);

CREATE INDEX idx_events_payload_gin ON analytics.events USING GIN (payload);

SELECT create_hypertable('analytics.events', by_range('timestamp', INTERVAL '1 day'));

SELECT add_dimension('analytics.events', by_hash('tenant_id', 4));

-- The document adds a compression policy without compression settings; they come first.
ALTER TABLE analytics.events SET (timescaledb.compress, timescaledb.compress_segmentby = 'tenant_id', timescaledb.compress_orderby = 'timestamp DESC, id');

SELECT add_compression_policy('analytics.events', compress_after => INTERVAL '7 days');

SELECT add_retention_policy('analytics.events', drop_after => INTERVAL '365 days');

-- Links between two events. 1 day chunks, kept 90 days.
-- No foreign keys into analytics.events (the document declares two): TimescaleDB supports
-- none between hypertables, and events.id alone is not unique there. The pair of event ids
-- is resolved by the correlation engine, which writes both events before the link.
-- PK includes "timestamp": unique keys on a hypertable must contain its time column.
CREATE TABLE analytics.correlations (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    "timestamp" timestamptz NOT NULL,
    correlation_type varchar(50) NOT NULL,
    primary_event_id uuid NOT NULL,
    related_event_id uuid NOT NULL,
    strength double precision NOT NULL,
    confidence double precision NOT NULL,
    tenant_id varchar(100) NOT NULL,
    metadata jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT correlations_pkey PRIMARY KEY (id, "timestamp"),
    CONSTRAINT correlations_strength_range CHECK (strength BETWEEN 0 AND 1),
    CONSTRAINT correlations_confidence_range CHECK (confidence BETWEEN 0 AND 1),
    CONSTRAINT correlations_distinct_events CHECK (primary_event_id <> related_event_id)
);

-- Declared so that create_hypertable does not add an undeclared default time index.
CREATE INDEX idx_corr_time ON analytics.correlations ("timestamp" DESC);

CREATE INDEX idx_corr_primary ON analytics.correlations (primary_event_id, "timestamp" DESC);

CREATE INDEX idx_corr_related ON analytics.correlations (related_event_id, "timestamp" DESC);

CREATE INDEX idx_corr_type ON analytics.correlations (correlation_type, "timestamp" DESC);

CREATE INDEX idx_corr_strength ON analytics.correlations (strength DESC);

SELECT create_hypertable('analytics.correlations', by_range('timestamp', INTERVAL '1 day'));

SELECT add_retention_policy('analytics.correlations', drop_after => INTERVAL '90 days');
