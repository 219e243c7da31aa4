"""SLO specs: our format, OpenSLO v1, Sloth prometheus/v1; invalid specs name the field."""

from __future__ import annotations

import pytest

from inferledger.analytics.slo.settings import SLOSettings
from inferledger.analytics.slo.spec import DEMO_SPEC_PATH, SpecError, load_configured_specs, load_spec_file, parse_text
from inferledger.config import ConfigError, load_settings

OURS = """
version: inferledger/v1
service: chat-api
labels: {owner: search}
slos:
  - name: latency
    objective: 99.5
    window: 28d
    sli: {type: latency, threshold_s: 2}
    filters: {model: [gpt-4o, gpt-4o-mini], team: search}
  - name: availability
    objective: 99.9
    sli: availability
"""

OPENSLO = """
apiVersion: openslo/v1
kind: SLI
metadata: {name: chat-errors}
spec:
  ratioMetric:
    counter: true
    bad: {metricSource: {type: InferLedger, spec: {events: error}}}
    total: {metricSource: {type: InferLedger, spec: {filters: {service: chat-api}}}}
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: chat-availability}
spec:
  service: chat-api
  indicatorRef: chat-errors
  timeWindow: [{duration: 1M, isRolling: false}]
  budgetingMethod: Occurrences
  objectives: [{target: 0.995}]
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: chat-ttft}
spec:
  service: chat-api
  indicator:
    metadata: {name: ttft}
    spec:
      thresholdMetric:
        metricSource: {type: InferLedger, spec: {field: time_to_first_token_s, filters: {model: gpt-4o}}}
  timeWindow: [{duration: 28d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{op: lte, value: 0.8, target: 0.99}]
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: http-availability}
spec:
  service: gateway
  indicator:
    metadata: {name: http}
    spec:
      ratioMetric:
        counter: true
        good: {metricSource: {type: Prometheus, spec: {query: 'http_requests_total{code!~"5.."}'}}}
        total: {metricSource: {type: Prometheus, spec: {query: 'http_requests_total'}}}
  timeWindow: [{duration: 30d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{targetPercent: 99.9}]
"""


def test_our_format():
    lat, av = parse_text(OURS)
    assert (lat.id, lat.objective, lat.period, lat.labels) == ("chat-api-latency", 99.5, "28d", {"owner": "search"})
    assert lat.sli.kind == "latency" and lat.sli.threshold_s == 2.0 and lat.sli.op == "lte"
    assert lat.sli.filter_map == {"model": ("gpt-4o", "gpt-4o-mini"), "team": ("search",)}
    assert av.sli.kind == "availability" and av.period == "30d"
    assert av.error_budget == (100 - 99.9) / 100


def test_openslo():
    avail, ttft, http = parse_text(OPENSLO)
    assert avail.sli.kind == "availability" and avail.period == "calendar_month"
    assert avail.objective == 99.5 and avail.sli.filter_map == {"service": ("chat-api",)}
    assert ttft.sli.kind == "ttft" and ttft.sli.threshold_s == 0.8 and ttft.period == "28d"
    assert ttft.objective == 99.0
    assert http.sli is None and http.prometheus.total_query == "sum(rate(http_requests_total[{{.window}}]))"
    assert http.prometheus.error_query.startswith("(sum(rate(http_requests_total[{{.window}}]))) - (")


def test_sloth_spec():
    (s,) = load_spec_file("tests/promtool/sloth_availability_slo.yaml")
    assert s.source_format == "prometheus/v1" and s.id == "myservice-requests-availability"
    assert "{{.window}}" in s.prometheus.error_query
    assert s.alerting.name == "MyServiceHighErrorRate" and s.alerting.page_labels == {"severity": "pagerduty"}


