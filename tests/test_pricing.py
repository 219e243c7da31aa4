from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

import pytest

from inferledger.analytics.cost.overrides import OverrideFileError, load_overrides_file
from inferledger.analytics.cost.pricing import MAX_TIME, MIN_TIME, Catalog, PriceBook, load_catalog, to_decimal
from inferledger.analytics.cost.settings import CostSettings, PriceOverride
from inferledger.config import ConfigError, load_settings


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def test_bundled_snapshot_has_the_demo_models(catalog):
    assert len(catalog) > 1000
    for key in ("gpt-4o", "gpt-4o-mini", "claude-sonnet-4-5"):
        assert catalog.get(key) == key
    p = catalog.price("gpt-4o", "USD", True)
    assert p.input == Decimal("0.0000025") and p.output == Decimal("0.00001")
    assert p.cache_read == Decimal("0.00000125")


@pytest.mark.parametrize(
    "provider, model, key, rule",
    [
        ("openai", "gpt-4o-2024-08-06", "gpt-4o-2024-08-06", "exact"),  # dated version priced as itself
        ("openai", "gpt-4o-2099-01-01", "gpt-4o", "base_version"),  # unknown date falls back to the base
        ("azure.ai.openai", "gpt-4o", "azure/gpt-4o", "provider_prefix"),
        ("aws.bedrock", "bedrock/us-east-1/anthropic.claude-3-5-sonnet-20241022-v2:0",
         "anthropic.claude-3-5-sonnet-20241022-v2:0", "stripped_prefix"),
        ("aws.bedrock", "us.anthropic.claude-3-5-sonnet-20241022-v2:0",
         "us.anthropic.claude-3-5-sonnet-20241022-v2:0", "exact"),
        ("anthropic", "claude-haiku-4-5-20991231", "claude-haiku-4-5", "base_version"),
        ("openai", "GPT-4O-MINI", "gpt-4o-mini", "exact"),
    ],
)
def test_catalog_matching(catalog, provider, model, key, rule):
    assert catalog.match(provider, model) == (key, rule)


def test_unknown_model_does_not_match(catalog):
    assert catalog.match("openai", "totally-made-up-model") is None


