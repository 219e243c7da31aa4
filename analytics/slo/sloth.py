"""Sloth's spec formats: `prometheus/v1` files and `sloth.slok.dev/v1` PrometheusServiceLevel CRDs.

A team moving from Sloth keeps its files unchanged, so these parsers read what Sloth
reads and reject what Sloth rejects (its validation: names, objective range, one SLI
type, `{{.window}}` in every query, distinct error/total queries, an alert name when an
alert is enabled). Sloth's YAML decoding ignores keys it does not know (`pageAlert` in a
`prometheus/v1` file is silently dropped by Sloth); we ignore them too, so the rules are
the same, but report each one as a warning naming the field.

SLI plugins (`sli.plugin`) are reimplemented for the common ones (see SLI_PLUGINS); SLO
plugins (`plugins.chain` / `slo_plugins.chain`) are kept on the spec for the rule
generator (analytics.slo.plugins).
"""

from __future__ import annotations

import re
from typing import Any

from inferledger.analytics.slo.fields import (
    check_window,
    fail,
    join,
    label_map,
    mapping,
    objective_percent,
    period_of,
    string_field,
)
from inferledger.analytics.slo.model import AlertSpec, PromSLI, SLOSpec
from inferledger.analytics.slo.plugins import check_slo_plugin

# Sloth's name rule: start and end with an alphanumeric; inside also '.', '_' and '-'.
SLOTH_NAME_RE = re.compile(r"^[A-Za-z0-9][-A-Za-z0-9_.]*[A-Za-z0-9]$|^[A-Za-z0-9]$")
CRD_API = "sloth.slok.dev/v1"


class _Keys:
    """Sloth's key spelling per format: snake_case in prometheus/v1, camelCase in the CRD."""

    def __init__(self, crd: bool):
        self.crd = crd
        self.error_query = "errorQuery" if crd else "error_query"
        self.total_query = "totalQuery" if crd else "total_query"
        self.error_ratio_query = "errorRatioQuery" if crd else "error_ratio_query"
        self.page_alert = "pageAlert" if crd else "page_alert"
        self.ticket_alert = "ticketAlert" if crd else "ticket_alert"
        self.group_plugins = "sloPlugins" if crd else "slo_plugins"


def _ignored(data: dict, allowed: set[str], where: str, warnings: list[str]) -> None:
    for key in sorted(set(map(str, data)) - allowed):
        warnings.append(f"{join(where, key)}: unknown key, ignored (as Sloth does)")


def _name(value: Any, where: str) -> str:
    text = string_field(value, where)
    if not SLOTH_NAME_RE.match(text):
        raise fail(where, f"{text!r}: name must start and end with an alphanumeric and can only contain "
                          "alphanumeric, '.', '_', and '-'")
    return text


def _plugins(node: Any, where: str, warnings: list[str]) -> list[tuple[int, str, Any]]:
    if node is None:
        return []
    data = mapping(node, where)
    _ignored(data, {"chain", "overridePrevious", "override_previous"}, where, warnings)
    if data.get("overridePrevious") or data.get("override_previous"):
        raise fail(join(where, "overridePrevious"), "overriding the default SLO plugin chain is not supported")
    chain = data.get("chain") or []
    if not isinstance(chain, list):
        raise fail(join(where, "chain"), "expected a list of plugins")
    out = []
    for i, item in enumerate(chain):
        pw = join(join(where, "chain"), i)
        p = mapping(item, pw)
        _ignored(p, {"id", "config", "priority"}, pw, warnings)
        pid = string_field(p.get("id"), join(pw, "id"))
        prio = p.get("priority", 0)
        if isinstance(prio, bool) or not isinstance(prio, int):
            raise fail(join(pw, "priority"), f"expected an integer, got {prio!r}")
        check_slo_plugin(pid, p.get("config"), pw)
        out.append((prio, pid, p.get("config")))
    return out


def _alerting(node: Any, keys: _Keys, where: str, warnings: list[str]) -> AlertSpec:
    data = mapping(node, where, required=False)
    _ignored(data, {"name", "labels", "annotations", keys.page_alert, keys.ticket_alert}, where, warnings)
    sub = {}
    for sev in (keys.page_alert, keys.ticket_alert):
        sw = join(where, sev)
        d = mapping(data.get(sev), sw, required=False)
        _ignored(d, {"labels", "annotations", "disable"}, sw, warnings)
        disable = d.get("disable", False)
        if not isinstance(disable, bool):
            raise fail(join(sw, "disable"), f"expected true or false, got {disable!r}")
        sub[sev] = (label_map(d.get("labels"), join(sw, "labels")),
                    label_map(d.get("annotations"), join(sw, "annotations")), disable)
    name = data.get("name") or ""
    if not isinstance(name, str):
        raise fail(join(where, "name"), f"expected a string, got {name!r}")
    for sev in (keys.page_alert, keys.ticket_alert):
        if not sub[sev][2] and not name:
            raise fail(join(where, "name"), f"alert name is required ({sev} is enabled)")
    return AlertSpec(
        name=name, labels=label_map(data.get("labels"), join(where, "labels")),
        annotations=label_map(data.get("annotations"), join(where, "annotations")),
        page_labels=sub[keys.page_alert][0], page_annotations=sub[keys.page_alert][1],
        page_disabled=sub[keys.page_alert][2],
        ticket_labels=sub[keys.ticket_alert][0], ticket_annotations=sub[keys.ticket_alert][1],
        ticket_disabled=sub[keys.ticket_alert][2],
    )


