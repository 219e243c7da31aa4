"""`inferledger demo`: a simulated inference fleet through the real OTel SDK into the warehouse.

It starts the service on the embedded warehouse unless one already runs, backfills
N days through the OTLP exporters, runs every analytics job once, lets the alert
pipeline deliver to a local webhook receiver it starts, and prints what was sent,
what landed, what the jobs found and where to look.
"""

from __future__ import annotations

import shlex
import sys
import time
from datetime import timedelta
from pathlib import Path

import click
import httpx
from rich.console import Console
from rich.table import Table

from inferledger.app import admin_headers, probe_service, warehouse_path
from inferledger.cli import AppContext, local_address, pass_app
from inferledger.config import ConfigError, with_overrides

# Alert delivery runs last, after every job that raises alert records.
ALERT_JOBS = ("alerts.pipeline",)
SKIPPED_JOBS = ("alerts.prune", "warehouse.retention")


@click.command("demo")
@click.option("--days", default=7.0, show_default=True, help="Days of history to backfill.")
@click.option("--live", is_flag=True, help="After the backfill, keep streaming live traffic until Ctrl-C.")
@click.option("--seed", default=7, show_default=True, help="Seed of the simulated fleet.")
@click.option("--scale", default=1.0, show_default=True, help="Traffic multiplier (1.0 is about 23k spans a day).")
@click.option("--out", "out_dir", default="demo-out", show_default=True, type=click.Path(file_okay=False),
              help="Where the Grafana provisioning files are written.")
@pass_app
def command(app: AppContext, days: float, live: bool, seed: int, scale: float, out_dir: str) -> None:
    """Send a realistic fleet through the OpenTelemetry SDK, run the jobs, print where to look."""
    from inferledger.analytics.warehouse import utcnow
    from inferledger.dashboards.provisioning import export as export_provisioning
    from inferledger.demo.emit import backfill, stream_live
    from inferledger.demo.finops import demo_cost_config
    from inferledger.demo.receiver import demo_alert_config, describe, start_demo_receiver
    from inferledger.demo.spec import FleetSpec
    from inferledger.service import BackgroundService

    console = Console(width=max(Console().width, 120))
    s = app.settings
    admin_url = f"http://{local_address(s.server.admin)}"
    otlp_url = f"http://{local_address(s.server.otlp_http)}"
    service = None
    received: list = []
    stop_receiver = None
    now = utcnow()
    since = now - timedelta(days=days)
    held = probe_service(s)
    if held is not None and not held.holds(warehouse_path(s)):
        raise click.ClickException(
            f"{held.describe()}, not {warehouse_path(s)}: the demo does not send into another warehouse. "
            f"Run the demo with --db {held.path or 'FILE'} to add to that one, stop that service, or give the demo "
            "free ports (INFERLEDGER_SERVER__ADMIN, __OTLP_HTTP, __OTLP_GRPC)."
        )
    if held is not None:
        console.print(f"using the InferLedger service already running at {admin_url} on {held.path} "
                      "(its own alert routes apply)")
    else:
        from inferledger.analytics.warehouse import WarehouseLockedError
        from inferledger.app import locked_message

        receiver_url, received, stop_receiver = start_demo_receiver()
        s = with_overrides(s, {**demo_alert_config(receiver_url), "analytics.slo.include_demo_specs": True,
                               **demo_cost_config(FleetSpec().scaled(scale), since)})
        console.print(f"starting InferLedger on the embedded warehouse [bold]{s.warehouse.path}[/]; "
                      f"alerts go to a local webhook receiver at {receiver_url}")
        try:
            service = BackgroundService(s, run_scheduler=live).start()
        except WarehouseLockedError as exc:
            stop_receiver()
            raise click.ClickException(locked_message(s, exc)) from exc
        except ConfigError as exc:
            stop_receiver()
            raise click.ClickException(f"configuration: {exc}") from exc
        except OSError as exc:  # an address in use: say which, and how to move
            stop_receiver()
            raise click.ClickException(f"{exc} (set INFERLEDGER_SERVER__OTLP_HTTP / __OTLP_GRPC / __ADMIN to free ports)") from exc
    try:
        started = time.perf_counter()
        report = backfill(otlp_url, days, seed=seed, scale=scale, now=now)
        console.print(f"backfilled {days:g} days in {time.perf_counter() - started:.1f} s")
        hdr = admin_headers(s)
        if service is not None:
            _add_spike_budget(admin_url, service, s, report, now, console, hdr)
        jobs = _run_jobs(admin_url, console, hdr)
        stats = httpx.get(f"{admin_url}/admin/stats", timeout=60, headers=hdr).json()
        records = httpx.get(f"{admin_url}/admin/alert-records", params={"limit": 500}, timeout=60, headers=hdr).json()
        provisioning = export_provisioning(Path(out_dir) / "grafana", s.dashboards.grafana)
        month = f"{report.incidents[0].start:%Y-%m}" if report.incidents else f"{time.gmtime().tm_year}-{time.gmtime().tm_mon:02d}"
        showback = httpx.post(f"{admin_url}/admin/cost/showback", timeout=900, headers=hdr,
                              json={"month": month, "out": str(Path(out_dir).resolve() / "showback" / month)}).json()
        months = sorted({f"{since:%Y-%m}", f"{now:%Y-%m}"})
        reconciliation = [httpx.get(f"{admin_url}/admin/cost/reconcile", params={"month": m}, timeout=900, headers=hdr).json()
                          for m in months]
        budgets = httpx.get(f"{admin_url}/admin/cost/budgets", timeout=60, headers=hdr).json()
        anomalies = httpx.get(f"{admin_url}/admin/anomaly/list", params={"hours": int(days * 24) + 1}, timeout=60, headers=hdr).json()
        slos = httpx.get(f"{admin_url}/admin/slo/status", timeout=60, headers=hdr).json().get("slos", [])
        _print_summary(console, report, stats, jobs, records)
        _print_findings(console, report.incidents, anomalies, records)
        _print_slos(console, slos)
        _print_costs(console, showback)
        _print_finops(console, reconciliation, budgets)
        if received:
            console.print("[bold]notifications received by the demo webhook:[/]")
            for req in received:
                console.print(describe(req))
        console.print(
            f"\nmetrics: {admin_url}/metrics   admin API: {admin_url}/admin/stats\n"
            f"Grafana provisioning: {Path(out_dir) / 'grafana'} ({len(provisioning.get('dashboards', []))} dashboards)\n"
            f"showback for {month}: {_html_file(showback)}\n"
            f"next (after the demo exits):\n{_next_commands(s.warehouse.path, int(days * 24), month)}",
            soft_wrap=True, markup=False, highlight=False,  # commands to paste: never wrapped or styled
        )
        if live:
            console.print("streaming live traffic; Ctrl-C to stop")
            try:
                stream_live(otlp_url, seed=seed, scale=scale, after=report)
            except KeyboardInterrupt:
                pass
    finally:
        if service is not None:
            service.stop()
        if stop_receiver is not None:
            stop_receiver()


