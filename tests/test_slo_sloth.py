"""Sloth drop-in: its spec formats, plugins, periods and CLI options; numbers Sloth prints.

Expected values come from Sloth's documented behaviour and code (factor = budget% x
period hours / 100 / long-window hours; error budget = (100 - objective) / 100 printed
with Go's %v; IDs, modes and label names of its golden outputs), not from our output.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from inferledger.analytics.kernels.burn_rate import tier_factors, tier_flags
from inferledger.analytics.slo.rules import RuleOptions, alert_rules, rule_groups
from inferledger.analytics.slo.rules_output import render_inputs, validate_inputs
from inferledger.analytics.slo.spec import SpecError, load_spec_documents, load_spec_file, parse_text
from inferledger.analytics.slo.windows import load_catalog
from inferledger.cli import cli

FIX = Path(__file__).parent / "slo_fixtures"
THRESH = re.compile(r"> \(([^ ]+) \* ([^ )]+)\)\)")


def _sloth(objective: float, period: str = "30d") -> list:
    return parse_text(f"""
version: prometheus/v1
service: s
slos:
  - name: a
    objective: {objective!r}
    sli: {{events: {{error_query: 'sum(rate(e[{{{{.window}}}}]))', total_query: 'sum(rate(t[{{{{.window}}}}]))'}}}}
    alerting: {{name: A}}
