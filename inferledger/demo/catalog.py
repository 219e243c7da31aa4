"""What the demo fleet is made of: models, services, features and GPU nodes.

Plain data, kept apart from the simulation so that the cost, SLO, drift and
anomaly demos can read the same names (a team, a model, a GPU pod) that the
fleet emits. The figures are rough public list prices and speeds;
they only have to be plausible, the cost engine prices spans from its own
catalog (`client_price_per_mtok` feeds the client-side cost estimate some
instrumentations attach, which is never trusted as the price).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelProfile:
    """One model as a client sees it: who serves it and how fast it is."""

    name: str                       # gen_ai.request.model
    response_name: str              # gen_ai.response.model (dated snapshot)
    provider: str                   # gen_ai.provider.name (current vocabulary)
    operation: str                  # chat | embeddings
    server_address: str
    server_port: int
    ttft_s: float                   # median time to first token at a 1k-token prompt
    tokens_per_s: float             # median decode speed of one stream
    overhead_s: float               # network + queueing floor
    price_in: float = 0.0           # USD per 1M input tokens (client-side estimate only)
    price_out: float = 0.0
    price_cache_read: float = 0.0
    price_cache_write: float = 0.0
    finish_stop: str = "stop"       # provider's own finish-reason values
    finish_length: str = "length"
    finish_tool: str = "tool_calls"
    self_hosted: bool = False
    deployment: str | None = None   # self-hosted: the Deployment name in k8s (pods are <name>-N)
    reasoning: bool = False
    caches_prompt: bool = False     # Anthropic-style explicit cache read / write tokens


MODELS: dict[str, ModelProfile] = {m.name: m for m in [
    ModelProfile(name="gpt-4o", response_name="gpt-4o-2024-08-06", provider="openai", operation="chat",
       server_address="api.openai.com", server_port=443, ttft_s=0.45, tokens_per_s=85, overhead_s=0.12,
       price_in=2.5, price_out=10.0, price_cache_read=1.25),
    ModelProfile(name="gpt-4o-mini", response_name="gpt-4o-mini-2024-07-18", provider="openai", operation="chat",
       server_address="api.openai.com", server_port=443, ttft_s=0.30, tokens_per_s=120, overhead_s=0.10,
       price_in=0.15, price_out=0.6, price_cache_read=0.075),
    ModelProfile(name="o3-mini", response_name="o3-mini-2025-01-31", provider="openai", operation="chat",
       server_address="api.openai.com", server_port=443, ttft_s=1.8, tokens_per_s=150, overhead_s=0.15,
       price_in=1.1, price_out=4.4, price_cache_read=0.55, reasoning=True),
    ModelProfile(name="text-embedding-3-small", response_name="text-embedding-3-small", provider="openai",
       operation="embeddings", server_address="api.openai.com", server_port=443, ttft_s=0.0,
       tokens_per_s=0.0, overhead_s=0.08, price_in=0.02),
    ModelProfile(name="claude-sonnet-4-5", response_name="claude-sonnet-4-5-20250929", provider="anthropic",
       operation="chat", server_address="api.anthropic.com", server_port=443, ttft_s=0.7, tokens_per_s=65,
       overhead_s=0.15, price_in=3.0, price_out=15.0, price_cache_read=0.3, price_cache_write=3.75,
       finish_stop="end_turn", finish_length="max_tokens", finish_tool="tool_use", caches_prompt=True),
    ModelProfile(name="claude-haiku-4-5", response_name="claude-haiku-4-5-20251001", provider="anthropic",
       operation="chat", server_address="api.anthropic.com", server_port=443, ttft_s=0.45, tokens_per_s=110,
       overhead_s=0.12, price_in=1.0, price_out=5.0, price_cache_read=0.1, price_cache_write=1.25,
       finish_stop="end_turn", finish_length="max_tokens", finish_tool="tool_use", caches_prompt=True),
    ModelProfile(name="anthropic.claude-3-5-sonnet-20240620-v1:0", response_name="anthropic.claude-3-5-sonnet-20240620-v1:0",
       provider="aws.bedrock", operation="chat", server_address="bedrock-runtime.us-east-1.amazonaws.com",
       server_port=443, ttft_s=0.9, tokens_per_s=55, overhead_s=0.18, price_in=3.0, price_out=15.0,
       finish_stop="end_turn", finish_length="max_tokens", finish_tool="tool_use"),
    ModelProfile(name="meta.llama3-1-70b-instruct-v1:0", response_name="meta.llama3-1-70b-instruct-v1:0",
       provider="aws.bedrock", operation="chat", server_address="bedrock-runtime.us-east-1.amazonaws.com",
       server_port=443, ttft_s=0.6, tokens_per_s=45, overhead_s=0.18, price_in=0.72, price_out=0.72),
    ModelProfile(name="meta-llama/Llama-3.1-70B-Instruct", response_name="meta-llama/Llama-3.1-70B-Instruct",
       provider="vllm", operation="chat", server_address="vllm-llama-3-1-70b.inference.svc.cluster.local",
       server_port=8000, ttft_s=0.35, tokens_per_s=38, overhead_s=0.02, self_hosted=True,
       deployment="vllm-llama-3-1-70b"),
    ModelProfile(name="meta-llama/Llama-3.1-8B-Instruct", response_name="meta-llama/Llama-3.1-8B-Instruct",
       provider="vllm", operation="chat", server_address="vllm-llama-3-1-8b.inference.svc.cluster.local",
       server_port=8000, ttft_s=0.08, tokens_per_s=140, overhead_s=0.02, self_hosted=True,
       deployment="vllm-llama-3-1-8b"),
    ModelProfile(name="BAAI/bge-large-en-v1.5", response_name="BAAI/bge-large-en-v1.5", provider="vllm",
       operation="embeddings", server_address="tei-bge-large.inference.svc.cluster.local", server_port=8080,
       ttft_s=0.0, tokens_per_s=0.0, overhead_s=0.01, self_hosted=True, deployment="tei-bge-large"),
]}


@dataclass(frozen=True)
class Feature:
    """One product feature calling one model; the unit the fleet's traffic is made of."""

    team: str
    name: str
    service: str
    model: str
    rate_per_hour: float           # mean requests per hour at the weekday daily peak, scale 1
    input_median: float            # median input tokens (log-normal)
    input_sigma: float
    output_median: float           # median output tokens (log-normal)
    output_sigma: float
    max_tokens: int                # request cap: outputs that reach it finish with "length"
    streaming_share: float         # share of calls that stream (time to first token reported)
    night_floor: float = 0.25      # load at the nightly trough relative to the peak
    weekend_factor: float = 0.45   # weekend load relative to a weekday
    tool_share: float = 0.0        # share of calls that end in a tool call
    cache_hit_share: float = 0.0   # Anthropic-style prompt cache: share of calls reading the cache
    cached_prefix: int = 0         # tokens of the cached system prompt
    users: int = 500               # distinct end users