def cli_invocation() -> str:
    """How to call this CLI so that a pasted command works: .venv/bin/inferledger after `make demo`."""
    script = Path(sys.executable).parent / "inferledger"
    if not script.exists():
        return f"{shlex.quote(sys.executable)} -m inferledger"
    try:
        return shlex.quote(str(script.relative_to(Path.cwd())))
    except ValueError:
        return shlex.quote(str(script))


def _next_commands(db: str, hours: int, month: str) -> str:
    cli = f"{cli_invocation()} --db {shlex.quote(db)}"
    return (f"  INFERLEDGER_ANALYTICS__SLO__INCLUDE_DEMO_SPECS=true {cli} slo replay --hours {hours}\n"
            f"  {cli} prices check\n"
            f"  {cli} anomaly list --hours {hours}\n"
            f"  {cli} report showback --month {month}")


def _add_spike_budget(admin_url: str, service, s, report, now, console: Console, hdr: dict[str, str]) -> None:
    """Price the backfill, then give the spike's team a budget that the spike breaches (see demo.finops)."""
    from inferledger.analytics.cost.settings import Budget
    from inferledger.demo.finops import spike_budget

    spike = next((i for i in report.incidents if i.kind == "cost_spike" and i.team), None)
    if spike is None:
        return
    httpx.post(f"{admin_url}/admin/jobs/run", params={"name": "cost.update"}, json={}, headers=hdr, timeout=900)
    con = service.service.state.warehouse.cursor()
    try:
        monthly = spike_budget(con, spike.team, spike.start, spike.end, now)
    finally:
        con.close()
    if monthly is not None:
        # the running service reads its budgets from this settings object at each budget run
        s.analytics.cost.budgets.append(Budget(team=spike.team, monthly=monthly))
        console.print(f"budget: {spike.team} {monthly:,.2f} {s.analytics.cost.currency} a month "
                      f"(its cost spike at {spike.start:%m-%d %H:%M} takes it over)")


def _run_jobs(admin_url: str, console: Console, hdr: dict[str, str]) -> list[dict]:
    names = [j["name"] for j in httpx.get(f"{admin_url}/admin/jobs", timeout=30, headers=hdr).json()]
    analysis = [n for n in names if n not in ALERT_JOBS + SKIPPED_JOBS]
    results = []
    with console.status("running the analytics jobs…"):
        for name in analysis:
            results += httpx.post(f"{admin_url}/admin/jobs/run", params={"name": name}, json={}, headers=hdr, timeout=900).json()
        # Twice: the first pass opens alert groups (group_wait 0), the second delivers.
        for _ in range(2):
            for name in ALERT_JOBS:
                if name in names:
                    results += httpx.post(f"{admin_url}/admin/jobs/run", params={"name": name}, json={}, headers=hdr, timeout=300).json()
            time.sleep(1)
    return results


def _html_file(showback: dict) -> str:
    files = showback.get("files") or {}
    paths = files.values() if isinstance(files, dict) else files
    return next((str(p) for p in paths if str(p).endswith(".html")), "(not written)")