""", default_period=period)


OBJECTIVES = [90, 95, 99, 99.5, 99.9, 99.95, 99.99, 99.995, 99.999, 99.99875, 99.9999, 99.99999]


@pytest.mark.parametrize("period", ["30d", "28d"])
@pytest.mark.parametrize("objective", OBJECTIVES)
def test_rule_thresholds_equal_the_engine_thresholds(objective, period):
    (spec,) = _sloth(objective, period)
    printed = [(float(f), float(b)) for r in alert_rules(spec) for f, b in THRESH.findall(r["expr"])]
    assert len(printed) == 8  # short and long window of four tiers
    engine = tier_factors(spec.period_days() * 24) * spec.error_budget
    # Prometheus parses the printed numbers back and multiplies them: the same float64 as the engine.
    got = [printed[i][0] * printed[i][1] for i in (0, 2, 4, 6)]
    assert got == engine.tolist()
    assert all(b == (100 - objective) / 100 for _, b in printed)


def test_small_budgets_print_exactly_as_go_does():
    (spec,) = _sloth(99.99875)
    page = alert_rules(spec)[0]["expr"]
    assert "(14.4 * 1.2499999999988632e-05)" in page  # not the truncated 0.000012
    (seven,) = _sloth(99.99999)
    assert "(14.4 * 1.0000000003174136e-07)" in alert_rules(seven)[0]["expr"]


def test_seven_nines_never_pages_on_one_error():
    """1000 req/s, one error in the last 5 minutes: the 1h ratio stays far under 14.4 x budget."""
    (spec,) = _sloth(99.99999)
    per_min = 60_000
    windows = np.array([5, 30, 60, 120, 360, 1440, 4320])
    ratios = (1 / (windows * per_min)).reshape(1, -1)
    printed = [float(f) * float(b) for f, b in THRESH.findall(alert_rules(spec)[0]["expr"])][::2]
    flags = tier_flags(ratios, np.array([printed + printed]))  # page tiers with the printed thresholds
    assert int(flags[0]) & 0b11 == 0
    assert min(printed) > 0


def test_28d_factors_are_sloths():
    (spec,) = _sloth(99.9, "28d")
    page, ticket = alert_rules(spec)
    assert "(13.44 * 0.0009999999999999432)" in page["expr"]
    assert "(5.6000000000000005 * 0.0009999999999999432)" in page["expr"]
    assert "(2.8000000000000003 * 0.0009999999999999432)" in ticket["expr"]
    assert "(0.9333333333333333 * 0.0009999999999999432)" in ticket["expr"]
    records = [r["record"] for r in rule_groups([spec])["groups"][0]["rules"]]
    assert records[-1] == "slo:sli_error:ratio_rate4w"


def _groups_by_name(doc):
    return {g["name"]: g for g in doc["groups"]}


def test_base_golden_semantics():
    """What Sloth's out-base golden holds for its in-base input (compared as data, not text)."""
    outputs, warnings = render_inputs([str(FIX / "in-base.yaml")])
    (name, text), = outputs
    doc = yaml.safe_load(text)
    groups = _groups_by_name(doc)
    assert list(groups) == ["sloth-slo-sli-recordings-svc01-slo1", "sloth-slo-meta-recordings-svc01-slo1",
                            "sloth-slo-alerts-svc01-slo1", "sloth-slo-sli-recordings-svc01-slo02",
                            "sloth-slo-meta-recordings-svc01-slo02"]  # slo02 has both alerts disabled
    sli = groups["sloth-slo-sli-recordings-svc01-slo1"]["rules"]
    assert [r["record"] for r in sli] == [f"slo:sli_error:ratio_rate{w}" for w in
                                          ("5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d")]
    assert "[5m]" in sli[0]["expr"] and "{{" not in sli[0]["expr"]  # `{{ .window }}` with spaces rendered too
    assert sli[0]["labels"] == {"global01k1": "global01v1", "global02k1": "global02v1", "sloth_id": "svc01-slo1",
                                "sloth_service": "svc01", "sloth_slo": "slo1", "sloth_window": "5m"}
    meta = {r["record"]: r for r in groups["sloth-slo-meta-recordings-svc01-slo1"]["rules"]}
    assert meta["slo:objective:ratio"]["expr"] == "vector(0.9990000000000001)"
    assert meta["slo:error_budget:ratio"]["expr"] == "vector(1-0.9990000000000001)"
    assert meta["slo:time_period:days"]["expr"] == "vector(30)"
    info = meta["sloth_slo_info"]["labels"]
    assert (info["sloth_mode"], info["sloth_objective"], info["sloth_spec"]) == ("cli-gen-prom", "99.9", "prometheus/v1")
    page, ticket = groups["sloth-slo-alerts-svc01-slo1"]["rules"]
    assert page["labels"] == {"alert01k1": "alert01v1", "alert03k1": "alert03v1", "sloth_severity": "page"}
    assert ticket["labels"] == {"alert01k1": "alert01v1", "alert04k1": "alert04v1", "sloth_severity": "ticket"}
    assert page["annotations"]["alert02k1"] == "alert02k2"
    assert "(6 * 0.0009999999999999432)" in page["expr"] and "(1 * 0.0009999999999999432)" in ticket["expr"]
    meta2 = {r["record"]: r for r in groups["sloth-slo-meta-recordings-svc01-slo02"]["rules"]}
    assert meta2["slo:objective:ratio"]["expr"] == "vector(0.95)"
    assert meta2["sloth_slo_info"]["labels"]["sloth_objective"] == "95"
    assert warnings == []


def test_k8s_crd_gives_a_prometheus_rule():
    (name, text), = render_inputs([str(FIX / "in-k8s.yaml")])[0]
    obj = yaml.safe_load(text)
    assert obj["apiVersion"] == "monitoring.coreos.com/v1" and obj["kind"] == "PrometheusRule"
    assert obj["metadata"] == {"name": "svc", "namespace": "test-ns", "labels": {
        "app.kubernetes.io/component": "SLO", "app.kubernetes.io/managed-by": "sloth"}}
    groups = _groups_by_name(obj["spec"])
    info = groups["sloth-slo-meta-recordings-svc01-slo1"]["rules"][-1]["labels"]
    assert (info["sloth_mode"], info["sloth_spec"]) == ("cli-gen-k8s", "sloth.slok.dev/v1")
    (page,) = groups["sloth-slo-alerts-svc01-slo1"]["rules"]  # ticketAlert disabled
    assert page["labels"] == {"alert03k1": "alert03v1", "sloth_severity": "page"}


