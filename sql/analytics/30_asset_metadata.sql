-- Asset reference data: a regular table, not a hypertable.
-- The document declares its indexes MySQL-style inside CREATE TABLE (INDEX name (col)),
-- which PostgreSQL rejects; they are separate CREATE INDEX statements here.
CREATE TABLE analytics.asset_metadata (
    asset_id varchar(100) NOT NULL,
    asset_name varchar(255) NOT NULL,
    asset_type varchar(50) NOT NULL,
    version varchar(50),
    owner_id varchar(100),
    team_id varchar(100),
    tenant_id varchar(100) NOT NULL,
    tags jsonb,
    metadata jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    last_seen timestamptz,
    CONSTRAINT asset_metadata_pkey PRIMARY KEY (asset_id)
);

CREATE INDEX idx_asset_tenant ON analytics.asset_metadata (tenant_id);

CREATE INDEX idx_asset_type ON analytics.asset_metadata (asset_type);

CREATE INDEX idx_asset_owner ON analytics.asset_metadata (owner_id);