@dataclass(frozen=True)
class Service:
    """A deployed client service; its instrumentation decides the attribute vocabulary."""

    name: str
    team: str
    version: str
    vocabulary: str                # otel_genai | otel_genai_deprecated | openinference | openllmetry_0.4 | openllmetry_0.5 | openlit
    namespace: str
    replicas: int = 2
    staging_share: float = 0.04    # share of its traffic from deployment.environment=staging
    attribution: str = "resource"  # where team/feature live: "resource" or "span" attributes


SERVICES: dict[str, Service] = {s.name: s for s in [
    Service("search-api", "search", "2.14.1", "otel_genai", "search", replicas=3),
    Service("search-indexer", "search", "1.8.0", "openlit", "search", replicas=1, staging_share=0.0),
    Service("support-assistant", "support", "3.2.0", "openinference", "support", attribution="span"),
    Service("support-chatbot", "support", "1.21.3", "otel_genai", "support", replicas=3),
    Service("growth-studio", "growth", "0.9.4", "openllmetry_0.4", "growth", attribution="span"),
    Service("platform-tools", "platform", "5.0.2", "openllmetry_0.5", "platform", replicas=1),
    Service("research-evals", "research", "0.3.7", "otel_genai_deprecated", "research", replicas=1,
            staging_share=0.0),
]}


