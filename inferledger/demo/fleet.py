"""A seeded, realistic inference fleet: one `Request` per model call, no I/O.

Traffic is a non-homogeneous Poisson process drawn minute by minute. Each
minute has its own random stream derived from (seed, minute), so a window's
requests do not depend on where the window starts: a backfill and the live
stream that continues it agree, and a test can simulate a slice of the day.

Token counts are log-normal per feature; latency is the model's network floor,
time to first token (growing with the prompt) and decode time (output tokens
over the model's per-stream speed, self-hosted models slowing under load).
Errors: 429s on hosted APIs (more at peak), timeouts, self-hosted 500s. The
incidents of `inferledger.demo.incidents` scale latency, traffic, outputs or
prompts of the requests they cover, and each request names the incidents it
carries, so tests can compare inside and outside.
"""

from __future__ import annotations

import calendar
import math
import random
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from inferledger.demo.catalog import Feature, ModelProfile, Service
from inferledger.demo.gpus import GpuSample, simulate_gpu_samples
from inferledger.demo.incidents import (
    COST_SPIKE,
    LATENCY_REGRESSION,
    PROMPT_LENGTH_DRIFT,
    Incident,
    incidents_for,
)
from inferledger.demo.spec import FleetSpec, load_factor

__all__ = [
    "FleetSpec", "Incident", "Request", "GpuSample", "incidents_for", "simulate_requests",
    "simulate_gpu_samples", "to_ns", "from_ns",
]

_NS = 1_000_000_000
_MINUTE_NS = 60 * _NS


def to_ns(t: datetime) -> int:
    """Naive UTC datetime -> Unix nanoseconds, exactly (no float rounding)."""
    return (calendar.timegm(t.timetuple()) * 1_000_000 + t.microsecond) * 1000


