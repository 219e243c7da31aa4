"""The demo fleet: seeded simulation, injected incidents, vocabularies, OTLP emission."""

from __future__ import annotations

import statistics
import threading
from collections import Counter, defaultdict
from concurrent import futures
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from inferledger.demo.emit import EmitError, SpanBuilder, backfill, stream_live
from inferledger.demo.fleet import FleetSpec, incidents_for, simulate_gpu_samples, simulate_requests, to_ns
from inferledger.demo.gpu_metrics import gpu_metrics_data, points_in
from inferledger.demo.incidents import COST_SPIKE, LATENCY_REGRESSION, PROMPT_LENGTH_DRIFT
from inferledger.demo.vocabularies import VOCABULARIES

END = datetime(2026, 11, 20, 18, 0)          # a Friday evening, UTC
SPEC = FleetSpec()


@pytest.fixture(scope="module")
def two_days():
    start = END - timedelta(days=2)
    incidents = incidents_for(start, END, seed=7)
    return start, incidents, list(simulate_requests(SPEC, start, END, seed=7, incidents=incidents))


def _by_kind(incidents):
    return {i.kind: i for i in incidents}


# --- determinism ---------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_same_seed_same_fleet_other_seed_other_fleet():
    start, end = END - timedelta(hours=3), END
    a = list(simulate_requests(SPEC, start, end, seed=11))
    b = list(simulate_requests(SPEC, start, end, seed=11))
    c = list(simulate_requests(SPEC, start, end, seed=12))
    assert len(a) > 500
    assert a == b
    assert [r.trace_id for r in a] != [r.trace_id for r in c]
    assert list(simulate_gpu_samples(SPEC, start, end, 60, seed=11)) == \
        list(simulate_gpu_samples(SPEC, start, end, 60, seed=11))


@pytest.mark.slow
def test_window_split_gives_the_same_requests():
    """A backfill and the live stream that continues it agree (minute-keyed random streams)."""
    a, b, c = END - timedelta(hours=2), END - timedelta(minutes=47, seconds=13), END
    inc = incidents_for(END - timedelta(days=2), END)
    whole = list(simulate_requests(SPEC, a, c, incidents=inc))
    parts = list(simulate_requests(SPEC, a, b, incidents=inc)) + list(simulate_requests(SPEC, b, c, incidents=inc))
    assert whole == parts
    assert all(x.start_ns <= y.start_ns for x, y in zip(whole, whole[1:]))


def test_rejects_bad_spec_and_windows():
    with pytest.raises(ValueError, match="scale"):
        FleetSpec(scale=0)
    with pytest.raises(ValueError, match="empty"):
        incidents_for(END, END)
    with pytest.raises(ValueError, match="step_s"):
        list(simulate_gpu_samples(SPEC, END - timedelta(hours=1), END, 0))


# --- incidents -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("days", [7, 2, 0.25])
def test_incidents_inside_the_window_in_the_last_days(days):
    start = END - timedelta(days=days)
    inc = incidents_for(start, END, seed=3)
    assert {i.kind for i in inc} == {LATENCY_REGRESSION, COST_SPIKE, PROMPT_LENGTH_DRIFT}
    for i in inc:
        assert start < i.start < i.end <= END
        assert END - i.start <= timedelta(hours=37)
    k = _by_kind(inc)
    assert k[PROMPT_LENGTH_DRIFT].start < k[LATENCY_REGRESSION].start < k[COST_SPIKE].start
    if days >= 2:
        assert k[LATENCY_REGRESSION].end - k[LATENCY_REGRESSION].start == timedelta(hours=2)
        assert k[COST_SPIKE].end - k[COST_SPIKE].start == timedelta(hours=1)
    assert incidents_for(start, END, seed=3) == inc
    assert incidents_for(start, END, seed=4) != inc


