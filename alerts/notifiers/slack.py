"""Slack incoming webhook with Block Kit.

Incoming webhooks cannot edit a message they posted, so a resolve is its own
message that names the same alerts and says they are over (the "update").
Limits from Slack's Block Kit reference are enforced here: header text 150
characters, section text 3000, at most 10 fields, 50 blocks, button text 75.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from inferledger.alerts.model import Alert, Notification
from inferledger.alerts.notifiers.base import encode, post
from inferledger.alerts.settings import ReceiverSettings

MAX_ALERT_SECTIONS = 10
SEVERITY_EMOJI = {"page": ":rotating_light:", "ticket": ":warning:", "info": ":information_source:"}


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _values(a: Alert) -> str:
    if not a.values:
        return ""
    parts = [f"{k}={json.dumps(v, default=str) if not isinstance(v, (int, float, str)) else v}"
             for k, v in a.values.items()]
    return "`" + "  ".join(parts) + "`"


def _alert_section(a: Alert) -> dict[str, Any]:
    mark = ":red_circle:" if a.status == "firing" else ":large_green_circle:"
    lines = [f"{mark} *{a.summary}*"]
    if a.description:
        lines.append(a.description)
    if a.values:
        lines.append(_values(a))
    when = f"since {a.starts_at:%Y-%m-%d %H:%M} UTC"
    if a.status == "resolved" and a.ends_at:
        when = f"{a.starts_at:%Y-%m-%d %H:%M} – {a.ends_at:%H:%M} UTC"
    lines.append(f"_{when}_")
    return {"type": "section", "text": {"type": "mrkdwn", "text": _clip("\n".join(lines), 3000)}}


def render(note: Notification) -> dict[str, Any]:
    """The JSON body Slack's incoming webhook expects: fallback `text` plus `blocks`."""
    firing, resolved = note.firing, note.resolved
    first = (firing or resolved or note.alerts)[0]
    state = f"FIRING ({len(firing)})" if firing else "RESOLVED"
    sev = note.top_severity
    title = _clip(f"{state}: {first.alertname}", 150)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title, "emoji": True}},
        {"type": "section", "fields": [
            {"type": "mrkdwn", "text": f"*Severity*\n{SEVERITY_EMOJI.get(sev, '')} {sev}"},
            {"type": "mrkdwn", "text": f"*Status*\n{'firing' if firing else 'resolved'}"},
            {"type": "mrkdwn", "text": f"*Source*\n{first.source}"},
            {"type": "mrkdwn", "text": f"*Alerts*\n{len(firing)} firing, {len(resolved)} resolved"},
        ]},
        {"type": "divider"},
    ]
    shown = note.alerts[:MAX_ALERT_SECTIONS]
    blocks += [_alert_section(a) for a in shown]
    if len(note.alerts) > len(shown):
        blocks.append({"type": "context", "elements": [
            {"type": "mrkdwn", "text": f"…and {len(note.alerts) - len(shown)} more"}]})
    buttons = []
    for label, url in (("Runbook", first.runbook_url), ("Dashboard", first.dashboard_url)):
        if url:
            buttons.append({"type": "button", "action_id": f"open_{label.lower()}",
                            "text": {"type": "plain_text", "text": label}, "url": url[:3000]})
    if buttons:
        blocks.append({"type": "actions", "elements": buttons})
    group = ", ".join(f"{k}={v}" for k, v in note.group_labels.items())
    blocks.append({"type": "context", "elements": [
        {"type": "mrkdwn", "text": _clip(f"InferLedger · {group} · {note.idempotency_key[:8]}", 3000)}]})
    fallback = f"[{state}] {first.alertname} ({sev}): {first.summary}"
    return {"text": _clip(fallback, 3000), "blocks": blocks[:50]}


def send(receiver: ReceiverSettings, note: Notification, client: httpx.Client) -> int:
    return post(client, receiver, receiver.url, encode(render(note)))
