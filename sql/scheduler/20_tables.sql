-- scheduler tables: users and their partitioned message log.

-- Recipients. Soft-deleted rows (deleted_at set) stay for the message history; the email
-- must be unique only among live rows, so the document's column-level UNIQUE (email)
-- is replaced by the partial unique index uq_users_email_live below.
CREATE TABLE scheduler.users (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    first_name varchar(100) NOT NULL,
    last_name varchar(100) NOT NULL,
    email varchar(255) NOT NULL,
    timezone varchar(100) NOT NULL,
    birthday_date date,
    anniversary_date date,
    location_city varchar(100),
    location_country varchar(100),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz,
    CONSTRAINT users_pkey PRIMARY KEY (id),
    CONSTRAINT users_timezone_iana CHECK (scheduler.is_valid_timezone(timezone)),
    CONSTRAINT users_email_format CHECK (email LIKE '_%@_%'),
    CONSTRAINT users_deleted_after_created CHECK (deleted_at IS NULL OR deleted_at >= created_at)
);

CREATE UNIQUE INDEX uq_users_email_live ON scheduler.users (lower(email))
    WHERE deleted_at IS NULL;

CREATE INDEX idx_users_birthday_date ON scheduler.users (birthday_date)
    WHERE deleted_at IS NULL;

CREATE INDEX idx_users_anniversary_date ON scheduler.users (anniversary_date)
    WHERE deleted_at IS NULL;

CREATE INDEX idx_users_birthday_timezone ON scheduler.users (birthday_date, timezone)
    WHERE deleted_at IS NULL;

-- One row per message to send, partitioned by month of scheduled_send_time.
-- A unique key on a partitioned table must contain the partition column, so the document's
-- PRIMARY KEY (id) and UNIQUE (idempotency_key) become (id, scheduled_send_time) and
-- (idempotency_key, scheduled_send_time), whose index is the document's
-- idx_message_logs_idempotency. That still enforces idempotency: the key is
-- derived deterministically from message type, user and the local send date
-- ('BIRTHDAY:<user id>:2026-11-22', checked below), and scheduled_send_time is derived from
-- the same date and the user's timezone, so a retried insert carries the same pair and
-- INSERT ... ON CONFLICT (idempotency_key, scheduled_send_time) DO NOTHING drops it.
-- Retries of a send update the existing row (status, retry_count), never insert a new one.
-- platform: partition_interval="1 month" premake=13 retention="6 months"
CREATE TABLE scheduler.message_logs (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL,
    message_type varchar(50) NOT NULL,
    message_content text NOT NULL,
    scheduled_send_time timestamptz NOT NULL,
    actual_send_time timestamptz,
    status varchar(20) NOT NULL DEFAULT 'SCHEDULED',
    retry_count integer NOT NULL DEFAULT 0,
    last_retry_at timestamptz,
    api_response_code integer,
    api_response_body text,
    error_message text,
    idempotency_key varchar(255) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT message_logs_pkey PRIMARY KEY (id, scheduled_send_time),
    CONSTRAINT message_logs_idempotency_key_unique UNIQUE (idempotency_key, scheduled_send_time),
    CONSTRAINT fk_message_logs_user FOREIGN KEY (user_id)
        REFERENCES scheduler.users (id) ON DELETE CASCADE,
    CONSTRAINT message_logs_status_check CHECK (
        status IN ('SCHEDULED', 'QUEUED', 'SENDING', 'SENT', 'FAILED', 'RETRYING')
    ),
    CONSTRAINT message_logs_message_type_check CHECK (message_type IN ('BIRTHDAY', 'ANNIVERSARY')),
    CONSTRAINT message_logs_retry_count_nonneg CHECK (retry_count >= 0),
    CONSTRAINT message_logs_sent_has_send_time CHECK (status <> 'SENT' OR actual_send_time IS NOT NULL),
    CONSTRAINT message_logs_api_response_code_range CHECK (api_response_code BETWEEN 100 AND 599),
    CONSTRAINT message_logs_idempotency_key_format CHECK (
        idempotency_key ~ '^[A-Z]+:[0-9a-f-]{36}:[0-9]{4}-[0-9]{2}-[0-9]{2}$'
        AND split_part(idempotency_key, ':', 1) = message_type
        AND split_part(idempotency_key, ':', 2) = user_id::text
    )
) PARTITION BY RANGE (scheduled_send_time);

CREATE INDEX idx_message_logs_user_id ON scheduler.message_logs (user_id);

CREATE INDEX idx_message_logs_status ON scheduler.message_logs (status);

CREATE INDEX idx_message_logs_scheduled_time ON scheduler.message_logs (scheduled_send_time);

CREATE INDEX idx_message_logs_scheduler ON scheduler.message_logs (message_type, status, scheduled_send_time);

-- Recovery sweeps: messages that failed or got stuck between queueing and sending.
CREATE INDEX idx_message_logs_recovery ON scheduler.message_logs (scheduled_send_time, retry_count)
    WHERE status IN ('QUEUED', 'SENDING', 'FAILED', 'RETRYING');
