-- wildduck metrics hypertables: one row per node every 15 seconds, written by the agent.
-- All five: 1 hour chunks, compressed after 7 days (segmented by node), dropped after 90 days.
-- The primary key (node_id, time) lets the agent retry a batch with ON CONFLICT DO NOTHING.
-- Each table declares its own time DESC index before create_hypertable, which then skips
-- creating its default one.

-- Host metrics: exactly the 20 columns of the PRD.
CREATE TABLE wildduck.metrics_system (
    time timestamptz NOT NULL,
    node_id text NOT NULL,
    node_role text NOT NULL,
    cpu_percent double precision,
    cpu_iowait_percent double precision,
    ram_used_bytes bigint,
    ram_total_bytes bigint,
    ram_percent double precision,
    disk_used_bytes bigint,
    disk_total_bytes bigint,
    disk_percent double precision,
    disk_read_bytes_per_sec bigint,
    disk_write_bytes_per_sec bigint,
    net_rx_bytes_per_sec bigint,
    net_tx_bytes_per_sec bigint,
    load_1m double precision,
    load_5m double precision,
    load_15m double precision,
    tcp_connections integer,
    open_files integer,
    CONSTRAINT metrics_system_pkey PRIMARY KEY (node_id, time),
    CONSTRAINT fk_metrics_system_node FOREIGN KEY (node_id) REFERENCES wildduck.nodes (id),
    CONSTRAINT metrics_system_cpu_percent_range CHECK (cpu_percent BETWEEN 0 AND 100),
    CONSTRAINT metrics_system_ram_percent_range CHECK (ram_percent BETWEEN 0 AND 100),
    CONSTRAINT metrics_system_disk_percent_range CHECK (disk_percent BETWEEN 0 AND 100)
);

CREATE INDEX idx_metrics_system_time ON wildduck.metrics_system (time DESC);

SELECT create_hypertable('wildduck.metrics_system', by_range('time', INTERVAL '1 hour'));

ALTER TABLE wildduck.metrics_system SET (timescaledb.compress, timescaledb.compress_segmentby = 'node_id', timescaledb.compress_orderby = 'time DESC');

SELECT add_compression_policy('wildduck.metrics_system', compress_after => INTERVAL '7 days');

SELECT add_retention_policy('wildduck.metrics_system', drop_after => INTERVAL '90 days');

-- MongoDB server status (serverStatus / replSetGetStatus), rates per second.
CREATE TABLE wildduck.metrics_mongodb (
    time timestamptz NOT NULL,
    node_id text NOT NULL,
    replica_set text,
    member_state text,
    connections_current integer,
    connections_available integer,
    ops_insert_per_sec double precision,
    ops_query_per_sec double precision,
    ops_update_per_sec double precision,
    ops_delete_per_sec double precision,
    ops_getmore_per_sec double precision,
    ops_command_per_sec double precision,
    replication_lag_seconds double precision,
    oplog_window_hours double precision,
    resident_memory_bytes bigint,
    wt_cache_used_bytes bigint,
    wt_cache_max_bytes bigint,
    wt_cache_dirty_bytes bigint,
    queue_readers integer,
    queue_writers integer,
    page_faults_per_sec double precision,
    network_in_bytes_per_sec bigint,
    network_out_bytes_per_sec bigint,
    CONSTRAINT metrics_mongodb_pkey PRIMARY KEY (node_id, time),
    CONSTRAINT fk_metrics_mongodb_node FOREIGN KEY (node_id) REFERENCES wildduck.nodes (id),
    CONSTRAINT metrics_mongodb_member_state_check CHECK (
        member_state IN ('PRIMARY', 'SECONDARY', 'ARBITER', 'RECOVERING', 'STARTUP', 'STARTUP2',
                         'ROLLBACK', 'DOWN', 'UNKNOWN', 'REMOVED')
    )
);

CREATE INDEX idx_metrics_mongodb_time ON wildduck.metrics_mongodb (time DESC);

SELECT create_hypertable('wildduck.metrics_mongodb', by_range('time', INTERVAL '1 hour'));

ALTER TABLE wildduck.metrics_mongodb SET (timescaledb.compress, timescaledb.compress_segmentby = 'node_id', timescaledb.compress_orderby = 'time DESC');

SELECT add_compression_policy('wildduck.metrics_mongodb', compress_after => INTERVAL '7 days');

SELECT add_retention_policy('wildduck.metrics_mongodb', drop_after => INTERVAL '90 days');

