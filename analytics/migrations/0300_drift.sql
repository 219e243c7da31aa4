-- Drift results: one row per (run, tenant, segment, column). Re-computable from spans.
CREATE TABLE drift_results (
    run_at           TIMESTAMP NOT NULL,
    tenant           VARCHAR NOT NULL,
    segment          JSON NOT NULL,       -- {"service_name": "...", "model": "..."} (the configured segment keys)
    segment_label    VARCHAR NOT NULL,    -- "chat-api / gpt-4o", for people
    column_name      VARCHAR NOT NULL,
    kind             VARCHAR NOT NULL,    -- numeric | categorical
    method           VARCHAR,             -- ks | wasserstein | psi | jensenshannon | chisquare | z; NULL when not testable
    score            DOUBLE,              -- p-value (ks, chisquare, z) or distance; NULL when not testable
    threshold        DOUBLE,
    drifted          BOOLEAN NOT NULL,
    reference_start  TIMESTAMP NOT NULL,
    reference_end    TIMESTAMP NOT NULL,
    current_start    TIMESTAMP NOT NULL,
    current_end      TIMESTAMP NOT NULL,
    reference_rows   BIGINT NOT NULL,
    current_rows     BIGINT NOT NULL,
    detail           VARCHAR
);
CREATE INDEX drift_results_run ON drift_results (run_at);
