-- unity regular tables.

-- Registered plugins; plugin_id is the plugin's stable name, referenced everywhere else.
CREATE TABLE unity.plugins (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    plugin_id varchar(100) NOT NULL,
    name varchar(200) NOT NULL,
    version varchar(50),
    description text,
    category varchar(50),
    enabled boolean NOT NULL DEFAULT true,
    config jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT plugins_pkey PRIMARY KEY (id),
    CONSTRAINT plugins_plugin_id_key UNIQUE (plugin_id),
    CONSTRAINT plugins_config_is_object CHECK (jsonb_typeof(config) = 'object')
);

CREATE INDEX idx_plugins_category ON unity.plugins (category);

-- Current health of each plugin, one row per plugin.
CREATE TABLE unity.plugin_status (
    plugin_id varchar(100) NOT NULL,
    last_run timestamptz,
    last_success timestamptz,
    last_error text,
    error_count integer NOT NULL DEFAULT 0,
    consecutive_errors integer NOT NULL DEFAULT 0,
    health_status varchar(20) NOT NULL DEFAULT 'unknown',
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT plugin_status_pkey PRIMARY KEY (plugin_id),
    CONSTRAINT fk_plugin_status_plugin FOREIGN KEY (plugin_id)
        REFERENCES unity.plugins (plugin_id) ON DELETE CASCADE,
    CONSTRAINT plugin_status_error_count_nonneg CHECK (error_count >= 0),
    CONSTRAINT plugin_status_consecutive_errors_range CHECK (
        consecutive_errors BETWEEN 0 AND error_count
    ),
    CONSTRAINT plugin_status_health_status_check CHECK (
        health_status IN ('healthy', 'degraded', 'unhealthy', 'unknown')
    )
);

CREATE INDEX idx_plugin_status_health ON unity.plugin_status (health_status);

-- Alert definitions; plugin_id NULL means the alert watches every plugin.
CREATE TABLE unity.alerts (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    plugin_id varchar(100),
    name varchar(200) NOT NULL,
    description text,
    condition jsonb NOT NULL,
    severity varchar(20) NOT NULL DEFAULT 'warning',
    enabled boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT alerts_pkey PRIMARY KEY (id),
    CONSTRAINT fk_alerts_plugin FOREIGN KEY (plugin_id)
        REFERENCES unity.plugins (plugin_id) ON DELETE CASCADE,
    CONSTRAINT alerts_severity_check CHECK (severity IN ('info', 'warning', 'error', 'critical')),
    CONSTRAINT alerts_condition_is_object CHECK (jsonb_typeof(condition) = 'object')
);

CREATE INDEX idx_alerts_plugin_id ON unity.alerts (plugin_id);
