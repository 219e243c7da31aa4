"""OpenSLO v1 (`kind: SLO`, inline or referenced `kind: SLI`) and v1alpha into SLOSpecs.

Span SLIs use metric source `type: InferLedger` (`thresholdMetric` with `field:
duration_s | time_to_first_token_s`, or `ratioMetric` with `events: error | non_error`
over a `total` with `filters`); `type: Prometheus` ratio metrics become Sloth events
for rule generation (`counter: false` gauges are averaged over the window instead of
rated). `budgetingMethod: Timeslices` over spans uses one-minute slices (the rollup
grain) and is evaluated by the engine only: Prometheus rules cannot express it.
Every key is checked, so a typo (`timeWindows` in v1) is an error naming it, and
`alertPolicies` are rejected rather than silently dropped.

v1alpha is read the way Sloth reads it (the only OpenSLO version Sloth supports): each
`objectives[i].ratioMetrics` becomes SLO `<name>-<i>` with the raw error ratio
`1 - (good / total)`, `timeWindows[0].count` days, and no alerts.
"""

from __future__ import annotations

from typing import Any

from inferledger.analytics.slo.fields import (
    check_window,
    fail,
    filter_spec,
    join,
    known,
    label_map,
    mapping,
    number,
    objective_percent,
    period_of,
    string_field,
)
from inferledger.analytics.slo.model import (
    CALENDAR_MONTH,
    NAME_RE,
    OPS,
    WINDOW_PLACEHOLDER,
    WINDOW_RE,
    AlertSpec,
    PromSLI,
    SLOSpec,
    SpanSLI,
)

OPENSLO_OTHER_KINDS = ("SLI", "Service", "AlertPolicy", "AlertCondition", "AlertNotificationTarget", "DataSource")


def _openslo_source(node: Any, where: str, docs: dict | None = None) -> tuple[str, dict]:
    data = mapping(node, where)
    known(data, {"metricSource"}, where)
    ms = mapping(data.get("metricSource"), join(where, "metricSource"))
    known(ms, {"type", "spec", "metricSourceRef"}, join(where, "metricSource"))
    if "metricSourceRef" in ms and "type" not in ms:
        ref = ms["metricSourceRef"]
        source = (docs or {}).get(("DataSource", ref))
        if source is None:
            raise fail(join(join(where, "metricSource"), "metricSourceRef"),
                       f"no DataSource named {ref!r} in this file")
        ms = {**ms, "type": mapping(source.get("spec"), f"DataSource {ref}.spec").get("type")}
    kind = string_field(ms.get("type"), join(join(where, "metricSource"), "type"))
    spec = mapping(ms.get("spec"), join(join(where, "metricSource"), "spec"), required=False)
    return kind.lower(), spec


def _openslo_indicator(spec: dict, docs_by_name: dict, where: str) -> tuple[dict, str]:
    if "indicator" in spec:
        ind = mapping(spec["indicator"], join(where, "indicator"))
        known(ind, {"metadata", "spec"}, join(where, "indicator"))
        known(mapping(ind.get("spec"), join(join(where, "indicator"), "spec")),
              {"description", "thresholdMetric", "ratioMetric"}, join(join(where, "indicator"), "spec"))
        return mapping(ind.get("spec"), join(join(where, "indicator"), "spec")), join(
            join(where, "indicator"), "spec")
    if "indicatorRef" in spec:
        ref = string_field(spec["indicatorRef"], join(where, "indicatorRef"))
        if ref not in docs_by_name:
            raise fail(join(where, "indicatorRef"), f"no SLI named {ref!r} in this file")
        return mapping(docs_by_name[ref].get("spec"), f"SLI {ref}.spec"), f"SLI {ref}.spec"
    raise fail(join(where, "indicator"), "is required (or indicatorRef)")


