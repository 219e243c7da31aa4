"""Prometheus recording and alert rules for SLOs, with Sloth's names and semantics.

Sloth's output is what SLO dashboards and runbooks already query
(`slo:sli_error:ratio_rate5m`, `slo:period_error_budget_remaining:ratio`,
`sloth_severity`…), so the rules here keep its group names, rule names, labels and
alert expressions; a team can switch between Sloth and us without touching a panel.
Every number is printed as Go's `%v` prints the float64 (promfmt.go_v), so the
threshold Prometheus parses back is exactly the one the burn engine compares against.

A span SLI (ours or OpenSLO over spans) has no Prometheus series of its own; it is
mapped onto the OpenTelemetry GenAI metrics as exported to Prometheus
(`gen_ai_client_operation_duration_seconds`, `gen_ai_server_time_to_first_token_seconds`),
where `service.name` becomes `job`. A latency threshold must then be a histogram
bucket boundary (`le`); both spellings of an integer bucket (`1` and Prometheus 3's
`1.0`) are matched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from inferledger.analytics.slo.model import CALENDAR_MONTH, WINDOW_RE, PromSLI, SLOSpec, SpecError
from inferledger.analytics.slo.plugins import apply_slo_plugins
from inferledger.analytics.slo.promfmt import go_f, go_v, prom_duration, prom_duration_seconds
from inferledger.analytics.slo.windows import DEFAULT_CATALOG, AlertWindows, go_hours, windows_for

SLOTH_VERSION = "v0.11.0"
SLOTH_MODE = "cli-gen-prom"
SLOTH_MODE_K8S = "cli-gen-k8s"
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

go_float = go_f  # the name older callers import: strconv 'f' formatting

__all__ = ["RuleOptions", "go_float", "go_f", "go_v", "prom_duration", "render_rules", "rule_groups"]


@dataclass
class RuleOptions:
    """Sloth's generate options: extra labels, what to leave out, the alert-window catalog."""

    extra_labels: dict[str, str] = field(default_factory=dict)
    disable_alerts: bool = False
    disable_recordings: bool = False
    catalog: dict[int, AlertWindows] = field(default_factory=lambda: dict(DEFAULT_CATALOG))
    mode: str = SLOTH_MODE


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


def le_matcher(threshold: float) -> str:
    """`le` matcher for a bucket bound: `le="2.5"`, or `le=~"1|1\\\\.0"` for an integer bound.

    Prometheus 2 exposes classic-histogram bounds as the client wrote them (`1`),
    Prometheus 3 normalises them to `1.0`; a rule must match either.
    """
    forms = [go_f(threshold)]
    if float(threshold).is_integer():
        forms.append(forms[0] + ".0")
    if len(forms) == 1:
        return f'le="{forms[0]}"'
    return 'le=~"' + "|".join(f.replace(".", "\\\\.") for f in forms) + '"'


def prom_sli(spec: SLOSpec) -> PromSLI:
    """The Prometheus SLI of a spec: its own queries, or the GenAI-metric mapping of a span SLI."""
    if spec.timeslice_target is not None:
        raise SpecError(f"SLO {spec.id}.budgetingMethod: Timeslices cannot be expressed as Prometheus burn-rate "
                        "rules (each minute's ratio would need its own series); `slo status` evaluates it")
    if spec.prometheus is not None:
        return spec.prometheus
    sli = spec.sli
    assert sli is not None
    where = f"SLO {spec.id}"
    sel = _selector(sli.filter_map, where)
    w = "{{.window}}"
    if sli.kind == "availability":
        base = ",".join(sel)
        err_sel = ",".join(sel + ['error_type!=""'])
        return PromSLI(error_query=f"sum(rate({GENAI_DURATION}_count{{{err_sel}}}[{w}]))",
                       total_query=f"sum(rate({GENAI_DURATION}_count{{{base}}}[{w}]))")
    if sli.op != "lte":
        raise SpecError(f"{where}.sli.op: Prometheus histograms count `le` buckets; only lte maps to rules")
    metric = GENAI_DURATION if sli.kind == "latency" else GENAI_TTFT
    base = ",".join(sel)
    le_sel = ",".join(sel + [le_matcher(sli.threshold_s)])
    total = f"sum(rate({metric}_count{{{base}}}[{w}]))"
    good = f"sum(rate({metric}_bucket{{{le_sel}}}[{w}]))"
    return PromSLI(error_query=f"({total} - {good})", total_query=total)


