"""Cost per span, by hand: every token class and pricing rule against a tiny known catalog."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

import pytest

from inferledger.analytics.alert_records import firing_fingerprints
from inferledger.analytics.cost.lines import price_new_spans
from inferledger.analytics.cost.pricing import PriceBook, load_catalog
from inferledger.analytics.cost.reprice import reprice
from inferledger.analytics.cost.settings import CostSettings, PriceOverride
from inferledger.analytics.cost.unpriced import raise_unpriced_alerts, unpriced_usage
from tests.factories import insert_spans, span_row

CATALOG = {
    "toy-oa": {"input_cost_per_token": 2e-6, "output_cost_per_token": 8e-6, "cache_read_input_token_cost": 1e-6,
               "input_cost_per_token_priority": 4e-6, "output_cost_per_token_priority": 1.6e-5,
               "cache_read_input_token_cost_priority": 2e-6, "input_cost_per_token_flex": 1e-6,
               "output_cost_per_token_flex": 4e-6, "input_cost_per_token_batches": 1e-6,
               "output_cost_per_token_batches": 4e-6, "litellm_provider": "openai"},
    "toy-oa-2026-01-01": {"input_cost_per_token": 2.2e-6, "output_cost_per_token": 8.8e-6, "litellm_provider": "openai"},
    "claude-toy": {"input_cost_per_token": 3e-6, "output_cost_per_token": 1.5e-5, "cache_read_input_token_cost": 3e-7,
                   "cache_creation_input_token_cost": 3.75e-6, "litellm_provider": "anthropic"},
    "bedrock/claude-toy": {"input_cost_per_token": 3e-6, "output_cost_per_token": 1.5e-5,
                           "cache_read_input_token_cost": 3e-7, "cache_creation_input_token_cost": 3.75e-6,
                           "litellm_provider": "bedrock"},
    "reasoner": {"input_cost_per_token": 1e-6, "output_cost_per_token": 4e-6, "output_cost_per_reasoning_token": 2e-6},
    "longctx": {"input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6,
                "input_cost_per_token_above_200k_tokens": 2e-6, "output_cost_per_token_above_200k_tokens": 3e-6},
    "sample_spec": {"input_cost_per_token": 0},
}
DAY = datetime(2026, 10, 10, 12)


@pytest.fixture
def catalog_path(tmp_path):
    p = tmp_path / "catalog.json"
    p.write_text(json.dumps(CATALOG))
    return p


def book_for(catalog_path, overrides=(), **kw) -> PriceBook:
    s = CostSettings(catalog_path=str(catalog_path), overrides=list(overrides), **kw)
    return PriceBook(load_catalog(s.catalog_path), list(overrides), s)


def cost_of(wh, span_id: str) -> tuple:
    return wh.con.execute(
        "SELECT status, cost, input_tokens, cache_read_tokens, cache_write_tokens, output_tokens, reasoning_tokens,"
        " input_cost, cache_read_cost, cache_write_cost, output_cost, reasoning_cost FROM cost_lines WHERE span_id = ?",
        [span_id],
    ).fetchone()


def one(wh, book, **kw) -> tuple:
    row = span_row(kw.pop("start", DAY), **kw)
    insert_spans(wh, [row])
    price_new_spans(wh, book)
    return cost_of(wh, row["span_id"])


def test_openai_style_cache_is_part_of_input(warehouse, catalog_path):
    # 1000 input of which 400 cached: 600*2e-6 + 400*1e-6 + 200*8e-6 = 0.0032
    r = one(warehouse, book_for(catalog_path), provider="openai", request_model="toy-oa", response_model="toy-oa",
            input_tokens=1000, cache_read_tokens=400, output_tokens=200)
    assert r[0] == "priced" and r[1] == Decimal("0.0032")
    assert r[2:5] == (600, 400, 0)
    assert r[7:10] == (Decimal("0.0012"), Decimal("0.0004"), Decimal("0"))


def test_anthropic_style_input_excludes_cache_equals_genai_style(warehouse, catalog_path):
    book = book_for(catalog_path, input_excludes_cache_providers=["anthropic"])
    # Anthropic's API: input 1000 excludes 5000 cache reads and 2000 cache writes.
    a = one(warehouse, book, provider="anthropic", request_model="claude-toy", response_model=None,
            input_tokens=1000, cache_read_tokens=5000, cache_write_tokens=2000, output_tokens=100)
    # GenAI convention (e.g. through Bedrock): input 8000 includes them.
    b = one(warehouse, book, provider="aws.bedrock", request_model="claude-toy", response_model=None,
            input_tokens=8000, cache_read_tokens=5000, cache_write_tokens=2000, output_tokens=100)
    # 1000*3e-6 + 5000*3e-7 + 2000*3.75e-6 + 100*1.5e-5 = 0.003 + 0.0015 + 0.0075 + 0.0015
    assert a[1] == b[1] == Decimal("0.0135")
    assert a[2:5] == b[2:5] == (1000, 5000, 2000)


def test_override_flag_input_excludes_cache(warehouse, catalog_path):
    o = PriceOverride(model="house-model", input_cost_per_token=1e-6, output_cost_per_token=1e-6,
                      cache_read_input_token_cost=1e-7, input_includes_cache=False)
    r = one(warehouse, book_for(catalog_path, [o]), provider="openai", request_model="house-model",
            response_model=None, input_tokens=100, cache_read_tokens=1000, output_tokens=10)
    assert r[1] == Decimal("0.00021")  # 100e-6 + 1000e-7 + 10e-6


def test_reasoning_priced_apart_only_where_the_catalog_prices_it(warehouse, catalog_path):
    book = book_for(catalog_path)
    r = one(warehouse, book, provider="openai", request_model="reasoner", response_model=None,
            input_tokens=100, output_tokens=1000, reasoning_tokens=600)
    assert r[1] == Decimal("0.0029")  # 100*1e-6 + 400*4e-6 + 600*2e-6
    assert (r[5], r[6]) == (400, 600)
    r = one(warehouse, book, provider="openai", request_model="toy-oa", response_model=None,
            input_tokens=100, output_tokens=1000, reasoning_tokens=600)
    assert r[1] == Decimal("0.0082")  # 100*2e-6 + 1000*8e-6: reasoning billed as output
    assert (r[5], r[6]) == (1000, 0)


def test_above_200k_prices_apply_to_the_whole_long_request(warehouse, catalog_path):
    book = book_for(catalog_path)
    long = one(warehouse, book, provider="openai", request_model="longctx", response_model=None,
               input_tokens=250_000, output_tokens=1000)
    short = one(warehouse, book, provider="openai", request_model="longctx", response_model=None,
                input_tokens=100_000, output_tokens=1000)
    assert long[1] == Decimal("0.503") and short[1] == Decimal("0.102")


def test_dated_response_model_gets_its_own_price(warehouse, catalog_path):
    book = book_for(catalog_path)
    dated = one(warehouse, book, provider="openai", request_model="toy-oa", response_model="toy-oa-2026-01-01",
                input_tokens=1000, output_tokens=0)
    base = one(warehouse, book, provider="openai", request_model="toy-oa", response_model="toy-oa-2027-02-02",
               input_tokens=1000, output_tokens=0)
    assert dated[1] == Decimal("0.0022") and base[1] == Decimal("0.002")


@pytest.mark.slow
def test_price_change_mid_month_and_reprice(warehouse, catalog_path):
    rows = [span_row(datetime(2026, 10, d, 9), provider="openai", request_model="toy-oa", response_model=None,
                     input_tokens=1000, output_tokens=100) for d in (5, 14, 15, 25)]
    insert_spans(warehouse, rows)
    price_new_spans(warehouse, book_for(catalog_path))
    before = [cost_of(warehouse, r["span_id"])[1] for r in rows]
    assert before == [Decimal("0.0028")] * 4
    spans_before = warehouse.con.execute("SELECT * FROM spans ORDER BY span_id").fetchall()
    # retroactive price cut from the 15th
    cut = PriceOverride(model="toy-oa", input_cost_per_token=1e-6, output_cost_per_token=4e-6, valid_from="2026-10-15")
    book = book_for(catalog_path, [cut])
    dry = reprice(warehouse, book, dry_run=True)
    assert dry.new_total == Decimal("0.0028") * 2 + Decimal("0.0014") * 2
    assert [cost_of(warehouse, r["span_id"])[1] for r in rows] == before  # dry run wrote nothing
    real = reprice(warehouse, book, dry_run=False)
    assert real.new_total == dry.new_total and real.old_total == Decimal("0.0112")
    after = [cost_of(warehouse, r["span_id"])[1] for r in rows]
    assert after == [Decimal("0.0028"), Decimal("0.0028"), Decimal("0.0014"), Decimal("0.0014")]
    # each line names its price version; both versions are kept
    ids = warehouse.con.execute("SELECT DISTINCT price_id FROM cost_lines").fetchall()
    sources = warehouse.con.execute(
        "SELECT source FROM price_versions WHERE price_id IN (SELECT price_id FROM cost_lines) ORDER BY 1").fetchall()
    assert len(ids) == 2 and sources == [("catalog",), ("override",)]
    assert warehouse.con.execute("SELECT * FROM spans ORDER BY span_id").fetchall() == spans_before


def test_unknown_model_is_counted_listed_alerted_then_resolved_once(warehouse, catalog_path):
    rows = [span_row(DAY, provider="openai", request_model="mystery-1", response_model=None,
                     input_tokens=100, output_tokens=50) for _ in range(3)]
    insert_spans(warehouse, rows)
    price_new_spans(warehouse, book_for(catalog_path))
    [u] = unpriced_usage(warehouse)
    assert (u["provider"], u["model"], u["spans"], u["tokens"]) == ("openai", "mystery-1", 3, 450)
    assert all(cost_of(warehouse, r["span_id"])[0] == "unpriced" for r in rows)
    assert raise_unpriced_alerts(warehouse, DAY) == 1
    assert raise_unpriced_alerts(warehouse, DAY) == 0  # still firing: not written again
    assert len(firing_fingerprints(warehouse, "unpriced")) == 1
    fix = PriceOverride(model="mystery-1", input_cost_per_token=1e-6, output_cost_per_token=1e-6)
    reprice(warehouse, book_for(catalog_path, [fix]), dry_run=False)
    assert unpriced_usage(warehouse) == []
    assert raise_unpriced_alerts(warehouse, DAY) == 1
    assert raise_unpriced_alerts(warehouse, DAY) == 0
    assert firing_fingerprints(warehouse, "unpriced") == {}
    statuses = warehouse.con.execute("SELECT status FROM alert_records WHERE source = 'unpriced' ORDER BY id").fetchall()
    assert statuses == [("firing",), ("resolved",)]


def test_total_only_spans_are_never_split_by_guess(warehouse, catalog_path):
    r = one(warehouse, book_for(catalog_path), provider="openai", request_model="toy-oa", response_model=None,
            input_tokens=None, output_tokens=None, total_tokens=500)
    assert r[0] == "split_unknown" and r[1] == 0
    assert unpriced_usage(warehouse)[0]["status"] == "split_unknown"


def test_self_hosted_spans_are_not_unpriced(warehouse, catalog_path):
    r = one(warehouse, book_for(catalog_path), provider="vllm", request_model="llama", response_model=None)
    assert r[0] == "self_hosted" and unpriced_usage(warehouse) == []


def test_incremental_pricing_only_reads_new_spans_and_is_idempotent(warehouse, catalog_path):
    book = book_for(catalog_path)
    insert_spans(warehouse, [span_row(DAY, provider="openai", request_model="toy-oa", response_model=None)])
    assert price_new_spans(warehouse, book).spans == 1
    price_new_spans(warehouse, book)
    assert warehouse.con.execute("SELECT count(*) FROM cost_lines").fetchone()[0] == 1


def test_registered_jobs_run_through_the_registry(warehouse, settings, catalog_path):
    from inferledger.analytics.cost.job import budgets_job  # noqa: F401  (registers the jobs)
    from inferledger.analytics.jobs import REGISTRY, JobContext, run_job

    assert {"cost.update", "cost.budgets", "cost.showback"} <= set(REGISTRY)
    old = span_row(datetime(2020, 1, 1), provider="openai", request_model="toy-oa", response_model=None)
    insert_spans(warehouse, [span_row(DAY, provider="openai", request_model="toy-oa", response_model=None), old])
    settings.analytics.cost.catalog_path = str(catalog_path)
    ctx = JobContext(warehouse, settings, now=datetime(2026, 11, 1))
    result = run_job(REGISTRY["cost.update"], ctx)
    assert result["spans_priced"] == 2 and result["expired_lines"] == 1  # 2020 is past retention
    assert warehouse.con.execute("SELECT count(*) FROM cost_lines").fetchone()[0] == 1
    assert warehouse.con.execute("SELECT sum(requests) FROM cost_rollup_hourly").fetchone()[0] == 2
    run_job(REGISTRY["cost.budgets"], ctx)
    status = warehouse.con.execute("SELECT status FROM job_runs WHERE job LIKE 'cost.%'").fetchall()
    assert status == [("ok",), ("ok",)]


def test_client_reported_cost_is_reconciled_never_trusted(warehouse, catalog_path):
    from inferledger.analytics.cost.reports import reconcile_client_cost

    rows = [span_row(DAY, provider="openai", request_model="toy-oa", response_model=None, input_tokens=1000,
                     output_tokens=100, client_cost_usd=c) for c in (0.0028, 0.01)]
    insert_spans(warehouse, rows)
    price_new_spans(warehouse, book_for(catalog_path))
    assert [cost_of(warehouse, r["span_id"])[1] for r in rows] == [Decimal("0.0028")] * 2
    [r] = reconcile_client_cost(warehouse)
    assert (r["spans"], r["client_cost"], r["our_cost"]) == (2, 0.0128, 0.0056)
    assert r["max_abs_diff_per_span"] == pytest.approx(0.0072)


@pytest.mark.parametrize("attrs, tier, cost", [
    ({}, None, "0.0032"),  # 600*2e-6 + 400*1e-6 + 200*8e-6
    ({"openai.response.service_tier": "priority"}, "priority", "0.0064"),  # 600*4e-6 + 400*2e-6 + 200*1.6e-5
    ({"gen_ai.openai.request.service_tier": "flex"}, "flex", "0.0018"),  # 600*1e-6 + 400*1e-6 (no flex cache price) + 200*4e-6
    ({"inferledger.service_tier": "batch"}, "batch", "0.0018"),
    ({"openai.response.service_tier": "default"}, None, "0.0032"),
])
def test_service_tiers_use_their_catalog_prices(warehouse, catalog_path, attrs, tier, cost):
    row = span_row(DAY, provider="openai", request_model="toy-oa", response_model=None, input_tokens=1000,
                   cache_read_tokens=400, output_tokens=200, attributes=attrs)
    insert_spans(warehouse, [row])
    price_new_spans(warehouse, book_for(catalog_path))
    got = warehouse.con.execute("SELECT service_tier, cost FROM cost_lines WHERE span_id = ?", [row["span_id"]]).fetchone()
    assert got == (tier, Decimal(cost))


def test_source_semantics_decide_per_span_not_per_provider(warehouse, catalog_path):
    from inferledger.collector.token_semantics import input_includes_cache

    book = book_for(catalog_path)  # no provider-wide setting
    # OpenLIT passes Anthropic's input through (cache apart); OpenLLMetry adds cache in: the same call.
    openlit = one(warehouse, book, provider="anthropic", request_model="claude-toy", input_tokens=1000,
                  cache_read_tokens=5000, cache_write_tokens=2000, output_tokens=100, vocabulary="openlit",
                  scope_name="openlit.otel.tracing",
                  input_includes_cache=input_includes_cache("openlit.otel.tracing", "openlit", "anthropic"))
    olm = one(warehouse, book, provider="anthropic", request_model="claude-toy", input_tokens=8000,
              cache_read_tokens=5000, cache_write_tokens=2000, output_tokens=100, vocabulary="openllmetry_0.5",
              scope_name="opentelemetry.instrumentation.anthropic",
              input_includes_cache=input_includes_cache("opentelemetry.instrumentation.anthropic", "openllmetry_0.5",
                                                        "anthropic"))
    assert openlit[1] == olm[1] == Decimal("0.0135")


def test_negative_uncached_input_is_flagged_and_listed(warehouse, catalog_path):
    from inferledger.analytics.cost.reports import token_conflicts

    book = book_for(catalog_path)
    r = one(warehouse, book, provider="openai", request_model="toy-oa", input_tokens=100, cache_read_tokens=400,
            output_tokens=10, scope_name="some.lib")
    assert r[2] == 0  # never billed negative
    (flag,) = warehouse.con.execute("SELECT negative_uncached FROM cost_lines").fetchone()
    assert flag is True
    listed = token_conflicts(warehouse)
    assert [(c["scope"], c["provider"], c["spans"]) for c in listed] == [("some.lib", "openai", 1)]