@pytest.mark.slow
def test_requests_are_tagged_exactly_inside_their_incident(two_days):
    _, incidents, reqs = two_days
    k = _by_kind(incidents)
    lat, spike = k[LATENCY_REGRESSION], k[COST_SPIKE]
    for r in reqs:
        t = r.start.replace(second=0, microsecond=0) + timedelta(seconds=30)
        in_lat = r.request_model == lat.model and lat.start <= t < lat.end
        assert (LATENCY_REGRESSION in r.incidents) == in_lat
        in_spike = (r.team, r.feature, r.request_model) == (spike.team, spike.feature, spike.model) \
            and spike.start <= t < spike.end
        assert (COST_SPIKE in r.incidents) == in_spike


def test_latency_regression_visible(two_days):
    _, incidents, reqs = two_days
    lat = _by_kind(incidents)[LATENCY_REGRESSION]
    per_token = defaultdict(list)
    for r in reqs:
        if r.request_model == lat.model and not r.is_error and r.output_tokens:
            inside = LATENCY_REGRESSION in r.incidents
            per_token[inside].append(r.duration_s / r.output_tokens)
    ratio = statistics.median(per_token[True]) / statistics.median(per_token[False])
    assert len(per_token[True]) > 50
    assert 2.3 < ratio < 4.0
    # other models are not affected
    others = defaultdict(list)
    for r in reqs:
        if r.request_model == "gpt-4o" and not r.is_error and r.feature == "answers":
            others[lat.start <= r.start < lat.end].append(r.duration_s / r.output_tokens)
    assert 0.7 < statistics.median(others[True]) / statistics.median(others[False]) < 1.4


@pytest.mark.slow
def test_cost_spike_visible_in_team_spend(two_days):
    _, incidents, reqs = two_days
    spike = _by_kind(incidents)[COST_SPIKE]
    day = timedelta(days=1)

    def spend(team, lo, hi):
        return sum(r.client_cost_usd or 0 for r in reqs if r.team == team and lo <= r.start < hi)

    during = spend(spike.team, spike.start, spike.end)
    day_before = spend(spike.team, spike.start - day, spike.end - day)
    assert during > 8 * day_before
    # the spike is the team's own: another team's spend at the same hour is unremarkable
    assert spend("search", spike.start, spike.end) < 2 * spend("search", spike.start - day, spike.end - day)
    count = sum(1 for r in reqs if COST_SPIKE in r.incidents)
    count_before = sum(1 for r in reqs if (r.team, r.feature) == (spike.team, spike.feature)
                       and spike.start - day <= r.start < spike.end - day)
    assert count > 4 * count_before


@pytest.mark.slow
def test_prompt_length_drift_visible_and_lasting(two_days):
    _, incidents, reqs = two_days
    drift = _by_kind(incidents)[PROMPT_LENGTH_DRIFT]

    def median_input(pred):
        return statistics.median(r.input_tokens for r in reqs if pred(r) and r.input_tokens)

    seg = lambda r: r.service == drift.service and r.request_model == drift.model
    after = median_input(lambda r: seg(r) and r.start >= drift.start)
    before = median_input(lambda r: seg(r) and r.start < drift.start)
    assert after > 1.8 * before
    other = lambda r: r.feature == "agent-assist"
    assert 0.85 < median_input(lambda r: other(r) and r.start >= drift.start) / \
        median_input(lambda r: other(r) and r.start < drift.start) < 1.15
    # lasting: live traffic after the reported window still carries it
    later = list(simulate_requests(SPEC, END, END + timedelta(hours=3), incidents=incidents))
    assert any(PROMPT_LENGTH_DRIFT in r.incidents for r in later)
    assert all(PROMPT_LENGTH_DRIFT in r.incidents for r in later if seg(r))


