-- Cost engine. Every table here is derived from facts (spans, gpu_samples) and the
-- price catalog, and can be rebuilt: `inferledger prices reprice` does it.

-- One resolved price (a catalog entry or an override), identified by a content hash,
-- so a cost line always says which price made it. Amounts per token, exact decimals.
CREATE TABLE price_versions (
    price_id              VARCHAR PRIMARY KEY,
    source                VARCHAR NOT NULL,     -- catalog | override
    catalog_version       VARCHAR NOT NULL,     -- sha256 prefix of the catalog file / override set
    catalog_key           VARCHAR NOT NULL,     -- LiteLLM key, or the override's model / regex
    currency              VARCHAR NOT NULL,
    input_price           DECIMAL(38, 18) NOT NULL,
    output_price          DECIMAL(38, 18) NOT NULL,
    cache_read_price      DECIMAL(38, 18) NOT NULL,
    cache_write_price     DECIMAL(38, 18) NOT NULL,
    reasoning_price       DECIMAL(38, 18),      -- NULL: reasoning is billed as output
    input_price_above_200k  DECIMAL(38, 18),
    output_price_above_200k DECIMAL(38, 18),
    input_includes_cache  BOOLEAN NOT NULL,
    created_at            TIMESTAMP NOT NULL
);

-- Which price applies to a (provider, request model, response model) in [valid_from, valid_to).
CREATE TABLE price_assignments (
    provider        VARCHAR NOT NULL,   -- '' where the span had none
    request_model   VARCHAR NOT NULL,
    response_model  VARCHAR NOT NULL,
    valid_from      TIMESTAMP NOT NULL,
    valid_to        TIMESTAMP NOT NULL,
    status          VARCHAR NOT NULL,   -- priced | unpriced | self_hosted
    price_id        VARCHAR,
    priced_model    VARCHAR,            -- the model name the price was matched on
    match_rule      VARCHAR             -- exact | provider_prefix | stripped_prefix | base_version | override | regex
);

-- One line per span (tenant, trace_id, span_id): its tokens by class and what each class cost.
CREATE TABLE cost_lines (
    tenant              VARCHAR NOT NULL,
    trace_id            VARCHAR NOT NULL,
    span_id             VARCHAR NOT NULL,
    start_time          TIMESTAMP NOT NULL,
    team                VARCHAR NOT NULL,
    feature             VARCHAR NOT NULL,
    provider            VARCHAR,
    model               VARCHAR,            -- response model, else request model
    k8s_pod             VARCHAR,
    host_name           VARCHAR,
    is_error            BOOLEAN NOT NULL,
    status              VARCHAR NOT NULL,   -- priced | unpriced | self_hosted | split_unknown
    price_id            VARCHAR,
    input_tokens        BIGINT NOT NULL,    -- uncached input billed at the input price
    cache_read_tokens   BIGINT NOT NULL,
    cache_write_tokens  BIGINT NOT NULL,
    output_tokens       BIGINT NOT NULL,    -- output billed at the output price (reasoning apart when priced)
    reasoning_tokens    BIGINT NOT NULL,    -- billed at the reasoning price (0 when not priced apart)
    above_200k          BOOLEAN NOT NULL,   -- prompt over 200k tokens: long-context prices applied where the model has them
    total_tokens        BIGINT NOT NULL,
    input_cost          DECIMAL(38, 18) NOT NULL,
    cache_read_cost     DECIMAL(38, 18) NOT NULL,
    cache_write_cost    DECIMAL(38, 18) NOT NULL,
    output_cost         DECIMAL(38, 18) NOT NULL,
    reasoning_cost      DECIMAL(38, 18) NOT NULL,
    cost                DECIMAL(38, 18) NOT NULL,
    computed_at         TIMESTAMP NOT NULL
    -- one line per span; no PRIMARY KEY: an index upsert is ~8x slower than
    -- delete-then-insert, which analytics.cost does in one transaction
);

-- Job state: the ingested_at watermark, the price book fingerprint last applied.
CREATE TABLE cost_state (
    name   VARCHAR PRIMARY KEY,
    value  VARCHAR NOT NULL
);

-- Effective-dated GPU rates (config rows are synced in; rows added by hand stay).
CREATE TABLE gpu_rates (
    gpu_model     VARCHAR NOT NULL,
    usd_per_hour  DECIMAL(18, 6) NOT NULL,
    valid_from    TIMESTAMP NOT NULL,
    valid_to      TIMESTAMP NOT NULL,
    source        VARCHAR NOT NULL      -- config | manual
);