def _timeslice(o: dict, method: str, ow: str) -> float | None:
    """The slice target (ratio) of a Timeslices objective; slices are one minute (the rollup grain)."""
    if method != "Timeslices":
        for key in ("timeSliceTarget", "timeSliceWindow"):
            if key in o:
                raise fail(join(ow, key), "only for budgetingMethod: Timeslices")
        return None
    if "timeSliceTarget" not in o:
        raise fail(join(ow, "timeSliceTarget"), "is required for Timeslices (the good ratio a minute needs)")
    target = number(o["timeSliceTarget"], join(ow, "timeSliceTarget"))
    if not 0 < target <= 1:
        raise fail(join(ow, "timeSliceTarget"), f"must be > 0 and <= 1, got {target!r}")
    if o.get("timeSliceWindow", "1m") not in ("1m", "60s"):
        raise fail(join(ow, "timeSliceWindow"), f"only 1m slices are supported (the rollup minute), "
                                                 f"got {o.get('timeSliceWindow')!r}")
    return target


def parse_openslo(doc: dict, where: str, docs_by_name: dict) -> list[SLOSpec]:
    known(doc, {"apiVersion", "kind", "metadata", "spec"}, where)
    meta = mapping(doc.get("metadata"), join(where, "metadata"))
    known(meta, {"name", "displayName", "labels", "annotations"}, join(where, "metadata"))
    name = string_field(meta.get("name"), join(join(where, "metadata"), "name"), pattern=NAME_RE)
    labels = label_map({k: (v[0] if isinstance(v, list) and v else v) for k, v in
                      mapping(meta.get("labels"), join(join(where, "metadata"), "labels"),
                               required=False).items()}, join(join(where, "metadata"), "labels"))
    spec = mapping(doc.get("spec"), join(where, "spec"))
    sw = join(where, "spec")
    known(spec, {"description", "service", "indicator", "indicatorRef", "timeWindow", "budgetingMethod",
                 "objectives", "alertPolicies"}, sw)
    if spec.get("alertPolicies"):
        raise fail(join(sw, "alertPolicies"), "alert policies are not supported; the SLO gets Sloth's "
                                              "multiwindow multi-burn-rate page and ticket alerts instead")
    service = string_field(spec.get("service"), join(sw, "service"), pattern=NAME_RE)
    method = spec.get("budgetingMethod", "Occurrences")
    if method not in ("Occurrences", "Timeslices"):
        raise fail(join(sw, "budgetingMethod"), f"must be Occurrences or Timeslices, got {method!r} "
                                                "(RatioTimeslices is not supported)")
    period = "30d"
    tw = spec.get("timeWindow")
    if tw is not None:
        if not isinstance(tw, list) or len(tw) != 1:
            raise fail(join(sw, "timeWindow"), "expected a list with one time window")
        t = mapping(tw[0], join(join(sw, "timeWindow"), 0))
        known(t, {"duration", "isRolling", "calendar"}, join(join(sw, "timeWindow"), 0))
        rolling = t.get("isRolling", True)
        dur = t.get("duration")
        if rolling:
            period = period_of(dur, join(join(join(sw, "timeWindow"), 0), "duration"))
        elif dur in ("1M", "1m") or dur is None:
            period = CALENDAR_MONTH
        else:
            raise fail(join(join(join(sw, "timeWindow"), 0), "duration"),
                        f"calendar windows must be 1M (a calendar month), got {dur!r}")
    ind, iw = _openslo_indicator(spec, docs_by_name, sw)
    objectives = spec.get("objectives")
    if not isinstance(objectives, list) or not objectives:
        raise fail(join(sw, "objectives"), "expected a non-empty list")
    out = []
    for i, obj in enumerate(objectives):
        ow = join(join(sw, "objectives"), i)
        o = mapping(obj, ow)
        known(o, {"displayName", "op", "value", "target", "targetPercent", "timeSliceTarget", "timeSliceWindow",
                  "compositeWeight"}, ow)
        slice_target = _timeslice(o, method, ow)
        if "target" in o:
            target = number(o["target"], join(ow, "target")) * 100
        elif "targetPercent" in o:
            target = number(o["targetPercent"], join(ow, "targetPercent"))
        else:
            raise fail(join(ow, "target"), "is required (or targetPercent)")
        target = objective_percent(round(target, 10), join(ow, "target"))
        sli, prom = _openslo_sli(ind, o, iw, ow, docs_by_name)
        if slice_target is not None and sli is None:
            raise fail(join(sw, "budgetingMethod"), "Timeslices are evaluated over spans only "
                                                    "(type: InferLedger); Prometheus rules cannot express them")
        slo_name = name if len(objectives) == 1 else f"{name}-{o.get('displayName') or i}"
        if not NAME_RE.match(slo_name):
            raise fail(join(ow, "displayName"), f"{slo_name!r} is not a valid SLO name")
        out.append(SLOSpec(
            service=service, name=slo_name, objective=target, period=period,
            description=string_field(spec.get("description"), join(sw, "description"), required=False),
            labels=labels, sli=sli, prometheus=prom, source_format="openslo/v1", timeslice_target=slice_target,
        ))
    return out


