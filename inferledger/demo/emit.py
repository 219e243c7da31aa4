"""Send the simulated fleet through the real OpenTelemetry SDK OTLP exporters.

A backfill cannot use a tracer (spans would carry today's clock), so it builds
SDK `ReadableSpan`s with historical start/end times and hands batches of ~512
to `OTLPSpanExporter.export` from a few threads, exactly what a
BatchSpanProcessor would do; GPU series go as SDK `MetricsData` through
`OTLPMetricExporter.export`, shaped like dcgm-exporter series forwarded by an
OpenTelemetry Collector's prometheus receiver, and the GenAI client histograms
of the services on the current conventions as SDK histograms. Nothing here
touches the warehouse: what lands is up to the collector.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from opentelemetry.sdk.metrics.export import MetricsData

from inferledger.demo.exporters import PROTOCOLS, EmitError, Exporters, SpanBuilder
from inferledger.demo.fleet import (
    FleetSpec,
    GpuSample,
    Incident,
    Request,
    incidents_for,
    simulate_gpu_samples,
    simulate_requests,
    to_ns,
)
from inferledger.demo.genai_metrics import IntervalAggregator, genai_metrics_data
from inferledger.demo.gpu_metrics import gpu_metrics_data, points_in


@dataclass
class EmitReport:
    """What was sent. `gpu_counters` lets a live stream continue the energy counters."""

    spans_sent: int = 0
    gpu_points_sent: int = 0
    batches: int = 0
    failed_batches: int = 0
    by_vocabulary: dict[str, int] = field(default_factory=dict)
    incidents: list[Incident] = field(default_factory=list)
    spans_failed: int = 0
    gpu_points_failed: int = 0
    genai_metric_points_sent: int = 0      # gen_ai.client.* histogram points (otel_genai services)
    start: datetime | None = None
    end: datetime | None = None
    elapsed_s: float = 0.0
    gpu_counters: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "spans_sent": self.spans_sent, "spans_failed": self.spans_failed,
            "gpu_points_sent": self.gpu_points_sent, "gpu_points_failed": self.gpu_points_failed,
            "genai_metric_points_sent": self.genai_metric_points_sent,
            "batches": self.batches, "failed_batches": self.failed_batches,
            "by_vocabulary": dict(sorted(self.by_vocabulary.items())),
            "incidents": [i.to_dict() for i in self.incidents],
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "elapsed_s": round(self.elapsed_s, 3),
        }


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _naive_utc(t: datetime) -> datetime:
    """Naive datetimes are UTC already; aware ones are converted, not relabelled."""
    return t.astimezone(UTC).replace(tzinfo=None) if t.tzinfo is not None else t


class _Sender:
    """Bounded pool of export calls; tallies results into the report on the caller's thread."""

    def __init__(self, exporters: Exporters, report: EmitReport, workers: int) -> None:
        self.exporters = exporters
        self.report = report
        self.builder = SpanBuilder()
        self.pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="demo-export")
        self.inflight: deque[Future] = deque()
        self.limit = max(2, 2 * workers)
        self.genai_pending: list = []
        self.genai_calls = 0

    def _export_spans(self, batch: list[Request]) -> tuple[str, int, Counter, bool]:
        spans = [self.builder.build(r) for r in batch]
        ok = self.exporters.spans().export(spans).name == "SUCCESS"
        return "spans", len(batch), Counter(r.vocabulary for r in batch), ok

    def _export_gpu(self, samples: list[GpuSample], start_ns: int) -> tuple[str, int, Counter, bool]:
        data = gpu_metrics_data(samples, start_ns)
        ok = self.exporters.metrics().export(data).name == "SUCCESS"
        return "gpu", points_in(data), Counter(), ok

    def submit_spans(self, batch: list[Request]) -> None:
        self._submit(self.pool.submit(self._export_spans, batch))

    def submit_gpu(self, samples: list[GpuSample], start_ns: int) -> None:
        self._submit(self.pool.submit(self._export_gpu, samples, start_ns))

    def _export_genai(self, data: MetricsData) -> tuple[str, int, Counter, bool]:
        ok = self.exporters.metrics().export(data).name == "SUCCESS"
        return "genai", points_in(data), Counter(), ok

    def add_genai(self, intervals: list[tuple[int, int, list[Request]]], flush: bool = False) -> None:
        """Queue finished metric intervals; send them several thousand calls' worth at a time."""
        self.genai_pending.extend(intervals)
        self.genai_calls += sum(len(rs) for *_, rs in intervals)
        if self.genai_pending and (flush or self.genai_calls >= 20_000):
            data = genai_metrics_data(self.genai_pending)
            if data is not None:
                self._submit(self.pool.submit(self._export_genai, data))
            self.genai_pending, self.genai_calls = [], 0

    def _submit(self, fut: Future) -> None:
        self.inflight.append(fut)
        while len(self.inflight) >= self.limit:
            self._collect(self.inflight.popleft())

    def _collect(self, fut: Future) -> None:
        kind, n, vocab, ok = fut.result()
        r = self.report
        r.batches += 1
        if ok:
            if kind == "spans":
                r.spans_sent += n
                for k, v in vocab.items():
                    r.by_vocabulary[k] = r.by_vocabulary.get(k, 0) + v
            elif kind == "genai":
                r.genai_metric_points_sent += n
            else:
                r.gpu_points_sent += n
        else:
            r.failed_batches += 1
            if kind == "spans":
                r.spans_failed += n
            elif kind == "gpu":
                r.gpu_points_failed += n
        if r.failed_batches >= 3 and r.spans_sent == 0 and r.gpu_points_sent == 0:
            raise EmitError(f"the OTLP endpoint at {self.exporters.describe()} accepted no batch "
                            f"({r.failed_batches} failed, none succeeded): is the collector running there, "
                            f"and is the tenant token right?")

    def drain(self) -> None:
        while self.inflight:
            self._collect(self.inflight.popleft())

    def close(self) -> None:
        for fut in self.inflight:
            fut.cancel()
        self.pool.shutdown(wait=True, cancel_futures=True)