def test_openslo_v1alpha_as_sloth_reads_it():
    (doc,) = load_spec_documents(FIX / "in-openslo-v1alpha.yaml")
    a, b = doc.specs
    assert (a.id, a.name, a.objective, a.period) == ("svc01-slo1-0", "slo1-0", 99.9, "28d")
    assert b.objective == 95.0 and a.alerting.page_disabled and a.alerting.ticket_disabled
    assert a.prometheus.error_ratio_query.strip().startswith("1 - (")
    out = yaml.safe_load(render_inputs([str(FIX / "in-openslo-v1alpha.yaml")])[0][0][1])
    names = [g["name"] for g in out["groups"]]
    assert "sloth-slo-alerts-svc01-slo1-0" not in names
    info = out["groups"][1]["rules"][-1]["labels"]
    assert (info["sloth_mode"], info["sloth_spec"]) == ("cli-gen-openslo", "openslo/v1alpha")


def test_multifile_is_one_group_set_per_document():
    (name, text), = render_inputs([str(FIX / "in-multifile.yaml")])[0]
    docs = [d for d in yaml.safe_load_all(text) if d]
    assert len(docs) == 2
    assert [g["name"] for g in docs[0]["groups"]] == ["sloth-slo-sli-recordings-svc01-slo1",
                                                      "sloth-slo-meta-recordings-svc01-slo1"]
    assert "(14.4 * 1.2499999999988632e-05)" in docs[1]["groups"][2]["rules"][0]["expr"]


def test_custom_period_needs_and_uses_alert_windows():
    with pytest.raises(SpecError, match="7d SLO period has no alert windows"):
        render_inputs([str(FIX / "in-base.yaml")], default_period="7d")
    outputs, _ = render_inputs([str(FIX / "in-base.yaml")], default_period="7d",
                               windows_paths=[str(FIX / "windows")])
    groups = _groups_by_name(yaml.safe_load(outputs[0][1]))
    sli = groups["sloth-slo-sli-recordings-svc01-slo1"]["rules"]
    assert sli[-1]["record"] == "slo:sli_error:ratio_rate1w"
    page, ticket = groups["sloth-slo-alerts-svc01-slo1"]["rules"]
    # 8 % of 168 h in 1 h; 12.5 % in 6 h; 20 % in 24 h; 42 % in 72 h (Sloth's formula, Go float64).
    for factor in (8 * 168 / 100 / 1, 12.5 * 168 / 100 / 6):
        assert f"> ({factor!r} * " in page["expr"]
    for factor in (20 * 168 / 100 / 24, 42 * 168 / 100 / 72):
        assert f"> ({factor!r} * " in ticket["expr"]
    meta = {r["record"]: r for r in groups["sloth-slo-meta-recordings-svc01-slo1"]["rules"]}
    assert meta["slo:time_period:days"]["expr"] == "vector(7)"
    assert 604800 in load_catalog([str(FIX / "windows")])


@pytest.mark.slow
def test_cli_options(tmp_path):
    base = str(FIX / "in-base.yaml")
    res = CliRunner().invoke(cli, ["slo", "rules", base, "-l", "exk1=exv1", "--extra-labels", "exk2=exv2"])
    assert res.exit_code == 0, res.output
    doc = yaml.safe_load(res.output)
    assert all(r["labels"]["exk1"] == "exv1" for g in doc["groups"] if "recordings" in g["name"] for r in g["rules"])
    res = CliRunner().invoke(cli, ["slo", "rules", base, "--disable-alerts"])
    assert not [g for g in yaml.safe_load(res.output)["groups"] if "alerts" in g["name"]]
    res = CliRunner().invoke(cli, ["slo", "rules", base, "--disable-recordings"])
    assert [g["name"] for g in yaml.safe_load(res.output)["groups"]] == ["sloth-slo-alerts-svc01-slo1"]
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["slo", "rules", str(FIX / "validate" / "good"), "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in out.iterdir()) == ["good-k8s.yaml", "good-multi.yaml", "good-openslo.yaml",
                                                     "good-prom.yaml"]
    res = CliRunner().invoke(cli, ["slo", "rules", base, "-o", str(tmp_path / "one.yaml"), "--default-slo-period", "28d"])
    assert "ratio_rate4w" in (tmp_path / "one.yaml").read_text()


