"""Multiwindow multi-burn-rate alert windows: Sloth's catalog and its AlertWindows files.

Sloth ships windows for 30d and 28d SLO periods (SRE Workbook: 2 % / 5 % of the budget
for the page tiers, 10 % / 10 % for the ticket tiers) and reads further periods from
`AlertWindows` specs (`apiVersion: sloth.slok.dev/v1`, `kind: AlertWindows`, or the
older `version: alertWindows/v1`). A period without windows cannot get rules, exactly
as in Sloth ("the 7d SLO period time window is not supported").
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from inferledger.analytics.slo.model import SpecError
from inferledger.analytics.slo.promfmt import parse_duration

TIER_NAMES = ("page_quick", "page_slow", "ticket_quick", "ticket_slow")


def go_hours(seconds: int) -> float:
    """time.Duration.Hours(): whole hours plus the remainder, in Go's operation order."""
    nsec = (seconds % 3600) * 1_000_000_000
    return float(seconds // 3600) + nsec / (60 * 60 * 1e9)


@dataclass(frozen=True)
class Tier:
    name: str
    budget_percent: float
    short_s: int
    long_s: int


@dataclass(frozen=True)
class AlertWindows:
    period_s: int
    tiers: tuple[Tier, Tier, Tier, Tier]  # page quick, page slow, ticket quick, ticket slow

    def factor(self, tier: Tier) -> float:
        """Sloth's getBurnRateFactor: hours to spend the budget share over the long window."""
        hours_required = tier.budget_percent * go_hours(self.period_s) / 100
        return hours_required / go_hours(tier.long_s)

    def windows_s(self) -> list[int]:
        """Every window the alerts read, shortest first (the SLI recording rules)."""
        return sorted({w for t in self.tiers for w in (t.short_s, t.long_s)})


def _google(period_days: int) -> AlertWindows:
    m, h, d = 60, 3600, 86400
    return AlertWindows(period_days * d, (
        Tier("page_quick", 2, 5 * m, 1 * h), Tier("page_slow", 5, 30 * m, 6 * h),
        Tier("ticket_quick", 10, 2 * h, 1 * d), Tier("ticket_slow", 10, 6 * h, 3 * d),
    ))


DEFAULT_CATALOG: dict[int, AlertWindows] = {w.period_s: w for w in (_google(30), _google(28))}


def _window(node: Any, where: str) -> tuple[float, int, int]:
    if not isinstance(node, dict):
        raise SpecError(f"{where}: expected a mapping with errorBudgetPercent, shortWindow, longWindow")
    unknown = sorted(set(node) - {"errorBudgetPercent", "shortWindow", "longWindow"})
    if unknown:
        raise SpecError(f"{where}.{unknown[0]}: unknown key")
    pct = node.get("errorBudgetPercent")
    if isinstance(pct, bool) or not isinstance(pct, (int, float)) or not pct > 0:
        raise SpecError(f"{where}.errorBudgetPercent: error budget is required (a number > 0)")
    out = []
    for key in ("shortWindow", "longWindow"):
        try:
            secs = parse_duration(node.get(key) or "")
        except ValueError:
            raise SpecError(f"{where}.{key}: {'short' if key == 'shortWindow' else 'long'} window is required "
                            f"(a Prometheus duration), got {node.get(key)!r}") from None
        out.append(secs)
    return float(pct), out[0], out[1]


def parse_alert_windows(doc: Any, where: str) -> AlertWindows:
    """One AlertWindows document (new `sloth.slok.dev/v1` or legacy `alertWindows/v1` layout)."""
    if not isinstance(doc, dict):
        raise SpecError(f"{where}: expected a mapping")
    if doc.get("apiVersion") == "sloth.slok.dev/v1" and doc.get("kind") == "AlertWindows":
        spec, sw = doc.get("spec"), f"{where}.spec"
    elif doc.get("version") == "alertWindows/v1":
        spec, sw = doc, where
    else:
        raise SpecError(f"{where}: not an AlertWindows spec (apiVersion: sloth.slok.dev/v1, kind: AlertWindows)")
    if not isinstance(spec, dict):
        raise SpecError(f"{sw}: expected a mapping")
    try:
        period = parse_duration(spec.get("sloPeriod") or "")
    except ValueError:
        raise SpecError(f"{sw}.sloPeriod: slo period is required (a Prometheus duration)") from None
    tiers = []
    for sev in ("page", "ticket"):
        block = spec.get(sev)
        if not isinstance(block, dict):
            raise SpecError(f"{sw}.{sev}: is required (quick and slow windows)")
        for speed in ("quick", "slow"):
            pct, short, long_ = _window(block.get(speed), f"{sw}.{sev}.{speed}")
            tiers.append(Tier(f"{sev}_{speed}", pct, short, long_))
    return AlertWindows(period, tuple(tiers))  # type: ignore[arg-type]


def load_catalog(paths: list[str | Path]) -> dict[int, AlertWindows]:
    """Sloth's `--slo-period-windows-path`: these files (or *.yaml / *.yml under these folders) replace the defaults."""
    if not paths:
        return dict(DEFAULT_CATALOG)
    catalog: dict[int, AlertWindows] = {}
    for path in paths:
        p = Path(path)
        files = sorted(f for f in p.rglob("*") if f.suffix in (".yaml", ".yml")) if p.is_dir() else [p]
        if not p.exists():
            raise SpecError(f"{p}: alert windows path does not exist")
        for f in files:
            try:
                doc = yaml.safe_load(f.read_text())
            except yaml.YAMLError as exc:
                raise SpecError(f"{f}: not valid YAML: {exc}") from exc
            w = parse_alert_windows(doc, str(f))
            if w.period_s in catalog:
                raise SpecError(f"{f}: the {spec_period(w.period_s)} slo period is already loaded")
            catalog[w.period_s] = w
    return catalog


def spec_period(seconds: int) -> str:
    return f"{seconds // 86400}d" if seconds % 86400 == 0 else f"{seconds}s"


def windows_for(catalog: dict[int, AlertWindows], period_s: int, where: str) -> AlertWindows:
    if period_s not in catalog:
        known = ", ".join(spec_period(p) for p in sorted(catalog))
        raise SpecError(f"{where}: the {spec_period(period_s)} SLO period has no alert windows "
                        f"(loaded: {known}); give an AlertWindows file with --slo-period-windows-path")
    return catalog[period_s]