def _openslo_sli(ind: dict, obj: dict, iw: str, ow: str,
                 docs: dict | None = None) -> tuple[SpanSLI | None, PromSLI | None]:
    if "thresholdMetric" in ind:
        kind, src = _openslo_source(ind["thresholdMetric"], join(iw, "thresholdMetric"), docs)
        sw = join(join(join(iw, "thresholdMetric"), "metricSource"), "spec")
        if kind != "inferledger":
            raise fail(join(join(join(iw, "thresholdMetric"), "metricSource"), "type"),
                        "threshold metrics are supported over spans only (type: InferLedger); "
                        "for Prometheus use ratioMetric")
        known(src, {"field", "filters"}, sw)
        fieldname = src.get("field", "duration_s")
        kinds = {"duration_s": "latency", "time_to_first_token_s": "ttft"}
        if fieldname not in kinds:
            raise fail(join(sw, "field"), f"must be duration_s or time_to_first_token_s, got {fieldname!r}")
        op = obj.get("op", "lte")
        if op not in OPS:
            raise fail(join(ow, "op"), f"must be one of {', '.join(OPS)}, got {op!r}")
        if "value" not in obj:
            raise fail(join(ow, "value"), "is required for a thresholdMetric (the threshold in seconds)")
        value = number(obj["value"], join(ow, "value"))
        return SpanSLI(kinds[fieldname], value, op, filter_spec(src.get("filters"), join(sw, "filters"))), None
    if "ratioMetric" in ind:
        rw = join(iw, "ratioMetric")
        rm = mapping(ind["ratioMetric"], rw)
        known(rm, {"counter", "good", "bad", "total"}, rw)
        if "total" not in rm or ("good" in rm) == ("bad" in rm):
            raise fail(rw, "needs total and exactly one of good or bad")
        which = "good" if "good" in rm else "bad"
        k_part, s_part = _openslo_source(rm[which], join(rw, which), docs)
        k_tot, s_tot = _openslo_source(rm["total"], join(rw, "total"), docs)
        if k_part != k_tot:
            raise fail(join(join(join(rw, which), "metricSource"), "type"),
                        f"must be the same type as total ({k_tot})")
        if k_tot == "inferledger":
            tw = join(join(join(rw, "total"), "metricSource"), "spec")
            known(s_tot, {"filters"}, tw)
            pw = join(join(join(rw, which), "metricSource"), "spec")
            known(s_part, {"events"}, pw)
            want = "non_error" if which == "good" else "error"
            if s_part.get("events") != want:
                raise fail(join(pw, "events"), f"must be {want!r} for a {which} ratio over spans")
            return SpanSLI("availability", None, "lte", filter_spec(s_tot.get("filters"), join(tw, "filters"))), None
        if k_tot == "prometheus":
            counter = rm.get("counter", True)
            if not isinstance(counter, bool):
                raise fail(join(rw, "counter"), f"expected true or false, got {counter!r}")
            for part, src in ((which, s_part), ("total", s_tot)):
                known(src, {"query"}, join(join(join(rw, part), "metricSource"), "spec"))
            q_part = string_field(s_part.get("query"), join(join(join(join(rw, which), "metricSource"), "spec"), "query"))
            q_tot = string_field(s_tot.get("query"), join(join(join(join(rw, "total"), "metricSource"), "spec"), "query"))

            def windowed(q: str) -> str:
                if WINDOW_RE.search(q):
                    return q.strip()
                # counter: rate over the window; gauge (counter: false): its average over the window.
                fn = "rate" if counter else "avg_over_time"
                return f"sum({fn}({q.strip()}[{WINDOW_PLACEHOLDER}]))"

            err = windowed(q_part) if which == "bad" else f"({windowed(q_tot)}) - ({windowed(q_part)})"
            return None, PromSLI(error_query=err, total_query=windowed(q_tot))
        raise fail(join(join(join(rw, "total"), "metricSource"), "type"),
                    f"must be InferLedger or Prometheus, got {k_tot!r}")
    raise fail(iw, "needs ratioMetric or thresholdMetric")