-- Each GPU's cost per hour split over the workloads that ran on it; sums exactly to the bill.
CREATE TABLE gpu_allocations (
    hour            TIMESTAMP NOT NULL,
    tenant          VARCHAR NOT NULL,
    host            VARCHAR,
    gpu_uuid        VARCHAR,
    gpu_model       VARCHAR,
    mig_profile     VARCHAR,
    mig_instance    VARCHAR,
    gpu_share       DOUBLE NOT NULL,      -- 1 for a whole GPU, g/7 for a MIG slice
    line_kind       VARCHAR NOT NULL,     -- workload | idle
    k8s_namespace   VARCHAR,
    k8s_pod         VARCHAR,
    model           VARCHAR,              -- from spans served by that pod, when known
    gpu_seconds     DOUBLE NOT NULL,      -- wall-clock seconds attributed (utilisation-weighted for workloads)
    rate_per_hour   DECIMAL(18, 6) NOT NULL,
    cost            DECIMAL(38, 6) NOT NULL,  -- micro-dollar exact, largest-remainder rounded
    computed_at     TIMESTAMP NOT NULL
);

-- GPU cost of a pod-hour attributed to the teams whose spans it served (by tokens).
CREATE TABLE gpu_team_costs (
    hour           TIMESTAMP NOT NULL,
    tenant         VARCHAR NOT NULL,
    team           VARCHAR NOT NULL,
    feature        VARCHAR NOT NULL,
    provider       VARCHAR,
    model          VARCHAR,
    k8s_namespace  VARCHAR,
    k8s_pod        VARCHAR,
    line_kind      VARCHAR NOT NULL,    -- workload | idle
    gpu_seconds    DOUBLE NOT NULL,
    cost           DECIMAL(38, 6) NOT NULL
);

-- Unit economics per hour; day and month views roll it up.
CREATE TABLE cost_rollup_hourly (
    hour           TIMESTAMP NOT NULL,
    tenant         VARCHAR NOT NULL,
    team           VARCHAR NOT NULL,
    feature        VARCHAR NOT NULL,
    provider       VARCHAR,
    model          VARCHAR,
    requests       BIGINT NOT NULL,
    ok_requests    BIGINT NOT NULL,
    unpriced_requests BIGINT NOT NULL,
    input_tokens   BIGINT NOT NULL,
    output_tokens  BIGINT NOT NULL,
    total_tokens   BIGINT NOT NULL,
    token_cost     DECIMAL(38, 18) NOT NULL,
    gpu_cost       DECIMAL(38, 18) NOT NULL,
    cost           DECIMAL(38, 18) NOT NULL
);

CREATE VIEW unit_economics_daily AS
SELECT date_trunc('day', hour) AS day, tenant, team, feature, provider, model,
       sum(requests) AS requests, sum(ok_requests) AS ok_requests,
       sum(total_tokens) AS total_tokens, sum(cost) AS cost,
       sum(cost) * 1000 / nullif(sum(requests), 0) AS cost_per_1k_requests,
       sum(cost) * 1000000 / nullif(sum(total_tokens), 0) AS cost_per_1m_tokens,
       sum(cost) / nullif(sum(ok_requests), 0) AS cost_per_successful_request
FROM cost_rollup_hourly GROUP BY ALL;

CREATE VIEW unit_economics_monthly AS
SELECT date_trunc('month', hour) AS month, tenant, team, feature, provider, model,
       sum(requests) AS requests, sum(ok_requests) AS ok_requests,
       sum(total_tokens) AS total_tokens, sum(cost) AS cost,
       sum(cost) * 1000 / nullif(sum(requests), 0) AS cost_per_1k_requests,
       sum(cost) * 1000000 / nullif(sum(total_tokens), 0) AS cost_per_1m_tokens,
       sum(cost) / nullif(sum(ok_requests), 0) AS cost_per_successful_request
FROM cost_rollup_hourly GROUP BY ALL;

CREATE TABLE budget_status (
    month        DATE NOT NULL,
    team         VARCHAR NOT NULL,
    feature      VARCHAR NOT NULL,
    budget       DECIMAL(18, 2) NOT NULL,
    spent        DECIMAL(38, 6) NOT NULL,
    forecast     DECIMAL(38, 6) NOT NULL,
    evaluated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (month, team, feature)
);