def test_region_prefix_stripped_when_only_the_plain_id_exists():
    cat = Catalog({"anthropic.claude-x-v1:0": {"input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6}}, "t")
    assert cat.match("aws.bedrock", "eu.anthropic.claude-x-v1:0") == ("anthropic.claude-x-v1:0", "stripped_region")


def test_prices_are_exact_decimals():
    assert to_decimal(1.25e-07) == Decimal("0.000000125")
    assert to_decimal(3e-07) * 1_000_000 == Decimal("0.3")


def test_response_model_preferred_over_request_model(catalog):
    book = PriceBook(catalog, [], CostSettings())
    [seg] = book.resolve("openai", "gpt-4o", "gpt-4o-mini-2024-07-18")
    assert seg.priced_model == "gpt-4o-mini-2024-07-18" and seg.price.input == Decimal("0.00000015")


def test_request_model_used_when_response_model_is_unknown(catalog):
    book = PriceBook(catalog, [], CostSettings())
    [seg] = book.resolve("openai", "gpt-4o-mini", "some-internal-alias")
    assert seg.status == "priced" and seg.priced_model == "gpt-4o-mini"


def test_effective_dated_override_splits_the_timeline(catalog):
    o = PriceOverride(model="gpt-4o", input_cost_per_token=2e-6, output_cost_per_token=8e-6,
                      valid_from="2026-10-15", valid_to="2026-10-20")
    book = PriceBook(catalog, [o], CostSettings())
    segs = book.resolve("openai", "gpt-4o", "gpt-4o-2024-08-06")
    assert [(s.valid_from, s.valid_to, s.match_rule) for s in segs] == [
        (MIN_TIME, datetime(2026, 10, 15), "exact"),
        (datetime(2026, 10, 15), datetime(2026, 10, 20), "override_base"),
        (datetime(2026, 10, 20), MAX_TIME, "exact"),
    ]
    assert segs[1].price.input == Decimal("0.000002") and segs[0].price.input == Decimal("0.0000025")


def test_regex_override_prices_unknown_models_and_exact_wins(catalog):
    overrides = [
        PriceOverride(model_regex=r"acme-.*", input_cost_per_token=1e-6, output_cost_per_token=1e-6),
        PriceOverride(model="acme-large", input_cost_per_token=5e-6, output_cost_per_token=5e-6),
    ]
    book = PriceBook(catalog, overrides, CostSettings())
    assert book.resolve("openai", "acme-small", None)[0].price.input == Decimal("0.000001")
    assert book.resolve("openai", "acme-large", None)[0].price.input == Decimal("0.000005")
    assert book.resolve("openai", "other", None)[0].status == "unpriced"


def test_self_hosted_providers_are_not_unpriced(catalog):
    book = PriceBook(catalog, [], CostSettings())
    assert book.resolve("vllm", "meta-llama/Llama-3.1-8B-Instruct", None)[0].status == "self_hosted"


def test_overrides_file_toml_and_yaml(tmp_path):
    t = tmp_path / "prices.toml"
    t.write_text('[[prices]]\nmodel = "m1"\ninput_cost_per_token = 1e-6\noutput_cost_per_token = 2e-6\n'
                 'valid_from = 2026-10-01\ninput_includes_cache = false\n')
    [o] = load_overrides_file(t)
    assert o.valid_from == "2026-10-01" and o.input_includes_cache is False
    y = tmp_path / "prices.yaml"
    y.write_text("prices:\n  - model_regex: 'm.*'\n    provider: openai\n    input_cost_per_token: 1.0e-6\n"
                 "    output_cost_per_token: 2.0e-6\n")
    [o] = load_overrides_file(y)
    assert o.model_regex == "m.*" and o.provider == "openai"


def test_overrides_file_errors_name_the_entry_and_key(tmp_path):
    t = tmp_path / "prices.toml"
    t.write_text('[[prices]]\nmodel = "m1"\ninput_cost_per_token = 1e-6\noutput_cost_per_token = 2e-6\nprize = 1\n')
    with pytest.raises(OverrideFileError, match=r"prices\[0\]\.prize: unknown key"):
        load_overrides_file(t)
    t.write_text('[[prices]]\nmodel = "m1"\ninput_cost_per_token = 1e-6\n')
    with pytest.raises(OverrideFileError, match="needs input_cost_per_token and output_cost_per_token"):
        load_overrides_file(t)


def test_config_section_validates_and_names_fields(tmp_path):
    s = load_settings(None, environ={}, overrides={"analytics.cost.spread_idle": True})
    assert s.analytics.cost.spread_idle is True
    assert any(r.gpu_model == "H100" for r in s.analytics.cost.gpu_rates)
    with pytest.raises(ConfigError, match="analytics.cost.budgetz: unknown key"):
        load_settings(None, environ={}, overrides={"analytics.cost.budgetz": []})
    with pytest.raises(ConfigError, match=r"analytics.cost.overrides\[0\].foo: unknown key"):
        load_settings(None, environ={}, overrides={"analytics.cost.overrides": [{"model": "x", "foo": 1}]})
    with pytest.raises(ConfigError, match="valid_to"):
        load_settings(None, environ={}, overrides={"analytics.cost.gpu_rates": [
            {"gpu_model": "H100", "usd_per_hour": 2.0, "valid_from": "2026-10-02", "valid_to": "2026-10-01"}]})
    with pytest.raises(ConfigError, match="currency"):
        load_settings(None, environ={}, overrides={"analytics.cost.currency": "dollars"})


def test_catalog_update_from_a_wheel_reports_the_diff(tmp_path):
    import zipfile

    from inferledger.analytics.cost.catalog import update_catalog

    old = {f"m{i}": {"input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6} for i in range(150)}
    target = tmp_path / "catalog.json"
    target.write_text(json.dumps(old))
    new = dict(old)
    new.pop("m0")
    new["m1"] = {"input_cost_per_token": 5e-7, "output_cost_per_token": 2e-6}
    new["brand-new"] = {"input_cost_per_token": 1e-6, "output_cost_per_token": 1e-6}
    wheel = tmp_path / "litellm-9.9.9-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("litellm/model_prices_and_context_window_backup.json", json.dumps(new))
    result = update_catalog(target, wheel=wheel)
    assert (result["added"], result["removed"], result["changed"]) == (1, 1, 1)
    assert result["changed_models"] == ["m1"] and result["source"].startswith("litellm-9.9.9")
    assert load_catalog(str(target)).get("brand-new") == "brand-new"
    tiny = tmp_path / "litellm-0.0.1-py3-none-any.whl"
    with zipfile.ZipFile(tiny, "w") as zf:
        zf.writestr("litellm/model_prices_and_context_window_backup.json", "{}")
    with pytest.raises(ValueError, match="refusing"):
        update_catalog(target, wheel=tiny)
