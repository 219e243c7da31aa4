"""`inferledger alerts list / silence / test RECEIVER` — a thin shell over alerts/.

When the running service holds the warehouse, list and silence go through its
admin API instead (DESIGN.md: one process per DuckDB file).
"""

from __future__ import annotations

import json
from typing import Any

import click

from inferledger.app import local_or_admin
from inferledger.cli import AppContext, pass_app


def _emit(data: Any, as_json: bool, render) -> None:
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
    else:
        render(data)


@click.group("alerts")
def command() -> None:
    """Alert state, silences, delivery, and test notifications."""


@command.command("list")
@click.option("--all", "include_resolved", is_flag=True, help="Include resolved alerts.")
@click.option("--outbox", "outbox_limit", default=10, show_default=True, help="Recent notifications to show.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def list_cmd(app: AppContext, include_resolved: bool, outbox_limit: int, as_json: bool) -> None:
    """Firing and pending alerts, active silences, and the delivery state of each receiver."""
    from inferledger.alerts.overview import overview

    data = local_or_admin(
        app.settings, lambda wh: overview(wh, include_resolved=include_resolved, outbox_limit=outbox_limit),
        "GET", f"/admin/alerts?all={int(include_resolved)}",
    )
    _emit(data, as_json, _render_overview)


def _render_overview(data: dict[str, Any]) -> None:
    import sys

    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 160)  # pipes and files get whole rows
    t = Table(title=f"Alerts ({len(data['alerts'])})")
    for col in ("state", "severity", "alertname", "source", "since", "summary", "fingerprint"):
        t.add_column(col)
    colours = {"firing": "red", "pending": "yellow", "resolved": "green"}
    for a in data["alerts"]:
        state = a["state"] + (" (flapping)" if a["flapping"] else "") + (" (silenced)" if a["silenced_by"] else "")
        t.add_row(f"[{colours.get(a['state'], 'white')}]{state}[/]", a["severity"], a["alertname"], a["source"],
                  a["starts_at"], a["summary"], a["fingerprint"])
    console.print(t)
    if data["silences"]:
        s = Table(title="Silences")
        for col in ("id", "state", "matchers", "ends_at", "created_by", "comment"):
            s.add_column(col)
        for x in data["silences"]:
            s.add_row(x["id"], x["state"], ", ".join(x["matchers"]), x["ends_at"], x["created_by"], x["comment"])
        console.print(s)
    d = Table(title="Delivery by receiver")
    for col in ("receiver", "pending", "delivered", "failed", "oldest pending (s)"):
        d.add_column(col)
    for name, v in sorted(data["delivery"].items()):
        d.add_row(name, str(v["pending"]), str(v["delivered"]), str(v["failed"]), f"{v['oldest_pending_seconds']:.0f}")
    console.print(d)
    if data["outbox"]:
        o = Table(title="Recent notifications")
        for col in ("id", "receiver", "status", "state", "attempts", "next attempt", "last error"):
            o.add_column(col)
        for r in data["outbox"]:
            o.add_row(str(r["id"]), r["receiver"], r["status"], r["state"], str(r["attempts"]),
                      r["next_attempt_at"] if r["state"] == "pending" else "", (r["last_error"] or "")[:80])
        console.print(o)


@command.group("silence")
def silence() -> None:
    """Create, list and expire silences (label matchers: = != =~ !~)."""


@silence.command("create")
@click.option("-m", "--match", "matchers", multiple=True, required=True,
              help="Label matcher, e.g. -m alertname=HighBurn -m 'team=~ml|search'. Repeatable.")
@click.option("--duration", default="1h", show_default=True, help="How long, e.g. 30m, 2h, 1d.")
@click.option("--author", default="", help="Who silences (default: $USER).")
@click.option("--comment", required=True, help="Why.")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def silence_create(app: AppContext, matchers: tuple[str, ...], duration: str, author: str, comment: str,
                   as_json: bool) -> None:
    import getpass

    from inferledger.alerts.silences import create_silence, parse_duration, parse_matcher
    from inferledger.analytics.warehouse import utcnow

    author = author or getpass.getuser()
    try:
        parsed = [parse_matcher(m) for m in matchers]
        dur = parse_duration(duration)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc

    def local(wh):
        try:
            return create_silence(wh, parsed, duration=dur, created_by=author, comment=comment).to_json(utcnow())
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc

    data = local_or_admin(app.settings, local, "POST", "/admin/alerts/silences",
                           {"matchers": list(matchers), "duration": duration, "created_by": author,
                            "comment": comment})
    _emit(data, as_json, lambda d: click.echo(f"silence {d['id']} until {d['ends_at']}: {', '.join(d['matchers'])}"))


@silence.command("list")
@click.option("--all", "include_expired", is_flag=True, help="Include expired silences.")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def silence_list(app: AppContext, include_expired: bool, as_json: bool) -> None:
    from inferledger.alerts.silences import list_silences
    from inferledger.analytics.warehouse import utcnow

    data = local_or_admin(
        app.settings, lambda wh: [s.to_json(utcnow()) for s in list_silences(wh, include_expired=include_expired)],
        "GET", f"/admin/alerts/silences?all={int(include_expired)}",
    )

    def render(rows):
        if not rows:
            click.echo("no silences")
        for s in rows:
            click.echo(f"{s['id']}  {s['state']:8} until {s['ends_at']}  {', '.join(s['matchers'])}"
                       f"  — {s['created_by']}: {s['comment']}")

    _emit(data, as_json, render)


@silence.command("expire")
@click.argument("silence_id")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def silence_expire(app: AppContext, silence_id: str, as_json: bool) -> None:
    from inferledger.alerts.silences import expire_silence
    from inferledger.analytics.warehouse import utcnow

    def local(wh):
        try:
            return expire_silence(wh, silence_id).to_json(utcnow())
        except (KeyError, ValueError) as exc:
            raise click.ClickException(str(exc.args[0])) from exc

    data = local_or_admin(app.settings, local, "DELETE", f"/admin/alerts/silences/{silence_id}")
    _emit(data, as_json, lambda d: click.echo(f"silence {d['id']} expired at {d['ends_at']}"))


@command.command("test")
@click.argument("receiver")
@click.option("--resolve", is_flag=True, help="Also send the matching resolve.")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def test_cmd(app: AppContext, receiver: str, resolve: bool, as_json: bool) -> None:
    """Send a test notification to RECEIVER now (no outbox, no warehouse)."""
    from inferledger.alerts.delivery import send_now
    from inferledger.alerts.notifiers import DeliveryError
    from inferledger.alerts.testing import make_test_notification

    try:
        rcv = app.settings.alerts.receiver(receiver)
    except KeyError as exc:
        raise click.ClickException(str(exc.args[0])) from exc
    results = []
    for status in ("firing", "resolved") if resolve else ("firing",):
        try:
            code = send_now(rcv, make_test_notification(rcv.name, status))
            results.append({"receiver": rcv.name, "type": rcv.type, "status": status, "ok": True, "http_status": code})
        except DeliveryError as exc:
            results.append({"receiver": rcv.name, "type": rcv.type, "status": status, "ok": False,
                            "http_status": exc.status_code, "error": str(exc)})
    _emit(results, as_json, lambda rows: [click.echo(
        f"{r['receiver']} ({r['type']}) {r['status']}: " + ("ok" if r["ok"] else f"FAILED: {r['error']}"))
        for r in rows])
    if not all(r["ok"] for r in results):
        raise SystemExit(1)
