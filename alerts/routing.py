"""Routing: a tree of label matchers to receivers, evaluated as Alertmanager does.

At each level the first matching route wins (unless it sets `continue_matching`);
a matching route hands the alert to the first of its children that matches, and
keeps it when none does. A route without matchers matches everything, so a last
matcher-less route is the default. Timing and `group_by` are inherited downward.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from inferledger.alerts.settings import AlertSettings, RouteSettings


@dataclass(frozen=True)
class GroupTiming:
    group_by: tuple[str, ...]
    group_wait: float
    group_interval: float
    repeat_interval: float


@dataclass(frozen=True)
class Route:
    path: str  # "0", "0.1": position in the tree, part of the group key
    receiver: str
    match: tuple[tuple[str, str], ...]
    match_re: tuple[tuple[str, re.Pattern], ...]
    timing: GroupTiming
    continue_matching: bool
    children: tuple[Route, ...]

    def matches(self, labels: dict[str, str]) -> bool:
        return all(labels.get(k, "") == v for k, v in self.match) and all(
            p.fullmatch(labels.get(k, "")) is not None for k, p in self.match_re
        )


def root_timing(cfg: AlertSettings) -> GroupTiming:
    """The [alerts] timing: what routes inherit, and what unrouted alerts use."""
    return GroupTiming(tuple(cfg.group_by), cfg.group_wait, cfg.group_interval, cfg.repeat_interval)


def build_routes(cfg: AlertSettings) -> tuple[Route, ...]:
    root = root_timing(cfg)
    return tuple(_build(r, f"{i}", root) for i, r in enumerate(cfg.routes))


def _build(rs: RouteSettings, path: str, parent: GroupTiming) -> Route:
    timing = GroupTiming(
        tuple(rs.group_by) if rs.group_by is not None else parent.group_by,
        rs.group_wait if rs.group_wait is not None else parent.group_wait,
        rs.group_interval if rs.group_interval is not None else parent.group_interval,
        rs.repeat_interval if rs.repeat_interval is not None else parent.repeat_interval,
    )
    return Route(
        path=path, receiver=rs.receiver, match=tuple(sorted(rs.match.items())),
        match_re=tuple((k, re.compile(v)) for k, v in sorted(rs.match_re.items())),
        timing=timing, continue_matching=rs.continue_matching,
        children=tuple(_build(c, f"{path}.{j}", timing) for j, c in enumerate(rs.routes)),
    )


def match_routes(labels: dict[str, str], routes: tuple[Route, ...]) -> list[Route]:
    """The routes (leaves of the walk) an alert with these labels goes to; [] when none."""
    out: list[Route] = []
    for route in routes:
        if not route.matches(labels):
            continue
        deeper = match_routes(labels, route.children)
        out.extend(deeper or [route])
        if not route.continue_matching:
            break
    return out


def group_labels(labels: dict[str, str], group_by: tuple[str, ...]) -> dict[str, str]:
    """The labels that name the group; `...` groups by every label (one alert per group)."""
    if "..." in group_by:
        return dict(sorted(labels.items()))
    return {k: labels.get(k, "") for k in group_by}