def _print_costs(console: Console, showback: dict) -> None:
    if "teams" not in showback:
        console.print(f"[red]showback failed: {showback.get('error', showback)}[/]")
        return
    table = Table(title=f"spend by team, {showback['month']} ({showback['currency']}), from the showback")
    for col in ("team", "total", "GPU allocated", "GPU idle", "unpriced spans"):
        table.add_column(col, justify="right" if col != "team" else "left")
    for t in sorted(showback["teams"], key=lambda t: -float(t["total"])):
        table.add_row(t["team"], f"{float(t['total']):,.2f}", f"{float(t['gpu_allocated']):,.2f}",
                      f"{float(t['gpu_idle']):,.2f}", str(t["unpriced_spans"]))
    table.add_row("[bold]all[/]", f"[bold]{float(showback['total']):,.2f}[/]", "", "", "")
    console.print(table)


def _print_finops(console: Console, reconciliation: list[dict], budgets: dict) -> None:
    from inferledger.commands.budget import print_budgets
    from inferledger.commands.report import print_reconciliation

    for month in reconciliation:
        if "pools" in month:
            print_reconciliation(month, console)
    if "budgets" in budgets:
        print_budgets(budgets, console)


def _print_findings(console: Console, incidents: list, anomalies: list, records: list) -> None:
    """For each injected incident, what the detectors found about it inside its window."""
    from datetime import datetime, timedelta

    table = Table(title="what the jobs found for each injected incident")
    for col in ("incident", "detector", "finding", "when (UTC)", "observed / expected", "moved most"):
        table.add_column(col, overflow="fold")
    for inc in incidents:
        if inc.kind == "prompt_length_drift":
            found = [r for r in records if r["source"] == "drift" and r["labels"].get("column") == "input_tokens"]
            for r in found:
                table.add_row(inc.kind, "drift", r["summary"], "", "", "")
        else:
            lo, hi = inc.start - timedelta(minutes=10), inc.end + timedelta(minutes=10)
            about = [x for x in (inc.model, inc.team) if x]
            found = [
                a for a in anomalies
                if lo <= datetime.fromisoformat(str(a["bucket_start"])) <= hi
                and any(x in a["series_key"] or x == a.get("moved_value") for x in about)
            ]
            for a in sorted(found, key=lambda a: -a["score"])[:4]:
                moved = f"{a['moved_dimension']}={a['moved_value']}" if a.get("moved_dimension") else ""
                table.add_row(inc.kind, "anomaly", a["series_key"],
                              f"{datetime.fromisoformat(str(a['bucket_start'])):%m-%d %H:%M}",
                              f"{a['observed']:,.4g} / {a['expected']:,.4g}", moved)
        if not found:
            table.add_row(inc.kind, "-", "[yellow]nothing found[/]", "", "", "")
    console.print(table)


def _print_slos(console: Console, slos: list) -> None:
    if not slos:
        return
    table = Table(title="SLOs: error budget remaining over the period (the latency regression spends one)")
    for col in ("SLO", "service", "objective", "budget remaining", "page", "ticket"):
        table.add_column(col)
    for st in slos:
        remaining = st.get("budget_remaining")
        table.add_row(st["name"], st["service"], f"{float(st['objective']):.4g}",
                      "-" if remaining is None else f"{float(remaining):.1%}", str(st["page"]), str(st["ticket"]))
    console.print(table)


def _print_summary(console: Console, report, stats: dict, jobs: list, records: list) -> None:
    sent = Table(title="what was sent and what landed")
    sent.add_column("signal")
    sent.add_column("sent", justify="right")
    sent.add_column("landed in the warehouse", justify="right")
    sent.add_row("spans", f"{report.spans_sent:,}", f"{stats['tables']['spans']:,}")
    sent.add_row("GPU metric points", f"{report.gpu_points_sent:,}",
                 f"{stats['tables']['gpu_samples']:,} GPU samples (one row per GPU and time)")
    sent.add_row("GenAI metric points", "", f"{stats['tables']['metric_points']:,}")
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
    for col in ("kind", "start (UTC)", "end (UTC)", "team", "model"):
        inc.add_column(col, no_wrap=True)
    for i in report.incidents:
        inc.add_row(i.kind, f"{i.start:%m-%d %H:%M}", f"{i.end:%m-%d %H:%M}", i.team or "-", i.model or "-")
    console.print(inc)
    failed = [j for j in jobs if j["status"] != "ok"]
    console.print(f"job runs: {len(jobs)} ({len(failed)} failed)"
                  + "".join(f"\n  [red]{j['job']}: {j['error']}[/]" for j in failed))
    if records:
        at = Table(title="alert records raised by the jobs: the newest of each source")
        for col in ("source", "severity", "status", "summary"):
            at.add_column(col)
        shown: dict[str, int] = {}
        for a in records:
            shown[a["source"]] = shown.get(a["source"], 0) + 1
            if shown[a["source"]] <= 4:
                at.add_row(a["source"], a["severity"], a["status"], a["summary"])
        console.print(at)
