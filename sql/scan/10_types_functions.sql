-- Lifecycle of a scan job.
CREATE TYPE scan.scan_job_state AS ENUM ('QUEUED', 'FETCHING', 'ANALYZING', 'COMPLETED', 'FAILED', 'TIMED_OUT');

-- BEFORE UPDATE trigger: keeps updated_at current ("auto-update" in the document).
CREATE FUNCTION scan.set_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

-- Makes scan.audit_logs append-only: fired before any UPDATE, DELETE or TRUNCATE.
-- SQLSTATE 23001 (restrict_violation) so clients see an integrity violation.
CREATE FUNCTION scan.reject_audit_log_mutation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'scan.audit_logs is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$;
