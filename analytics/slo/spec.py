"""SLO specs: our concise format, OpenSLO v1 / v1alpha and Sloth's formats, into one `SLOSpec`.

Every problem is a `SpecError` naming the field (`slos[1].objective: ...`), because a
spec is written by hand and read by a job that runs unattended: it must fail at load
time, loudly and precisely. Formats: `apiVersion: openslo/v1` or `openslo/v1alpha` is
OpenSLO (analytics.slo.openslo); `version: prometheus/v1` and `apiVersion:
sloth.slok.dev/v1` (PrometheusServiceLevel) are Sloth's (analytics.slo.sloth); anything
else (`version: inferledger/v1` or none) is ours.
"""

from __future__ import annotations

from dataclasses import dataclass
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
from inferledger.analytics.slo.openslo import OPENSLO_OTHER_KINDS, parse_openslo, parse_openslo_v1alpha
from inferledger.analytics.slo.sloth import CRD_API, crd_meta, parse_sloth_group

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


# --------------------------------------------------------------------------- entry points


SUPPORTED = ("inferledger/v1, prometheus/v1 (Sloth), sloth.slok.dev/v1 PrometheusServiceLevel, "
             "openslo/v1alpha, openslo/v1")


@dataclass
class SpecDocument:
    """The SLOs of one YAML document (Sloth writes one rule group set per document), and its CRD metadata."""

    source: str
    specs: list[SLOSpec]
    k8s_meta: dict[str, Any] | None = None


def parse_spec_documents(docs: list[Any], source: str = "spec", *, default_period: str = "30d",
                         warnings: list[str] | None = None) -> list[SpecDocument]:
    """Parse the YAML documents of one file, any format; OpenSLO documents of a file form one group."""
    warnings = warnings if warnings is not None else []
    docs = [d for d in docs if d is not None]
    if not docs:
        raise SpecError(f"{source}: empty spec")
    openslo_slis = {
        (d.get("metadata") or {}).get("name"): d
        for d in docs if isinstance(d, dict) and d.get("kind") == "SLI" and d.get("apiVersion") == "openslo/v1"
    }
    openslo_slis.update({  # DataSources, for metricSource.metricSourceRef
        ("DataSource", (d.get("metadata") or {}).get("name")): d
        for d in docs if isinstance(d, dict) and d.get("kind") == "DataSource" and d.get("apiVersion") == "openslo/v1"
    })
    out: list[SpecDocument] = []
    openslo = SpecDocument(source, [])
    for n, doc in enumerate(docs):
        where = source if len(docs) == 1 else f"{source}[doc {n}]"
        if not isinstance(doc, dict):
            raise fail(where, f"expected a mapping, got {type(doc).__name__}")
        api = doc.get("apiVersion")
        if api == "openslo/v1":
            if doc.get("kind") == "SLO":
                openslo.specs.extend(parse_openslo(doc, where, openslo_slis))
            elif doc.get("kind") not in OPENSLO_OTHER_KINDS:
                raise fail(join(where, "kind"), f"unknown OpenSLO kind {doc.get('kind')!r}")
        elif api == "openslo/v1alpha":
            if doc.get("kind") == "SLO":
                openslo.specs.extend(parse_openslo_v1alpha(doc, where, default_period=default_period,
                                                           warnings=warnings))
            elif doc.get("kind") != "Service":
                raise fail(join(where, "kind"), f"openslo/v1alpha: only SLO (and Service) kinds, got {doc.get('kind')!r}")
        elif api == CRD_API and doc.get("kind") == "PrometheusServiceLevel":
            spec = mapping(doc.get("spec"), join(where, "spec"))
            out.append(SpecDocument(where, parse_sloth_group(spec, join(where, "spec"), crd=True,
                                                             default_period=default_period, warnings=warnings),
                                    crd_meta(doc, where)))
        elif api == CRD_API and doc.get("kind") == "AlertWindows":
            raise fail(join(where, "kind"), "an AlertWindows spec is not an SLO spec; "
                                            "pass it with --slo-period-windows-path")
        elif api is not None:
            raise fail(join(where, "apiVersion"), f"unsupported {api!r} kind {doc.get('kind')!r} "
                                                  f"(supported: {SUPPORTED})")
        else:
            version = doc.get("version", "inferledger/v1")
            if version == "prometheus/v1":
                out.append(SpecDocument(where, parse_sloth_group(doc, where, crd=False, default_period=default_period,
                                                                 warnings=warnings)))
            elif version == "inferledger/v1":
                out.append(SpecDocument(where, _parse_ours(doc, where)))
            else:
                raise fail(join(where, "version"), f"unsupported {version!r} (supported: {SUPPORTED})")
    if openslo.specs:
        out.append(openslo)
    if not any(d.specs for d in out):
        raise SpecError(f"{source}: no SLO found")
    check_unique([s for d in out for s in d.specs], source)
    return out


def parse_documents(docs: list[Any], source: str = "spec", *, default_period: str = "30d",
                    warnings: list[str] | None = None) -> list[SLOSpec]:
    """Every SLO of one file's YAML documents."""
    return [s for d in parse_spec_documents(docs, source, default_period=default_period, warnings=warnings)
            for s in d.specs]


def _yaml_docs(text: str, source: str) -> list[Any]:
    try:
        return list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        raise SpecError(f"{source}: not valid YAML: {exc}") from exc


def parse_text(text: str, source: str = "spec", **kwargs: Any) -> list[SLOSpec]:
    return parse_documents(_yaml_docs(text, source), source, **kwargs)


def load_spec_file(path: str | Path, **kwargs: Any) -> list[SLOSpec]:
    p = Path(path)
    if not p.is_file():
        raise SpecError(f"{p}: SLO spec file does not exist")
    return parse_text(p.read_text(), str(p), **kwargs)


def spec_files(paths: list[str | Path]) -> list[Path]:
    """Files named, and *.yaml / *.yml under folders named (recursively, sorted), as Sloth discovers them."""
    out: list[Path] = []
    for path in paths:
        p = Path(path)
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix in (".yaml", ".yml"))
            if not found:
                raise SpecError(f"{p}: no *.yaml / *.yml spec files in this folder")
            out.extend(found)
        elif p.is_file():
            out.append(p)
        else:
            raise SpecError(f"{p}: SLO spec file does not exist")
    return out


def load_spec_documents(path: str | Path, **kwargs: Any) -> list[SpecDocument]:
    p = Path(path)
    return parse_spec_documents(_yaml_docs(p.read_text(), str(p)), str(p), **kwargs)


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
