"""Alert pipeline benchmark.

1. Evaluation throughput with 10,000 active series: the first tick folds 10,000 new
   firing records; steady ticks re-evaluate all 10,000 while 1,000 duplicate records
   arrive per tick (what SLO/anomaly jobs write every minute). Figure: alert
   evaluations per second (series evaluated per tick / tick seconds).
   Reference, same run: a real Alertmanager (Debian prometheus-alertmanager 0.25)
   ingesting the same 10,000 alerts over /api/v2/alerts (alerts accepted per second),
   when the binary is installed.
2. Notification latency, alert record written -> local HTTP webhook receiver has it
   (group_wait 0, one evaluate + deliver pass after each write, as the 5 s job does
   minus its scheduling delay). Reference, same run: Alertmanager's own latency from
   POST /api/v2/alerts to its webhook (group_wait 0s).

    python benchmarks/bench_alerts.py [--series 10000] [--ticks 5] [--latency-samples 30]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

import httpx
from rich.console import Console
from rich.progress import track
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from inferledger.alerts.delivery import deliver_due
from inferledger.alerts.notifiers.alertmanager import render as am_render
from inferledger.alerts.pipeline import evaluate
from inferledger.alerts.testing import make_test_notification
from inferledger.analytics.alert_records import AlertRecord, write_alert_records
from inferledger.analytics.warehouse import open_warehouse, utcnow
from inferledger.config import load_settings
from inferledger.demo.receiver import RecordingReceiver

console = Console()


def records(n: int, start: int = 0) -> list[AlertRecord]:
    now = utcnow()
    return [
        AlertRecord("anomaly", "LatencyAnomaly", {"series": f"s{i:05d}", "team": f"t{i % 20}", "model": f"m{i % 7}"},
                    ("page", "ticket", "info")[i % 3], "firing", f"series s{i:05d} is anomalous", now,
                    values={"score": 0.97})
        for i in range(start, start + n)
    ]


def seed(wh, recs: list[AlertRecord]) -> None:
    """Bulk insert with the columns of analytics.alert_records.write_alert_records.

    write_alert_records uses executemany, which costs milliseconds per row in DuckDB
    (minutes for 10,000); seeding is not what this benchmark measures.
    """
    import json as _json

    import pyarrow as pa

    now = utcnow()
    table = pa.table({
        "source": [r.source for r in recs], "alertname": [r.alertname for r in recs],
        "fingerprint": [r.fingerprint for r in recs], "labels": [_json.dumps(r.labels, sort_keys=True) for r in recs],
        "severity": [r.severity for r in recs], "status": [r.status for r in recs],
        "summary": [r.summary for r in recs], "description": [r.description for r in recs],
        "values": [_json.dumps(r.values) for r in recs], "runbook_url": [r.runbook_url for r in recs],
        "dashboard_url": [r.dashboard_url for r in recs],
        "starts_at": pa.array([r.starts_at for r in recs], pa.timestamp("us")),
        "ends_at": pa.array([r.ends_at for r in recs], pa.timestamp("us")),
        "created_at": pa.array([now] * len(recs), pa.timestamp("us")),
    })
    wh.con.register("_seed", table)
    wh.con.execute(
        'INSERT INTO alert_records (source, alertname, fingerprint, labels, severity, status, summary, description,'
        ' "values", runbook_url, dashboard_url, starts_at, ends_at, created_at) SELECT * FROM _seed')
    wh.con.unregister("_seed")


def settings(url: str):
    return load_settings(None, environ={}, overrides={
        "alerts.receivers": [{"name": "sink", "type": "webhook", "url": url}],
        "alerts.routes": [{"receiver": "sink", "group_by": ["team"]}],
        "alerts.group_wait": 0.0, "alerts.group_interval": 0.001,
    }).alerts


def bench_eval(series: int, ticks: int, tmp: Path, url: str) -> dict:
    wh = open_warehouse(tmp / "eval.duckdb")
    cfg = settings(url)
    seed(wh, records(series))
    now = utcnow()
    t0 = time.perf_counter()
    first = evaluate(wh, cfg, now)
    first_s = time.perf_counter() - t0
    times = []
    for i in track(range(ticks), description="steady ticks", console=console):
        seed(wh, records(1000, start=(i * 1000) % series))
        now += timedelta(seconds=5)
        t0 = time.perf_counter()
        res = evaluate(wh, cfg, now)
        times.append(time.perf_counter() - t0)
        assert res.alerts == series, res
    wh.close()
    steady = statistics.median(times)
    return {"first_tick_s": first_s, "first_rate": series / first_s, "steady_tick_s": steady,
            "steady_rate": series / steady, "groups": first.notifications}


def bench_latency(samples: int, tmp: Path) -> list[float]:
    got = threading.Event()
    rec = RecordingReceiver(on_request=lambda r: got.set()).start()
    wh = open_warehouse(tmp / "lat.duckdb")
    cfg = load_settings(None, environ={}, overrides={
        "alerts.receivers": [{"name": "sink", "type": "webhook", "url": rec.url}],
        "alerts.routes": [{"receiver": "sink", "group_by": ["..."]}], "alerts.group_wait": 0.0,
    }).alerts
    out = []
    for i in track(range(samples), description="latency", console=console):
        got.clear()
        t0 = time.perf_counter()
        write_alert_records(wh, records(1, start=i))
        now = utcnow()
        evaluate(wh, cfg, now)
        deliver_due(wh, cfg, now)
        got.wait(10)
        out.append(time.perf_counter() - t0)
    wh.close()
    rec.stop()
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_alertmanager(series: int, samples: int, tmp: Path) -> dict | None:
    binary = shutil.which("prometheus-alertmanager")
    if not binary:
        return None
    got = threading.Event()
    hook = RecordingReceiver(on_request=lambda r: got.set()).start()
    port = _free_port()
    cfg = tmp / "am.yml"
    cfg.write_text(f"""