# --- load shape ----------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_diurnal_and_weekend_shape():
    spec = SPEC.scaled(0.25)
    start = datetime(2026, 11, 9)                      # Monday 00:00 UTC, one full week
    reqs = list(simulate_requests(spec, start, start + timedelta(days=7), incidents=[]))
    per_hour = Counter((r.start.weekday(), r.start.hour) for r in reqs)
    weekday_peak = statistics.mean(per_hour[(d, 15)] for d in range(5))
    weekday_trough = statistics.mean(per_hour[(d, 3)] for d in range(5))
    assert weekday_peak > 2.2 * weekday_trough
    weekday = sum(v for (d, _), v in per_hour.items() if d < 5) / 5
    weekend = sum(v for (d, _), v in per_hour.items() if d >= 5) / 2
    assert weekend < 0.75 * weekday
    # 1.0 scale ~ 160k a week: the spec's stated size
    assert 30_000 < len(reqs) / 0.25 / 5 < 45_000 or 140_000 < len(reqs) / 0.25 < 190_000


# --- request realism -----------------------------------------------------------------------------------------

def test_requests_are_internally_consistent(two_days):
    _, _, reqs = two_days
    assert {r.team for r in reqs} == {"search", "support", "growth", "platform", "research"}
    assert len({(r.team, r.feature) for r in reqs}) >= 10
    providers = {r.provider for r in reqs}
    assert {"openai", "anthropic", "aws.bedrock", "vllm"} <= providers
    finish = Counter()
    for r in reqs:
        assert r.end_ns > r.start_ns
        if r.is_error:
            assert r.input_tokens is None and r.output_tokens is None and r.finish_reason is None
            continue
        assert r.input_tokens >= 1
        assert r.cache_read_tokens + r.cache_write_tokens <= r.input_tokens
        if r.operation == "chat":
            assert r.reasoning_tokens <= r.output_tokens
        else:
            assert r.output_tokens is None
        assert (r.ttft_s is not None) == r.streaming
        if r.ttft_s is not None:
            assert 0 < r.ttft_s < r.duration_s
        finish[(r.provider, r.finish_reason)] += 1
    assert finish[("anthropic", "end_turn")] and finish[("anthropic", "tool_use")]
    assert finish[("openai", "stop")] and finish[("openai", "length")]
    errors = Counter(r.error_type for r in reqs if r.is_error)
    assert errors["429"] and errors["timeout"]
    assert 0.001 < sum(errors.values()) / len(reqs) < 0.05
    assert any(r.cache_read_tokens for r in reqs if r.provider == "anthropic")
    assert any(r.cache_write_tokens for r in reqs if r.provider == "anthropic")
    assert any(r.reasoning_tokens for r in reqs if r.request_model == "o3-mini")
    assert Counter(r.environment for r in reqs)["staging"] > 0


# --- vocabularies --------------------------------------------------------------------------------------------

EXPECTED_KEYS = {
    "otel_genai": {"gen_ai.provider.name", "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens"},
    "otel_genai_deprecated": {"gen_ai.system", "gen_ai.usage.prompt_tokens", "gen_ai.usage.completion_tokens"},
    "openinference": {"openinference.span.kind", "llm.model_name", "llm.token_count.prompt", "llm.provider"},
    "openllmetry_0.4": {"gen_ai.system", "gen_ai.usage.prompt_tokens", "llm.usage.total_tokens", "llm.request.type"},
    "openllmetry_0.5": {"gen_ai.system", "gen_ai.usage.input_tokens", "gen_ai.usage.total_tokens"},
    "openlit": {"gen_ai.system", "gen_ai.usage.input_tokens", "gen_ai.usage.cost"},
}