def parse_openslo_v1alpha(doc: dict, where: str, *, default_period: str, warnings: list[str]) -> list[SLOSpec]:
    """Sloth's reading of an OpenSLO v1alpha SLO (raw `1 - good/total` SLIs, no alerts)."""
    meta = mapping(doc.get("metadata"), join(where, "metadata"))
    name = string_field(meta.get("name"), join(join(where, "metadata"), "name"), pattern=NAME_RE)
    spec = mapping(doc.get("spec"), join(where, "spec"))
    sw = join(where, "spec")
    for key in sorted(set(map(str, spec)) - {"service", "description", "objectives", "timeWindows",
                                               "budgetingMethod", "indicator"}):
        warnings.append(f"{join(sw, key)}: unknown key, ignored (as Sloth does)")
    service = string_field(spec.get("service"), join(sw, "service"), pattern=NAME_RE)
    objectives = spec.get("objectives")
    if not isinstance(objectives, list) or not objectives:
        raise fail(join(sw, "objectives"), "at least one SLO is required")
    period = period_of(default_period, "--default-slo-period")
    tws = spec.get("timeWindows") or []
    if not isinstance(tws, list):
        raise fail(join(sw, "timeWindows"), "expected a list")
    if len(tws) > 1:
        raise fail(join(sw, "timeWindows"), "only 1 time window is supported")
    if tws:
        t = mapping(tws[0], join(join(sw, "timeWindows"), 0))
        if str(t.get("unit", "")).lower() != "day":
            raise fail(join(join(join(sw, "timeWindows"), 0), "unit"), "only days based time windows are supported")
        count = t.get("count")
        if isinstance(count, bool) or not isinstance(count, int) or count <= 0:
            raise fail(join(join(join(sw, "timeWindows"), 0), "count"), f"expected a whole number of days, got {count!r}")
        period = f"{count}d"
    out = []
    for i, obj in enumerate(objectives):
        ow = join(join(sw, "objectives"), i)
        o = mapping(obj, ow)
        rm = o.get("ratioMetrics")
        if rm is None:
            raise fail(join(ow, "ratioMetrics"), "missing ratioMetrics (the only objective type Sloth reads)")
        rm = mapping(rm, join(ow, "ratioMetrics"))
        queries = {}
        for part in ("good", "total"):
            pw = join(join(ow, "ratioMetrics"), part)
            m = mapping(rm.get(part), pw)
            if m.get("source") not in ("prometheus", "sloth"):
                raise fail(join(pw, "source"), f"prometheus or sloth query ratio {part!r} source is required")
            if m.get("queryType") != "promql":
                raise fail(join(pw, "queryType"), f"unsupported {part!r} indicator query type: {m.get('queryType')!r}")
            queries[part] = string_field(m.get("query"), join(pw, "query"))
        if "target" not in o:
            raise fail(join(ow, "target"), "is required (a ratio, e.g. 0.999)")
        for part in ("good", "total"):
            check_window(queries[part], join(join(join(ow, "ratioMetrics"), part), "query"))
        target = number(o["target"], join(ow, "target")) * 100
        raw = f"\n  1 - (\n    (\n      {queries['good']}\n    )\n    /\n    (\n      {queries['total']}\n    )\n  )\n"
        out.append(SLOSpec(
            service=service, name=f"{name}-{i}", objective=objective_percent(target, join(ow, "target")),
            period=period, description=str(spec.get("description") or ""),
            prometheus=PromSLI(error_ratio_query=raw), source_format="openslo/v1alpha",
            alerting=AlertSpec(page_disabled=True, ticket_disabled=True),
        ))
    return out
