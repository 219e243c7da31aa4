"""`slo rules` / `slo validate` over many inputs: discovery, one rule group set per document, Sloth's modes.

Sloth writes each spec document's rules as its own group set (several `---` documents
for a multi-document file) and a PrometheusRule object for a PrometheusServiceLevel
CRD; the sloth_mode label says which (`cli-gen-prom`, `cli-gen-k8s`, `cli-gen-openslo`).
"""

from __future__ import annotations

import json
from pathlib import Path

from inferledger.analytics.slo.model import SpecError
from inferledger.analytics.slo.rules import (
    HEADER,
    SLOTH_MODE,
    SLOTH_MODE_K8S,
    RuleOptions,
    dump_yaml,
    prometheus_rule,
    rule_groups,
)
from inferledger.analytics.slo.spec import SpecDocument, load_spec_documents, spec_files
from inferledger.analytics.slo.windows import load_catalog

MODE_OPENSLO = "cli-gen-openslo"


def _mode(doc: SpecDocument) -> str:
    if doc.k8s_meta is not None:
        return SLOTH_MODE_K8S
    if doc.specs and doc.specs[0].source_format == "openslo/v1alpha":
        return MODE_OPENSLO
    return SLOTH_MODE


def _render_doc(doc: SpecDocument, base: RuleOptions, as_json: bool) -> str:
    options = RuleOptions(extra_labels=base.extra_labels, disable_alerts=base.disable_alerts,
                          disable_recordings=base.disable_recordings, catalog=base.catalog, mode=_mode(doc))
    obj = (prometheus_rule(doc.specs, doc.k8s_meta, options) if doc.k8s_meta is not None
           else rule_groups(doc.specs, options))
    if as_json:
        return json.dumps(obj, indent=2) + "\n"
    return HEADER + dump_yaml(obj)


def render_inputs(inputs: list[str], *, extra_labels: dict[str, str] | None = None, disable_alerts: bool = False,
                  disable_recordings: bool = False, default_period: str = "30d",
                  windows_paths: list[str] | None = None, as_json: bool = False,
                  ) -> tuple[list[tuple[str, str]], list[str]]:
    """[(output file name, text)] per input file, and the warnings (keys Sloth ignores)."""
    base = RuleOptions(extra_labels=extra_labels or {}, disable_alerts=disable_alerts,
                       disable_recordings=disable_recordings, catalog=load_catalog(list(windows_paths or [])))
    warnings: list[str] = []
    outputs = []
    seen: dict[str, int] = {}
    for f in spec_files(list(inputs)):
        docs = load_spec_documents(f, default_period=default_period, warnings=warnings)
        text = "".join(_render_doc(d, base, as_json) for d in docs if d.specs)
        name = f.name if f.suffix in (".yaml", ".yml") else f.name + ".yaml"
        if name in seen:  # same file name in two folders: keep both
            seen[name] += 1
            name = f"{f.stem}-{seen[name]}{f.suffix}"
        seen.setdefault(name, 0)
        outputs.append((name, text))
    return outputs, warnings


def validate_inputs(inputs: list[str], *, default_period: str = "30d", windows_paths: list[str] | None = None,
                    ignore_duplicates: bool = False) -> list[tuple[str, str]]:
    """[(file, "" or the first problem)] for every spec file under `inputs`, by Sloth's rules.

    A spec is valid when it parses and its rules can be generated (its period has alert
    windows, its span SLI maps onto Prometheus metrics), so `validate` and `rules` agree.
    An SLO ID already seen in an earlier file is a problem too, unless `ignore_duplicates`
    (Sloth's `--ignore-slo-duplicates`).
    """
    try:
        catalog = load_catalog(list(windows_paths or []))
        files = spec_files(list(inputs))
    except SpecError as exc:
        return [(",".join(inputs), str(exc))]
    out = []
    seen: dict[str, Path] = {}
    for f in files:
        try:
            docs = load_spec_documents(f, default_period=default_period, warnings=[])
            for doc in docs:
                rule_groups(doc.specs, RuleOptions(catalog=catalog))
            dup = next((s.id for d in docs for s in d.specs if s.id in seen), None)
            if dup and not ignore_duplicates:
                raise SpecError(f"{f}: SLO ID {dup!r} is already defined in {seen[dup]}")
            seen.update({s.id: f for d in docs for s in d.specs})
        except SpecError as exc:
            out.append((str(f), str(exc)))
        else:
            out.append((str(f), ""))
    return out
