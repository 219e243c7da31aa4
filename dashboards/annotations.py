"""Alert episodes from `alert_records` as Grafana annotations (one region per episode).

An episode is one (fingerprint, starts_at): the firing record opens it, the resolved
record closes it (`timeEnd`); an open episode ends "now" and is extended on the next
push. Tags carry `inferledger`, the source, the alert name, the severity and
`fingerprint:<fp>`, which is how the push finds the annotation again, and how each
dashboard's annotation query (tags `inferledger` + source) shows the right alerts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from inferledger.analytics.warehouse import Warehouse, utcnow
from inferledger.dashboards.definitions.board import TAG
from inferledger.dashboards.links import dashboard_url


@dataclass(frozen=True)
class Annotation:
    fingerprint: str
    source: str
    alertname: str
    severity: str
    summary: str
    time_ms: int
    time_end_ms: int
    resolved: bool
    link: str

    @property
    def identity_tags(self) -> tuple[str, str]:
        return (TAG, f"fingerprint:{self.fingerprint}")

    @property
    def tags(self) -> list[str]:
        return [TAG, self.source, self.alertname, f"severity:{self.severity}", f"fingerprint:{self.fingerprint}"]

    def payload(self) -> dict:
        """Body of Grafana's POST /api/annotations (organisation-wide, found by tags)."""
        state = "resolved" if self.resolved else "firing"
        text = f"[{state}] {self.alertname}: {self.summary}"
        if self.link:
            text += f' <a href="{self.link}">dashboard</a>'
        return {"time": self.time_ms, "timeEnd": self.time_end_ms, "tags": self.tags, "text": text}


def _ms(ts: datetime) -> int:
    return int(ts.replace(tzinfo=UTC).timestamp() * 1000)


def alert_annotations(wh: Warehouse, *, since_hours: float = 24 * 7, public_url: str = "",
                      now: datetime | None = None) -> list[Annotation]:
    """Episodes that started within `since_hours`, oldest first."""
    now = now or utcnow()
    rows = wh.con.execute(
        """
        SELECT fingerprint, starts_at, arg_max(source, id), arg_max(alertname, id), arg_max(severity, id),
               arg_max(summary, id), bool_or(status = 'resolved'),
               max(coalesce(ends_at, created_at)) FILTER (WHERE status = 'resolved'),
               arg_max(dashboard_url, id), arg_max(labels, id)
        FROM alert_records WHERE starts_at >= ?
        GROUP BY fingerprint, starts_at ORDER BY starts_at, fingerprint
        """,
        [now - timedelta(hours=since_hours)],
    ).fetchall()
    out = []
    for fp, starts, source, name, severity, summary, resolved, ends, url, labels in rows:
        link = url or dashboard_url(source, json.loads(labels) if labels else {}, public_url)
        end = ends if resolved and ends is not None else now
        out.append(Annotation(fp, source, name, severity, summary, _ms(starts), max(_ms(end), _ms(starts)),
                              bool(resolved), link))
    return out