def _id_labels(spec: SLOSpec) -> dict[str, str]:
    return {"sloth_id": spec.id, "sloth_service": spec.service, "sloth_slo": spec.name}


def _id_selector(spec: SLOSpec) -> str:
    return ", ".join(f'{k}="{_escape(v)}"' for k, v in _id_labels(spec).items())


def _render(query: str, window: str) -> str:
    return WINDOW_RE.sub(window, query)


def _windows(spec: SLOSpec, options: RuleOptions) -> AlertWindows:
    if spec.period == CALENDAR_MONTH:
        raise SpecError(f"SLO {spec.id}.window: calendar_month has no Prometheus range; "
                        "rules need a rolling window (e.g. 28d or 30d)")
    return windows_for(options.catalog, spec.period_seconds, f"SLO {spec.id}.window")


def _labels(spec: SLOSpec, options: RuleOptions) -> dict[str, str]:
    return {**spec.labels, **options.extra_labels, **_id_labels(spec)}


def sli_recording_rules(spec: SLOSpec, options: RuleOptions | None = None) -> list[dict[str, Any]]:
    options = options or RuleOptions()
    windows = _windows(spec, options)
    sli = prom_sli(spec)
    period = prom_duration_seconds(spec.period_seconds)
    labels = _labels(spec, options)
    rules = []
    for secs in windows.windows_s():
        name = prom_duration_seconds(secs)
        if sli.error_ratio_query:
            expr = f"({_render(sli.error_ratio_query, name)})\n"
        else:
            expr = f"({_render(sli.error_query, name)})\n/\n({_render(sli.total_query, name)})\n"
        rules.append({"record": f"{SLI_METRIC}{name}", "expr": expr, "labels": {**labels, "sloth_window": name}})
    sel = _id_selector(spec)
    short = prom_duration_seconds(windows.tiers[0].short_s)
    rules.append({
        "record": f"{SLI_METRIC}{period}",
        "expr": (f"sum_over_time({SLI_METRIC}{short}{{{sel}}}[{period}])\n"
                 f"/ ignoring (sloth_window)\n"
                 f"count_over_time({SLI_METRIC}{short}{{{sel}}}[{period}])\n"),
        "labels": {**labels, "sloth_window": period},
    })
    return rules


def meta_recording_rules(spec: SLOSpec, options: RuleOptions | None = None) -> list[dict[str, Any]]:
    options = options or RuleOptions()
    windows = _windows(spec, options)
    sel = _id_selector(spec)
    period = prom_duration_seconds(spec.period_seconds)
    short = prom_duration_seconds(windows.tiers[0].short_s)
    labels = _labels(spec, options)
    ratio = go_v(spec.objective / 100)
    on = "/ on(sloth_id, sloth_slo, sloth_service) group_left\n"
    return [
        {"record": "slo:objective:ratio", "expr": f"vector({ratio})", "labels": labels},
        {"record": "slo:error_budget:ratio", "expr": f"vector(1-{ratio})", "labels": labels},
        {"record": "slo:time_period:days", "expr": f"vector({go_v(go_hours(spec.period_seconds) / 24)})",
         "labels": labels},
        {"record": "slo:current_burn_rate:ratio",
         "expr": f"{SLI_METRIC}{short}{{{sel}}}\n{on}slo:error_budget:ratio{{{sel}}}\n", "labels": labels},
        {"record": "slo:period_burn_rate:ratio",
         "expr": f"{SLI_METRIC}{period}{{{sel}}}\n{on}slo:error_budget:ratio{{{sel}}}\n", "labels": labels},
        {"record": "slo:period_error_budget_remaining:ratio",
         "expr": f"1 - slo:period_burn_rate:ratio{{{sel}}}", "labels": labels},
        {"record": "sloth_slo_info", "expr": "vector(1)",
         "labels": {**labels, "sloth_mode": options.mode, "sloth_objective": go_f(spec.objective),
                    "sloth_spec": spec.source_format, "sloth_version": SLOTH_VERSION}},
    ]


