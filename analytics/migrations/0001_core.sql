-- Canonical facts. Times are UTC (TIMESTAMP without zone, microseconds).
CREATE TABLE spans (
    tenant                 VARCHAR NOT NULL,
    trace_id               VARCHAR NOT NULL,   -- 32 hex chars
    span_id                VARCHAR NOT NULL,   -- 16 hex chars
    parent_span_id         VARCHAR,
    start_time             TIMESTAMP NOT NULL,
    end_time               TIMESTAMP NOT NULL,
    duration_s             DOUBLE NOT NULL,
    service_name           VARCHAR,
    service_version        VARCHAR,
    deployment_environment VARCHAR,
    span_name              VARCHAR,
    span_kind              VARCHAR,            -- INTERNAL | SERVER | CLIENT | PRODUCER | CONSUMER | UNSPECIFIED
    status_code            VARCHAR,            -- UNSET | OK | ERROR
    status_message         VARCHAR,
    is_error               BOOLEAN NOT NULL,
    error_type             VARCHAR,
    operation              VARCHAR,            -- chat | text_completion | embeddings | ...
    provider               VARCHAR,
    request_model          VARCHAR,
    response_model         VARCHAR,
    input_tokens           BIGINT,             -- as reported (GenAI: includes cache tokens)
    output_tokens          BIGINT,             -- includes reasoning tokens
    cache_read_tokens      BIGINT,
    cache_write_tokens     BIGINT,
    reasoning_tokens       BIGINT,
    total_tokens           BIGINT,             -- reported total; alone = split unknown
    time_to_first_token_s  DOUBLE,
    is_streaming           BOOLEAN,
    finish_reason          VARCHAR,            -- first reason; all of them in finish_reasons
    finish_reasons         VARCHAR[],
    server_address         VARCHAR,
    server_port            INTEGER,
    team                   VARCHAR NOT NULL,
    feature                VARCHAR NOT NULL,
    user_id                VARCHAR,
    conversation_id        VARCHAR,
    host_name              VARCHAR,
    k8s_namespace          VARCHAR,
    k8s_pod                VARCHAR,
    client_cost_usd        DOUBLE,             -- instrumentation's own estimate, for reconciliation only
    vocabulary             VARCHAR NOT NULL,   -- otel_genai | otel_genai_deprecated | openinference | openllmetry_0.4 | openllmetry_0.5 | openlit | inference_service
    attributes             JSON,               -- the span attributes not mapped to a column
    resource_attributes    JSON,
    content                JSON,               -- prompt / completion, only when ingest.capture_content
    ingested_at            TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant, trace_id, span_id)    -- a resent batch is ignored, never counted twice
);

CREATE TABLE gpu_samples (
    time                TIMESTAMP NOT NULL,
    tenant              VARCHAR NOT NULL,
    host                VARCHAR,
    gpu_uuid            VARCHAR,
    gpu_index           INTEGER,
    gpu_model           VARCHAR,
    mig_profile         VARCHAR,
    mig_instance        VARCHAR,
    k8s_namespace       VARCHAR,
    k8s_pod             VARCHAR,
    k8s_container       VARCHAR,
    utilization         DOUBLE,      -- fraction 0-1
    memory_used_bytes   DOUBLE,
    memory_total_bytes  DOUBLE,
    power_w             DOUBLE,
    energy_j            DOUBLE,      -- cumulative counter
    temperature_c       DOUBLE,
    vocabulary          VARCHAR NOT NULL,   -- dcgm | otel_hw | openlit
    attributes          JSON,
    ingested_at         TIMESTAMP NOT NULL
);

CREATE TABLE metric_points (
    time            TIMESTAMP NOT NULL,
    start_time      TIMESTAMP,
    tenant          VARCHAR NOT NULL,
    metric_name     VARCHAR NOT NULL,
    metric_type     VARCHAR NOT NULL,  -- gauge | sum | histogram | exponential_histogram | summary
    unit            VARCHAR,
    is_monotonic    BOOLEAN,
    value           DOUBLE,            -- gauge / sum value
    count           BIGINT,            -- histogram
    sum             DOUBLE,
    min             DOUBLE,
    max             DOUBLE,
    bucket_counts   BIGINT[],
    explicit_bounds DOUBLE[],
    service_name    VARCHAR,
    attributes      JSON,
    resource_attributes JSON,
    ingested_at     TIMESTAMP NOT NULL
);

CREATE TABLE log_records (
    time            TIMESTAMP NOT NULL,
    tenant          VARCHAR NOT NULL,
    trace_id        VARCHAR,
    span_id         VARCHAR,
    severity_number INTEGER,
    severity_text   VARCHAR,
    event_name      VARCHAR,
    service_name    VARCHAR,
    body            JSON,          -- only when ingest.capture_content (GenAI events carry prompts)
    attributes      JSON,
    ingested_at     TIMESTAMP NOT NULL
);

-- Attribute keys seen on inference-looking spans that no vocabulary maps.
CREATE TABLE ingest_unmapped_keys (
    tenant     VARCHAR NOT NULL,
    key        VARCHAR NOT NULL,
    spans      BIGINT NOT NULL,
    last_seen  TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant, key)
);

CREATE TABLE job_runs (
    job          VARCHAR NOT NULL,
    started_at   TIMESTAMP NOT NULL,
    finished_at  TIMESTAMP,
    status       VARCHAR NOT NULL,   -- running | ok | failed
    detail       VARCHAR
);

-- Alert records written by every job (SLO, budget, unpriced, anomaly, drift, ingest);
-- the alert pipeline reads them. Written only through analytics.alert_records.
CREATE SEQUENCE alert_records_id;
CREATE TABLE alert_records (
    id            BIGINT PRIMARY KEY DEFAULT nextval('alert_records_id'),
    source        VARCHAR NOT NULL,   -- slo | budget | unpriced | anomaly | drift | ingest
    alertname     VARCHAR NOT NULL,
    fingerprint   VARCHAR NOT NULL,   -- from labels, see analytics.alert_records.fingerprint
    labels        JSON NOT NULL,
    severity      VARCHAR NOT NULL,   -- page | ticket | info
    status        VARCHAR NOT NULL,   -- firing | resolved
    summary       VARCHAR NOT NULL,
    description   VARCHAR,
    "values"      JSON,
    runbook_url   VARCHAR,
    dashboard_url VARCHAR,
    starts_at     TIMESTAMP NOT NULL,
    ends_at       TIMESTAMP,
    created_at    TIMESTAMP NOT NULL
);
