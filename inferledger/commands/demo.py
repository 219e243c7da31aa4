"""`inferledger demo`: a simulated inference fleet through the real OTel SDK into the warehouse."""

from __future__ import annotations

import time

import click
import httpx
from rich.console import Console
from rich.table import Table

from inferledger.cli import AppContext, local_address, pass_app, running_service_url


@click.command("demo")
@click.option("--days", default=7.0, show_default=True, help="Days of history to backfill.")
@click.option("--live", is_flag=True, help="After the backfill, keep streaming live traffic until Ctrl-C.")
@click.option("--seed", default=7, show_default=True, help="Seed of the simulated fleet.")
@pass_app
def command(app: AppContext, days: float, live: bool, seed: int) -> None:
    """Send a realistic fleet through the OpenTelemetry SDK, run the jobs, print where to look."""
    from inferledger.demo.emit import backfill, stream_live
    from inferledger.service import BackgroundService

    console = Console()
    s = app.settings
    admin_url = f"http://{local_address(s.server.admin)}"
    otlp_url = f"http://{local_address(s.server.otlp_http)}"
    service = None
    if running_service_url(s):
        console.print(f"using the InferLedger service already running at {admin_url}")
    else:
        console.print(f"starting InferLedger on the embedded warehouse [bold]{s.warehouse.path}[/]")
        service = BackgroundService(s).start()
    try:
        started = time.perf_counter()
        report = backfill(otlp_url, days, seed=seed)
        console.print(f"backfilled {days:g} days in {time.perf_counter() - started:.1f} s")
        jobs = httpx.post(f"{admin_url}/admin/jobs/run", timeout=600).json()
        stats = httpx.get(f"{admin_url}/admin/stats", timeout=60).json()
        alerts = httpx.get(f"{admin_url}/admin/alert-records", params={"limit": 20}, timeout=60).json()
        _print_summary(console, report, stats, jobs, alerts, admin_url)
        if live:
            console.print("streaming live traffic; Ctrl-C to stop")
            try:
                stream_live(otlp_url, seed=seed)
            except KeyboardInterrupt:
                pass
    finally:
        if service is not None:
            service.stop()


def _print_summary(console: Console, report, stats: dict, jobs: list, alerts: list, admin_url: str) -> None:
    sent = Table(title="what was sent and what landed")
    sent.add_column("signal")
    sent.add_column("sent", justify="right")
    sent.add_column("landed in the warehouse", justify="right")
    sent.add_row("spans", f"{report.spans_sent:,}", f"{stats['tables']['spans']:,}")
    sent.add_row("GPU metric points", f"{report.gpu_points_sent:,}", f"{stats['tables']['gpu_samples']:,} samples")
    console.print(sent)
    vocab = Table(title="spans by vocabulary")
    vocab.add_column("vocabulary")
    vocab.add_column("sent", justify="right")
    vocab.add_column("landed", justify="right")
    landed = stats["spans_by_vocabulary"]
    for name in sorted(set(report.by_vocabulary) | set(landed)):
        vocab.add_row(name, f"{report.by_vocabulary.get(name, 0):,}", f"{landed.get(name, 0):,}")
    console.print(vocab)
    inc = Table(title="injected incidents (ground truth)")
    for col in ("kind", "start (UTC)", "end (UTC)", "team", "model", "what"):
        inc.add_column(col)
    for i in report.incidents:
        inc.add_row(i.kind, f"{i.start:%Y-%m-%d %H:%M}", f"{i.end:%Y-%m-%d %H:%M}", i.team or "", i.model or "", i.description)
    console.print(inc)
    failed = [j for j in jobs if j["status"] != "ok"]
    console.print(f"jobs run: {len(jobs)} ({len(failed)} failed)" + "".join(f"\n  [red]{j['job']}: {j['error']}[/]" for j in failed))
    if alerts:
        at = Table(title="alert records raised")
        for col in ("source", "severity", "status", "summary"):
            at.add_column(col)
        for a in alerts:
            at.add_row(a["source"], a["severity"], a["status"], a["summary"])
        console.print(at)
    console.print(f"metrics: {admin_url}/metrics   admin API: {admin_url}/admin/stats")
