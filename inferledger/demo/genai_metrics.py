"""GenAI client metrics, as the services on the current OTel instrumentation record them.

Services on the current GenAI conventions (`otel_genai`) also record the
client histograms `gen_ai.client.operation.duration` (s) and
`gen_ai.client.token.usage` ({token}, split by `gen_ai.token.type`) with the
conventions' advisory bucket boundaries. The demo sends them as delta
histograms per export interval. They are the metrics a collector keeps beside
the spans; spans stay the source of truth for cost.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable

from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Histogram,
    HistogramDataPoint,
    Metric,
    MetricsData,
    ResourceMetrics,
    ScopeMetrics,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from inferledger.demo.fleet import Request
from inferledger.demo.vocabularies import resource_attributes, scope_of

METRIC_VOCABULARIES = ("otel_genai",)
DURATION_BOUNDS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)
TOKEN_BOUNDS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864)


class _Hist:
    __slots__ = ("counts", "count", "sum", "min", "max")

    def __init__(self, bounds: tuple) -> None:
        self.counts = [0] * (len(bounds) + 1)
        self.count = 0
        self.sum = 0.0
        self.min = float("inf")
        self.max = float("-inf")

    def add(self, value: float, bounds: tuple) -> None:
        self.counts[bisect_left(bounds, value)] += 1   # buckets are (lower, upper]
        self.count += 1
        self.sum += value
        self.min = min(self.min, value)
        self.max = max(self.max, value)


def genai_metrics_data(intervals: Iterable[tuple[int, int, Iterable[Request]]]) -> MetricsData | None:
    """Delta histograms, one point per series and interval [start_ns, end_ns); None when there is nothing.

    One ResourceMetrics per resource and one Metric per name across all the
    intervals: the SDK encoder keys resources by value, so two ResourceMetrics
    with the same resource in one export would overwrite each other.
    """
    # resource key -> metric -> (interval, attribute tuple) -> hist
    per_res: dict[tuple, dict[str, dict[tuple, _Hist]]] = defaultdict(lambda: defaultdict(dict))
    resources: dict[tuple, tuple[dict, tuple[str, str]]] = {}
    for start_ns, end_ns, requests in intervals:
        _aggregate(per_res, resources, (start_ns, end_ns), requests)
    if not per_res:
        return None
    out = []
    for rkey, metrics in per_res.items():
        rattrs, scope = resources[rkey]
        built = []
        for name, series in metrics.items():
            bounds, unit, desc = ((DURATION_BOUNDS, "s", "GenAI operation duration.")
                                  if name.endswith("duration") else
                                  (TOKEN_BOUNDS, "{token}", "Number of input and output tokens used."))
            points = [HistogramDataPoint(attributes=dict(a), start_time_unix_nano=lo, time_unix_nano=hi,
                                         count=h.count, sum=h.sum, bucket_counts=h.counts,
                                         explicit_bounds=bounds, min=h.min, max=h.max)
                      for ((lo, hi), a), h in series.items()]
            built.append(Metric(name=name, description=desc, unit=unit,
                                data=Histogram(data_points=points,
                                               aggregation_temporality=AggregationTemporality.DELTA)))
        out.append(ResourceMetrics(resource=Resource(rattrs),
                                   scope_metrics=[ScopeMetrics(scope=InstrumentationScope(*scope), metrics=built,
                                                               schema_url="")], schema_url=""))
    return MetricsData(resource_metrics=out)


def _aggregate(per_res, resources, window: tuple[int, int], requests: Iterable[Request]) -> None:
    for r in requests:
        if r.vocabulary not in METRIC_VOCABULARIES:
            continue
        rattrs = resource_attributes(r)
        rkey = tuple(rattrs.items())
        resources.setdefault(rkey, (rattrs, scope_of(r)))
        base = (("gen_ai.operation.name", r.operation), ("gen_ai.provider.name", r.provider),
                ("gen_ai.request.model", r.request_model), ("server.address", r.server_address),
                ("server.port", r.server_port))
        attrs = base + ((("gen_ai.response.model", r.response_model),) if r.response_model else ()) \
            + ((("error.type", r.error_type),) if r.error_type else ())
        dur = per_res[rkey]["gen_ai.client.operation.duration"]
        dur.setdefault((window, attrs), _Hist(DURATION_BOUNDS)).add(r.duration_s, DURATION_BOUNDS)
        if r.error_type is None:
            usage = per_res[rkey]["gen_ai.client.token.usage"]
            for kind, value in (("input", r.input_tokens), ("output", r.output_tokens)):
                if value is not None:
                    key = attrs + (("gen_ai.token.type", kind),)
                    usage.setdefault((window, key), _Hist(TOKEN_BOUNDS)).add(value, TOKEN_BOUNDS)


class IntervalAggregator:
    """Groups requests into export intervals by end time (a call is recorded when it ends).

    In a backfill requests arrive in start order and last at most
    `max_duration_s`, so an interval is complete once a request starts that much
    after its end; live, requests arrive once ended, so the slack is 0.
    """

    def __init__(self, interval_s: float, max_duration_s: float) -> None:
        if interval_s <= 0:
            raise ValueError(f"metrics interval must be > 0 s, got {interval_s}")
        self.interval_ns = int(interval_s * 1e9)
        self.slack_ns = int(max_duration_s * 1e9) + 1
        self.open: dict[int, list[Request]] = {}

    def put(self, r: Request) -> None:
        if r.vocabulary in METRIC_VOCABULARIES:
            self.open.setdefault(r.end_ns // self.interval_ns, []).append(r)

    def ready(self, now_ns: int) -> list[tuple[int, int, list[Request]]]:
        """Intervals no request can still end in, given that none starts before now_ns any more."""
        done = [k for k in self.open if (k + 1) * self.interval_ns + self.slack_ns <= now_ns]
        return [self._pop(k) for k in sorted(done)]

    def flush(self) -> list[tuple[int, int, list[Request]]]:
        return [self._pop(k) for k in sorted(self.open)]

    def _pop(self, k: int) -> tuple[int, int, list[Request]]:
        return k * self.interval_ns, (k + 1) * self.interval_ns, self.open.pop(k)