-- Redis INFO, counters as deltas over the sampling interval.
CREATE TABLE wildduck.metrics_redis (
    time timestamptz NOT NULL,
    node_id text NOT NULL,
    role text,
    connected_clients integer,
    blocked_clients integer,
    used_memory_bytes bigint,
    used_memory_rss_bytes bigint,
    maxmemory_bytes bigint,
    mem_fragmentation_ratio double precision,
    ops_per_sec double precision,
    keyspace_hits bigint,
    keyspace_misses bigint,
    evicted_keys bigint,
    expired_keys bigint,
    total_keys bigint,
    connected_replicas integer,
    replication_offset bigint,
    rdb_changes_since_last_save bigint,
    CONSTRAINT metrics_redis_pkey PRIMARY KEY (node_id, time),
    CONSTRAINT fk_metrics_redis_node FOREIGN KEY (node_id) REFERENCES wildduck.nodes (id),
    CONSTRAINT metrics_redis_role_check CHECK (role IN ('master', 'replica'))
);

CREATE INDEX idx_metrics_redis_time ON wildduck.metrics_redis (time DESC);

SELECT create_hypertable('wildduck.metrics_redis', by_range('time', INTERVAL '1 hour'));

ALTER TABLE wildduck.metrics_redis SET (timescaledb.compress, timescaledb.compress_segmentby = 'node_id', timescaledb.compress_orderby = 'time DESC');

SELECT add_compression_policy('wildduck.metrics_redis', compress_after => INTERVAL '7 days');

SELECT add_retention_policy('wildduck.metrics_redis', drop_after => INTERVAL '90 days');

-- ZoneMTA queue and delivery counters; message counts are deltas over the sampling interval.
CREATE TABLE wildduck.metrics_zonemta (
    time timestamptz NOT NULL,
    node_id text NOT NULL,
    queue_active integer,
    queue_deferred integer,
    messages_received integer,
    messages_delivered integer,
    messages_bounced integer,
    messages_deferred integer,
    messages_rejected integer,
    outbound_connections integer,
    avg_delivery_time_ms double precision,
    worker_count integer,
    memory_rss_bytes bigint,
    CONSTRAINT metrics_zonemta_pkey PRIMARY KEY (node_id, time),
    CONSTRAINT fk_metrics_zonemta_node FOREIGN KEY (node_id) REFERENCES wildduck.nodes (id),
    CONSTRAINT metrics_zonemta_queues_nonneg CHECK (queue_active >= 0 AND queue_deferred >= 0)
);

CREATE INDEX idx_metrics_zonemta_time ON wildduck.metrics_zonemta (time DESC);

SELECT create_hypertable('wildduck.metrics_zonemta', by_range('time', INTERVAL '1 hour'));

ALTER TABLE wildduck.metrics_zonemta SET (timescaledb.compress, timescaledb.compress_segmentby = 'node_id', timescaledb.compress_orderby = 'time DESC');

SELECT add_compression_policy('wildduck.metrics_zonemta', compress_after => INTERVAL '7 days');

SELECT add_retention_policy('wildduck.metrics_zonemta', drop_after => INTERVAL '90 days');

-- Rspamd scanner counters per action, deltas over the sampling interval.
CREATE TABLE wildduck.metrics_rspamd (
    time timestamptz NOT NULL,
    node_id text NOT NULL,
    scanned integer,
    action_no_action integer,
    action_greylist integer,
    action_add_header integer,
    action_rewrite_subject integer,
    action_soft_reject integer,
    action_reject integer,
    learned_ham integer,
    learned_spam integer,
    connections integer,
    avg_scan_time_ms double precision,
    fuzzy_hashes bigint,
    CONSTRAINT metrics_rspamd_pkey PRIMARY KEY (node_id, time),
    CONSTRAINT fk_metrics_rspamd_node FOREIGN KEY (node_id) REFERENCES wildduck.nodes (id),
    CONSTRAINT metrics_rspamd_scanned_nonneg CHECK (scanned >= 0)
);

CREATE INDEX idx_metrics_rspamd_time ON wildduck.metrics_rspamd (time DESC);

SELECT create_hypertable('wildduck.metrics_rspamd', by_range('time', INTERVAL '1 hour'));

ALTER TABLE wildduck.metrics_rspamd SET (timescaledb.compress, timescaledb.compress_segmentby = 'node_id', timescaledb.compress_orderby = 'time DESC');

SELECT add_compression_policy('wildduck.metrics_rspamd', compress_after => INTERVAL '7 days');

SELECT add_retention_policy('wildduck.metrics_rspamd', drop_after => INTERVAL '90 days');
