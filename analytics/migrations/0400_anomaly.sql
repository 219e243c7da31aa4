-- Anomaly detection. One row per alarmed point of a watched series.
-- Re-computable: the job re-scores its lookback window from the facts on every run,
-- and the primary key keeps a point that is found again from being stored twice.
CREATE TABLE anomalies (
    series_key      VARCHAR NOT NULL,   -- metric plus its labels, e.g. spend_5m{team="search"}
    metric          VARCHAR NOT NULL,   -- spend_5m | spend_1h | tokens_1m | latency_p95_5m | error_rate_5m | gpu_util_5m | gpu_idle_cost_1h
    unit            VARCHAR NOT NULL,   -- usd | tokens | seconds | ratio
    labels          JSON NOT NULL,      -- the series' dimension, e.g. {"team": "search"}; {} for a total
    bucket_start    TIMESTAMP NOT NULL, -- start of the anomalous bucket (UTC)
    bucket_seconds  INTEGER NOT NULL,
    observed        DOUBLE NOT NULL,
    expected        DOUBLE NOT NULL,
    score           DOUBLE NOT NULL,    -- 0..1, >= 0.5 is an alarm
    kind            VARCHAR NOT NULL,   -- spike | level_shift
    moved_dimension VARCHAR,            -- team | model | feature: the dimension whose value moved most
    moved_value     VARCHAR,
    moved_observed  DOUBLE,
    moved_expected  DOUBLE,
    moved_share     DOUBLE,             -- that value's share of the series' change
    detected_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (series_key, bucket_start)
);
CREATE INDEX anomalies_bucket ON anomalies (bucket_start);
