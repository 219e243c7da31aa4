-- Alert pipeline state (alerts/): lifecycle per alert, notification groups,
-- silences and the durable delivery outbox. Written only through alerts/.

-- How far the pipeline has read alert_records (id watermark).
CREATE TABLE alert_cursor (
    name            VARCHAR PRIMARY KEY,
    last_record_id  BIGINT NOT NULL
);

-- One row per alert (fingerprint): its lifecycle state.
CREATE TABLE alert_state (
    fingerprint     VARCHAR PRIMARY KEY,
    alertname       VARCHAR NOT NULL,
    source          VARCHAR NOT NULL,
    labels          JSON NOT NULL,
    severity        VARCHAR NOT NULL,
    summary         VARCHAR NOT NULL,
    description     VARCHAR,
    "values"        JSON,
    runbook_url     VARCHAR,
    dashboard_url   VARCHAR,
    state           VARCHAR NOT NULL,   -- pending | firing | resolved
    fired           BOOLEAN NOT NULL,   -- this episode reached firing
    starts_at       TIMESTAMP NOT NULL,
    ends_at         TIMESTAMP,
    pending_since   TIMESTAMP NOT NULL,
    transitions     JSON NOT NULL,      -- epoch seconds of recent firing<->resolved changes
    flapping        BOOLEAN NOT NULL,
    held_state      VARCHAR,            -- state shown to receivers while flapping
    last_record_id  BIGINT NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);

-- One row per notification group (route, receiver, group labels).
CREATE TABLE alert_groups (
    group_key       VARCHAR PRIMARY KEY,
    receiver        VARCHAR NOT NULL,
    route_path      VARCHAR NOT NULL,
    group_labels    JSON NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    next_flush_at   TIMESTAMP NOT NULL,
    last_sent_at    TIMESTAMP,
    notified        JSON NOT NULL,      -- fingerprints last notified as firing
    seq             BIGINT NOT NULL     -- notifications sent for this group so far
);

CREATE TABLE alert_silences (
    id          VARCHAR PRIMARY KEY,
    matchers    JSON NOT NULL,          -- [{"name", "op", "value"}], op one of = != =~ !~
    starts_at   TIMESTAMP NOT NULL,
    ends_at     TIMESTAMP NOT NULL,
    created_by  VARCHAR NOT NULL,
    comment     VARCHAR NOT NULL,
    created_at  TIMESTAMP NOT NULL
);

-- Durable outbox: one row per notification to one receiver. The idempotency key is
-- sent with every attempt so a resend after a crash can be recognised downstream.
CREATE SEQUENCE alert_outbox_id;
CREATE TABLE alert_outbox (
    id               BIGINT PRIMARY KEY DEFAULT nextval('alert_outbox_id'),
    idempotency_key  VARCHAR NOT NULL UNIQUE,
    receiver         VARCHAR NOT NULL,
    group_key        VARCHAR NOT NULL,
    status           VARCHAR NOT NULL,  -- firing | resolved (of the notification)
    payload          JSON NOT NULL,
    state            VARCHAR NOT NULL,  -- pending | delivered | failed
    attempts         INTEGER NOT NULL,
    next_attempt_at  TIMESTAMP NOT NULL,
    last_error       VARCHAR,           -- redacted: never a URL path, key or secret
    last_status_code INTEGER,
    created_at       TIMESTAMP NOT NULL,
    delivered_at     TIMESTAMP
);