def _progress(enabled: bool):
    if not enabled:
        return nullcontext(None)
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.fields[info]}"),
                    TimeElapsedColumn(), TimeRemainingColumn(), transient=False)


GPU_POINTS_BUDGET = 120_000
_GPU_STEPS = (15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0)


def default_gpu_step(days: float, spec: FleetSpec | None = None) -> float:
    """The finest scrape interval that keeps a backfill's GPU points under GPU_POINTS_BUDGET.

    dcgm-exporter is scraped every 15-30 s live, but a week at that pace is
    millions of points that say nothing more about cost than 10-minute ones;
    the budget keeps a 7-day backfill's GPU series to seconds of encoding.
    """
    spec = spec or FleetSpec()
    per_step = 7 * sum(n.gpus for n in spec.gpu_nodes)
    for step in _GPU_STEPS:
        if days * 86400.0 / step * per_step <= GPU_POINTS_BUDGET:
            return step
    return _GPU_STEPS[-1]


def backfill(http_endpoint: str, days: float, *, seed: int = 7, now: datetime | None = None,
             tenant_token: str | None = None, progress: bool = True, protocol: str = "http/protobuf",
             grpc_endpoint: str | None = None, spec: FleetSpec | None = None, scale: float | None = None,
             gpu_step_s: float | None = None, workers: int = 2, batch_size: int = 512,
             timeout_s: float = 10.0, metrics_interval_s: float = 600.0, gpu: bool = True,
             genai_metrics: bool = True) -> EmitReport:
    """Send `days` of fleet history ending at `now` (naive UTC, default the current time).

    `gpu=False` / `genai_metrics=False` leave out the GPU series / the GenAI
    client histograms (spans only is the quickest backfill).
    """
    if not days > 0:
        raise EmitError(f"days must be > 0, got {days}")
    if batch_size < 1:
        raise EmitError(f"batch_size must be >= 1, got {batch_size}")
    spec = spec or FleetSpec()
    if scale is not None:
        spec = spec.scaled(scale)
    exporters = Exporters(protocol, http_endpoint, grpc_endpoint, tenant_token, timeout_s)
    end = _naive_utc(now) if now is not None else _utcnow()
    start = end - timedelta(days=days)
    incidents = incidents_for(start, end, seed, spec.incidents)
    report = EmitReport(incidents=incidents, start=start, end=end)
    step = gpu_step_s or default_gpu_step(days, spec)
    t0 = time.perf_counter()
    sender = _Sender(exporters, report, workers)
    window_s = (end - start).total_seconds()
    try:
        with _progress(progress) as bar:
            spans_task = bar.add_task("spans", total=window_s, info="") if bar else None
            batch: list[Request] = []
            agg = IntervalAggregator(metrics_interval_s, spec.timeout_s)
            for req in simulate_requests(spec, start, end, seed, incidents):
                batch.append(req)
                if genai_metrics:
                    agg.put(req)
                if len(batch) >= batch_size:
                    sender.add_genai(agg.ready(req.start_ns))
                    sender.submit_spans(batch)
                    batch = []
                    if bar:
                        bar.update(spans_task, completed=(req.start - start).total_seconds(),
                                   info=f"{report.spans_sent:,} sent")
            if batch:
                sender.submit_spans(batch)
            sender.add_genai(agg.flush(), flush=True)
            sender.drain()
            if bar:
                bar.update(spans_task, completed=window_s, info=f"{report.spans_sent:,} sent")
            gpu_task = bar.add_task("gpu series", total=window_s, info="") if bar and gpu else None
            start_ns = to_ns(start)
            samples: list[GpuSample] = []
            gpu_samples = simulate_gpu_samples(spec, start, end, step, seed, incidents, report.gpu_counters) \
                if gpu else ()
            for s in gpu_samples:
                samples.append(s)
                if len(samples) >= 4 * batch_size:
                    sender.submit_gpu(samples, start_ns)
                    samples = []
                    if bar:
                        bar.update(gpu_task, completed=(s.time - start).total_seconds(),
                                   info=f"{report.gpu_points_sent:,} points")
            if samples:
                sender.submit_gpu(samples, start_ns)
            sender.drain()
            if bar and gpu:
                bar.update(gpu_task, completed=window_s, info=f"{report.gpu_points_sent:,} points")
    finally:
        sender.close()
        exporters.shutdown()
    report.elapsed_s = time.perf_counter() - t0
    return report


