"""SLO specs: our concise format, OpenSLO v1 and Sloth `prometheus/v1`, into one `SLOSpec`.

Every problem is a `SpecError` naming the field (`slos[1].objective: ...`), because a
spec is written by hand and read by a job that runs unattended: it must fail at load
time, loudly and precisely. Formats: a document with `apiVersion: openslo/v1` is
OpenSLO (analytics.slo.openslo); `version: prometheus/v1` is Sloth; anything else
(`version: inferledger/v1` or none) is ours.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from inferledger.analytics.slo.fields import (
    alerting_spec,
    check_unique,
    events_spec,
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
from inferledger.analytics.slo.model import (  # noqa: F401  (re-exported: the public names of the spec API)
    CALENDAR_MONTH,
    FILTER_COLUMNS,
    NAME_RE,
    OPS,
    PERIODS,
    SLI_KINDS,
    WINDOW_PLACEHOLDER,
    AlertSpec,
    PromSLI,
    SLOSpec,
    SpanSLI,
    SpecError,
)
from inferledger.analytics.slo.openslo import parse_openslo

# --------------------------------------------------------------------------- our format


def _span_sli(value: Any, filters: Any, where: str, filters_where: str) -> SpanSLI:
    if isinstance(value, str):
        value = {"type": value}
    data = mapping(value, where)
    known(data, {"type", "threshold_s", "op"}, where)
    kind = string_field(data.get("type"), join(where, "type"))
    if kind not in SLI_KINDS:
        raise fail(join(where, "type"), f"must be one of {', '.join(SLI_KINDS)}, got {kind!r}")
    threshold = None
    op = data.get("op", "lte")
    if op not in OPS:
        raise fail(join(where, "op"), f"must be one of {', '.join(OPS)}, got {op!r}")
    if kind == "availability":
        if "threshold_s" in data:
            raise fail(join(where, "threshold_s"), "availability SLIs take no threshold")
    else:
        if "threshold_s" not in data:
            raise fail(join(where, "threshold_s"), f"is required for a {kind} SLI")
        threshold = number(data["threshold_s"], join(where, "threshold_s"))
        if threshold <= 0:
            raise fail(join(where, "threshold_s"), f"must be > 0 seconds, got {threshold!r}")
    return SpanSLI(kind=kind, threshold_s=threshold, op=op, filters=filter_spec(filters, filters_where))


def _parse_ours(doc: dict, where: str) -> list[SLOSpec]:
    known(doc, {"version", "service", "labels", "slos"}, where)
    top_service = string_field(doc.get("service"), join(where, "service"), required=False, pattern=NAME_RE)
    top_labels = label_map(doc.get("labels"), join(where, "labels"))
    slos = doc.get("slos")
    if not isinstance(slos, list) or not slos:
        raise fail(join(where, "slos"), "expected a non-empty list of SLOs")
    out = []
    for i, item in enumerate(slos):
        w = join(join(where, "slos"), i)
        data = mapping(item, w)
        known(data, {"name", "service", "description", "objective", "window", "sli", "filters",
                      "labels", "prometheus", "alerting"}, w)
        name = string_field(data.get("name"), join(w, "name"), pattern=NAME_RE)
        service = string_field(data.get("service"), join(w, "service"), required=False, pattern=NAME_RE) or top_service
        filters = data.get("filters")
        if not service and isinstance(filters, dict) and isinstance(filters.get("service"), str):
            service = filters["service"]
        if not service:
            raise fail(join(w, "service"), "is required (here, at the top level, or as filters.service)")
        sli = _span_sli(data["sli"], filters, join(w, "sli"), join(w, "filters")) if "sli" in data else None
        if sli is None and filters:
            raise fail(join(w, "filters"), "filters need a span SLI (sli)")
        prom = events_spec(data["prometheus"], join(w, "prometheus")) if "prometheus" in data else None
        if sli is None and prom is None:
            raise fail(join(w, "sli"), "is required (or give prometheus.error_query / total_query)")
        out.append(SLOSpec(
            service=service, name=name,
            objective=objective_percent(data.get("objective"), join(w, "objective")),
            period=period_of(data.get("window"), join(w, "window")),
            description=string_field(data.get("description"), join(w, "description"), required=False),
            labels={**top_labels, **label_map(data.get("labels"), join(w, "labels"))},
            sli=sli, prometheus=prom,
            alerting=alerting_spec(data.get("alerting"), join(w, "alerting")),
            source_format="inferledger/v1",
        ))
    return out


# --------------------------------------------------------------------------- Sloth prometheus/v1


def _parse_sloth(doc: dict, where: str) -> list[SLOSpec]:
    known(doc, {"version", "service", "labels", "slos"}, where)
    service = string_field(doc.get("service"), join(where, "service"), pattern=NAME_RE)
    top_labels = label_map(doc.get("labels"), join(where, "labels"))
    slos = doc.get("slos")
    if not isinstance(slos, list) or not slos:
        raise fail(join(where, "slos"), "expected a non-empty list of SLOs")
    out = []
    for i, item in enumerate(slos):
        w = join(join(where, "slos"), i)
        data = mapping(item, w)
        known(data, {"name", "objective", "description", "labels", "sli", "alerting"}, w)
        sli = mapping(data.get("sli"), join(w, "sli"))
        known(sli, {"events", "raw", "plugin"}, join(w, "sli"))
        if len(sli) != 1:
            raise fail(join(w, "sli"), "give exactly one of events or raw")
        if "plugin" in sli:
            raise fail(join(join(w, "sli"), "plugin"), "Sloth SLI plugins are not supported; use events or raw")
        if "raw" in sli:
            raw = mapping(sli["raw"], join(join(w, "sli"), "raw"))
            known(raw, {"error_ratio_query"}, join(join(w, "sli"), "raw"))
            q = string_field(raw.get("error_ratio_query"), join(join(join(w, "sli"), "raw"), "error_ratio_query"))
            if WINDOW_PLACEHOLDER not in q:
                raise fail(join(join(join(w, "sli"), "raw"), "error_ratio_query"),
                            f"must contain {WINDOW_PLACEHOLDER} (the rate window)")
            prom = PromSLI(error_ratio_query=q.strip())
        else:
            prom = events_spec(sli["events"], join(join(w, "sli"), "events"))
        out.append(SLOSpec(
            service=service,
            name=string_field(data.get("name"), join(w, "name"), pattern=NAME_RE),
            objective=objective_percent(data.get("objective"), join(w, "objective")),
            period="30d",
            description=string_field(data.get("description"), join(w, "description"), required=False),
            labels={**top_labels, **label_map(data.get("labels"), join(w, "labels"))},
            prometheus=prom,
            alerting=alerting_spec(data.get("alerting"), join(w, "alerting")),
            source_format="prometheus/v1",
        ))
    return out


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
            raise fail(where, f"expected a mapping, got {type(doc).__name__}")
        if "apiVersion" in doc:
            if doc["apiVersion"] != "openslo/v1":
                raise fail(join(where, "apiVersion"), f"only openslo/v1 is supported, got {doc['apiVersion']!r}")
            if doc.get("kind") == "SLO":
                out.extend(parse_openslo(doc, where, openslo_slis))
            elif doc.get("kind") not in ("SLI", "Service", "AlertPolicy", "AlertCondition",
                                         "AlertNotificationTarget", "DataSource"):
                raise fail(join(where, "kind"), f"unknown OpenSLO kind {doc.get('kind')!r}")
            continue
        version = doc.get("version", "inferledger/v1")
        if version == "prometheus/v1":
            out.extend(_parse_sloth(doc, where))
        elif version == "inferledger/v1":
            out.extend(_parse_ours(doc, where))
        else:
            raise fail(join(where, "version"), f"must be inferledger/v1 or prometheus/v1, got {version!r}")
    if not out:
        raise SpecError(f"{source}: no SLO found")
    return check_unique(out, source)


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
    return check_unique(specs, "analytics.slo")