def test_validate_agrees_with_sloths_rules():
    # The good specs share SLO IDs across files, so, as in Sloth's own test, duplicates are allowed here.
    good = validate_inputs([str(FIX / "validate" / "good")], ignore_duplicates=True)
    assert len(good) == 4 and all(not e for _, e in good), good
    bad = dict(validate_inputs([str(FIX / "validate" / "bad")], ignore_duplicates=True))
    assert len(bad) == 9 and all(bad.values()), bad
    expect = {
        "bad-objective.yaml": "slos[1].objective", "bad-k8s-service.yaml": "spec.service",
        "bad-openslo-unit.yaml": "timeWindows[0].unit", "bad-name.yaml": "slos[0].name",
        "bad-no-window.yaml": "total_query", "bad-camelcase-raw.yaml": "raw.error_ratio_query",
        "bad-alert-name.yaml": "alerting.name", "bad-two-slis.yaml": "only one SLI type",
        "bad-same-queries.yaml": "can't be the same",
    }
    for f, err in bad.items():
        assert expect[Path(f).name] in err, (f, err)
    res = CliRunner().invoke(cli, ["slo", "validate", str(FIX / "validate" / "bad")])
    assert res.exit_code == 1 and "9 of 9 spec files are invalid" in res.output
    res = CliRunner().invoke(cli, ["slo", "validate", "--ignore-slo-duplicates", str(FIX / "validate" / "good")])
    assert res.exit_code == 0, res.output


def test_camelcase_keys_sloth_ignores_are_warnings():
    text = (FIX / "in-base.yaml").read_text().replace("page_alert:", "pageAlert:", 1)
    warnings: list[str] = []
    (a, b) = parse_text(text, "f.yaml", warnings=warnings)
    assert a.alerting.page_labels == {}  # ignored as Sloth ignores it
    assert warnings == ["f.yaml.slos[0].alerting.pageAlert: unknown key, ignored (as Sloth does)"]


def _with_plugins(chain: str) -> str:
    return (FIX / "in-base.yaml").read_text().replace('  - name: "slo1"\n', f'  - name: "slo1"\n    plugins:\n{chain}', 1)


def test_slo_plugins():
    text = _with_plugins("""      chain:
        - id: sloth.dev/contrib/info_labels/v1
          config: {labels: {team: t1}}
        - id: sloth.dev/contrib/rule_intervals/v1
          config: {interval: {default: 1m, alert: 30s}}
        - id: sloth.dev/contrib/error_budget_exhausted_alert/v1
          config: {threshold: 0.05, alert_labels: {severity: info}}
""")
    specs = parse_text(text)
    groups = _groups_by_name(rule_groups(specs))
    meta = groups["sloth-slo-meta-recordings-svc01-slo1"]
    assert meta["rules"][-1]["labels"]["team"] == "t1" and meta["interval"] == "1m"
    alerts = groups["sloth-slo-alerts-svc01-slo1"]
    assert alerts["interval"] == "30s" and groups["sloth-slo-sli-recordings-svc01-slo1"]["interval"] == "1m"
    exhausted = alerts["rules"][-1]
    assert exhausted == {
        "alert": "ErrorBudgetExhausted", "for": "5m", "labels": {"severity": "info"},
        "expr": 'slo:period_error_budget_remaining:ratio{global01k1="global01v1", global02k1="global02v1", '
                'sloth_id="svc01-slo1", sloth_service="svc01", sloth_slo="slo1"} <= 0.05'}
    with pytest.raises(SpecError, match=r"slos\[0\]\.plugins\.chain\[0\]\.id: SLO plugin .*denominator"):
        parse_text(_with_plugins("      chain: [{id: sloth.dev/contrib/denominator_corrected_rules/v1}]\n"))
    with pytest.raises(SpecError, match="at least one label"):
        parse_text(_with_plugins("      chain: [{id: sloth.dev/contrib/info_labels/v1, config: {}}]\n"))