def test_every_vocabulary_present_current_genai_the_largest(two_days):
    _, _, reqs = two_days
    share = Counter(r.vocabulary for r in reqs)
    assert set(share) == set(VOCABULARIES)
    assert share.most_common(1)[0][0] == "otel_genai"
    assert share["otel_genai"] / len(reqs) > 0.4
    builder = SpanBuilder()
    seen = set()
    for r in reqs:
        if r.vocabulary in seen or r.is_error:
            continue
        seen.add(r.vocabulary)
        span = builder.build(r)
        attrs, res = dict(span.attributes), dict(span.resource.attributes)
        assert EXPECTED_KEYS[r.vocabulary] <= set(attrs), r.vocabulary
        assert res["service.name"] == r.service and res["deployment.environment"] == r.environment
        assert (attrs.get("team") or res.get("team")) == r.team
        assert attrs["feature"] == r.feature
        assert span.start_time == r.start_ns and span.end_time == r.end_ns
        assert span.context.trace_id == r.trace_id and span.context.span_id == r.span_id
    assert seen == set(VOCABULARIES)


def test_anthropic_cache_tokens_in_current_vocabulary():
    reqs = simulate_requests(SPEC, END - timedelta(hours=2), END, incidents=[])
    r = next(r for r in reqs if r.provider == "anthropic" and r.cache_read_tokens and not r.is_error)
    r = r.__class__(**{**{f: getattr(r, f) for f in r.__slots__}, "vocabulary": "otel_genai"})
    attrs = SpanBuilder().build(r).attributes
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == r.cache_read_tokens
    assert attrs["gen_ai.usage.input_tokens"] == r.input_tokens >= r.cache_read_tokens


def test_error_spans_carry_status_and_error_type(two_days):
    _, _, reqs = two_days
    r = next(r for r in reqs if r.error_type == "429")
    span = SpanBuilder().build(r)
    assert span.status.status_code.name == "ERROR"
    assert span.attributes["error.type"] == "429"


# --- GPUs ----------------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_gpu_samples_follow_load_with_dcgm_labels():
    day = datetime(2026, 11, 18)                           # a Wednesday
    samples = list(simulate_gpu_samples(SPEC, day, day + timedelta(days=1), 300, incidents=[]))
    gpus = {(s.hostname, s.gpu) for s in samples}
    assert len(gpus) >= 16
    serving = [s for s in samples if s.pod and s.pod.startswith("vllm-llama-3-1-70b")]
    peak = statistics.mean(s.gpu_util_pct for s in serving if s.time.hour == 15)
    night = statistics.mean(s.gpu_util_pct for s in serving if s.time.hour == 3)
    assert peak > 1.6 * night
    assert all(s.namespace == "inference" and s.container == "vllm" for s in serving)
    assert any(s.mig_profile == "3g.40gb" and s.pod for s in samples)
    idle = [s for s in samples if s.pod is None and s.mig_profile is None and s.gpu_util_pct is not None]
    assert idle and max(s.gpu_util_pct for s in idle) == 0
    by_gpu = defaultdict(list)
    for s in samples:
        if s.energy_mj is not None:
            by_gpu[s.uuid].append(s.energy_mj)
    assert all(all(a < b for a, b in zip(v, v[1:])) for v in by_gpu.values())


def test_gpu_counters_continue_across_calls():
    a, b, c = END - timedelta(hours=1), END - timedelta(minutes=30), END
    counters: dict[str, float] = {}
    first = [s for s in simulate_gpu_samples(SPEC, a, b, 60, counters=counters) if s.energy_mj]
    second = [s for s in simulate_gpu_samples(SPEC, b, c, 60, counters=counters) if s.energy_mj]
    last = {s.uuid: s.energy_mj for s in first}
    nxt = {}
    for s in second:
        nxt.setdefault(s.uuid, s)
    for uuid, s in nxt.items():
        gained_j = (s.energy_mj - last[uuid]) / 1000
        assert 0 < gained_j <= 60 * 700 * 1.06      # one step of at most max power


