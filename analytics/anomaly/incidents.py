"""Alarms on one incident grouped into one page.

A team's spend spike alarms its spend series, the total, its tokens and the models it
used, all within minutes: that is one incident, not six pages. Alarms are related when
they belong to the same family (cost and tokens are one additive family; latency and
error rate are grouped per model; GPU series per pool) and follow each other with no
more than `gap` between them (single linkage in time). Within an incident the members
of its own family are ranked first, by score (how unusual), and the top one speaks for it.

A team's traffic also moves the latency of the models it calls: a batch job's retry
loop with long outputs raises its spend and its model's p95 in the same minutes. So an
incident of another family whose alarms were explained by a dimension value (the
latency moved most for team=growth) joins a cost incident that overlaps it in time
(within `gap`) and carries that value, as a series label or as what moved its own
alarms; the cost incident speaks for both, however unusual the joined latency was (the
page names the spend that caused it, and lists the latency among its series).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

FAMILIES = {"spend_5m": "cost", "spend_1h": "cost", "tokens_1m": "cost", "gpu_idle_cost_1h": "gpu",
            "gpu_util_5m": "gpu", "latency_p95_5m": "performance", "error_rate_5m": "performance"}
# the label that separates unrelated incidents of a family (two models' latency are two incidents)
SCOPE_LABEL = {"cost": None, "performance": "model", "gpu": "pool"}
# series whose fall is good news (faster, fewer failures): stored and listed, never paged
PAGED_ON_RISE_ONLY = frozenset({"latency_p95_5m", "error_rate_5m"})


def pages_in_its_direction(metric: str, observed: float, expected: float) -> bool:
    """False for a fall of a series where only a rise is an incident (a p95 that got faster)."""
    return metric not in PAGED_ON_RISE_ONLY or not observed < expected


class Alarm(Protocol):
    metric: str
    labels: dict[str, str]
    bucket_start: datetime
    bucket_seconds: int
    score: float
    # (dimension, value) that moved most in the alarm's bucket (its explanation), if known
    moved: tuple[str, str] | None


@dataclass
class Incident:
    family: str
    scope: str                     # the scope label's value ("" for the cost family)
    members: list = field(default_factory=list)   # its own family's first, each part by score, highest first

    @property
    def start(self) -> datetime:
        return min(m.bucket_start for m in self.members)

    @property
    def end(self) -> datetime:
        return max(m.bucket_start + timedelta(seconds=m.bucket_seconds) for m in self.members)

    @property
    def top(self):
        return self.members[0]

    @property
    def score(self) -> float:
        return float(self.members[0].score)

    @property
    def labels(self) -> dict[str, str]:
        """Alert labels: stable for the incident's life (its family, scope and start)."""
        out = {"incident": self.family, "started": self.start.strftime("%Y-%m-%dT%H:%MZ")}
        if self.scope:
            out[SCOPE_LABEL[self.family]] = self.scope
        return out


def family_of(metric: str) -> str:
    return FAMILIES.get(metric, metric)


def group_incidents(alarms: list, gap: timedelta) -> list[Incident]:
    """Incidents of `alarms`, most unusual first; every alarm is in exactly one."""
    by_key: dict[tuple[str, str], list] = {}
    for a in alarms:
        fam = family_of(a.metric)
        label = SCOPE_LABEL.get(fam)
        scope = a.labels.get(label, "") if label else ""
        by_key.setdefault((fam, scope), []).append(a)
    out: list[Incident] = []
    for (fam, scope), items in sorted(by_key.items()):
        items.sort(key=lambda a: a.bucket_start)
        current: Incident | None = None
        end = None
        for a in items:
            a_end = a.bucket_start + timedelta(seconds=a.bucket_seconds)
            if current is None or a.bucket_start > end + gap:
                current = Incident(fam, scope)
                out.append(current)
                end = a_end
            current.members.append(a)
            end = max(end, a_end)
    out = _join_cost_incidents(out, gap)
    for inc in out:
        inc.members.sort(key=lambda a: (family_of(a.metric) != inc.family, -a.score, a.bucket_start))
    out.sort(key=lambda i: (-i.score, i.start))
    return out


def _carried(inc: Incident) -> set[tuple[str, str]]:
    """The (dimension, value) pairs an incident is about: its series' labels and what moved them."""
    pairs = {kv for m in inc.members for kv in m.labels.items()}
    return pairs | {m.moved for m in inc.members if m.moved is not None}


def _join_cost_incidents(incidents: list[Incident], gap: timedelta) -> list[Incident]:
    """Incidents of other families explained by a value a concurrent cost incident carries, moved into it."""
    costs = [i for i in incidents if i.family == "cost"]
    if not costs:
        return incidents
    carried = [_carried(c) for c in costs]
    kept = []
    for inc in incidents:
        moved = {m.moved for m in inc.members if m.moved is not None} if inc.family != "cost" else set()
        into = next((c for c, pairs in zip(costs, carried)
                     if moved & pairs and inc.start <= c.end + gap and inc.end >= c.start - gap), None)
        if into is None:
            kept.append(inc)
        else:
            into.members.extend(inc.members)
    return kept
