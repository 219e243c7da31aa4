-- SLO burn (analytics/slo/): definitions, per-minute good/total rollups, rollup
-- watermarks, current state per SLO and a short state history for charts.
-- Written only by analytics/slo/ (store.py).

CREATE TABLE slo_definitions (
    slo_id      VARCHAR PRIMARY KEY,   -- Sloth's sloth_id: service-name
    service     VARCHAR NOT NULL,
    name        VARCHAR NOT NULL,
    sli_kind    VARCHAR NOT NULL,      -- availability | latency | ttft
    objective   DOUBLE NOT NULL,       -- percent, e.g. 99.9
    period      VARCHAR NOT NULL,      -- 30d | 28d | calendar_month
    spec_hash   VARCHAR NOT NULL,      -- a change re-builds the rollups
    spec        JSON NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);

-- Re-computable from spans: counts of valid (total) and good events per minute of start_time.
CREATE TABLE slo_minute_rollups (
    slo_id  VARCHAR NOT NULL,
    minute  TIMESTAMP NOT NULL,
    good    BIGINT NOT NULL,
    total   BIGINT NOT NULL,
    PRIMARY KEY (slo_id, minute)
);

-- Spans ingested after ingested_through have not been folded into the rollups yet.
CREATE TABLE slo_rollup_watermarks (
    slo_id            VARCHAR PRIMARY KEY,
    spec_hash         VARCHAR NOT NULL,
    ingested_through  TIMESTAMP
);

CREATE TABLE slo_state (
    slo_id            VARCHAR PRIMARY KEY,
    service           VARCHAR NOT NULL,
    name              VARCHAR NOT NULL,
    sli_kind          VARCHAR NOT NULL,
    objective         DOUBLE NOT NULL,
    period            VARCHAR NOT NULL,
    evaluated_at      TIMESTAMP NOT NULL,
    error_ratios      DOUBLE[] NOT NULL,   -- 5m, 30m, 1h, 2h, 6h, 1d, 3d
    burn_rates        DOUBLE[] NOT NULL,   -- error ratio / (1 - objective), same windows
    window_events     BIGINT[] NOT NULL,   -- total events per window
    period_start      TIMESTAMP NOT NULL,
    period_bad        BIGINT NOT NULL,
    period_total      BIGINT NOT NULL,
    budget_remaining  DOUBLE NOT NULL,     -- 1 - period bad / (period total * (1 - objective))
    exhaustion_hours  DOUBLE,              -- at the 1h burn rate; NULL when not burning
    tiers             VARCHAR[] NOT NULL,  -- page_quick | page_slow | ticket_quick | ticket_slow
    page              BOOLEAN NOT NULL,
    ticket            BOOLEAN NOT NULL
);

CREATE TABLE slo_state_history (
    slo_id            VARCHAR NOT NULL,
    evaluated_at      TIMESTAMP NOT NULL,
    burn_rate_1h      DOUBLE NOT NULL,
    burn_rate_6h      DOUBLE NOT NULL,
    budget_remaining  DOUBLE NOT NULL,
    page              BOOLEAN NOT NULL,
    ticket            BOOLEAN NOT NULL
);