def test_gpu_metrics_data_shape():
    samples = list(simulate_gpu_samples(SPEC, END - timedelta(minutes=5), END, 60))
    data = gpu_metrics_data(samples, 0)
    names = {m.name: m for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics}
    assert {"DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_PROF_GR_ENGINE_ACTIVE", "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_FREE",
            "DCGM_FI_DEV_POWER_USAGE", "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", "DCGM_FI_DEV_GPU_TEMP"} == set(names)
    energy = names["DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"].data
    assert energy.is_monotonic and type(energy).__name__ == "Sum"
    labels = names["DCGM_FI_DEV_GPU_UTIL"].data.data_points[0].attributes
    assert {"gpu", "UUID", "modelName", "Hostname"} <= set(labels)
    assert any("pod" in p.attributes and "namespace" in p.attributes and "container" in p.attributes
               for p in names["DCGM_FI_DEV_GPU_UTIL"].data.data_points)
    assert any("GPU_I_PROFILE" in p.attributes for p in names["DCGM_FI_PROF_GR_ENGINE_ACTIVE"].data.data_points)
    fields = ("gpu_util_pct", "gr_engine_active", "fb_used_mib", "fb_free_mib", "power_w", "energy_mj", "temp_c")
    assert points_in(data) == sum(getattr(s, f) is not None for s in samples for f in fields)
    assert len(data.resource_metrics) == len({s.hostname for s in samples})


# --- GenAI client metrics ------------------------------------------------------------------------------------

def test_genai_histograms_match_the_requests():
    from inferledger.demo.genai_metrics import DURATION_BOUNDS, IntervalAggregator, genai_metrics_data

    start = END - timedelta(hours=1)
    reqs = list(simulate_requests(SPEC, start, END, incidents=[]))
    agg = IntervalAggregator(600, SPEC.timeout_s)
    intervals = []
    for r in reqs:
        agg.put(r)
        intervals += agg.ready(r.start_ns)
    intervals += agg.flush()
    assert all(hi - lo == 600 * 10**9 and all(lo <= r.end_ns < hi for r in rs) for lo, hi, rs in intervals)
    genai = [r for r in reqs if r.vocabulary == "otel_genai"]
    assert sum(len(rs) for *_, rs in intervals) == len(genai)
    calls = tokens_in = 0
    data = genai_metrics_data(intervals)
    assert len({rm.resource for rm in data.resource_metrics}) == len(data.resource_metrics)
    points = [(m.name, p) for rm in data.resource_metrics for m in rm.scope_metrics[0].metrics
              for p in m.data.data_points]
    assert {rm.resource.attributes["service.name"] for rm in data.resource_metrics} == {"search-api",
                                                                                        "support-chatbot"}
    for name, p in points:
        assert sum(p.bucket_counts) == p.count and p.min <= p.sum / p.count <= p.max
        assert p.time_unix_nano - p.start_time_unix_nano == 600 * 10**9
        if name == "gen_ai.client.operation.duration":
            assert tuple(p.explicit_bounds) == DURATION_BOUNDS
            calls += p.count
        elif p.attributes["gen_ai.token.type"] == "input":
            tokens_in += p.sum
    assert calls == len(genai)
    assert tokens_in == sum(r.input_tokens for r in genai if not r.is_error)


# --- emission ------------------------------------------------------------------------------------------------

def test_emit_rejects_bad_arguments():
    with pytest.raises(EmitError, match="days"):
        backfill("http://127.0.0.1:4318", 0, progress=False)
    with pytest.raises(EmitError, match="base URL"):
        backfill("127.0.0.1:4318", 1, progress=False)
    with pytest.raises(EmitError, match="protocol"):
        backfill("http://127.0.0.1:4318", 1, protocol="thrift", progress=False)


