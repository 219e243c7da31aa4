"""The incidents the demo injects, at known times that the demo's findings can point at.

They sit near the end of the window (the last day and a half of a backfill) so
that the jobs that run right after the backfill see them as fresh: the drift
starts first and stays, the latency regression comes next, the cost spike last.
Shorter windows shrink the offsets proportionally so every incident still fits.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

LATENCY_REGRESSION = "latency_regression"
COST_SPIKE = "cost_spike"
PROMPT_LENGTH_DRIFT = "prompt_length_drift"


@dataclass(frozen=True)
class Incident:
    """One injected incident. Times are naive UTC; `end` is exclusive.

    A prompt-length drift is a lasting level shift: the simulation keeps it after
    `end`, which only marks where the reported window stops (live traffic that
    follows a backfill still carries it).
    """

    kind: str
    start: datetime
    end: datetime
    team: str | None
    model: str | None
    feature: str | None
    description: str
    factor: float = 1.0            # the multiplier applied (latency, traffic or input tokens)
    service: str | None = None

    def active(self, t: datetime) -> bool:
        if self.kind == PROMPT_LENGTH_DRIFT:
            return t >= self.start
        return self.start <= t < self.end

    def to_dict(self) -> dict:
        return {
            "kind": self.kind, "start": self.start.isoformat(), "end": self.end.isoformat(),
            "team": self.team, "model": self.model, "feature": self.feature, "service": self.service,
            "factor": self.factor, "description": self.description,
        }


@dataclass(frozen=True)
class IncidentTargets:
    """Who each incident hits and how hard; part of FleetSpec."""

    latency_model: str = "meta-llama/Llama-3.1-70B-Instruct"
    latency_factor: float = 3.0
    latency_hours: float = 2.0
    latency_hours_before_end: float = 20.0
    spike_team: str = "growth"
    spike_feature: str = "campaign-copy"
    spike_model: str = "gpt-4o"
    spike_traffic_factor: float = 8.0
    spike_output_factor: float = 3.0
    spike_hours: float = 1.0
    spike_hours_before_end: float = 8.0
    drift_team: str = "support"
    drift_feature: str = "ticket-summary"
    drift_service: str = "support-assistant"
    drift_model: str = "claude-sonnet-4-5"
    drift_input_factor: float = 2.5
    drift_hours_before_end: float = 36.0


def _minute(t: datetime) -> datetime:
    return t.replace(second=0, microsecond=0)


def incidents_for(start: datetime, end: datetime, seed: int = 7,
                  targets: IncidentTargets | None = None) -> list[Incident]:
    """The incidents of a window [start, end), ordered by start.

    The seed moves each incident by up to half an hour (less in short windows)
    so that different seeds do not line up exactly; the same seed always gives
    the same times.
    """
    if end <= start:
        raise ValueError(f"incident window is empty: start {start} is not before end {end}")
    tg = targets or IncidentTargets()
    window_h = (end - start).total_seconds() / 3600.0
    rng = random.Random(f"incidents:{seed}")
    jitter_h = min(0.5, 0.02 * window_h)

    def place(hours_before_end: float, share: float, hours: float, hours_share: float):
        before = min(hours_before_end, share * window_h) + rng.uniform(-jitter_h, jitter_h)
        begin = _minute(end - timedelta(hours=before))
        length = timedelta(hours=min(hours, hours_share * window_h))
        begin = max(begin, _minute(start) + timedelta(minutes=1))
        return begin, min(begin + max(length, timedelta(minutes=1)), end)

    d0, _ = place(tg.drift_hours_before_end, 0.45, 0.0, 0.0)
    l0, l1 = place(tg.latency_hours_before_end, 0.30, tg.latency_hours, 0.10)
    s0, s1 = place(tg.spike_hours_before_end, 0.15, tg.spike_hours, 0.06)
    return [
        Incident(PROMPT_LENGTH_DRIFT, d0, end, tg.drift_team, tg.drift_model, tg.drift_feature,
                 f"input tokens of {tg.drift_service} x {tg.drift_model} ({tg.drift_team}/{tg.drift_feature}) "
                 f"shift up {tg.drift_input_factor:g}x from {d0:%Y-%m-%d %H:%M} UTC on (lasting)",
                 factor=tg.drift_input_factor, service=tg.drift_service),
        Incident(LATENCY_REGRESSION, l0, l1, None, tg.latency_model, None,
                 f"latency and time to first token of {tg.latency_model} x{tg.latency_factor:g} for every "
                 f"caller, {l0:%Y-%m-%d %H:%M}-{l1:%H:%M} UTC (a bad serving rollout)",
                 factor=tg.latency_factor),
        Incident(COST_SPIKE, s0, s1, tg.spike_team, tg.spike_model, tg.spike_feature,
                 f"{tg.spike_team}/{tg.spike_feature} on {tg.spike_model}: {tg.spike_traffic_factor:g}x traffic "
                 f"and {tg.spike_output_factor:g}x longer outputs, {s0:%Y-%m-%d %H:%M}-{s1:%H:%M} UTC "
                 f"(a retry loop in a batch job)",
                 factor=tg.spike_traffic_factor),
    ]