FEATURES: tuple[Feature, ...] = (
    Feature("search", "answers", "search-api", "gpt-4o", 250, 2200, 0.55, 260, 0.6, 1024, 0.9,
            cache_hit_share=0.3, cached_prefix=1024, users=4000),
    Feature("search", "query-rewrite", "search-api", "gpt-4o-mini", 340, 180, 0.4, 40, 0.5, 128, 0.0,
            users=4000),
    Feature("search", "embeddings-index", "search-indexer", "text-embedding-3-small", 100, 600, 0.5, 0, 0, 0,
            0.0, night_floor=0.6, weekend_factor=0.9, users=1),
    Feature("search", "semantic-cache", "search-api", "BAAI/bge-large-en-v1.5", 270, 40, 0.5, 0, 0, 0, 0.0,
            users=4000),
    Feature("support", "ticket-summary", "support-assistant", "claude-sonnet-4-5", 90, 3200, 0.5,
            220, 0.45, 800, 0.0, cache_hit_share=0.8, cached_prefix=2048, users=300),
    Feature("support", "agent-assist", "support-assistant", "claude-haiku-4-5", 140, 1400, 0.5, 180,
            0.55, 1024, 0.85, tool_share=0.18, cache_hit_share=0.6, cached_prefix=1024, users=300),
    Feature("support", "chatbot", "support-chatbot", "meta-llama/Llama-3.1-70B-Instruct", 300, 900, 0.6, 210,
            0.6, 1024, 1.0, users=6000),
    Feature("growth", "campaign-copy", "growth-studio", "gpt-4o", 45, 700, 0.5, 450, 0.5, 2048, 0.3, users=60),
    Feature("growth", "personalization", "growth-studio", "meta-llama/Llama-3.1-8B-Instruct", 200, 500, 0.4,
            80, 0.5, 256, 0.0, users=5000),
    Feature("platform", "code-review", "platform-tools", "o3-mini", 40, 4200, 0.7, 600, 0.6, 4096, 0.0,
            weekend_factor=0.15, users=120),
    Feature("platform", "log-triage", "platform-tools", "meta.llama3-1-70b-instruct-v1:0", 60, 2500, 0.6, 150,
            0.5, 512, 0.0, night_floor=0.5, weekend_factor=0.7, users=20),
    Feature("research", "eval-harness", "research-evals", "anthropic.claude-3-5-sonnet-20240620-v1:0", 32, 1600,
            0.5, 300, 0.7, 1024, 0.0, night_floor=0.8, weekend_factor=1.0, users=8),
    Feature("research", "synthetic-data", "research-evals", "meta-llama/Llama-3.1-70B-Instruct", 60, 600, 0.4,
            700, 0.4, 2048, 0.0, night_floor=1.0, weekend_factor=1.1, users=4),
)


@dataclass(frozen=True)
class GpuNode:
    """An H100 node; `pods` places Deployment replicas on GPU indexes (tensor-parallel groups)."""

    hostname: str
    gpus: int = 8
    model_name: str = "NVIDIA H100 80GB HBM3"
    memory_mib: int = 81559
    # (deployment, replica, namespace, container, gpu indexes)
    pods: tuple[tuple[str, int, str, str, tuple[int, ...]], ...] = ()
    # GPU index partitioned with MIG: (index, [(GPU_I_PROFILE, GPU_I_ID, namespace, pod, container)])
    mig: tuple[tuple[int, tuple[tuple[str, str, str, str, str], ...]], ...] = ()


GPU_NODES: tuple[GpuNode, ...] = (
    GpuNode("gpu-node-a1", pods=(
        ("vllm-llama-3-1-70b", 0, "inference", "vllm", (0, 1, 2, 3)),
        ("vllm-llama-3-1-70b", 1, "inference", "vllm", (4, 5, 6, 7)),
    )),
    GpuNode("gpu-node-a2", pods=(
        ("vllm-llama-3-1-8b", 0, "inference", "vllm", (0,)),
        ("vllm-llama-3-1-8b", 1, "inference", "vllm", (1,)),
        ("vllm-llama-3-1-8b", 2, "inference", "vllm", (2,)),
        ("tei-bge-large", 0, "inference", "tei", (3,)),
    ), mig=(
        (4, (("3g.40gb", "1", "research", "notebook-ana-0", "jupyter"),
             ("3g.40gb", "2", "research", "notebook-li-0", "jupyter"))),
    )),
)
# gpu-node-a2 GPUs 5-7 hold no pod: idle capacity the cost engine should report as such.