route: {{receiver: hook, group_by: ['...'], group_wait: 0s, group_interval: 1s, repeat_interval: 1h}}
receivers: [{{name: hook, webhook_configs: [{{url: '{hook.url}', send_resolved: false}}]}}]
""")
    proc = subprocess.Popen([binary, f"--config.file={cfg}", f"--storage.path={tmp / 'amdata'}",
                             f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=",
                             "--log.level=error"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                if httpx.get(f"{base}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        # same 10,000 alerts, rendered by our Alertmanager notifier, POSTed in batches of 1,000
        note = make_test_notification("am")
        template = am_render(note)[0]
        batches = []
        for start in range(0, series, 1000):
            batches.append([{**template, "labels": {**template["labels"], "series": f"s{i:05d}"}}
                            for i in range(start, min(series, start + 1000))])
        with httpx.Client(timeout=60) as client:
            t0 = time.perf_counter()
            for b in batches:
                client.post(f"{base}/api/v2/alerts", json=b).raise_for_status()
            ingest_s = time.perf_counter() - t0
            lat = []
            for i in range(samples):
                got.clear()
                t0 = time.perf_counter()
                client.post(f"{base}/api/v2/alerts", json=[{**template, "labels": {"alertname": "Lat", "i": str(i)}}])
                got.wait(10)
                lat.append(time.perf_counter() - t0)
        return {"rate": series / ingest_s, "latency": lat}
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        hook.stop()


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--series", type=int, default=10_000)
    ap.add_argument("--ticks", type=int, default=5)
    ap.add_argument("--latency-samples", type=int, default=30)
    args = ap.parse_args()
    sink = RecordingReceiver().start()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        ev = bench_eval(args.series, args.ticks, tmp, sink.url)
        lat = bench_latency(args.latency_samples, tmp)
        am = bench_alertmanager(args.series, args.latency_samples, tmp)
    sink.stop()
    t = Table(title=f"Alert pipeline, {args.series:,} active series (cpu count {os.cpu_count()})")
    t.add_column("figure")
    t.add_column("InferLedger", justify="right")
    t.add_column("reference: Alertmanager 0.25", justify="right")
    t.add_row("evaluations/s, first tick (new series)", f"{ev['first_rate']:,.0f}",
              f"{am['rate']:,.0f} alerts/s ingested" if am else "n/a")
    t.add_row("evaluations/s, steady tick (+1,000 dup records)", f"{ev['steady_rate']:,.0f}", "")
    t.add_row("tick seconds (first / steady median)", f"{ev['first_tick_s']:.3f} / {ev['steady_tick_s']:.3f}", "")
    t.add_row("record -> receiver latency p50 (ms)", f"{pct(lat, .5) * 1000:.1f}",
              f"{pct(am['latency'], .5) * 1000:.1f}" if am else "n/a")
    t.add_row("record -> receiver latency p99 (ms)", f"{pct(lat, .99) * 1000:.1f}",
              f"{pct(am['latency'], .99) * 1000:.1f}" if am else "n/a")
    t.add_row("peak RSS of this process (MiB)", f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}",
              "")
    console.print(t)


if __name__ == "__main__":
    main()
