-- unity time-series tables: hypertables with TimescaleDB, natively partitioned without it.

-- Metric samples collected by the plugins: 7 day chunks, compressed after 7 days,
-- dropped after 30 days. The document's composite key already contains the time column.
CREATE TABLE unity.plugin_metrics (
    time timestamptz NOT NULL,
    plugin_id varchar(100) NOT NULL,
    metric_name varchar(200) NOT NULL,
    value jsonb NOT NULL,
    tags jsonb NOT NULL DEFAULT '{}'::jsonb,
    CONSTRAINT plugin_metrics_pkey PRIMARY KEY (time, plugin_id, metric_name),
    CONSTRAINT fk_plugin_metrics_plugin FOREIGN KEY (plugin_id)
        REFERENCES unity.plugins (plugin_id) ON DELETE CASCADE
);

-- Declared so that create_hypertable does not add an undeclared default time index
-- (the primary key, although it starts with time, does not count for that).
CREATE INDEX idx_plugin_metrics_time_desc ON unity.plugin_metrics (time DESC);

CREATE INDEX idx_metrics_plugin_time ON unity.plugin_metrics (plugin_id, time DESC);

-- The document indexes (metric_name) alone; with time DESC it also serves "latest values of X".
CREATE INDEX idx_metrics_name ON unity.plugin_metrics (metric_name, time DESC);

CREATE INDEX idx_metrics_tags ON unity.plugin_metrics USING GIN (tags);

SELECT create_hypertable('unity.plugin_metrics', by_range('time', INTERVAL '7 days'));

ALTER TABLE unity.plugin_metrics SET (timescaledb.compress, timescaledb.compress_segmentby = 'plugin_id', timescaledb.compress_orderby = 'metric_name, time DESC');

SELECT add_compression_policy('unity.plugin_metrics', compress_after => INTERVAL '7 days');

SELECT add_retention_policy('unity.plugin_metrics', drop_after => INTERVAL '30 days');

-- Every evaluation that triggered (or cleared) an alert: 7 day chunks, kept 90 days.
CREATE TABLE unity.alert_history (
    time timestamptz NOT NULL,
    alert_id uuid NOT NULL,
    triggered boolean NOT NULL,
    value jsonb,
    message text,
    CONSTRAINT alert_history_pkey PRIMARY KEY (time, alert_id),
    CONSTRAINT fk_alert_history_alert FOREIGN KEY (alert_id)
        REFERENCES unity.alerts (id) ON DELETE CASCADE
);

-- Declared so that create_hypertable does not add an undeclared default time index.
CREATE INDEX idx_alert_history_time_desc ON unity.alert_history (time DESC);

-- The document's name, on (alert_id, time): one alert's history.
CREATE INDEX idx_alert_history_time ON unity.alert_history (alert_id, time DESC);

SELECT create_hypertable('unity.alert_history', by_range('time', INTERVAL '7 days'));

SELECT add_retention_policy('unity.alert_history', drop_after => INTERVAL '90 days');