def _sli(node: Any, keys: _Keys, service: str, slo_name: str, objective: float, labels: dict,
         where: str, warnings: list[str]) -> PromSLI:
    from inferledger.analytics.slo.sli_plugins import run_sli_plugin

    data = mapping(node, where)
    _ignored(data, {"events", "raw", "plugin"}, where, warnings)
    present = [k for k in ("events", "raw", "plugin") if data.get(k) is not None]
    if not present:
        raise fail(where, "at least one SLI type is required (events, raw or plugin)")
    if len(present) > 1:
        raise fail(where, f"only one SLI type is allowed, got {' and '.join(present)}")
    kind = present[0]
    kw = join(where, kind)
    body = mapping(data[kind], kw)
    if kind == "events":
        _ignored(body, {keys.error_query, keys.total_query}, kw, warnings)
        err = string_field(body.get(keys.error_query), join(kw, keys.error_query))
        tot = string_field(body.get(keys.total_query), join(kw, keys.total_query))
        if err == tot:
            raise fail(kw, "both error and total queries can't be the same")
        check_window(err, join(kw, keys.error_query))
        check_window(tot, join(kw, keys.total_query))
        return PromSLI(error_query=err.strip(), total_query=tot.strip())
    if kind == "raw":
        _ignored(body, {keys.error_ratio_query}, kw, warnings)
        q = string_field(body.get(keys.error_ratio_query), join(kw, keys.error_ratio_query))
        check_window(q, join(kw, keys.error_ratio_query))
        return PromSLI(error_ratio_query=q.strip())
    _ignored(body, {"id", "options"}, kw, warnings)
    pid = string_field(body.get("id"), join(kw, "id"))
    options = mapping(body.get("options"), join(kw, "options"), required=False)
    q = run_sli_plugin(pid, {str(k): str(v) for k, v in options.items()}, join(kw, "id"),
                       meta={"service": service, "slo": slo_name, "objective": f"{objective:f}"}, labels=labels)
    return PromSLI(error_ratio_query=q)


def parse_sloth_group(spec: dict, where: str, *, crd: bool, default_period: str,
                      warnings: list[str]) -> list[SLOSpec]:
    """The SLOs of a prometheus/v1 document (crd=False) or of a CRD's `spec` (crd=True)."""
    keys = _Keys(crd)
    top = {"service", "labels", "slos", keys.group_plugins} | ({"version"} if not crd else set())
    _ignored(spec, top, where, warnings)
    service = _name(spec.get("service"), join(where, "service"))
    top_labels = label_map(spec.get("labels"), join(where, "labels"))
    group_plugins = _plugins(spec.get(keys.group_plugins), join(where, keys.group_plugins), warnings)
    slos = spec.get("slos")
    if not isinstance(slos, list) or not slos:
        raise fail(join(where, "slos"), "at least one SLO is required")
    period = period_of(default_period, "--default-slo-period")
    out = []
    for i, item in enumerate(slos):
        w = join(join(where, "slos"), i)
        data = mapping(item, w)
        _ignored(data, {"name", "objective", "description", "labels", "sli", "alerting", "plugins"}, w, warnings)
        name = _name(data.get("name"), join(w, "name"))
        objective = objective_percent(data.get("objective"), join(w, "objective"))
        labels = {**top_labels, **label_map(data.get("labels"), join(w, "labels"))}
        plugins = group_plugins + _plugins(data.get("plugins"), join(w, "plugins"), warnings)
        out.append(SLOSpec(
            service=service, name=name, objective=objective, period=period,
            description=str(data.get("description") or ""),
            labels=labels,
            prometheus=_sli(data.get("sli"), keys, service, name, objective, top_labels, join(w, "sli"), warnings),
            alerting=_alerting(data.get("alerting"), keys, join(w, "alerting"), warnings),
            source_format=CRD_API if crd else "prometheus/v1",
            plugins=tuple((pid, cfg) for _, pid, cfg in sorted(plugins, key=lambda t: t[0])),
        ))
    return out


def crd_meta(doc: dict, where: str) -> dict[str, Any]:
    """name / namespace / labels / annotations of a PrometheusServiceLevel, for its PrometheusRule."""
    meta = mapping(doc.get("metadata"), join(where, "metadata"))
    name = string_field(meta.get("name"), join(join(where, "metadata"), "name"))
    return {"name": name, "namespace": str(meta.get("namespace") or ""),
            "labels": {str(k): str(v) for k, v in (meta.get("labels") or {}).items()},
            "annotations": {str(k): str(v) for k, v in (meta.get("annotations") or {}).items()}}
