"""Grouping alarms into incidents: related series close in time page once, unrelated ones apart."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from inferledger.analytics.anomaly.incidents import group_incidents

T = datetime(2026, 3, 2, 10)
GAP = timedelta(minutes=30)


@dataclass
class A:
    metric: str
    labels: dict
    bucket_start: datetime
    score: float
    bucket_seconds: int = 300
    moved: tuple | None = None   # (dimension, value) its explanation named


def test_a_team_spike_across_spend_tokens_and_models_is_one_incident():
    alarms = [A("spend_5m", {"team": "search"}, T, 0.9), A("spend_5m", {}, T + timedelta(minutes=5), 0.7),
              A("tokens_1m", {"model": "gpt-4o"}, T + timedelta(minutes=3), 0.8, 60),
              A("spend_5m", {"model": "claude"}, T + timedelta(minutes=20), 0.6)]
    (inc,) = group_incidents(alarms, GAP)
    assert inc.family == "cost" and inc.top.labels == {"team": "search"} and len(inc.members) == 4
    assert [m.score for m in inc.members] == [0.9, 0.8, 0.7, 0.6]
    assert inc.start == T and inc.labels == {"incident": "cost", "started": "2026-03-02T10:00Z"}


def test_separate_times_families_and_models_are_separate_incidents():
    alarms = [A("spend_5m", {}, T, 0.6), A("spend_5m", {}, T + timedelta(hours=2), 0.95),
              A("latency_p95_5m", {"model": "a"}, T, 0.7), A("error_rate_5m", {"model": "a"}, T + timedelta(minutes=10), 0.8),
              A("latency_p95_5m", {"model": "b"}, T, 0.65)]
    incs = group_incidents(alarms, GAP)
    assert [(i.family, i.scope, len(i.members)) for i in incs] == [
        ("cost", "", 1), ("performance", "a", 2), ("performance", "b", 1), ("cost", "", 1)]  # most unusual first
    assert incs[1].labels["model"] == "a" and incs[1].top.metric == "error_rate_5m"


def test_chained_alarms_within_the_gap_stay_one_incident():
    alarms = [A("spend_5m", {}, T + timedelta(minutes=25 * k), 0.6) for k in range(5)]
    (inc,) = group_incidents(alarms, GAP)
    assert inc.end == T + timedelta(minutes=105)


def test_related_alarms_join_an_incident_while_its_alert_still_fires():
    """A latency regression: the p95 alarm, then error-rate alarms 45 minutes later. With the
    default settings the grouping window is the alert's resolve time (60 min), not the 30 min gap."""
    from inferledger.analytics.anomaly.settings import AnomalySettings

    cfg = AnomalySettings()
    alarms = [A("latency_p95_5m", {"model": "m"}, T, 0.6),
              A("error_rate_5m", {"model": "m"}, T + timedelta(minutes=50), 0.9),
              A("error_rate_5m", {"model": "m"}, T + timedelta(minutes=55), 0.8)]
    assert len(group_incidents(alarms, timedelta(minutes=cfg.incident_gap_minutes))) == 2
    assert cfg.grouping_minutes == cfg.resolve_after_minutes == 60
    (inc,) = group_incidents(alarms, timedelta(minutes=cfg.grouping_minutes))
    assert inc.start == T and inc.top.metric == "error_rate_5m" and len(inc.members) == 3
    # an alarm after the alert resolved is a new incident
    later = alarms + [A("error_rate_5m", {"model": "m"}, T + timedelta(minutes=60 + 5 + 61), 0.7)]
    assert len(group_incidents(later, timedelta(minutes=cfg.grouping_minutes))) == 2
    assert AnomalySettings(incident_gap_minutes=90).grouping_minutes == 90


def test_a_models_latency_moved_by_a_teams_concurrent_cost_spike_joins_its_incident():
    """A batch job's retry loop with long outputs: growth's spend jumps, and gpt-4o's p95 with it."""
    cost = [A("spend_5m", {"team": "growth"}, T, 0.8, moved=("model", "gpt-4o-2024-08-06")),
            A("spend_1h", {"feature": "campaign-copy"}, T - timedelta(minutes=20), 0.9, 3600, ("team", "growth"))]
    latency = A("latency_p95_5m", {"model": "gpt-4o"}, T, 0.67, moved=("team", "growth"))
    (inc,) = group_incidents([*cost, latency], GAP)
    assert inc.family == "cost" and len(inc.members) == 3 and inc.top.metric == "spend_1h"
    # the spend speaks for the incident even where the latency it caused was more unusual
    louder = A("latency_p95_5m", {"model": "gpt-4o"}, T, 0.99, moved=("team", "growth"))
    (inc,) = group_incidents([*cost, louder], GAP)
    assert [m.metric for m in inc.members] == ["spend_1h", "spend_5m", "latency_p95_5m"] and inc.score == 0.9
    # another team's latency, or the same team's hours later, stays its own incident
    other = A("latency_p95_5m", {"model": "gpt-4o"}, T, 0.67, moved=("team", "search"))
    later = A("latency_p95_5m", {"model": "gpt-4o"}, T + timedelta(hours=3), 0.67, moved=("team", "growth"))
    unexplained = A("latency_p95_5m", {"model": "gpt-4o"}, T, 0.67)
    for alone in (other, later, unexplained):
        incs = group_incidents([*cost, alone], GAP)
        assert sorted((i.family, len(i.members)) for i in incs) == [("cost", 2), ("performance", 1)]