def test_demo_specs_load():
    specs = load_spec_file(DEMO_SPEC_PATH)
    assert {s.id for s in specs} >= {"llama-3-1-70b-ttft", "search-api-availability"}


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("slos: [{name: a, service: s, objective: 100.01, sli: availability}]", "spec.slos[0].objective"),
        ("slos: [{name: a, service: s, objective: '99', sli: availability}]", "spec.slos[0].objective"),
        ("slos: [{name: a, service: s, objective: 99, sli: availability, window: 7days}]", "spec.slos[0].window"),
        ("slos: [{name: a, service: s, objective: 99, sli: speed}]", "spec.slos[0].sli.type"),
        ("slos: [{name: a, service: s, objective: 99, sli: {type: latency}}]", "spec.slos[0].sli.threshold_s"),
        ("slos: [{name: a, service: s, objective: 99, sli: {type: latency, threshold_s: -1}}]",
         "spec.slos[0].sli.threshold_s"),
        ("slos: [{name: a, service: s, objective: 99, sli: availability, filters: {region: eu}}]",
         "spec.slos[0].filters.region"),
        ("slos: [{name: a, objective: 99, sli: availability}]", "spec.slos[0].service"),
        ("slos: [{name: 'a b', service: s, objective: 99, sli: availability}]", "spec.slos[0].name"),
        ("slos: [{name: a, service: s, objective: 99, sli: availability, colour: red}]", "spec.slos[0].colour"),
        ("version: prometheus/v1\nservice: s\nslos: [{name: a, objective: 99, sli: {events: "
         "{error_query: 'sum(rate(x[5m]))', total_query: 'sum(rate(y[{{.window}}]))'}}}]",
         "spec.slos[0].sli.events.error_query"),
        ("version: nope/v9\nslos: []", "spec.version"),
        ("slos: [{name: a, service: s, objective: 99, sli: availability}, "
         "{name: a, service: s, objective: 98, sli: availability}]", "spec: two SLOs"),
        ("apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: a}\nspec: {service: s, budgetingMethod: RatioTimeslices,"
         " indicator: {spec: {}}, objectives: [{target: 0.9}]}", "spec.spec.budgetingMethod"),
    ],
)
def test_invalid_specs_name_the_field(text, field):
    with pytest.raises(SpecError) as err:
        parse_text(text)
    assert str(err.value).startswith(field), str(err.value)


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(SpecError, match="does not exist"):
        load_spec_file(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("slos: [unclosed")
    with pytest.raises(SpecError, match="not valid YAML"):
        load_spec_file(bad)


def test_configured_specs_from_settings(tmp_path):
    f = tmp_path / "slos.yaml"
    f.write_text(OURS)
    settings = load_settings(None, environ={}, overrides={
        "analytics.slo.spec_files": [str(f)],
        "analytics.slo.specs": [{"name": "inline", "service": "x", "objective": 99, "sli": "availability"}],
        "analytics.slo.include_demo_specs": True,
    })
    ids = [s.id for s in load_configured_specs(settings.analytics.slo)]
    assert "chat-api-latency" in ids and "x-inline" in ids and "llama-3-1-70b-ttft" in ids
    bad = SLOSettings(specs=[{"name": "inline", "service": "x", "objective": 101, "sli": "availability"}])
    with pytest.raises(SpecError, match=r"^analytics.slo.specs\[0\].objective"):
        load_configured_specs(bad)


def test_settings_validation_names_the_key():
    with pytest.raises(ConfigError, match="analytics.slo.nope"):
        load_settings(None, environ={}, overrides={"analytics.slo.nope": 1})
    with pytest.raises(ConfigError, match="rollup_retention_days"):
        load_settings(None, environ={}, overrides={"analytics.slo.rollup_retention_days": 7})


def test_default_alert_name_is_per_slo():
    a, b = parse_text(OURS)
    assert (a.alert_name, b.alert_name) == ("ChatApiLatencyBurnRate", "ChatApiAvailabilityBurnRate")
    (s,) = load_spec_file("tests/promtool/sloth_availability_slo.yaml")
    assert s.alert_name == "MyServiceHighErrorRate"
