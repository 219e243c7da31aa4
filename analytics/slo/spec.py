"""SLO specs: our concise format, OpenSLO v1 and Sloth `prometheus/v1`, into one `SLOSpec`.

One model for three spellings, so the engine and the rule generator never care which
file format an SLO came from. Every problem is a `SpecError` naming the field
(`slos[1].objective: ...`), because a spec is written by hand and read by a job that
runs unattended: it must fail at load time, loudly and precisely.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

SLI_KINDS = ("availability", "latency", "ttft")
# Filter key -> spans column(s). Column names are constants, values are bound parameters.
FILTER_COLUMNS: dict[str, tuple[str, ...]] = {
    "service": ("service_name",),
    "model": ("request_model", "response_model"),
    "team": ("team",),
    "operation": ("operation",),
    "provider": ("provider",),
    "environment": ("deployment_environment",),
    "tenant": ("tenant",),
}
OPS = ("lte", "lt", "gte", "gt")
PERIODS = {"30d": 30, "28d": 28, "4w": 28}
CALENDAR_MONTH = "calendar_month"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
ALERT_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
LABEL_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
WINDOW_PLACEHOLDER = "{{.window}}"


class SpecError(ValueError):
    """An SLO spec is invalid; the message names the field."""


@dataclass(frozen=True)
class SpanSLI:
    """An SLI computed from the `spans` table."""

    kind: str  # availability | latency | ttft
    threshold_s: float | None = None
    op: str = "lte"  # good when value <op> threshold; `lte` is Prometheus' `le`
    filters: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def filter_map(self) -> dict[str, tuple[str, ...]]:
        return dict(self.filters)


@dataclass(frozen=True)
class PromSLI:
    """A metric-based SLI: Sloth `events` (queries with {{.window}}) or `raw` error ratio."""

    error_query: str = ""
    total_query: str = ""
    error_ratio_query: str = ""


@dataclass(frozen=True)
class AlertSpec:
    name: str = ""  # empty: SLOSpec.alert_name derives one per SLO
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    page_labels: dict[str, str] = field(default_factory=dict)
    page_annotations: dict[str, str] = field(default_factory=dict)
    page_disabled: bool = False
    ticket_labels: dict[str, str] = field(default_factory=dict)
    ticket_annotations: dict[str, str] = field(default_factory=dict)
    ticket_disabled: bool = False


@dataclass(frozen=True)
class SLOSpec:
    service: str
    name: str
    objective: float  # percent, e.g. 99.9
    period: str = "30d"  # 30d | 28d | calendar_month
    description: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    sli: SpanSLI | None = None
    prometheus: PromSLI | None = None
    alerting: AlertSpec = field(default_factory=AlertSpec)
    source_format: str = "inferledger/v1"

    @property
    def id(self) -> str:
        """Sloth's `sloth_id`."""
        return f"{self.service}-{self.name}"

    @property
    def alert_name(self) -> str:
        """The configured alert name, else one per SLO (`ChatApiAvailabilityBurnRate`).

        Per SLO because two alert rules with one name and equal static labels are
        duplicates to `promtool check rules`.
        """
        if self.alerting.name:
            return self.alerting.name
        words = re.split(r"[^A-Za-z0-9]+", f"{self.service} {self.name}")
        camel = "".join(w[:1].upper() + w[1:] for w in words if w)
        return ("SLO" if camel[:1].isdigit() else "") + camel + "BurnRate"

    @property
    def objective_ratio(self) -> float:
        return self.objective / 100

    @property
    def error_budget(self) -> float:
        """1 - objective, computed the way Sloth prints it ((100 - objective) / 100)."""
        return (100 - self.objective) / 100

    def period_days(self, now: datetime | None = None) -> int:
        if self.period == CALENDAR_MONTH:
            now = now or datetime.utcnow()
            return calendar.monthrange(now.year, now.month)[1]
        return PERIODS[self.period]

    def period_start(self, now: datetime) -> datetime:
        """First instant of the budget period that contains `now`."""
        from datetime import timedelta

        if self.period == CALENDAR_MONTH:
            return datetime(now.year, now.month, 1)
        minute = now.replace(second=0, microsecond=0)
        return minute - timedelta(days=PERIODS[self.period]) + timedelta(minutes=1)


# --------------------------------------------------------------------------- helpers


def _fail(where: str, problem: str) -> SpecError:
    return SpecError(f"{where}: {problem}")