def from_ns(ns: int) -> datetime:
    """Unix nanoseconds -> naive UTC datetime (microsecond precision)."""
    return datetime(1970, 1, 1) + timedelta(microseconds=ns // 1000)


@dataclass(frozen=True, slots=True)
class Request:
    """One inference call as the calling service's instrumentation sees it.

    Token counts follow the GenAI convention: input includes cache read/write
    tokens, output includes reasoning tokens; None when the call failed before
    the provider reported usage.
    """

    start_ns: int
    end_ns: int
    trace_id: int
    span_id: int
    parent_span_id: int | None
    service: str
    service_version: str
    environment: str
    vocabulary: str
    attribution: str
    host_name: str
    k8s_namespace: str
    k8s_pod: str
    team: str
    feature: str
    user_id: str | None
    conversation_id: str | None
    operation: str
    provider: str
    request_model: str
    response_model: str | None
    server_address: str
    server_port: int
    input_tokens: int | None
    output_tokens: int | None
    cache_read_tokens: int
    cache_write_tokens: int
    reasoning_tokens: int
    streaming: bool
    ttft_s: float | None
    finish_reason: str | None
    error_type: str | None
    client_cost_usd: float | None
    incidents: tuple[str, ...] = ()

    @property
    def start(self) -> datetime:
        return from_ns(self.start_ns)

    @property
    def end(self) -> datetime:
        return from_ns(self.end_ns)

    @property
    def duration_s(self) -> float:
        return (self.end_ns - self.start_ns) / _NS

    @property
    def is_error(self) -> bool:
        return self.error_type is not None


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam < 30:
        limit, k, p = math.exp(-lam), 0, rng.random()
        while p > limit:
            k += 1
            p *= rng.random()
        return k
    return max(0, round(rng.gauss(lam, math.sqrt(lam))))


def _lognormal(rng: random.Random, median: float, sigma: float) -> float:
    return median * math.exp(sigma * rng.gauss(0.0, 1.0))


def _stable(text: str) -> int:
    return zlib.crc32(text.encode())


class _Plan:
    """Per-feature constants worked out once per simulation."""

    __slots__ = ("feature", "service", "model", "pods", "hosts", "per_minute")

    def __init__(self, spec: FleetSpec, feature: Feature) -> None:
        self.feature = feature
        self.service: Service = spec.services[feature.service]
        self.model: ModelProfile = spec.models[feature.model]
        tag = f"{_stable(self.service.name + self.service.version) & 0xFFFFFFF:07x}"[:7]
        self.pods = [f"{self.service.name}-{tag}-{_stable(f'{self.service.name}{i}') % 46656:03x}"
                     for i in range(self.service.replicas)]
        self.hosts = [f"cpu-node-{(_stable(p) % spec.tenant_hosts) + 1}" for p in self.pods]
        self.per_minute = feature.rate_per_hour * spec.scale / 60.0


def _affects(inc: Incident, plan: _Plan) -> bool:
    f = plan.feature
    if inc.kind == LATENCY_REGRESSION:
        return f.model == inc.model
    if inc.kind == COST_SPIKE:
        return f.team == inc.team and f.name == inc.feature and f.model == inc.model
    if inc.kind == PROMPT_LENGTH_DRIFT:
        return f.name == inc.feature and f.model == inc.model and (inc.service in (None, f.service))
    return False


def simulate_requests(spec: FleetSpec, start: datetime, end: datetime, seed: int = 7,
                      incidents: list[Incident] | None = None) -> Iterator[Request]:
    """Requests starting in [start, end), in start order.

    `incidents` defaults to `incidents_for(start, end, seed)`; pass the backfill's
    list to a later (live) window so the lasting drift carries on, or [] for a
    clean fleet.
    """
    if end <= start:
        return
    if incidents is None:
        incidents = incidents_for(start, end, seed, spec.incidents)
    plans = [_Plan(spec, f) for f in spec.features]
    affecting = [[inc for inc in incidents if _affects(inc, p)] for p in plans]
    lo, hi = to_ns(start), to_ns(end)
    minute = lo // _MINUTE_NS
    last = (hi - 1) // _MINUTE_NS
    while minute <= last:
        t0 = minute * _MINUTE_NS
        when = from_ns(t0 + _MINUTE_NS // 2)
        rng = random.Random(f"fleet:{seed}:{minute}")
        batch: list[Request] = []
        for plan, incs in zip(plans, affecting):
            active = tuple(inc for inc in incs if inc.active(when))
            load = load_factor(plan.feature, when, spec.peak_hour_utc)
            lam = plan.per_minute * load
            for inc in active:
                if inc.kind == COST_SPIKE:
                    lam *= inc.factor
            for _ in range(_poisson(rng, lam)):
                batch.append(_request(spec, plan, rng, t0 + int(rng.random() * _MINUTE_NS), load, active))
        batch.sort(key=lambda r: r.start_ns)
        for r in batch:
            if lo <= r.start_ns < hi:
                yield r
        minute += 1


def _request(spec: FleetSpec, plan: _Plan, rng: random.Random, start_ns: int, load: float,
             active: tuple[Incident, ...]) -> Request:
    """One call. The order of the random draws is part of the seed's contract: keep it."""
    f, m, svc = plan.feature, plan.model, plan.service
    kinds = tuple(inc.kind for inc in active)
    factor = {inc.kind: inc.factor for inc in active}
    replica = rng.randrange(len(plan.pods))
    env = "staging" if rng.random() < svc.staging_share else "prod"
    user_id, conversation_id = _who(f, m, rng, start_ns)
    t = _tokens(spec, f, m, rng, factor)
    slow = factor.get(LATENCY_REGRESSION, 1.0) * ((1.0 + 0.35 * load) if m.self_hosted else 1.0)
    streaming, ttft, duration = _latency(f, m, rng, t, slow)
    error, duration = _outcome(spec, m, rng, load, duration)
    ok = error is None
    parent = rng.getrandbits(64) | 1 if svc.vocabulary in ("otel_genai", "openllmetry_0.5") else None
    return Request(
        start_ns=start_ns, end_ns=start_ns + max(1, int(duration * _NS)),
        trace_id=rng.getrandbits(128) | 1, span_id=rng.getrandbits(64) | 1, parent_span_id=parent,
        service=svc.name, service_version=svc.version, environment=env, vocabulary=svc.vocabulary,
        attribution=svc.attribution, host_name=plan.hosts[replica], k8s_namespace=svc.namespace,
        k8s_pod=plan.pods[replica], team=f.team, feature=f.name, user_id=user_id,
        conversation_id=conversation_id, operation=m.operation, provider=m.provider, request_model=m.name,
        response_model=m.response_name if ok else None, server_address=m.server_address,
        server_port=m.server_port, input_tokens=t.input if ok else None,
        output_tokens=t.output if ok and m.operation == "chat" else None,
        cache_read_tokens=t.cache_read if ok else 0, cache_write_tokens=t.cache_write if ok else 0,
        reasoning_tokens=t.reasoning if ok else 0, streaming=streaming,
        ttft_s=ttft if ok and streaming else None, finish_reason=t.finish if ok else None, error_type=error,
        client_cost_usd=_client_cost(m, t) if ok and not m.self_hosted else None, incidents=kinds,
    )


def _who(f: Feature, m: ModelProfile, rng: random.Random, start_ns: int) -> tuple[str | None, str | None]:
    """End user (log-uniform: a few heavy users, a long tail) and a ~20-minute conversation."""
    if f.users <= 1:
        return None, None
    u = int(f.users ** rng.random()) - 1
    user_id = f"user-{_stable(f'{f.team}:{u}') % 10**6:06d}"
    if m.operation != "chat":
        return user_id, None
    turn_window = start_ns // (20 * _MINUTE_NS)
    return user_id, f"conv-{_stable(f'{user_id}:{f.name}:{turn_window}'):08x}"


@dataclass(frozen=True, slots=True)
class _Tokens:
    input: int
    cache_read: int
    cache_write: int
    output: int            # includes reasoning; 0 for embeddings
    reasoning: int
    finish: str | None


def _tokens(spec: FleetSpec, f: Feature, m: ModelProfile, rng: random.Random, factor: dict[str, float]) -> _Tokens:
    """Log-normal prompts and outputs; the drift scales the prompt, the spike the output."""
    input_tokens = max(1, round(_lognormal(rng, f.input_median, f.input_sigma)))
    if PROMPT_LENGTH_DRIFT in factor:
        input_tokens = round(input_tokens * factor[PROMPT_LENGTH_DRIFT])
    cache_read = cache_write = 0
    if f.cached_prefix:
        input_tokens += f.cached_prefix // 2 if input_tokens < f.cached_prefix else 0
        if rng.random() < f.cache_hit_share:
            cache_read = min(f.cached_prefix, input_tokens)
        elif m.caches_prompt:
            cache_write = min(f.cached_prefix, input_tokens)
    if m.operation != "chat":
        return _Tokens(input_tokens, cache_read, cache_write, 0, 0, None)
    median, cap, finish = f.output_median, f.max_tokens, m.finish_stop
    if COST_SPIKE in factor:
        median *= spec.incidents.spike_output_factor
        cap *= 4
    output_tokens = max(1, round(_lognormal(rng, median, f.output_sigma)))
    if output_tokens >= cap:
        output_tokens, finish = cap, m.finish_length
    elif rng.random() < f.tool_share:
        finish = m.finish_tool
    reasoning = 0
    if m.reasoning:
        reasoning = round(output_tokens * rng.uniform(1.0, 4.0))
        output_tokens += reasoning
    return _Tokens(input_tokens, cache_read, cache_write, output_tokens, reasoning, finish)


def _latency(f: Feature, m: ModelProfile, rng: random.Random, t: _Tokens, slow: float) -> tuple[bool, float, float]:
    """(streaming, time to first token, duration): floor + first token (longer prompts, reasoning) + decode."""
    streaming = m.operation == "chat" and rng.random() < f.streaming_share
    if m.operation != "chat":
        return False, 0.0, (m.overhead_s + t.input * 2e-5) * math.exp(0.3 * rng.gauss(0.0, 1.0)) * slow
    ttft = m.ttft_s * (1.0 + t.input / 8000.0) * math.exp(0.35 * rng.gauss(0.0, 1.0)) * slow
    ttft += t.reasoning / m.tokens_per_s if t.reasoning else 0.0
    decode = (t.output - t.reasoning) / (m.tokens_per_s * math.exp(0.2 * rng.gauss(0.0, 1.0))) * slow
    return streaming, ttft, m.overhead_s + ttft + decode


def _outcome(spec: FleetSpec, m: ModelProfile, rng: random.Random, load: float,
             duration: float) -> tuple[str | None, float]:
    """429s follow load on hosted APIs, self-hosted 500s are rare, timeouts are the client giving up."""
    u = rng.random()
    if not m.self_hosted and u < spec.rate_limit_rate * (0.3 + load):
        return "429", m.overhead_s * (1.0 + rng.random())
    if m.self_hosted and u < spec.server_error_rate:
        return "500", m.overhead_s + rng.random() * 0.5
    if u > 1.0 - spec.timeout_rate or duration > spec.timeout_s:
        return "timeout", spec.timeout_s
    return None, duration


def _client_cost(m: ModelProfile, t: _Tokens) -> float:
    """What a client-side cost estimate (OpenLIT, OpenInference) would attach, from list prices."""
    uncached = t.input - t.cache_read - t.cache_write
    cost = (uncached * m.price_in + t.cache_read * (m.price_cache_read or m.price_in)
            + t.cache_write * (m.price_cache_write or m.price_in) + t.output * m.price_out) / 1e6
    return round(cost, 8)