def stream_live(http_endpoint: str, *, seed: int = 7, duration_s: float | None = None,
                stop: threading.Event | None = None, tenant_token: str | None = None, progress: bool = True,
                protocol: str = "http/protobuf", grpc_endpoint: str | None = None, spec: FleetSpec | None = None,
                scale: float | None = None, incidents: list[Incident] | None = None,
                gpu_counters: dict[str, float] | None = None, gpu_step_s: float = 15.0, tick_s: float = 1.0,
                timeout_s: float = 10.0, after: EmitReport | None = None,
                metrics_interval_s: float = 60.0) -> EmitReport:
    """Send current-time traffic until `stop` is set or `duration_s` has passed.

    A span is exported once its call has ended, as a BatchSpanProcessor would.
    `after=backfill_report` continues a backfill seamlessly: the same incidents
    (the prompt-length drift stays on), the GPU energy counters carried on, and
    the minutes between the backfill's end and now caught up at once, so the
    warehouse has no gap. Without it the incidents are those of a 7-day window
    ending now. Ctrl-C is a way to stop: it ends the stream and the report of
    what was sent is returned.
    """
    spec = spec or FleetSpec()
    if scale is not None:
        spec = spec.scaled(scale)
    if tick_s <= 0 or gpu_step_s <= 0:
        raise EmitError("tick_s and gpu_step_s must be > 0")
    exporters = Exporters(protocol, http_endpoint, grpc_endpoint, tenant_token, timeout_s)
    stop = stop or threading.Event()
    begin = _utcnow()
    if after is not None:
        if after.end is not None and after.end <= begin:
            begin = after.end
        incidents = after.incidents if incidents is None else incidents
        gpu_counters = after.gpu_counters if gpu_counters is None else gpu_counters
    if incidents is None:
        incidents = incidents_for(begin - timedelta(days=7), begin, seed, spec.incidents)
    report = EmitReport(incidents=list(incidents), start=begin,
                        gpu_counters=gpu_counters if gpu_counters is not None else {})
    sender = _Sender(exporters, report, workers=1)
    agg = IntervalAggregator(metrics_interval_s, 0.0)
    deadline = time.monotonic() + duration_s if duration_s is not None else None
    sim_from = gpu_from = begin
    pending: list[Request] = []
    t0 = time.perf_counter()
    try:
        with _progress(progress) as bar:
            task = bar.add_task("live", total=None, info="") if bar else None
            while True:
                last_round = stop.is_set() or (deadline is not None and time.monotonic() >= deadline)
                now = _utcnow()
                if now > sim_from:
                    pending.extend(simulate_requests(spec, sim_from, now, seed, incidents))
                    sim_from = now
                now_ns = to_ns(now)
                ready = [r for r in pending if r.end_ns <= now_ns]
                pending = [r for r in pending if r.end_ns > now_ns]
                for i in range(0, len(ready), 512):
                    sender.submit_spans(ready[i:i + 512])
                for r in ready:
                    agg.put(r)
                sender.add_genai(agg.flush() if last_round else agg.ready(now_ns), flush=True)
                if (now - gpu_from).total_seconds() >= gpu_step_s or last_round:
                    samples = list(simulate_gpu_samples(spec, gpu_from, now, gpu_step_s, seed, incidents,
                                                        report.gpu_counters))
                    gpu_from = now
                    if samples:
                        sender.submit_gpu(samples, to_ns(begin))
                sender.drain()
                if bar:
                    bar.update(task, info=f"{report.spans_sent:,} spans, {report.gpu_points_sent:,} GPU points")
                if last_round:
                    break
                wait = tick_s if deadline is None else max(0.0, min(tick_s, deadline - time.monotonic()))
                try:
                    stop.wait(wait)
                except KeyboardInterrupt:
                    stop.set()
    finally:
        sender.close()
        exporters.shutdown()
    report.end = _utcnow()
    report.elapsed_s = time.perf_counter() - t0
    return report


__all__: Sequence[str] = ["EmitReport", "EmitError", "backfill", "stream_live", "SpanBuilder", "PROTOCOLS"]
