"""Prometheus recording and alert rules for SLOs, with Sloth's names and semantics.

Sloth's output is what SLO dashboards and runbooks already query
(`slo:sli_error:ratio_rate5m`, `slo:period_error_budget_remaining:ratio`,
`sloth_severity`…), so the rules here keep its group names, rule names, labels and
alert expressions; a team can switch between Sloth and us without touching a panel.

A span SLI (ours or OpenSLO over spans) has no Prometheus series of its own; it is
mapped onto the OpenTelemetry GenAI metrics as exported to Prometheus
(`gen_ai_client_operation_duration_seconds`, `gen_ai_server_time_to_first_token_seconds`),
where `service.name` becomes `job`. A latency threshold must then be a histogram
bucket boundary (`le`).
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from inferledger.analytics.kernels.burn_rate import TIERS, WINDOW_NAMES, WINDOWS_MINUTES, burn_rate_factor
from inferledger.analytics.slo.spec import CALENDAR_MONTH, WINDOW_PLACEHOLDER, PromSLI, SLOSpec, SpecError

SLOTH_VERSION = "v0.11.0"
SLOTH_MODE = "cli-gen-prom"
SLI_METRIC = "slo:sli_error:ratio_rate"

GENAI_DURATION = "gen_ai_client_operation_duration_seconds"
GENAI_TTFT = "gen_ai_server_time_to_first_token_seconds"
# span filter -> Prometheus label of the GenAI metrics (OTLP -> Prometheus translation).
PROM_FILTER_LABELS = {
    "service": "job",
    "model": "gen_ai_request_model",
    "operation": "gen_ai_operation_name",
    "provider": "gen_ai_provider_name",
    "environment": "deployment_environment",
}


def go_float(x: float) -> str:
    """A float as Go's strconv.FormatFloat(x, 'f', -1, 64) prints it (Sloth's output)."""
    text = repr(float(x))
    if "e" in text or "E" in text:
        text = format(float(x), "f").rstrip("0").rstrip(".")
    return text[:-2] if text.endswith(".0") else text


def prom_duration(minutes: int) -> str:
    """Prometheus model.Duration spelling: 28d is `4w`, 30d stays `30d`, 60m is `1h`."""
    for unit, size in (("w", 7 * 1440), ("d", 1440), ("h", 60), ("m", 1)):
        if minutes % size == 0:
            return f"{minutes // size}{unit}"
    raise ValueError(minutes)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _selector(filters: dict[str, tuple[str, ...]], where: str) -> list[str]:
    out = []
    for key, values in filters.items():
        if key not in PROM_FILTER_LABELS:
            raise SpecError(f"{where}.filters.{key}: has no Prometheus label on the GenAI metrics; "
                            "give prometheus.error_query / total_query instead")
        label = PROM_FILTER_LABELS[key]
        if len(values) == 1:
            out.append(f'{label}="{_escape(values[0])}"')
        else:
            out.append(f'{label}=~"{"|".join(re.escape(v) for v in values)}"')
    return out


def prom_sli(spec: SLOSpec) -> PromSLI:
    """The Prometheus SLI of a spec: its own queries, or the GenAI-metric mapping of a span SLI."""
    if spec.prometheus is not None:
        return spec.prometheus
    sli = spec.sli
    assert sli is not None
    where = f"SLO {spec.id}"
    sel = _selector(sli.filter_map, where)
    w = WINDOW_PLACEHOLDER
    if sli.kind == "availability":
        base = ",".join(sel)
        err_sel = ",".join(sel + ['error_type!=""'])
        return PromSLI(error_query=f"sum(rate({GENAI_DURATION}_count{{{err_sel}}}[{w}]))",
                       total_query=f"sum(rate({GENAI_DURATION}_count{{{base}}}[{w}]))")
    if sli.op != "lte":
        raise SpecError(f"{where}.sli.op: Prometheus histograms count `le` buckets; only lte maps to rules")
    metric = GENAI_DURATION if sli.kind == "latency" else GENAI_TTFT
    base = ",".join(sel)
    le_sel = ",".join(sel + [f'le="{go_float(sli.threshold_s)}"'])
    total = f"sum(rate({metric}_count{{{base}}}[{w}]))"
    good = f"sum(rate({metric}_bucket{{{le_sel}}}[{w}]))"
    return PromSLI(error_query=f"({total} - {good})", total_query=total)


def _id_labels(spec: SLOSpec) -> dict[str, str]:
    return {"sloth_id": spec.id, "sloth_service": spec.service, "sloth_slo": spec.name}


def _id_selector(spec: SLOSpec) -> str:
    return ", ".join(f'{k}="{_escape(v)}"' for k, v in _id_labels(spec).items())


def _period_minutes(spec: SLOSpec) -> int:
    if spec.period == CALENDAR_MONTH:
        raise SpecError(f"SLO {spec.id}.window: calendar_month has no Prometheus range; "
                        "rules need a rolling window (28d or 30d)")
    return spec.period_days() * 1440


def sli_recording_rules(spec: SLOSpec) -> list[dict[str, Any]]:
    sli = prom_sli(spec)
    period = prom_duration(_period_minutes(spec))
    rules = []
    for name in WINDOW_NAMES:
        if sli.error_ratio_query:
            expr = f"({sli.error_ratio_query.replace(WINDOW_PLACEHOLDER, name)})\n"
        else:
            expr = (f"({sli.error_query.replace(WINDOW_PLACEHOLDER, name)})\n/\n"
                    f"({sli.total_query.replace(WINDOW_PLACEHOLDER, name)})\n")
        rules.append({"record": f"{SLI_METRIC}{name}", "expr": expr,
                      "labels": {**spec.labels, **_id_labels(spec), "sloth_window": name}})
    sel = _id_selector(spec)
    rules.append({
        "record": f"{SLI_METRIC}{period}",
        "expr": (f"sum_over_time({SLI_METRIC}5m{{{sel}}}[{period}])\n"
                 f"/ ignoring (sloth_window)\n"
                 f"count_over_time({SLI_METRIC}5m{{{sel}}}[{period}])\n"),
        "labels": {**spec.labels, **_id_labels(spec), "sloth_window": period},
    })
    return rules


def meta_recording_rules(spec: SLOSpec) -> list[dict[str, Any]]:
    sel = _id_selector(spec)
    days = _period_minutes(spec) // 1440
    period = prom_duration(days * 1440)
    labels = {**spec.labels, **_id_labels(spec)}
    on = "/ on(sloth_id, sloth_slo, sloth_service) group_left\n"
    return [
        {"record": "slo:objective:ratio", "expr": f"vector({go_float(spec.objective_ratio)})", "labels": labels},
        {"record": "slo:error_budget:ratio", "expr": f"vector(1-{go_float(spec.objective_ratio)})", "labels": labels},
        {"record": "slo:time_period:days", "expr": f"vector({days})", "labels": labels},
        {"record": "slo:current_burn_rate:ratio",
         "expr": f"{SLI_METRIC}5m{{{sel}}}\n{on}slo:error_budget:ratio{{{sel}}}\n", "labels": labels},
        {"record": "slo:period_burn_rate:ratio",
         "expr": f"{SLI_METRIC}{period}{{{sel}}}\n{on}slo:error_budget:ratio{{{sel}}}\n", "labels": labels},
        {"record": "slo:period_error_budget_remaining:ratio",
         "expr": f"1 - slo:period_burn_rate:ratio{{{sel}}}", "labels": labels},
        {"record": "sloth_slo_info", "expr": "vector(1)",
         "labels": {**labels, "sloth_mode": SLOTH_MODE, "sloth_objective": go_float(spec.objective),
                    "sloth_spec": spec.source_format, "sloth_version": SLOTH_VERSION}},
    ]


def _tier_expr(spec: SLOSpec, tiers: list[tuple[str, int, int, float]]) -> str:
    sel = _id_selector(spec)
    hours = _period_minutes(spec) / 60
    budget = go_float(spec.error_budget)
    parts = []
    for _, short, long_, pct in tiers:
        factor = go_float(burn_rate_factor(hours, pct, WINDOWS_MINUTES[long_] / 60))
        cond = [f"max({SLI_METRIC}{WINDOW_NAMES[w]}{{{sel}}} > ({factor} * {budget})) without (sloth_window)"
                for w in (short, long_)]
        parts.append(f"(\n    {cond[0]}\n    and\n    {cond[1]}\n)")
    return "\nor\n".join(parts) + "\n"


def alert_rules(spec: SLOSpec) -> list[dict[str, Any]]:
    a = spec.alerting
    out = []
    for sev, tiers, labels, tier_annotations, disabled in (
        ("page", [t for t in TIERS if t[0].startswith("page")], a.page_labels, a.page_annotations, a.page_disabled),
        ("ticket", [t for t in TIERS if t[0].startswith("ticket")], a.ticket_labels, a.ticket_annotations,
         a.ticket_disabled),
    ):
        if disabled:
            continue
        out.append({
            "alert": spec.alert_name,
            "expr": _tier_expr(spec, tiers),
            "labels": {**a.labels, **labels, "sloth_severity": sev},
            "annotations": {
                "summary": "{{$labels.sloth_service}} {{$labels.sloth_slo}} SLO error budget burn rate is over expected.",
                "title": f"({sev}) {{{{$labels.sloth_service}}}} {{{{$labels.sloth_slo}}}} SLO error budget burn rate is too fast.",
                **a.annotations, **tier_annotations,
            },
        })
    return out


def rule_groups(specs: list[SLOSpec]) -> dict[str, Any]:
    """The `groups:` document for every spec: SLI recordings, meta recordings, alerts."""
    groups = []
    for spec in specs:
        groups.append({"name": f"sloth-slo-sli-recordings-{spec.id}", "rules": sli_recording_rules(spec)})
        groups.append({"name": f"sloth-slo-meta-recordings-{spec.id}", "rules": meta_recording_rules(spec)})
        alerts = alert_rules(spec)
        if alerts:
            groups.append({"name": f"sloth-slo-alerts-{spec.id}", "rules": alerts})
    return {"groups": groups}


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:  # rule files read better without &anchors
        return True


def _str_presenter(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    if "\n" in data:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


_Dumper.add_representer(str, _str_presenter)


def render_rules(specs: list[SLOSpec]) -> str:
    header = (f"---\n# Generated by InferLedger (Sloth {SLOTH_VERSION} compatible names and semantics).\n"
              "# DO NOT EDIT.\n\n")
    return header + yaml.dump(rule_groups(specs), Dumper=_Dumper, sort_keys=False, width=10_000,
                              default_flow_style=False)
