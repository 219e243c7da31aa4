"""FOCUS 1.2 export of a month's showback (CONVENTIONS.md section 5).

One row per day x tenant x team x feature x provider x model x price x token class
for hosted models (PricingUnit `Tokens`, ListUnitPrice the per-token price, so
ListCost = ListUnitPrice x PricingQuantity holds exactly), and one per day x team x
workload x allocated|idle for GPUs (PricingUnit `GPU-Hours`, the effective
GPU-hour price). Unpriced usage has no price, so it is not a cost row: the HTML lists
it. Times are UTC ISO 8601 with `Z`; period ends are exclusive.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from inferledger.analytics.cost.lines import unit_price_sql
from inferledger.analytics.cost.showback.csv_safe import safe_sql

MANDATORY = [
    "BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "BillingAccountId", "BillingAccountName",
    "BillingCurrency", "BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd",
    "ChargeCategory", "ChargeClass", "ChargeDescription", "InvoiceIssuerName", "PricingQuantity",
    "PricingUnit", "ProviderName", "PublisherName", "ServiceCategory", "ServiceName",
]
TIME_COLUMNS = ["BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd"]

SERVICE_NAMES = {
    "openai": "OpenAI API", "anthropic": "Anthropic API", "aws.bedrock": "Amazon Bedrock",
    "azure.ai.openai": "Azure OpenAI", "azure.ai.inference": "Azure AI Inference",
    "gcp.vertex_ai": "Vertex AI", "gcp.gemini": "Gemini API", "mistral_ai": "Mistral AI API",
}

# token class -> (tokens column, cost column, meter)
CLASSES = [
    ("input", "in_t", "c_in", "Input Tokens"),
    ("cache_read", "cr_t", "c_cr", "Cache Read Input Tokens"),
    ("cache_write", "cw_t", "c_cw", "Cache Write Input Tokens"),
    ("output", "out_t", "c_out", "Output Tokens"),
    ("reasoning", "rs_t", "c_rs", "Reasoning Tokens"),
]
_UNIT_PRICE = {
    "input": unit_price_sql("input", "x."),
    "cache_read": unit_price_sql("cache_read", "x."),
    "cache_write": "x.cache_write_price",
    "output": unit_price_sql("output", "x."),
    "reasoning": "coalesce(x.reasoning_price, 0)",
}


def _service_case() -> str:
    whens = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in SERVICE_NAMES.items())
    return f"CASE coalesce(u.provider, '') {whens} ELSE coalesce(u.provider, 'unknown') END"


def focus_sql(currency: str) -> str:
    """SELECT producing FOCUS rows from the temp tables `sb_usage` and `sb_gpu` (see build.py)."""
    token_parts = []
    for cls, tok, cost, meter in CLASSES:
        keep = "TRUE" if cls == "input" else f"u.{tok} > 0"
        token_parts.append(f"""
        SELECT x.day, x.tenant, x.team, x.feature, x.provider, x.model, '{cls}' AS cls,
               '{meter}' || CASE WHEN x.service_tier IS NULL THEN '' ELSE ' (' || x.service_tier || ')' END AS meter,
               x.price_id, x.catalog_key, CAST(x.{tok} AS DECIMAL(38, 6)) AS qty,
               CAST({_UNIT_PRICE[cls]} AS DECIMAL(38, 18)) AS unit_price,
               CAST(x.{cost} AS DECIMAL(38, 18)) AS cost,
               CASE WHEN '{cls}' = 'input' THEN x.requests ELSE 0 END AS requests,
               x.in_t + x.cr_t + x.cw_t AS x_in, x.out_t + x.rs_t AS x_out, 0.0 AS gpu_s,
               'Tokens' AS unit, 'Model' AS rtype, x.service_tier
        FROM (SELECT * FROM sb_usage u JOIN price_versions p USING (price_id) WHERE u.status = 'priced') x
        WHERE {keep.replace('u.', 'x.')}""")
    tokens = " UNION ALL ".join(token_parts)
    gpu = """
        SELECT g.day, g.tenant, g.team, g.feature, coalesce(g.provider, 'self_hosted') AS provider,
               coalesce(g.model, coalesce(g.k8s_namespace || '/', '') || coalesce(g.k8s_pod, 'gpu')) AS model,
               'gpu_' || g.line_kind AS cls,
               CASE g.line_kind WHEN 'idle' THEN 'GPU-Hours (idle capacity)' ELSE 'GPU-Hours (allocated by use)' END AS meter,
               NULL AS price_id, coalesce(g.k8s_namespace || '/', '') || coalesce(g.k8s_pod, 'host') AS catalog_key,
               CAST(round(g.gpu_s / 3600, 6) AS DECIMAL(38, 6)) AS qty,
               -- effective GPU-hour price to 12 places, so price x quantity (6 places) is exact at 18
               CASE WHEN round(g.gpu_s / 3600, 6) > 0
                    THEN CAST(CAST(g.cost / CAST(round(g.gpu_s / 3600, 6) AS DECIMAL(38, 6)) AS DECIMAL(38, 12)) AS DECIMAL(38, 18))
                    ELSE CAST(0 AS DECIMAL(38, 18)) END AS unit_price,
               CAST(g.cost AS DECIMAL(38, 18)) AS cost, 0 AS requests, 0 AS x_in, 0 AS x_out, g.gpu_s,
               'GPU-Hours' AS unit, CASE g.line_kind WHEN 'idle' THEN 'GPU idle capacity' ELSE 'GPU workload' END AS rtype,
               NULL AS service_tier
        FROM sb_gpu g"""
    return f"""
    WITH r AS ({tokens} UNION ALL {gpu})
    SELECT
        r.cost AS BilledCost, r.cost AS EffectiveCost,
        CAST(r.unit_price * r.qty AS DECIMAL(38, 18)) AS ListCost, r.cost AS ContractedCost,
        r.tenant AS BillingAccountId, r.tenant AS BillingAccountName, '{currency}' AS BillingCurrency,
        date_trunc('month', r.day) AS BillingPeriodStart, date_trunc('month', r.day) + INTERVAL 1 MONTH AS BillingPeriodEnd,
        r.day AS ChargePeriodStart, r.day + INTERVAL 1 DAY AS ChargePeriodEnd,
        'Usage' AS ChargeCategory, CAST(NULL AS VARCHAR) AS ChargeClass,
        r.meter || ' of ' || r.model || ' for ' || r.team || '/' || r.feature AS ChargeDescription,
        'Usage-Based' AS ChargeFrequency,
        CASE WHEN r.cls LIKE 'gpu_%' THEN 'InferLedger (self-hosted GPU)' ELSE coalesce(r.provider, 'unknown') END AS InvoiceIssuerName,
        r.qty AS PricingQuantity, r.unit AS PricingUnit, r.unit_price AS ListUnitPrice,
        r.qty AS ConsumedQuantity, r.unit AS ConsumedUnit,
        coalesce(r.provider, 'unknown') AS ProviderName, coalesce(r.provider, 'unknown') AS PublisherName,
        'AI and Machine Learning' AS ServiceCategory, 'Generative AI' AS ServiceSubcategory,
        {_service_case().replace('u.provider', 'r.provider')} AS ServiceName,
        r.model AS ResourceId, r.model AS ResourceName, r.rtype AS ResourceType,
        coalesce(r.catalog_key, r.model) || ':' || r.cls AS SkuId,
        coalesce(r.price_id, 'gpu') || ':' || r.cls || coalesce(':' || r.service_tier, '') AS SkuPriceId, r.meter AS SkuMeter,
        r.team AS SubAccountId, r.team AS SubAccountName,
        to_json({{'feature': r.feature, 'model': r.model, 'token_class': r.cls}}) AS Tags,
        r.feature AS x_Feature, r.cls AS x_ChargeClass, r.price_id AS x_PriceVersion, r.service_tier AS x_ServiceTier,
        r.x_in AS x_InputTokens, r.x_out AS x_OutputTokens, r.requests AS x_RequestCount,
        CAST(round(r.gpu_s, 3) AS DECIMAL(38, 3)) AS x_GpuSeconds
    FROM r
    """


def write_focus(con: duckdb.DuckDBPyConnection, currency: str, out_dir: Path) -> tuple[Path, Path, int]:
    """Materialise the FOCUS rows and write them as CSV (times as ISO text) and Parquet (UTC timestamps)."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE sb_focus AS {focus_sql(currency)} ORDER BY ChargePeriodStart, SubAccountId, ResourceId, SkuId")
    n = con.execute("SELECT count(*) FROM sb_focus").fetchone()[0]
    csv_path, pq_path = out_dir / "focus.csv", out_dir / "focus.parquet"
    iso = ", ".join(f"strftime({c}, '%Y-%m-%dT%H:%M:%SZ') AS {c}" for c in TIME_COLUMNS)
    utc = ", ".join(f"timezone('UTC', {c}) AS {c}" for c in TIME_COLUMNS)
    # Paths come from the caller's output folder; quote them as SQL string literals.
    text = [name for name, dtype, *_ in con.execute("DESCRIBE sb_focus").fetchall()
            if dtype == "VARCHAR" and name not in TIME_COLUMNS]
    safe = "".join(f", {safe_sql(c)} AS {c}" for c in text)  # no formula cells (csv_safe)
    con.execute(f"COPY (SELECT * REPLACE ({iso}{safe}) FROM sb_focus) TO '{_q(csv_path)}' (HEADER, DELIMITER ',')")
    con.execute(f"COPY (SELECT * REPLACE ({utc}) FROM sb_focus) TO '{_q(pq_path)}' (FORMAT parquet)")
    return csv_path, pq_path, n


def _q(path: Path) -> str:
    return str(path).replace("'", "''")
