"""Declarations more than one area of the tests applies."""

# One object of every kind the platform owns, TimescaleDB declarations included.
EVERY_KIND = """\
CREATE EXTENSION IF NOT EXISTS timescaledb;
CREATE SCHEMA demo;
CREATE TYPE demo.state AS ENUM ('new', 'done');
CREATE DOMAIN demo.positive AS integer CHECK (VALUE > 0);
CREATE SEQUENCE demo.ticket_seq START WITH 100;
CREATE FUNCTION demo.reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'demo.users is append-only; % refused', TG_OP;
END
$$;
CREATE TABLE demo.users (
    id bigint PRIMARY KEY,
    state demo.state NOT NULL DEFAULT 'new',
    ticket bigint NOT NULL DEFAULT nextval('demo.ticket_seq'),
    score demo.positive
);
COMMENT ON TABLE demo.users IS 'people';
ALTER TABLE demo.users ADD CONSTRAINT users_id_small CHECK (id < 1000000);
CREATE TABLE demo.events (
    time timestamptz NOT NULL,
    user_id bigint NOT NULL,
    CONSTRAINT events_user_fk FOREIGN KEY (user_id) REFERENCES demo.users (id)
);
CREATE INDEX idx_events_user_time ON demo.events (user_id, time DESC);
CREATE TRIGGER users_append_only BEFORE UPDATE OR DELETE ON demo.users
    FOR EACH ROW EXECUTE FUNCTION demo.reject_change();
CREATE VIEW demo.user_states AS SELECT u.state, count(*) AS n FROM demo.users u GROUP BY u.state;
CREATE MATERIALIZED VIEW demo.daily AS
    SELECT date_trunc('day', e.time) AS day, count(*) AS n FROM demo.events e GROUP BY 1;
SELECT create_hypertable('demo.events', by_range('time', INTERVAL '1 day'));
"""
