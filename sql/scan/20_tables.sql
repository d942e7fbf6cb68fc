-- scan tables. Jobs, results and audit entries are never deleted through a user: the
-- foreign keys to them restrict, so the audit trail cannot lose its parents.

-- Users, keyed by their Clerk user id.
CREATE TABLE scan.users (
    clerk_user_id text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    metadata jsonb,
    CONSTRAINT users_pkey PRIMARY KEY (clerk_user_id),
    CONSTRAINT users_clerk_user_id_not_blank CHECK (clerk_user_id <> '')
);

CREATE TRIGGER users_set_updated_at BEFORE UPDATE ON scan.users
    FOR EACH ROW EXECUTE FUNCTION scan.set_updated_at();

-- Scan credits: one wallet per user, never overdrawn.
CREATE TABLE scan.wallets (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id text NOT NULL,
    credit_balance integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT wallets_pkey PRIMARY KEY (id),
    CONSTRAINT wallets_user_id_key UNIQUE (user_id),
    CONSTRAINT fk_wallets_user FOREIGN KEY (user_id)
        REFERENCES scan.users (clerk_user_id) ON DELETE CASCADE,
    CONSTRAINT wallets_credit_balance_nonneg CHECK (credit_balance >= 0)
);

CREATE TRIGGER wallets_set_updated_at BEFORE UPDATE ON scan.wallets
    FOR EACH ROW EXECUTE FUNCTION scan.set_updated_at();

-- Scan requests. version supports optimistic concurrency:
-- UPDATE ... SET version = version + 1 WHERE id = $1 AND version = $2.
-- The URL is SSRF-validated by the application; the database only checks its scheme.
CREATE TABLE scan.scan_jobs (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id text NOT NULL,
    url text NOT NULL,
    state scan.scan_job_state NOT NULL DEFAULT 'QUEUED',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    version integer NOT NULL DEFAULT 1,
    CONSTRAINT scan_jobs_pkey PRIMARY KEY (id),
    CONSTRAINT fk_scan_jobs_user FOREIGN KEY (user_id)
        REFERENCES scan.users (clerk_user_id) ON DELETE RESTRICT,
    CONSTRAINT scan_jobs_url_http CHECK (url ~* '^https?://' AND length(url) <= 2048),
    CONSTRAINT scan_jobs_version_positive CHECK (version >= 1)
);

CREATE TRIGGER scan_jobs_set_updated_at BEFORE UPDATE ON scan.scan_jobs
    FOR EACH ROW EXECUTE FUNCTION scan.set_updated_at();

-- Redundant with the (user_id, created_at) composite below; kept as the document lists it.
CREATE INDEX idx_scan_jobs_user_id ON scan.scan_jobs (user_id);

CREATE INDEX idx_scan_jobs_state ON scan.scan_jobs (state);

CREATE INDEX idx_scan_jobs_created_at ON scan.scan_jobs (created_at);

CREATE INDEX idx_scan_jobs_user_created ON scan.scan_jobs (user_id, created_at);

CREATE INDEX idx_scan_jobs_url ON scan.scan_jobs (url);

-- The analysis of a job: at most one per job (job_id is the primary key).
CREATE TABLE scan.scan_results (
    job_id uuid NOT NULL,
    risk_score integer NOT NULL,
    categories jsonb NOT NULL DEFAULT '[]'::jsonb,
    content_hash text,
    http_status integer,
    http_headers jsonb,
    content_type text,
    model_used text,
    analysis_metadata jsonb,
    reasoning text,
    indicators jsonb NOT NULL DEFAULT '[]'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT scan_results_pkey PRIMARY KEY (job_id),
    CONSTRAINT fk_scan_results_job FOREIGN KEY (job_id)
        REFERENCES scan.scan_jobs (id) ON DELETE RESTRICT,
    CONSTRAINT scan_results_risk_score_range CHECK (risk_score BETWEEN 0 AND 100),
    CONSTRAINT scan_results_content_hash_sha256 CHECK (content_hash ~ '^[0-9a-f]{64}$'),
    CONSTRAINT scan_results_http_status_range CHECK (http_status BETWEEN 100 AND 599),
    CONSTRAINT scan_results_categories_is_array CHECK (jsonb_typeof(categories) = 'array'),
    CONSTRAINT scan_results_indicators_is_array CHECK (jsonb_typeof(indicators) = 'array'),
    CONSTRAINT scan_results_http_headers_is_object CHECK (jsonb_typeof(http_headers) = 'object')
);

-- Every fetch the scanner made. Append-only (the triggers below reject UPDATE, DELETE and
-- TRUNCATE) and, by design, without any column for the content body, screenshots or DOM:
-- only the content's SHA-256 hash is kept.
CREATE TABLE scan.audit_logs (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    scan_job_id uuid NOT NULL,
    url_accessed text NOT NULL,
    "timestamp" timestamptz NOT NULL DEFAULT now(),
    content_hash text,
    http_status integer,
    http_headers jsonb,
    content_type text,
    risk_assessment_summary jsonb,
    CONSTRAINT audit_logs_pkey PRIMARY KEY (id),
    CONSTRAINT fk_audit_logs_scan_job FOREIGN KEY (scan_job_id)
        REFERENCES scan.scan_jobs (id) ON DELETE RESTRICT,
    CONSTRAINT audit_logs_content_hash_sha256 CHECK (content_hash ~ '^[0-9a-f]{64}$'),
    CONSTRAINT audit_logs_http_status_range CHECK (http_status BETWEEN 100 AND 599),
    CONSTRAINT audit_logs_http_headers_is_object CHECK (jsonb_typeof(http_headers) = 'object')
);

CREATE TRIGGER audit_logs_append_only BEFORE UPDATE OR DELETE ON scan.audit_logs
    FOR EACH ROW EXECUTE FUNCTION scan.reject_audit_log_mutation();

CREATE TRIGGER audit_logs_no_truncate BEFORE TRUNCATE ON scan.audit_logs
    FOR EACH STATEMENT EXECUTE FUNCTION scan.reject_audit_log_mutation();

-- Redundant with the (scan_job_id, "timestamp") composite below; kept as the document lists it.
CREATE INDEX idx_audit_logs_scan_job_id ON scan.audit_logs (scan_job_id);

CREATE INDEX idx_audit_logs_timestamp ON scan.audit_logs ("timestamp");

CREATE INDEX idx_audit_logs_url_accessed ON scan.audit_logs (url_accessed);

CREATE INDEX idx_audit_logs_scan_job_timestamp ON scan.audit_logs (scan_job_id, "timestamp");
