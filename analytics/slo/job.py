"""The `slo.evaluate` job: every minute, rollups -> burn rates -> state -> alert records.

Alert records follow the shared contract: one `firing` record when a page or ticket
condition starts, one `resolved` record when it clears (or when its SLO leaves the
configuration). Labels carry the SLO identity so the fingerprint is stable across runs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from inferledger.analytics.alert_records import AlertRecord, fingerprint, firing_fingerprints, write_alert_records
from inferledger.analytics.jobs import JobContext, register_job
from inferledger.analytics.kernels.burn_rate import WINDOW_NAMES
from inferledger.analytics.lake.settings import on_dask
from inferledger.analytics.slo.engine import SLOState, evaluate
from inferledger.analytics.slo.rollup import update_rollups
from inferledger.analytics.slo.spec import SLOSpec, load_configured_specs
from inferledger.analytics.slo.store import sync_definitions, write_states
from inferledger.analytics.warehouse import Warehouse

SOURCE = "slo"


def alert_labels(spec: SLOSpec, severity: str) -> dict[str, str]:
    a = spec.alerting
    extra = a.page_labels if severity == "page" else a.ticket_labels
    return {
        **spec.labels, **a.labels, **extra,
        "alertname": spec.alert_name, "slo_id": spec.id, "slo": spec.name, "service": spec.service,
        "severity": severity, "sloth_severity": severity,
    }


def _record(state: SLOState, severity: str, status: str, now: datetime, starts_at: datetime) -> AlertRecord:
    spec = state.spec
    labels = alert_labels(spec, severity)
    summary = (f"{spec.service} {spec.name} SLO error budget burn rate is too fast ({severity}): "
               f"1h burn {state.burn('1h'):.1f}x, 6h burn {state.burn('6h'):.1f}x, "
               f"budget remaining {state.budget_remaining:.1%}")
    if status == "resolved":
        summary = f"{spec.service} {spec.name} SLO burn rate is back under the {severity} thresholds"
    return AlertRecord(
        source=SOURCE, alertname=labels.pop("alertname"), labels=labels, severity=severity, status=status,
        summary=summary,
        description=spec.description or f"{spec.sli.kind} SLO {spec.objective}% over {spec.period}",
        values={
            "burn_rates": dict(zip(WINDOW_NAMES, state.burn_rates)),
            "budget_remaining": state.budget_remaining, "exhaustion_hours": state.exhaustion_hours,
            "tiers": state.tiers, "objective": spec.objective,
        },
        starts_at=starts_at, ends_at=now if status == "resolved" else None,
    )


def alert_transitions(wh: Warehouse, states: list[SLOState], now: datetime) -> list[AlertRecord]:
    """Records for conditions that started or cleared since the last run."""
    firing = firing_fingerprints(wh, SOURCE)
    out: list[AlertRecord] = []
    seen: set[str] = set()
    for st in states:
        for severity, active in (("page", st.page), ("ticket", st.ticket)):
            fp = fingerprint(alert_labels(st.spec, severity))
            seen.add(fp)
            if active and fp not in firing:
                out.append(_record(st, severity, "firing", now, now))
            elif not active and fp in firing:
                rows = wh.con.execute(
                    "SELECT starts_at FROM alert_records WHERE fingerprint = ? AND status = 'firing'"
                    " ORDER BY id DESC LIMIT 1", [fp]).fetchall()
                out.append(_record(st, severity, "resolved", now, rows[0][0] if rows else now))
    for fp, labels in firing.items():  # SLO removed from the configuration while firing
        if fp not in seen:
            labels = dict(labels)
            name = labels.pop("alertname", "SLOBurnRate")
            out.append(AlertRecord(
                source=SOURCE, alertname=name, labels=labels, severity=labels.get("severity", "ticket"),
                status="resolved", summary=f"SLO {labels.get('slo_id', '?')} is no longer configured",
                starts_at=now, ends_at=now,
            ))
    return out


def run_evaluation(wh: Warehouse, specs: list[SLOSpec], now: datetime, *, overlap_seconds: int = 120,
                   retention_days: int = 35, history_days: int = 7) -> dict[str, Any]:
    """One full pass; returns a small summary for `job_runs`.

    Metric-only SLOs (a Sloth spec, OpenSLO over Prometheus) have no span SLI: they are
    for `inferledger slo rules` and are counted here as skipped, not evaluated.
    """
    skipped = sum(s.sli is None for s in specs)
    specs = [s for s in specs if s.sli is not None]
    sync_definitions(wh, specs, now)
    minutes = sum(update_rollups(wh, s, now, overlap_seconds=overlap_seconds, retention_days=retention_days)
                  for s in specs)
    return record_evaluation(wh, specs, now, minutes, history_days, skipped)


def record_evaluation(wh: Warehouse, specs: list, now: datetime, minutes: int, history_days: int,
                      skipped: int) -> dict:
    """Evaluate the SLOs over their rollups (however they were counted), store state and alert transitions."""
    states = evaluate(wh, specs, now)
    write_states(wh, states, history_days)
    records = alert_transitions(wh, states, now)
    write_alert_records(wh, records)
    return {"slos": len(states), "minutes_rolled_up": minutes,
            "page": sum(s.page for s in states), "ticket": sum(s.ticket for s in states),
            "alert_records": len(records), **({"metric_only_skipped": skipped} if skipped else {})}


@register_job("slo.evaluate", every_seconds=60)
def slo_job(ctx: JobContext) -> dict[str, Any] | str:
    if on_dask(ctx.settings):
        return "on the Dask engine: lake.analyze runs it over the lake"
    cfg = ctx.settings.analytics.slo
    return run_evaluation(ctx.warehouse, load_configured_specs(cfg), ctx.now,
                          overlap_seconds=cfg.rollup_overlap_seconds, retention_days=cfg.rollup_retention_days,
                          history_days=cfg.history_days)