def test_sli_plugins():
    text = """
version: prometheus/v1
service: k8s-apiserver
slos:
  - name: latency
    objective: 99
    sli:
      plugin:
        id: sloth-common/kubernetes/apiserver/latency
        options: {bucket: "0.4", filter: 'cluster="c1"'}
    alerting: {name: Lat}
  - name: availability
    objective: 99.9
    sli: {plugin: {id: sloth-common/kubernetes/apiserver/availability}}
    alerting: {name: Av}
"""
    lat, av = parse_text(text)
    assert ('sum(rate(apiserver_request_duration_seconds_bucket{ cluster="c1",le="0.4",verb!="WATCH" }'
            '[{{.window}}]))') in lat.prometheus.error_ratio_query
    assert 'apiserver_request_total{ code=~"(5..|429)" }[{{.window}}]' in av.prometheus.error_ratio_query
    rec = rule_groups([lat])["groups"][0]["rules"][0]["expr"]
    assert "[5m]" in rec and "{{" not in rec
    with pytest.raises(SpecError, match='"bucket" option is required'):
        parse_text(text.replace('bucket: "0.4", ', ""))
    with pytest.raises(SpecError, match="SLI plugin 'x/y' is not available"):
        parse_text(text.replace("sloth-common/kubernetes/apiserver/availability", "x/y"))


def test_objective_100_is_accepted_and_any_error_fires():
    (spec,) = _sloth(100)
    assert spec.error_budget == 0.0
    assert "(14.4 * 0)" in alert_rules(spec)[0]["expr"]


def test_integer_latency_threshold_matches_both_le_spellings():
    (spec,) = parse_text("slos: [{name: l, service: s, objective: 99, sli: {type: latency, threshold_s: 1}}]")
    expr = rule_groups([spec])["groups"][0]["rules"][0]["expr"]
    assert 'le=~"1|1\\\\.0"' in expr
    (half,) = parse_text("slos: [{name: l, service: s, objective: 99, sli: {type: latency, threshold_s: 0.5}}]")
    assert 'le="0.5"' in rule_groups([half])["groups"][0]["rules"][0]["expr"]


OPENSLO_PROM = """
apiVersion: openslo/v1
kind: SLO
metadata: {name: http}
spec:
  service: gw
  indicator:
    metadata: {name: http}
    spec:
      ratioMetric:
        counter: COUNTER
        good: {metricSource: {type: Prometheus, spec: {query: 'good_gauge'}}}
        total: {metricSource: {type: Prometheus, spec: {query: 'total_gauge'}}}
  timeWindow: [{duration: 30d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{targetPercent: 99.9}]
"""


def test_openslo_v1_strictness():
    (g,) = parse_text(OPENSLO_PROM.replace("COUNTER", "false"))
    assert g.prometheus.total_query == "sum(avg_over_time(total_gauge[{{.window}}]))"
    (c,) = parse_text(OPENSLO_PROM.replace("COUNTER", "true"))
    assert c.prometheus.total_query == "sum(rate(total_gauge[{{.window}}]))"
    with pytest.raises(SpecError, match=r"spec\.spec\.timeWindows: unknown key"):
        parse_text(OPENSLO_PROM.replace("COUNTER", "true").replace("timeWindow:", "timeWindows:"))
    with pytest.raises(SpecError, match=r"spec\.spec\.alertPolicies: alert policies are not supported"):
        parse_text(OPENSLO_PROM.replace("COUNTER", "true") + "  alertPolicies: [page]\n")
    with pytest.raises(SpecError, match=r"ratioMetric\.countr: unknown key"):
        parse_text(OPENSLO_PROM.replace("counter: COUNTER", "countr: true"))
    with pytest.raises(SpecError, match="Timeslices"):
        parse_text(OPENSLO_PROM.replace("COUNTER", "true").replace("Occurrences", "Timeslices"))