class _Sink:
    """A tiny OTLP/HTTP receiver: decodes the protobuf bodies and counts what arrived."""

    def __init__(self, token: str | None = None) -> None:
        from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

        self.spans: list = []
        self.points = 0
        self.histograms: Counter = Counter()
        self.auth: set = set()
        lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if token is not None and self.headers.get("authorization") != f"Bearer {token}":
                    self.send_response(401)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                with lock:
                    sink.auth.add(self.headers.get("authorization"))
                    if self.path == "/v1/traces":
                        msg = ExportTraceServiceRequest.FromString(body)
                        sink.add_traces(msg)
                    elif self.path == "/v1/metrics":
                        sink.add_metrics(ExportMetricsServiceRequest.FromString(body))
                    else:
                        self.send_response(404)
                        self.end_headers()
                        return
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def add_traces(self, msg) -> None:
        for rs in msg.resource_spans:
            res = {kv.key: kv.value.string_value for kv in rs.resource.attributes}
            for ss in rs.scope_spans:
                for sp in ss.spans:
                    attrs = {kv.key for kv in sp.attributes}
                    self.spans.append((res["service.name"], sp.trace_id.hex(), sp.span_id.hex(),
                                       sp.start_time_unix_nano, attrs))

    def add_metrics(self, msg) -> None:
        for rm in msg.resource_metrics:
            for sm in rm.scope_metrics:
                for m in sm.metrics:
                    self.points += len(m.gauge.data_points) + len(m.sum.data_points)
                    self.histograms[m.name] += len(m.histogram.data_points)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.server
def test_backfill_through_the_real_http_exporter():
    sink = _Sink()
    try:
        report = backfill(sink.url, 0.1, now=END, seed=5, tenant_token="t0ken", progress=False, batch_size=256,
                          gpu_step_s=300)
    finally:
        sink.close()
    expected = list(simulate_requests(SPEC, END - timedelta(days=0.1), END, seed=5))
    assert report.failed_batches == 0
    assert report.spans_sent == len(sink.spans) == len(expected) > 500
    assert {(t, s) for _, t, s, _, _ in sink.spans} == {(f"{r.trace_id:032x}", f"{r.span_id:016x}") for r in expected}
    lo, hi = to_ns(END - timedelta(days=0.1)), to_ns(END)
    assert all(lo <= st < hi for *_, st, _ in sink.spans)            # historical timestamps kept
    assert sum(report.by_vocabulary.values()) == report.spans_sent
    assert Counter(r.vocabulary for r in expected) == Counter(report.by_vocabulary)
    assert report.gpu_points_sent == sink.points > 0
    assert report.genai_metric_points_sent == sum(sink.histograms.values()) > 0
    assert {k for k, v in sink.histograms.items() if v} == {"gen_ai.client.operation.duration",
                                                            "gen_ai.client.token.usage"}
    assert sink.auth == {"Bearer t0ken"}
    assert [i.kind for i in report.incidents] == [PROMPT_LENGTH_DRIFT, LATENCY_REGRESSION, COST_SPIKE]


