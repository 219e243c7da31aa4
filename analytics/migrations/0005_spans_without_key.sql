-- The spans table without its PRIMARY KEY: the key's index cost more per appended row than the
-- append itself. Resent spans are still stored once: the ingest writer drops ids it has already
-- stored before appending (inferledger.collector.recent_ids), exactly, also across restarts.
-- DuckDB cannot drop a primary key in place, so the table is rebuilt with the same columns,
-- in the same order, with the same NOT NULL constraints.
CREATE TABLE spans_rebuilt (
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
    scope_name             VARCHAR,
    scope_version          VARCHAR,
    is_inference           BOOLEAN,
    response_id            VARCHAR,
    input_includes_cache   BOOLEAN,
    duplicate_of           VARCHAR,
    deduped_at             TIMESTAMP
);
INSERT INTO spans_rebuilt SELECT * FROM spans;
DROP TABLE spans;
ALTER TABLE spans_rebuilt RENAME TO spans;
