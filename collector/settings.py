"""Settings of the OTLP receivers, the ingest writer and attribution."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class IngestSettings:
    max_body_bytes: int = 64 * 1024 * 1024
    # Raw request bytes held across all requests before and while decoding; beyond it -> 429 / RESOURCE_EXHAUSTED.
    # It bounds the wait too: 16 MiB is a few seconds of decoding even on a loaded two-core machine,
    # under the exporters' 10 s timeout (benchmarks/bench_backpressure.py).
    max_inflight_bytes: int = 16 * 1024 * 1024
    # Bounded write queue: requests waiting for the group commit. Full -> 429 / RESOURCE_EXHAUSTED.
    queue_max_batches: int = 256
    retry_after_seconds: int = 1
    # HTTP/gRPC limits enforced before authentication (collector.http_limits, otlp_grpc).
    max_header_bytes: int = 64 * 1024
    max_header_count: int = 100
    header_timeout_s: float = 10.0
    idle_timeout_s: float = 30.0
    max_connections: int = 512
    grpc_max_concurrent_streams: int = 64
    # Processes that decode and normalize requests while the service process commits.
    # 0 runs them inline in the service process.
    workers: int = 1
    # OTLP/protobuf traces decoder: "fast" (compiled wire decoder, collector.fastpath; requests it
    # cannot reproduce exactly go to the reference) or "reference" (protobuf messages + collector.normalize).
    decoder: str = "fast"
    # Largest number of rows one group commit takes in one transaction.
    max_commit_rows: int = 200_000
    # A commit costs ~7 ms of CPU whatever its size, so the writer can hold a commit open for up to
    # commit_linger_ms while requests are still being decoded, until it has commit_target_rows rows.
    # It never waits when no request is on its way. Off by default: it saves CPU, but clients with a
    # bounded number of requests in flight (every OTLP exporter) wait the linger too and send less
    # (bench_ingest, 2 workers: 22k spans/s without, 14k with 20 ms).
    commit_target_rows: int = 16_384
    commit_linger_ms: float = 0.0
    # Span ids the writer holds in memory to drop resent spans before the append (16 bytes each,
    # twice over: 2M ids = 64 MiB). Older spans are looked up in the warehouse (exact, slower).
    # The duplicate-link index (collector.link_index) holds as many trace/response keys.
    recent_ids: int = 2_000_000
    # On start, the set is loaded from the spans that started in the last this many hours.
    recent_ids_lookback_hours: float = 24.0
    # The writer checkpoints after 0.1 s without a request once the WAL is past this many bytes, so for
    # bursty traffic the checkpoint's stall falls in a quiet moment (0: only warehouse.checkpoint_threshold).
    # Off by default: under steady load the next request arrives during the checkpoint and waits anyway
    # (benchmarks/bench_commit_latency.py).
    idle_checkpoint_bytes: int = 0
    # Keep prompt/completion text (PII). Off by default: the attributes are dropped.
    capture_content: bool = False
    # Services whose every span counts as an inference span, even without GenAI attributes.
    inference_services: list[str] = field(default_factory=list)
    # Non-GPU metrics kept in metric_points, by name prefix (GenAI, vLLM, TGI); other metrics are skipped.
    keep_metric_prefixes: list[str] = field(default_factory=lambda: ["gen_ai.", "vllm:", "vllm.", "tgi_"])
    # Plausibility bounds: a span outside them is rejected alone (partial_success naming the field).
    max_tokens_per_span: int = 100_000_000
    max_cost_usd_per_span: float = 10_000.0
    max_span_duration_s: float = 7 * 86400.0
    min_timestamp: str = "2000-01-01"
    max_clock_skew_s: float = 86400.0
    # Unmapped-key accounting (in memory, flushed in bulk): caps per span, per request and in total.
    max_unmapped_keys_per_span: int = 64
    max_unmapped_keys_per_request: int = 256
    max_unmapped_keys_total: int = 10_000

    def __post_init__(self) -> None:
        if self.max_body_bytes < 1024:
            raise ValueError("max_body_bytes must be >= 1024")
        if self.max_inflight_bytes < 1024:
            raise ValueError("max_inflight_bytes must be >= 1024")
        if self.workers < 0:
            raise ValueError("workers must be >= 0")
        if self.decoder not in ("fast", "reference"):
            raise ValueError(f"decoder must be 'fast' or 'reference', got {self.decoder!r}")
        if self.idle_checkpoint_bytes < 0:
            raise ValueError("idle_checkpoint_bytes must be >= 0")
        if self.recent_ids < 1 or self.recent_ids_lookback_hours < 0:
            raise ValueError("recent_ids must be >= 1 and recent_ids_lookback_hours >= 0")
        if self.max_commit_rows < 1 or self.commit_target_rows < 0:
            raise ValueError("max_commit_rows must be >= 1 and commit_target_rows >= 0")
        if not 0 <= self.commit_linger_ms <= 1000:
            raise ValueError("commit_linger_ms must be between 0 and 1000")
        if self.queue_max_batches < 1:
            raise ValueError("queue_max_batches must be >= 1")
        if not 0 < self.max_tokens_per_span < 2**62:
            raise ValueError("max_tokens_per_span must be between 1 and 2**62")
        if self.max_cost_usd_per_span <= 0 or self.max_span_duration_s <= 0 or self.max_clock_skew_s < 0:
            raise ValueError("max_cost_usd_per_span and max_span_duration_s must be > 0, max_clock_skew_s >= 0")
        try:
            datetime.fromisoformat(self.min_timestamp)
        except ValueError:
            raise ValueError(f"min_timestamp {self.min_timestamp!r} is not an ISO date") from None
        if min(self.max_unmapped_keys_per_span, self.max_unmapped_keys_per_request, self.max_unmapped_keys_total) < 0:
            raise ValueError("max_unmapped_keys_* must be >= 0")
        if any(not isinstance(p, str) or not p for p in self.keep_metric_prefixes):
            raise ValueError("keep_metric_prefixes must be a list of non-empty strings")


@dataclass
class AuthSettings:
    """Bearer tokens mapped to tenants. Empty `tokens` means auth is off."""

    tokens: dict[str, str] = field(default_factory=dict)
    # Used when auth is off: the tenant comes from this header, else `default_tenant`.
    tenant_header: str = "x-inferledger-tenant"
    default_tenant: str = "default"
    # With auth off: most distinct tenant names taken from the header (bounds /metrics label sets).
    max_tenants: int = 1000
    # Bearer tokens of the admin API (Authorization: Bearer <token>); required when `tokens` is set
    # or the admin API listens beyond loopback. The CLI sends INFERLEDGER_ADMIN_TOKEN, else the first.
    admin_tokens: list[str] = field(default_factory=list)

    @property
    def enabled(self) -> bool:
        return bool(self.tokens)


@dataclass
class AttributionSettings:
    """Keys looked up, in order, in span attributes, resource attributes and baggage."""

    team_keys: list[str] = field(
        default_factory=lambda: ["team", "app.team", "inferledger.team", "service.namespace"]
    )
    feature_keys: list[str] = field(
        default_factory=lambda: ["feature", "app.feature", "inferledger.feature", "traceloop.workflow.name"]
    )
    user_keys: list[str] = field(default_factory=lambda: ["user.id", "enduser.id", "gen_ai.user.id"])
    conversation_keys: list[str] = field(
        default_factory=lambda: ["gen_ai.conversation.id", "session.id", "conversation.id"]
    )
    default_team: str = "unassigned"
    default_feature: str = "unassigned"