def test_the_sloth_example_in_the_repo_still_loads():
    (s,) = load_spec_file("tests/promtool/sloth_availability_slo.yaml")
    assert s.alerting.name == "MyServiceHighErrorRate"
    assert rule_groups([s], RuleOptions())["groups"]


def test_openslo_v1_datasource_refs_are_resolved():
    text = """
apiVersion: openslo/v1
kind: DataSource
metadata: {name: prom}
spec: {type: Prometheus, connectionDetails: {url: http://prometheus:9090}}
---
""" + OPENSLO_PROM.replace("COUNTER", "true").replace("{type: Prometheus, spec:", "{metricSourceRef: prom, spec:")
    (spec,) = parse_text(text)
    assert spec.prometheus.total_query == "sum(rate(total_gauge[{{.window}}]))"
    with pytest.raises(SpecError, match="no DataSource named 'prom'"):
        parse_text(text.split("---", 1)[1])


def test_validate_finds_slo_ids_repeated_across_files():
    """svc01-slo1 is in both files (a CRD and a prometheus/v1 spec), as in Sloth's duplicate cases."""
    res = dict(validate_inputs([str(FIX / "duplicates")]))
    assert res[str(FIX / "duplicates" / "a.yaml")] == ""
    assert "'svc01-slo1' is already defined in" in res[str(FIX / "duplicates" / "b.yaml")]
    assert all(not e for _, e in validate_inputs([str(FIX / "duplicates")], ignore_duplicates=True))
    res = CliRunner().invoke(cli, ["slo", "validate", "--ignore-slo-duplicates", str(FIX / "duplicates")])
    assert res.exit_code == 0, res.output


def test_sloths_getting_started_example_plugin():
    text = """
version: prometheus/v1
service: myservice
labels: {owner: myteam, tier: "2"}
slos:
  - name: requests-availability
    objective: 99.9
    sli: {plugin: {id: getting_started_availability, options: {job: myservice}}}
    alerting: {name: MyServiceHighErrorRate}
"""
    (s,) = parse_text(text)
    assert s.prometheus.error_ratio_query == (
        '\nsum(rate(http_request_duration_seconds_count{ job="myservice",code=~"(5..|429)" }[{{.window}}]))\n/\n'
        'sum(rate(http_request_duration_seconds_count{ job="myservice" }[{{.window}}]))')
    with pytest.raises(SpecError, match="'tier' label is required"):
        parse_text(text.replace(', tier: "2"', ""))


def test_remove_labels_plugin():
    text = _with_plugins("""      chain:
        - id: sloth.dev/contrib/remove_labels/v1
          config: {preserveLabels: [global02k1]}
""")
    groups = _groups_by_name(rule_groups(parse_text(text)))
    sli = groups["sloth-slo-sli-recordings-svc01-slo1"]["rules"][0]["labels"]
    assert sli == {"global02k1": "global02v1", "sloth_id": "svc01-slo1", "sloth_service": "svc01",
                   "sloth_slo": "slo1", "sloth_window": "5m"}
    meta = groups["sloth-slo-meta-recordings-svc01-slo1"]["rules"]
    assert meta[0]["labels"] == {"global02k1": "global02v1", "sloth_id": "svc01-slo1", "sloth_service": "svc01",
                                 "sloth_slo": "slo1"}
    assert meta[-1]["labels"]["global01k1"] == "global01v1"  # sloth_slo_info keeps every label
