-- wildduck email delivery log: one row per MTA event, about 10,000 rows per second at peak.
-- 1 day chunks, compressed after 7 days, dropped after 180 days (the aggregates keep the history).
-- No primary key: an event has no natural key, and every unique index costs ingest throughput.
-- No foreign keys either (mta_node, sending_ip, from_domain): a lookup per row at this rate,
-- and the log must accept events from nodes, IPs and domains not (yet) registered.
-- Exactly the 24 columns of the PRD.
CREATE TABLE wildduck.email_events (
    time timestamptz NOT NULL,
    event_type text NOT NULL,
    message_id text,
    queue_id text,
    from_address text,
    from_user text,
    from_domain text,
    to_address text,
    to_domain text,
    mta_node text,
    sending_ip inet,
    mx_host text,
    status text,
    delivery_time_ms integer,
    queue_time_ms integer,
    bounce_type text,
    bounce_category text,
    bounce_message text,
    message_size integer,
    dkim_result text,
    spf_result text,
    dmarc_result text,
    spam_score real,
    spam_action text,
    CONSTRAINT email_events_event_type_check CHECK (
        event_type IN ('received', 'queued', 'delivered', 'deferred', 'bounced', 'rejected', 'dropped')
    ),
    CONSTRAINT email_events_bounce_type_check CHECK (bounce_type IN ('hard', 'soft')),
    CONSTRAINT email_events_dkim_result_check CHECK (
        dkim_result IN ('pass', 'fail', 'neutral', 'none', 'policy', 'temperror', 'permerror')
    ),
    CONSTRAINT email_events_spf_result_check CHECK (
        spf_result IN ('pass', 'fail', 'softfail', 'neutral', 'none', 'temperror', 'permerror')
    ),
    CONSTRAINT email_events_dmarc_result_check CHECK (
        dmarc_result IN ('pass', 'fail', 'none', 'temperror', 'permerror')
    ),
    CONSTRAINT email_events_spam_action_check CHECK (
        spam_action IN ('no action', 'greylist', 'add header', 'rewrite subject', 'soft reject', 'reject')
    ),
    CONSTRAINT email_events_times_nonneg CHECK (delivery_time_ms >= 0 AND queue_time_ms >= 0),
    CONSTRAINT email_events_message_size_nonneg CHECK (message_size >= 0)
);

CREATE INDEX idx_email_events_time ON wildduck.email_events (time DESC);

CREATE INDEX idx_email_events_from_domain_time ON wildduck.email_events (from_domain, time DESC);

CREATE INDEX idx_email_events_sending_ip_time ON wildduck.email_events (sending_ip, time DESC);

CREATE INDEX idx_email_events_mta_node_time ON wildduck.email_events (mta_node, time DESC);

-- Message tracing: every event of one message.
CREATE INDEX idx_email_events_message_id ON wildduck.email_events (message_id, time DESC)
    WHERE message_id IS NOT NULL;

SELECT create_hypertable('wildduck.email_events', by_range('time', INTERVAL '1 day'));

-- Segmented by sender domain, the dashboard's main drill-down on raw events.
ALTER TABLE wildduck.email_events SET (timescaledb.compress, timescaledb.compress_segmentby = 'from_domain', timescaledb.compress_orderby = 'time DESC');

SELECT add_compression_policy('wildduck.email_events', compress_after => INTERVAL '7 days');

SELECT add_retention_policy('wildduck.email_events', drop_after => INTERVAL '180 days');

-- DNSBL lookups of the sending IPs (and, on domain lists, the sending domains).
-- 1 day chunks, compressed after 30 days, kept 365 days.
CREATE TABLE wildduck.blacklist_checks (
    time timestamptz NOT NULL,
    dnsbl_zone text NOT NULL,
    ip inet,
    domain text,
    listed boolean NOT NULL,
    return_code inet,
    reason text,
    lookup_ms integer,
    checked_by text,
    CONSTRAINT fk_blacklist_checks_zone FOREIGN KEY (dnsbl_zone) REFERENCES wildduck.dnsbl_lists (zone),
    CONSTRAINT fk_blacklist_checks_ip FOREIGN KEY (ip) REFERENCES wildduck.sending_ips (ip),
    CONSTRAINT fk_blacklist_checks_domain FOREIGN KEY (domain) REFERENCES wildduck.sending_domains (domain),
    CONSTRAINT blacklist_checks_one_target CHECK (num_nonnulls(ip, domain) = 1),
    CONSTRAINT blacklist_checks_lookup_ms_nonneg CHECK (lookup_ms >= 0)
);

CREATE INDEX idx_blacklist_checks_time ON wildduck.blacklist_checks (time DESC);

CREATE INDEX idx_blacklist_checks_ip_time ON wildduck.blacklist_checks (ip, time DESC)
    WHERE ip IS NOT NULL;

CREATE INDEX idx_blacklist_checks_domain_time ON wildduck.blacklist_checks (domain, time DESC)
    WHERE domain IS NOT NULL;

CREATE INDEX idx_blacklist_checks_listed ON wildduck.blacklist_checks (dnsbl_zone, time DESC)
    WHERE listed;

SELECT create_hypertable('wildduck.blacklist_checks', by_range('time', INTERVAL '1 day'));

ALTER TABLE wildduck.blacklist_checks SET (timescaledb.compress, timescaledb.compress_segmentby = 'dnsbl_zone', timescaledb.compress_orderby = 'time DESC');

SELECT add_compression_policy('wildduck.blacklist_checks', compress_after => INTERVAL '30 days');

SELECT add_retention_policy('wildduck.blacklist_checks', drop_after => INTERVAL '365 days');