def alert_thresholds(spec: SLOSpec, options: RuleOptions | None = None) -> list[tuple[str, float, float]]:
    """(tier, factor, error budget ratio) of each tier, as printed in the alert rules."""
    windows = _windows(spec, options or RuleOptions())
    return [(t.name, windows.factor(t), spec.error_budget) for t in windows.tiers]


def _tier_expr(spec: SLOSpec, windows: AlertWindows, tiers: list) -> str:
    sel = _id_selector(spec)
    budget = go_v(spec.error_budget)
    parts = []
    for tier in tiers:
        factor = go_v(windows.factor(tier))
        cond = [f"max({SLI_METRIC}{prom_duration_seconds(w)}{{{sel}}} > ({factor} * {budget})) without (sloth_window)"
                for w in (tier.short_s, tier.long_s)]
        parts.append(f"(\n    {cond[0]}\n    and\n    {cond[1]}\n)")
    return "\nor\n".join(parts) + "\n"


def alert_rules(spec: SLOSpec, options: RuleOptions | None = None) -> list[dict[str, Any]]:
    windows = _windows(spec, options or RuleOptions())
    a = spec.alerting
    out = []
    for sev, tiers, labels, tier_annotations, disabled in (
        ("page", windows.tiers[:2], a.page_labels, a.page_annotations, a.page_disabled),
        ("ticket", windows.tiers[2:], a.ticket_labels, a.ticket_annotations, a.ticket_disabled),
    ):
        if disabled:
            continue
        out.append({
            "alert": spec.alert_name,
            "expr": _tier_expr(spec, windows, list(tiers)),
            "labels": {**a.labels, **labels, "sloth_severity": sev},
            "annotations": {
                "summary": "{{$labels.sloth_service}} {{$labels.sloth_slo}} SLO error budget burn rate is over expected.",
                "title": f"({sev}) {{{{$labels.sloth_service}}}} {{{{$labels.sloth_slo}}}} SLO error budget burn rate is too fast.",
                **a.annotations, **tier_annotations,
            },
        })
    return out


def rule_groups(specs: list[SLOSpec], options: RuleOptions | None = None) -> dict[str, Any]:
    """The `groups:` document for every spec: SLI recordings, meta recordings, alerts (Sloth's order)."""
    options = options or RuleOptions()
    groups = []
    for spec in specs:
        sli = {"name": f"sloth-slo-sli-recordings-{spec.id}",
               "rules": [] if options.disable_recordings else sli_recording_rules(spec, options)}
        meta = {"name": f"sloth-slo-meta-recordings-{spec.id}",
                "rules": [] if options.disable_recordings else meta_recording_rules(spec, options)}
        alerts = {"name": f"sloth-slo-alerts-{spec.id}",
                  "rules": [] if options.disable_alerts else alert_rules(spec, options)}
        apply_slo_plugins(spec, sli, meta, alerts)
        groups.extend(g for g in (sli, meta, alerts) if g["rules"])
    return {"groups": groups}


def prometheus_rule(specs: list[SLOSpec], meta: dict[str, Any], options: RuleOptions | None = None) -> dict[str, Any]:
    """A prometheus-operator `PrometheusRule` holding the groups, as Sloth writes for a CRD input."""
    options = options or RuleOptions(mode=SLOTH_MODE_K8S)
    metadata: dict[str, Any] = {
        "name": meta["name"],
        "labels": {**meta.get("labels", {}), "app.kubernetes.io/component": "SLO",
                   "app.kubernetes.io/managed-by": "sloth"},
    }
    if meta.get("namespace"):
        metadata["namespace"] = meta["namespace"]
    if meta.get("annotations"):
        metadata["annotations"] = meta["annotations"]
    return {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule", "metadata": metadata,
            "spec": rule_groups(specs, options)}


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:  # rule files read better without &anchors
        return True


def _str_presenter(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    if "\n" in data:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


_Dumper.add_representer(str, _str_presenter)

HEADER = (f"---\n# Generated by InferLedger (Sloth {SLOTH_VERSION} compatible names and semantics).\n"
          "# DO NOT EDIT.\n\n")


def dump_yaml(doc: dict[str, Any]) -> str:
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, width=10_000, default_flow_style=False)


def render_rules(specs: list[SLOSpec], options: RuleOptions | None = None) -> str:
    return HEADER + dump_yaml(rule_groups(specs, options))