def _join(where: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{where}[{key}]"
    return f"{where}.{key}" if where else key


def _mapping(value: Any, where: str, *, required: bool = True) -> dict:
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise _fail(where, f"expected a mapping, got {type(value).__name__}")
    return value


def _known(data: dict, allowed: set[str], where: str) -> None:
    unknown = sorted(set(map(str, data)) - allowed)
    if unknown:
        raise _fail(_join(where, unknown[0]), f"unknown key (known keys: {', '.join(sorted(allowed))})")


def _str(value: Any, where: str, *, required: bool = True, pattern: re.Pattern | None = None) -> str:
    if value is None or value == "":
        if required:
            raise _fail(where, "is required")
        return ""
    if not isinstance(value, str):
        raise _fail(where, f"expected a string, got {value!r}")
    if pattern is not None and not pattern.match(value):
        raise _fail(where, f"{value!r} does not match {pattern.pattern}")
    return value


def _labels(value: Any, where: str) -> dict[str, str]:
    data = _mapping(value, where, required=False)
    out = {}
    for k, v in data.items():
        if not isinstance(k, str) or not LABEL_RE.match(k):
            raise _fail(_join(where, str(k)), "label names must match [A-Za-z_][A-Za-z0-9_]*")
        if isinstance(v, (dict, list)) or v is None:
            raise _fail(_join(where, k), "label values must be scalars")
        out[k] = str(v)
    return out


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(where, f"expected a number, got {value!r}")
    return float(value)


def _objective_percent(value: Any, where: str) -> float:
    pct = _number(value, where)
    if not 0 < pct < 100:
        raise _fail(where, f"must be a percentage strictly between 0 and 100, got {value!r}")
    return pct


def _period(value: Any, where: str) -> str:
    text = _str(value, where, required=False) or "30d"
    text = {"month": CALENDAR_MONTH, "1M": CALENDAR_MONTH}.get(text, text)
    if text == "4w":
        text = "28d"
    if text not in PERIODS and text != CALENDAR_MONTH:
        raise _fail(where, f"must be 28d, 30d or calendar_month, got {value!r}")
    return text


def _filters(value: Any, where: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    data = _mapping(value, where, required=False)
    _known(data, set(FILTER_COLUMNS), where)
    out = []
    for key in sorted(data):
        raw = data[key]
        values = raw if isinstance(raw, list) else [raw]
        if not values:
            raise _fail(_join(where, key), "must not be an empty list")
        for i, v in enumerate(values):
            if not isinstance(v, str) or not v:
                raise _fail(_join(where, key) + (f"[{i}]" if isinstance(raw, list) else ""),
                            f"expected a non-empty string, got {v!r}")
        out.append((key, tuple(values)))
    return tuple(out)


def _events(value: Any, where: str) -> PromSLI:
    data = _mapping(value, where)
    _known(data, {"error_query", "total_query"}, where)
    err = _str(data.get("error_query"), _join(where, "error_query"))
    tot = _str(data.get("total_query"), _join(where, "total_query"))
    for key, q in (("error_query", err), ("total_query", tot)):
        if WINDOW_PLACEHOLDER not in q:
            raise _fail(_join(where, key), f"must contain {WINDOW_PLACEHOLDER} (the rate window)")
    return PromSLI(error_query=err.strip(), total_query=tot.strip())


def _alerting(value: Any, where: str) -> AlertSpec:
    data = _mapping(value, where, required=False)
    _known(data, {"name", "labels", "annotations", "page_alert", "ticket_alert"}, where)
    sub = {}
    for sev in ("page_alert", "ticket_alert"):
        d = _mapping(data.get(sev), _join(where, sev), required=False)
        _known(d, {"labels", "annotations", "disable"}, _join(where, sev))
        disable = d.get("disable", False)
        if not isinstance(disable, bool):
            raise _fail(_join(_join(where, sev), "disable"), f"expected true or false, got {disable!r}")
        sub[sev] = (_labels(d.get("labels"), _join(_join(where, sev), "labels")),
                    _labels(d.get("annotations"), _join(_join(where, sev), "annotations")), disable)
    return AlertSpec(
        name=_str(data.get("name"), _join(where, "name"), required=False, pattern=ALERT_NAME_RE),
        labels=_labels(data.get("labels"), _join(where, "labels")),
        annotations=_labels(data.get("annotations"), _join(where, "annotations")),
        page_labels=sub["page_alert"][0], page_annotations=sub["page_alert"][1],
        page_disabled=sub["page_alert"][2],
        ticket_labels=sub["ticket_alert"][0], ticket_annotations=sub["ticket_alert"][1],
        ticket_disabled=sub["ticket_alert"][2],
    )


def _check_unique(specs: list[SLOSpec], where: str) -> list[SLOSpec]:
    seen: set[str] = set()
    for spec in specs:
        if spec.id in seen:
            raise _fail(where, f"two SLOs have the id {spec.id!r} (service-name must be unique)")
        seen.add(spec.id)
    return specs


# --------------------------------------------------------------------------- our format


def _span_sli(value: Any, filters: Any, where: str, filters_where: str) -> SpanSLI:
    if isinstance(value, str):
        value = {"type": value}
    data = _mapping(value, where)
    _known(data, {"type", "threshold_s", "op"}, where)
    kind = _str(data.get("type"), _join(where, "type"))
    if kind not in SLI_KINDS:
        raise _fail(_join(where, "type"), f"must be one of {', '.join(SLI_KINDS)}, got {kind!r}")
    threshold = None
    op = data.get("op", "lte")
    if op not in OPS:
        raise _fail(_join(where, "op"), f"must be one of {', '.join(OPS)}, got {op!r}")
    if kind == "availability":
        if "threshold_s" in data:
            raise _fail(_join(where, "threshold_s"), "availability SLIs take no threshold")
    else:
        if "threshold_s" not in data:
            raise _fail(_join(where, "threshold_s"), f"is required for a {kind} SLI")
        threshold = _number(data["threshold_s"], _join(where, "threshold_s"))
        if threshold <= 0:
            raise _fail(_join(where, "threshold_s"), f"must be > 0 seconds, got {threshold!r}")
    return SpanSLI(kind=kind, threshold_s=threshold, op=op, filters=_filters(filters, filters_where))


def _parse_ours(doc: dict, where: str) -> list[SLOSpec]:
    _known(doc, {"version", "service", "labels", "slos"}, where)
    top_service = _str(doc.get("service"), _join(where, "service"), required=False, pattern=NAME_RE)
    top_labels = _labels(doc.get("labels"), _join(where, "labels"))
    slos = doc.get("slos")
    if not isinstance(slos, list) or not slos:
        raise _fail(_join(where, "slos"), "expected a non-empty list of SLOs")
    out = []
    for i, item in enumerate(slos):
        w = _join(_join(where, "slos"), i)
        data = _mapping(item, w)
        _known(data, {"name", "service", "description", "objective", "window", "sli", "filters",
                      "labels", "prometheus", "alerting"}, w)
        name = _str(data.get("name"), _join(w, "name"), pattern=NAME_RE)
        service = _str(data.get("service"), _join(w, "service"), required=False, pattern=NAME_RE) or top_service
        filters = data.get("filters")
        if not service and isinstance(filters, dict) and isinstance(filters.get("service"), str):
            service = filters["service"]
        if not service:
            raise _fail(_join(w, "service"), "is required (here, at the top level, or as filters.service)")
        sli = _span_sli(data["sli"], filters, _join(w, "sli"), _join(w, "filters")) if "sli" in data else None
        if sli is None and filters:
            raise _fail(_join(w, "filters"), "filters need a span SLI (sli)")
        prom = _events(data["prometheus"], _join(w, "prometheus")) if "prometheus" in data else None
        if sli is None and prom is None:
            raise _fail(_join(w, "sli"), "is required (or give prometheus.error_query / total_query)")
        out.append(SLOSpec(
            service=service, name=name,
            objective=_objective_percent(data.get("objective"), _join(w, "objective")),
            period=_period(data.get("window"), _join(w, "window")),
            description=_str(data.get("description"), _join(w, "description"), required=False),
            labels={**top_labels, **_labels(data.get("labels"), _join(w, "labels"))},
            sli=sli, prometheus=prom,
            alerting=_alerting(data.get("alerting"), _join(w, "alerting")),
            source_format="inferledger/v1",
        ))
    return out


# --------------------------------------------------------------------------- Sloth prometheus/v1


def _parse_sloth(doc: dict, where: str) -> list[SLOSpec]:
    _known(doc, {"version", "service", "labels", "slos"}, where)
    service = _str(doc.get("service"), _join(where, "service"), pattern=NAME_RE)
    top_labels = _labels(doc.get("labels"), _join(where, "labels"))
    slos = doc.get("slos")
    if not isinstance(slos, list) or not slos:
        raise _fail(_join(where, "slos"), "expected a non-empty list of SLOs")
    out = []
    for i, item in enumerate(slos):
        w = _join(_join(where, "slos"), i)
        data = _mapping(item, w)
        _known(data, {"name", "objective", "description", "labels", "sli", "alerting"}, w)
        sli = _mapping(data.get("sli"), _join(w, "sli"))
        _known(sli, {"events", "raw", "plugin"}, _join(w, "sli"))
        if len(sli) != 1:
            raise _fail(_join(w, "sli"), "give exactly one of events or raw")
        if "plugin" in sli:
            raise _fail(_join(_join(w, "sli"), "plugin"), "Sloth SLI plugins are not supported; use events or raw")
        if "raw" in sli:
            raw = _mapping(sli["raw"], _join(_join(w, "sli"), "raw"))
            _known(raw, {"error_ratio_query"}, _join(_join(w, "sli"), "raw"))
            q = _str(raw.get("error_ratio_query"), _join(_join(_join(w, "sli"), "raw"), "error_ratio_query"))
            if WINDOW_PLACEHOLDER not in q:
                raise _fail(_join(_join(_join(w, "sli"), "raw"), "error_ratio_query"),
                            f"must contain {WINDOW_PLACEHOLDER} (the rate window)")
            prom = PromSLI(error_ratio_query=q.strip())
        else:
            prom = _events(sli["events"], _join(_join(w, "sli"), "events"))
        out.append(SLOSpec(
            service=service,
            name=_str(data.get("name"), _join(w, "name"), pattern=NAME_RE),
            objective=_objective_percent(data.get("objective"), _join(w, "objective")),
            period="30d",
            description=_str(data.get("description"), _join(w, "description"), required=False),
            labels={**top_labels, **_labels(data.get("labels"), _join(w, "labels"))},
            prometheus=prom,
            alerting=_alerting(data.get("alerting"), _join(w, "alerting")),
            source_format="prometheus/v1",
        ))
    return out


# --------------------------------------------------------------------------- OpenSLO v1


def _openslo_source(node: Any, where: str) -> tuple[str, dict]:
    data = _mapping(node, where)
    ms = _mapping(data.get("metricSource"), _join(where, "metricSource"))
    kind = _str(ms.get("type"), _join(_join(where, "metricSource"), "type"))
    spec = _mapping(ms.get("spec"), _join(_join(where, "metricSource"), "spec"), required=False)
    return kind.lower(), spec


def _openslo_indicator(spec: dict, docs_by_name: dict, where: str) -> tuple[dict, str]:
    if "indicator" in spec:
        ind = _mapping(spec["indicator"], _join(where, "indicator"))
        return _mapping(ind.get("spec"), _join(_join(where, "indicator"), "spec")), _join(
            _join(where, "indicator"), "spec")
    if "indicatorRef" in spec:
        ref = _str(spec["indicatorRef"], _join(where, "indicatorRef"))
        if ref not in docs_by_name:
            raise _fail(_join(where, "indicatorRef"), f"no SLI named {ref!r} in this file")
        return _mapping(docs_by_name[ref].get("spec"), f"SLI {ref}.spec"), f"SLI {ref}.spec"
    raise _fail(_join(where, "indicator"), "is required (or indicatorRef)")


def _parse_openslo(doc: dict, where: str, docs_by_name: dict) -> list[SLOSpec]:
    meta = _mapping(doc.get("metadata"), _join(where, "metadata"))
    name = _str(meta.get("name"), _join(_join(where, "metadata"), "name"), pattern=NAME_RE)
    labels = _labels({k: (v[0] if isinstance(v, list) and v else v) for k, v in
                      _mapping(meta.get("labels"), _join(_join(where, "metadata"), "labels"),
                               required=False).items()}, _join(_join(where, "metadata"), "labels"))
    spec = _mapping(doc.get("spec"), _join(where, "spec"))
    sw = _join(where, "spec")
    service = _str(spec.get("service"), _join(sw, "service"), pattern=NAME_RE)
    method = spec.get("budgetingMethod", "Occurrences")
    if method != "Occurrences":
        raise _fail(_join(sw, "budgetingMethod"), f"only Occurrences is supported, got {method!r}")
    period = "30d"
    tw = spec.get("timeWindow")
    if tw is not None:
        if not isinstance(tw, list) or len(tw) != 1:
            raise _fail(_join(sw, "timeWindow"), "expected a list with one time window")
        t = _mapping(tw[0], _join(_join(sw, "timeWindow"), 0))
        rolling = t.get("isRolling", True)
        dur = t.get("duration")
        if rolling:
            period = _period(dur, _join(_join(_join(sw, "timeWindow"), 0), "duration"))
        elif dur in ("1M", "1m") or dur is None:
            period = CALENDAR_MONTH
        else:
            raise _fail(_join(_join(_join(sw, "timeWindow"), 0), "duration"),
                        f"calendar windows must be 1M (a calendar month), got {dur!r}")
    ind, iw = _openslo_indicator(spec, docs_by_name, sw)
    objectives = spec.get("objectives")
    if not isinstance(objectives, list) or not objectives:
        raise _fail(_join(sw, "objectives"), "expected a non-empty list")
    out = []
    for i, obj in enumerate(objectives):
        ow = _join(_join(sw, "objectives"), i)
        o = _mapping(obj, ow)
        if "target" in o:
            target = _number(o["target"], _join(ow, "target")) * 100
        elif "targetPercent" in o:
            target = _number(o["targetPercent"], _join(ow, "targetPercent"))
        else:
            raise _fail(_join(ow, "target"), "is required (or targetPercent)")
        target = _objective_percent(round(target, 10), _join(ow, "target"))
        sli, prom = _openslo_sli(ind, o, iw, ow)
        slo_name = name if len(objectives) == 1 else f"{name}-{o.get('displayName') or i}"
        if not NAME_RE.match(slo_name):
            raise _fail(_join(ow, "displayName"), f"{slo_name!r} is not a valid SLO name")
        out.append(SLOSpec(
            service=service, name=slo_name, objective=target, period=period,
            description=_str(spec.get("description"), _join(sw, "description"), required=False),
            labels=labels, sli=sli, prometheus=prom, source_format="openslo/v1",
        ))
    return out


def _openslo_sli(ind: dict, obj: dict, iw: str, ow: str) -> tuple[SpanSLI | None, PromSLI | None]:
    if "thresholdMetric" in ind:
        kind, src = _openslo_source(ind["thresholdMetric"], _join(iw, "thresholdMetric"))
        sw = _join(_join(_join(iw, "thresholdMetric"), "metricSource"), "spec")
        if kind != "inferledger":
            raise _fail(_join(_join(_join(iw, "thresholdMetric"), "metricSource"), "type"),
                        "threshold metrics are supported over spans only (type: InferLedger); "
                        "for Prometheus use ratioMetric")
        _known(src, {"field", "filters"}, sw)
        fieldname = src.get("field", "duration_s")
        kinds = {"duration_s": "latency", "time_to_first_token_s": "ttft"}
        if fieldname not in kinds:
            raise _fail(_join(sw, "field"), f"must be duration_s or time_to_first_token_s, got {fieldname!r}")
        op = obj.get("op", "lte")
        if op not in OPS:
            raise _fail(_join(ow, "op"), f"must be one of {', '.join(OPS)}, got {op!r}")
        if "value" not in obj:
            raise _fail(_join(ow, "value"), "is required for a thresholdMetric (the threshold in seconds)")
        value = _number(obj["value"], _join(ow, "value"))
        return SpanSLI(kinds[fieldname], value, op, _filters(src.get("filters"), _join(sw, "filters"))), None
    if "ratioMetric" in ind:
        rw = _join(iw, "ratioMetric")
        rm = _mapping(ind["ratioMetric"], rw)
        if "total" not in rm or ("good" in rm) == ("bad" in rm):
            raise _fail(rw, "needs total and exactly one of good or bad")
        which = "good" if "good" in rm else "bad"
        k_part, s_part = _openslo_source(rm[which], _join(rw, which))
        k_tot, s_tot = _openslo_source(rm["total"], _join(rw, "total"))
        if k_part != k_tot:
            raise _fail(_join(_join(_join(rw, which), "metricSource"), "type"),
                        f"must be the same type as total ({k_tot})")
        if k_tot == "inferledger":
            tw = _join(_join(_join(rw, "total"), "metricSource"), "spec")
            _known(s_tot, {"filters"}, tw)
            pw = _join(_join(_join(rw, which), "metricSource"), "spec")
            _known(s_part, {"events"}, pw)
            want = "non_error" if which == "good" else "error"
            if s_part.get("events") != want:
                raise _fail(_join(pw, "events"), f"must be {want!r} for a {which} ratio over spans")
            return SpanSLI("availability", None, "lte", _filters(s_tot.get("filters"), _join(tw, "filters"))), None
        if k_tot == "prometheus":
            counter = rm.get("counter", True)
            q_part = _str(s_part.get("query"), _join(_join(_join(_join(rw, which), "metricSource"), "spec"), "query"))
            q_tot = _str(s_tot.get("query"), _join(_join(_join(_join(rw, "total"), "metricSource"), "spec"), "query"))

            def windowed(q: str) -> str:
                if WINDOW_PLACEHOLDER in q or not counter:
                    return q.strip()
                return f"sum(rate({q.strip()}[{WINDOW_PLACEHOLDER}]))"

            err = windowed(q_part) if which == "bad" else f"({windowed(q_tot)}) - ({windowed(q_part)})"
            return None, PromSLI(error_query=err, total_query=windowed(q_tot))
        raise _fail(_join(_join(_join(rw, "total"), "metricSource"), "type"),
                    f"must be InferLedger or Prometheus, got {k_tot!r}")
    raise _fail(iw, "needs ratioMetric or thresholdMetric")


# --------------------------------------------------------------------------- entry points


def parse_documents(docs: list[Any], source: str = "spec") -> list[SLOSpec]:
    """Parse the YAML documents of one file (any of the three formats, OpenSLO may be many docs)."""
    docs = [d for d in docs if d is not None]
    if not docs:
        raise SpecError(f"{source}: empty spec")
    openslo_slis = {
        (d.get("metadata") or {}).get("name"): d
        for d in docs if isinstance(d, dict) and d.get("kind") == "SLI"
    }
    out: list[SLOSpec] = []
    for n, doc in enumerate(docs):
        where = source if len(docs) == 1 else f"{source}[doc {n}]"
        if not isinstance(doc, dict):
            raise _fail(where, f"expected a mapping, got {type(doc).__name__}")
        if "apiVersion" in doc:
            if doc["apiVersion"] != "openslo/v1":
                raise _fail(_join(where, "apiVersion"), f"only openslo/v1 is supported, got {doc['apiVersion']!r}")
            if doc.get("kind") == "SLO":
                out.extend(_parse_openslo(doc, where, openslo_slis))
            elif doc.get("kind") not in ("SLI", "Service", "AlertPolicy", "AlertCondition",
                                         "AlertNotificationTarget", "DataSource"):
                raise _fail(_join(where, "kind"), f"unknown OpenSLO kind {doc.get('kind')!r}")
            continue
        version = doc.get("version", "inferledger/v1")
        if version == "prometheus/v1":
            out.extend(_parse_sloth(doc, where))
        elif version == "inferledger/v1":
            out.extend(_parse_ours(doc, where))
        else:
            raise _fail(_join(where, "version"), f"must be inferledger/v1 or prometheus/v1, got {version!r}")
    if not out:
        raise SpecError(f"{source}: no SLO found")
    return _check_unique(out, source)


def parse_text(text: str, source: str = "spec") -> list[SLOSpec]:
    try:
        docs = list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        raise SpecError(f"{source}: not valid YAML: {exc}") from exc
    return parse_documents(docs, source)


def load_spec_file(path: str | Path) -> list[SLOSpec]:
    p = Path(path)
    if not p.is_file():
        raise SpecError(f"{p}: SLO spec file does not exist")
    return parse_text(p.read_text(), str(p))


DEMO_SPEC_PATH = Path(__file__).with_name("demo_slos.yaml")


def load_configured_specs(slo_settings: Any) -> list[SLOSpec]:
    """The SLOs of the configuration: spec files, inline specs, and the demo's when asked."""
    specs: list[SLOSpec] = []
    files = list(getattr(slo_settings, "spec_files", []) or [])
    if getattr(slo_settings, "include_demo_specs", False):
        files.insert(0, str(DEMO_SPEC_PATH))
    for f in files:
        specs.extend(load_spec_file(f))
    inline = getattr(slo_settings, "specs", []) or []
    if inline:
        try:
            specs.extend(parse_documents([{"version": "inferledger/v1", "slos": list(inline)}], "analytics.slo"))
        except SpecError as exc:  # name the config key: analytics.slo.specs[0].objective
            raise SpecError(str(exc).replace("analytics.slo.slos[", "analytics.slo.specs[", 1)) from None
    return _check_unique(specs, "analytics.slo")
