"""Sloth SLO plugins with the behaviour of Sloth's built-in ones, applied to generated rule groups.

Sloth runs a chain of SLO plugins over each SLO's rules. The core plugins (SLI, metadata
and alert rules, validation) are what the rule generator does anyway, so naming them is
accepted and changes nothing. The contrib plugins implemented here:

- `sloth.dev/contrib/info_labels/v1`: extra labels on `sloth_slo_info` (or `metricName`).
- `sloth.dev/contrib/rule_intervals/v1`: `interval` on the SLI, metadata and alert groups.
- `sloth.dev/contrib/error_budget_exhausted_alert/v1`: an alert when the period budget
  remaining is at or below `threshold`.
- `sloth.dev/contrib/remove_labels/v1`: recording rules keep only the SLO ID labels (and
  `sloth_window`, `preserveLabels`); `sloth_slo_info` and `skipMetrics` are left alone.

Any other plugin is rejected when the spec is read, naming it, rather than ignored.
"""

from __future__ import annotations

from typing import Any

from inferledger.analytics.slo.model import SpecError
from inferledger.analytics.slo.promfmt import go_v, parse_duration

CORE = {f"sloth.dev/core/{n}/v1" for n in ("sli_rules", "metadata_rules", "alert_rules", "validate", "noop", "debug")}
INFO_LABELS = "sloth.dev/contrib/info_labels/v1"
RULE_INTERVALS = "sloth.dev/contrib/rule_intervals/v1"
BUDGET_EXHAUSTED = "sloth.dev/contrib/error_budget_exhausted_alert/v1"
REMOVE_LABELS = "sloth.dev/contrib/remove_labels/v1"
KNOWN = CORE | {INFO_LABELS, RULE_INTERVALS, BUDGET_EXHAUSTED, REMOVE_LABELS}


def _cfg(config: Any, where: str) -> dict:
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise SpecError(f"{where}.config: expected a mapping, got {type(config).__name__}")
    return config


def _labels(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise SpecError(f"{where}: expected a mapping of labels")
    return {str(k): str(v) for k, v in value.items()}


def check_slo_plugin(plugin_id: str, config: Any, where: str) -> None:
    """Reject unknown plugins and invalid configs when the spec is read, naming the field."""
    if plugin_id not in KNOWN:
        raise SpecError(f"{where}.id: SLO plugin {plugin_id!r} is not supported (supported: "
                        f"{', '.join(sorted(KNOWN - CORE))} and Sloth's core plugins)")
    cfg = _cfg(config, where)
    if plugin_id == INFO_LABELS and not _labels(cfg.get("labels"), f"{where}.config.labels"):
        raise SpecError(f"{where}.config.labels: at least one label is required")
    if plugin_id == REMOVE_LABELS:
        for key in ("preserveLabels", "skipMetrics"):
            if not isinstance(cfg.get(key, []), list):
                raise SpecError(f"{where}.config.{key}: expected a list")
    if plugin_id == RULE_INTERVALS:
        iv = cfg.get("interval")
        if not isinstance(iv, dict) or not iv.get("default"):
            raise SpecError(f"{where}.config.interval.default: is required (a Prometheus duration)")
        for key, value in iv.items():
            if key not in ("default", "sliError", "metadata", "alert"):
                raise SpecError(f"{where}.config.interval.{key}: unknown key (default, sliError, metadata, alert)")
            try:
                parse_duration(value)
            except ValueError as exc:
                raise SpecError(f"{where}.config.interval.{key}: {exc}") from None
    if plugin_id == BUDGET_EXHAUSTED:
        thr = cfg.get("threshold", 0)
        if isinstance(thr, bool) or not isinstance(thr, (int, float)):
            raise SpecError(f"{where}.config.threshold: expected a number, got {thr!r}")
        if "for" in cfg:
            try:
                parse_duration(cfg["for"])
            except ValueError as exc:
                raise SpecError(f"{where}.config.for: {exc}") from None


def _escape(v: str) -> str:
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def label_set(labels: dict[str, str]) -> str:
    """Prometheus model.LabelSet String(): `{a="1", b="2"}`, keys sorted."""
    return "{" + ", ".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items())) + "}"


def apply_slo_plugins(spec: Any, sli: dict, meta: dict, alerts: dict) -> None:
    """Apply `spec.plugins` in chain order to the spec's three groups (each `{name, rules}`), in place."""
    for plugin_id, config in spec.plugins:
        cfg = _cfg(config, plugin_id)
        if plugin_id == INFO_LABELS:
            metric = cfg.get("metricName") or "sloth_slo_info"
            for rule in meta["rules"]:
                if rule.get("record") == metric:
                    rule["labels"] = {**rule.get("labels", {}), **_labels(cfg.get("labels"), plugin_id)}
                    break
        elif plugin_id == RULE_INTERVALS:
            iv = cfg["interval"]
            for group, key in ((sli, "sliError"), (meta, "metadata"), (alerts, "alert")):
                group["interval"] = str(iv.get(key) or iv["default"])
        elif plugin_id == REMOVE_LABELS:
            keep = {"sloth_id", "sloth_service", "sloth_slo", *map(str, cfg.get("preserveLabels") or [])}
            skip = {"sloth_slo_info", *map(str, cfg.get("skipMetrics") or [])}
            for group, extra in ((sli, {"sloth_window"}), (meta, set())):
                for rule in group["rules"]:
                    if rule.get("record") not in skip:
                        rule["labels"] = {k: v for k, v in rule.get("labels", {}).items() if k in keep | extra}
        elif plugin_id == BUDGET_EXHAUSTED:
            labels = {"sloth_slo": spec.name, "sloth_service": spec.service, "sloth_id": spec.id,
                      **spec.labels, **_labels(cfg.get("selector_labels"), plugin_id)}
            rule: dict[str, Any] = {
                "alert": cfg.get("alert_name") or "ErrorBudgetExhausted",
                "expr": f"slo:period_error_budget_remaining:ratio{label_set(labels)} <= {go_v(cfg.get('threshold', 0))}",
                "for": str(cfg.get("for") or "5m"),
            }
            if cfg.get("alert_labels"):
                rule["labels"] = _labels(cfg["alert_labels"], plugin_id)
            if cfg.get("annotations"):
                rule["annotations"] = _labels(cfg["annotations"], plugin_id)
            alerts["rules"].append(rule)
