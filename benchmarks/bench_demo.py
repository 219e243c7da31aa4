"""Demo fleet emission benchmark: how fast `inferledger demo` can backfill history.

Sends N days of the simulated fleet to a decoding OTLP/HTTP sink running in its
own process (it parses every protobuf body and counts spans, so what is counted
is what arrived), two ways, each in a fresh process for its own peak RSS:

- demo, spans only: the demo's path: SDK ReadableSpans with historical times,
  batches of 512 handed to OTLPSpanExporter.export from 2 threads.
- reference: the stock SDK pipeline (a TracerProvider per service replica,
  spans started/ended with explicit historical times, BatchSpanProcessor with
  its defaults) for the same requests; spans only.
- demo, full: what `inferledger demo` sends: spans, dcgm GPU series and the
  GenAI client histograms.

    python benchmarks/bench_demo.py [--days 2] [--scale 1.0]

On a shared 2-core machine the figures are noisy: compare the two rows of the
same run, not runs with each other.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
NOW = datetime(2026, 11, 20, 18, 0)
LABELS = {"direct": "demo, spans only", "reference": "reference: Tracer+BSP", "full": "demo, full"}


def _sink(port_q: "mp.Queue") -> None:
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    counts = {"spans": 0, "points": 0}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            with lock:
                body = json.dumps(counts).encode()
                counts.update(spans=0, points=0)
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if self.path == "/v1/traces":
                msg = ExportTraceServiceRequest.FromString(body)
                n = sum(len(ss.spans) for rs in msg.resource_spans for ss in rs.scope_spans)
                key = "spans"
            else:
                msg = ExportMetricsServiceRequest.FromString(body)
                n = sum(len(m.gauge.data_points) + len(m.sum.data_points) + len(m.histogram.data_points)
                        for rm in msg.resource_metrics for sm in rm.scope_metrics for m in sm.metrics)
                key = "points"
            with lock:
                counts[key] += n
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port_q.put(server.server_port)
    server.serve_forever()


def run_direct(url: str, days: float, scale: float, full: bool) -> dict:
    from inferledger.demo.emit import backfill

    t0 = time.perf_counter()
    report = backfill(url, days, now=NOW, scale=scale, progress=False, gpu=full, genai_metrics=full)
    return {"elapsed_s": time.perf_counter() - t0, "spans": report.spans_sent,
            "points": report.gpu_points_sent + report.genai_metric_points_sent}


def run_reference(url: str, days: float, scale: float) -> dict:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.trace import SpanKind, Status, StatusCode

    from inferledger.demo.fleet import FleetSpec, simulate_requests
    from inferledger.demo.vocabularies import resource_attributes, scope_of, span_attributes, span_kind_name, span_name

    spec = FleetSpec(scale=scale)
    providers: dict[tuple, TracerProvider] = {}
    t0 = time.perf_counter()
    created = 0
    for r in simulate_requests(spec, NOW - timedelta(days=days), NOW):
        rattrs = resource_attributes(r)
        key = tuple(rattrs.items())
        provider = providers.get(key)
        if provider is None:
            provider = providers[key] = TracerProvider(resource=Resource(rattrs))
            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{url}/v1/traces")))
        tracer = provider.get_tracer(*scope_of(r))
        span = tracer.start_span(span_name(r), kind=SpanKind[span_kind_name(r)], attributes=span_attributes(r),
                                 start_time=r.start_ns)
        if r.error_type:
            span.set_status(Status(StatusCode.ERROR, r.error_type))
        span.end(end_time=r.end_ns)
        created += 1
    for provider in providers.values():
        provider.shutdown()
    return {"elapsed_s": time.perf_counter() - t0, "spans": created, "points": 0}


def child(mode: str, url: str, days: float, scale: float) -> None:
    import logging

    logging.disable(logging.WARNING)   # the reference's dropped-span warnings would flood the output
    out = run_reference(url, days, scale) if mode == "reference" else run_direct(url, days, scale, mode == "full")
    out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=float, default=2.0)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--child", choices=list(LABELS), help=argparse.SUPPRESS)
    ap.add_argument("--url", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.url, args.days, args.scale)
        return
    import httpx

    console = Console(width=120)
    q: mp.Queue = mp.Queue()
    sink = mp.Process(target=_sink, args=(q,), daemon=True)
    sink.start()
    url = f"http://127.0.0.1:{q.get(timeout=30)}"
    rows = []
    try:
        for mode in LABELS:
            console.print(f"[bold]{mode}[/]: {args.days:g} days at scale {args.scale:g} ...")
            proc = subprocess.run([sys.executable, __file__, "--child", mode, "--url", url, "--days", str(args.days),
                                   "--scale", str(args.scale)], capture_output=True, text=True, check=True)
            out = json.loads(proc.stdout.strip().splitlines()[-1])
            got = httpx.get(f"{url}/count", timeout=30).json()
            rows.append((mode, out, got))
    finally:
        sink.terminate()
    table = Table(title=f"demo backfill, {args.days:g} days, scale {args.scale:g} (2-core shared machine: noisy)")
    for col in ("path", "spans made", "arrived", "spans/s", "metric points", "seconds", "peak RSS MiB"):
        table.add_column(col, justify="right" if col != "path" else "left")
    for mode, out, got in rows:
        table.add_row(LABELS[mode], f"{out['spans']:,}", f"{got['spans']:,}", f"{got['spans'] / out['elapsed_s']:,.0f}",
                      f"{got['points']:,}", f"{out['elapsed_s']:.1f}", f"{out['peak_rss_mib']:.0f}")
    console.print(table)
    direct, reference = rows[0], rows[1]
    console.print(f"direct / reference arrived spans per second: "
                  f"{(direct[2]['spans'] / direct[1]['elapsed_s']) / max(1e-9, reference[2]['spans'] / reference[1]['elapsed_s']):.2f}x; "
                  f"reference lost {reference[1]['spans'] - reference[2]['spans']:,} spans "
                  f"(BatchSpanProcessor drops when its queue is full)")


if __name__ == "__main__":
    main()
