"""Prometheus rules with Sloth's names; promtool checks and unit-tests them (server tests)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from inferledger.analytics.slo.rules import go_float, go_v, prom_duration, render_rules, rule_groups
from inferledger.analytics.slo.spec import DEMO_SPEC_PATH, SpecError, load_spec_file, parse_text

PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
HERE = Path(__file__).parent / "promtool"
SLOTH_SPEC = HERE / "sloth_availability_slo.yaml"


def _rules(groups, kind):
    return [r for g in groups["groups"] for r in g["rules"] if kind in r]


def test_sloth_names_and_labels():
    groups = rule_groups(load_spec_file(SLOTH_SPEC))
    names = [g["name"] for g in groups["groups"]]
    assert names == [f"sloth-slo-{k}-myservice-requests-availability"
                     for k in ("sli-recordings", "meta-recordings", "alerts")]
    records = [r["record"] for r in _rules(groups, "record")]
    assert records[:8] == [f"slo:sli_error:ratio_rate{w}" for w in ("5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d")]
    assert set(records[8:]) == {"slo:objective:ratio", "slo:error_budget:ratio", "slo:time_period:days",
                                "slo:current_burn_rate:ratio", "slo:period_burn_rate:ratio",
                                "slo:period_error_budget_remaining:ratio", "sloth_slo_info"}
    first = _rules(groups, "record")[0]
    assert "[5m]" in first["expr"] and "{{.window}}" not in first["expr"]
    assert first["labels"] == {"owner": "myteam", "sloth_id": "myservice-requests-availability",
                               "sloth_service": "myservice", "sloth_slo": "requests-availability",
                               "sloth_window": "5m"}
    page, ticket = _rules(groups, "alert")
    assert page["labels"]["sloth_severity"] == "page" and ticket["labels"]["sloth_severity"] == "ticket"
    assert "(14.4 * 0.0009999999999999432)" in page["expr"] and "(6 * 0.0009999999999999432)" in page["expr"]
    assert "(3 * 0.0009999999999999432)" in ticket["expr"] and "(1 * 0.0009999999999999432)" in ticket["expr"]
    assert "ratio_rate1h" in page["expr"] and "ratio_rate3d" in ticket["expr"]


def test_28d_period_rescales_factors_and_names_the_window_4w():
    (spec,) = parse_text("""
service: chat-api
slos:
  - {name: avail, objective: 99.9, window: 28d, sli: availability, filters: {model: gpt-4o}}
""")
    groups = rule_groups([spec])
    records = [r["record"] for r in _rules(groups, "record")]
    assert "slo:sli_error:ratio_rate4w" in records
    page, ticket = _rules(groups, "alert")
    # Sloth computes factors in hours: its 28d goldens print 5.6000000000000005 and 2.8000000000000003.
    for factor in ("13.44", "5.6000000000000005"):
        assert f"({factor} * 0.0009999999999999432)" in page["expr"]
    for factor in ("2.8000000000000003", "0.9333333333333333"):
        assert f"({factor} * 0.0009999999999999432)" in ticket["expr"]
    sli = _rules(groups, "record")[0]["expr"]
    assert 'gen_ai_client_operation_duration_seconds_count{gen_ai_request_model="gpt-4o",error_type!=""}[5m]' in sli


def test_span_latency_sli_maps_to_the_genai_histogram():
    (spec,) = parse_text("""
service: chat-api
slos:
  - {name: lat, objective: 99, sli: {type: latency, threshold_s: 2.5}, filters: {service: chat-api}}
""")
    expr = _rules(rule_groups([spec]), "record")[0]["expr"]
    assert 'gen_ai_client_operation_duration_seconds_bucket{job="chat-api",le="2.5"}[5m]' in expr


def test_unmappable_specs_are_errors_naming_the_field():
    (team,) = parse_text("slos: [{name: a, service: s, objective: 99, sli: availability, filters: {team: x}}]")
    with pytest.raises(SpecError, match=r"SLO s-a.filters.team"):
        rule_groups([team])
    (month,) = parse_text("slos: [{name: a, service: s, objective: 99, sli: availability, window: calendar_month}]")
    with pytest.raises(SpecError, match=r"SLO s-a.window"):
        rule_groups([month])


def test_formatting_helpers():
    assert [go_float(x) for x in (14.4, 6.0, 0.9990000000000001, 1e-05)] == ["14.4", "6", "0.9990000000000001", "0.00001"]
    # Go's %v: shortest round-trip digits, exponent below 1e-4 and from 1e6 on.
    assert [go_v(x) for x in (14.4, 6.0, 1e-05, (100 - 99.99875) / 100, 0.0001, 5.6000000000000005, 1e6, 999999.0,
                              1234567.0, 100.0)] == [
        "14.4", "6", "1e-05", "1.2499999999988632e-05", "0.0001", "5.6000000000000005", "1e+06", "999999",
        "1.234567e+06", "100"]
    assert [prom_duration(m) for m in (5, 60, 1440, 4320, 40320, 43200)] == ["5m", "1h", "1d", "3d", "4w", "30d"]


@pytest.mark.server
def test_promtool_check_rules_accepts_every_output(tmp_path):
    for name, specs in (("sloth", load_spec_file(SLOTH_SPEC)), ("demo", load_spec_file(DEMO_SPEC_PATH))):
        out = tmp_path / f"{name}.yaml"
        out.write_text(render_rules(specs))
        yaml.safe_load(out.read_text())
        res = subprocess.run([PROMTOOL, "check", "rules", str(out)], capture_output=True, text=True, timeout=60)
        assert res.returncode == 0, res.stdout + res.stderr
        assert "SUCCESS" in res.stdout + res.stderr


@pytest.mark.server
def test_promtool_unit_tests_page_ticket_nothing(tmp_path):
    """2 % errors on 99.9 %: page + ticket; 0.5 %: ticket only; 0.05 %: nothing."""
    (tmp_path / "rules.yaml").write_text(render_rules(load_spec_file(SLOTH_SPEC)))
    shutil.copy(HERE / "sloth_availability_slo_test.yaml", tmp_path / "test.yaml")
    res = subprocess.run([PROMTOOL, "test", "rules", "test.yaml"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "SUCCESS" in res.stdout + res.stderr


def test_sloth_raw_error_ratio_query():
    (spec,) = parse_text("""
version: prometheus/v1
service: gw
slos:
  - name: raw
    objective: 99.5
    sli:
      raw:
        error_ratio_query: sum(rate(errs[{{ .window }}])) / sum(rate(reqs[{{.window}}]))
    alerting: {name: GwRawBurnRate}
""")
    rec = _rules(rule_groups([spec]), "record")
    assert rec[1]["expr"] == "(sum(rate(errs[30m])) / sum(rate(reqs[30m])))\n"
    assert rec[1]["labels"]["sloth_window"] == "30m"
    page = _rules(rule_groups([spec]), "alert")[0]
    assert page["alert"] == "GwRawBurnRate" and "(14.4 * 0.005)" in page["expr"]