@pytest.mark.server
def test_backfill_through_the_real_grpc_exporter():
    grpc = pytest.importorskip("grpc")
    from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

    got = {"spans": 0, "points": 0}

    class Traces(trace_service_pb2_grpc.TraceServiceServicer):
        def Export(self, request, context):
            got["spans"] += sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)
            return trace_service_pb2.ExportTraceServiceResponse()

    class Metrics(metrics_service_pb2_grpc.MetricsServiceServicer):
        def Export(self, request, context):
            got["points"] += sum(len(m.gauge.data_points) + len(m.sum.data_points) for rm in request.resource_metrics
                                 for sm in rm.scope_metrics for m in sm.metrics)
            return metrics_service_pb2.ExportMetricsServiceResponse()

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Traces(), server)
    metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(Metrics(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        report = backfill("http://127.0.0.1:1", 0.05, now=END, protocol="grpc", grpc_endpoint=f"127.0.0.1:{port}",
                          progress=False)
    finally:
        server.stop(0)
    assert report.failed_batches == 0
    assert report.spans_sent == got["spans"] > 100
    assert report.gpu_points_sent == got["points"] > 0


@pytest.mark.server
def test_backfill_to_nothing_fails_clearly():
    with pytest.raises(EmitError, match="accepted no batch"):
        backfill("http://127.0.0.1:9", 0.05, now=END, progress=False, timeout_s=0.5)


@pytest.mark.server
def test_backfill_with_a_rejected_token_fails_clearly():
    sink = _Sink(token="right")
    try:
        with pytest.raises(EmitError, match="tenant token"):
            backfill(sink.url, 0.2, now=END, tenant_token="wrong", progress=False, batch_size=128)
    finally:
        sink.close()
    assert sink.spans == []


@pytest.mark.server
def test_stream_live_sends_current_spans_once_they_end():
    sink = _Sink()
    try:
        report = stream_live(sink.url, duration_s=3.0, tick_s=0.5, gpu_step_s=1.0, progress=False,
                             spec=FleetSpec(scale=200.0))
    finally:
        sink.close()
    assert report.spans_sent == len(sink.spans) > 0
    assert len({(t, s) for _, t, s, _, _ in sink.spans}) == len(sink.spans)   # nothing sent twice
    assert all(to_ns(report.start) <= st <= to_ns(report.end) for *_, st, _ in sink.spans)
    assert report.gpu_points_sent == sink.points > 0


@pytest.mark.server
def test_live_continues_a_backfill_without_gap_or_duplicates():
    from inferledger.demo.emit import _utcnow

    sink = _Sink()
    spec = FleetSpec(scale=20.0)
    try:
        ended = _utcnow() - timedelta(minutes=3)
        first = backfill(sink.url, 0.02, now=ended, progress=False, spec=spec, gpu_step_s=60)
        n_backfill = len(sink.spans)
        live = stream_live(sink.url, duration_s=1.0, tick_s=0.5, progress=False, spec=spec, after=first)
    finally:
        sink.close()
    assert live.start == ended and live.incidents == first.incidents
    ids = [(t, s) for _, t, s, _, _ in sink.spans]
    assert len(ids) == len(set(ids)) == n_backfill + live.spans_sent
    caught_up = [st for *_, st, _ in sink.spans[n_backfill:]]
    assert min(caught_up) >= to_ns(ended)
    assert min(caught_up) < to_ns(ended + timedelta(minutes=1))   # the 3-minute gap was filled
    assert live.gpu_counters is first.gpu_counters and live.gpu_points_sent > 0


@pytest.mark.server
def test_backfill_lands_in_the_real_service_with_every_vocabulary_mapped(tmp_path):
    """The demo against InferLedger's own receivers: what was sent is what the warehouse holds,
    read back in the vocabulary it was written in, attributed, and with the incident's names."""
    from tests.harness import running_service

    with running_service(tmp_path / "demo.duckdb") as (service, eps):
        report = backfill(eps.http, 0.1, now=END, progress=False, gpu_step_s=300)
        con = service.state.warehouse.con
        by_vocab = dict(con.execute("SELECT vocabulary, count(*) FROM spans GROUP BY 1").fetchall())
        unattributed = con.execute(
            "SELECT count(*) FROM spans WHERE team NOT IN ('search','support','growth','platform','research') "
            "OR feature IS NULL OR request_model IS NULL OR provider IS NULL").fetchone()[0]
        models = {m for (m,) in con.execute("SELECT DISTINCT request_model FROM spans").fetchall()}
        tokens = con.execute("SELECT sum(input_tokens) FROM spans").fetchone()[0]
        gpu_pods = {p for (p,) in con.execute("SELECT DISTINCT k8s_pod FROM gpu_samples").fetchall()}
        points = con.execute("SELECT count(*) FROM metric_points WHERE metric_name LIKE 'gen_ai.%'").fetchone()[0]
    assert report.failed_batches == 0
    assert by_vocab == report.by_vocabulary
    assert unattributed == 0
    assert {i.model for i in report.incidents} <= models
    expected = list(simulate_requests(SPEC, END - timedelta(days=0.1), END))
    assert tokens == sum(r.input_tokens or 0 for r in expected)
    assert {"vllm-llama-3-1-70b-0", "vllm-llama-3-1-8b-0", "notebook-ana-0"} <= gpu_pods
    assert points == report.genai_metric_points_sent > 0
