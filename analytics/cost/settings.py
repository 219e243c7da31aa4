"""Settings of the cost engine: prices, GPU rates, budgets, currency.

The `[analytics.cost]` section. Defaults work with no config at all: the bundled
LiteLLM snapshot prices hosted models, the default GPU rates price self-hosted GPUs
(so the demo fleet's H100s show a cost), and no budget is set.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

SELF_HOSTED_DEFAULT = ["vllm", "triton", "tgi", "sglang", "ollama", "llama.cpp", "self_hosted", "nvidia.nim"]


def parse_when(value: str, name: str) -> datetime | None:
    """'' -> None; ISO date or datetime (naive UTC, or with an offset converted to UTC)."""
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"{name}: not an ISO 8601 date or datetime: {value!r}") from exc
    if dt.tzinfo is not None:

        dt = dt.astimezone(UTC).replace(tzinfo=None)
    return dt


@dataclass
class PriceOverride:
    """One local price: USD (or `currency`) per token, in force in [valid_from, valid_to)."""

    model: str = ""
    model_regex: str = ""
    provider: str = ""
    input_cost_per_token: float | None = None
    output_cost_per_token: float | None = None
    cache_read_input_token_cost: float | None = None
    cache_creation_input_token_cost: float | None = None
    output_cost_per_reasoning_token: float | None = None
    input_cost_per_token_above_200k_tokens: float | None = None
    output_cost_per_token_above_200k_tokens: float | None = None
    currency: str = "USD"
    valid_from: str = ""
    valid_to: str = ""
    # None: the provider default (see CostSettings.input_excludes_cache_providers).
    input_includes_cache: bool | None = None

    def __post_init__(self) -> None:
        if bool(self.model) == bool(self.model_regex):
            raise ValueError("a price override needs exactly one of model or model_regex")
        if self.model_regex:
            try:
                re.compile(self.model_regex)
            except re.error as exc:
                raise ValueError(f"model_regex {self.model_regex!r} is not a valid regex: {exc}") from exc
        if self.input_cost_per_token is None or self.output_cost_per_token is None:
            raise ValueError(
                f"price override for {self.model or self.model_regex!r} needs input_cost_per_token and output_cost_per_token"
            )
        for name in (
            "input_cost_per_token", "output_cost_per_token", "cache_read_input_token_cost",
            "cache_creation_input_token_cost", "output_cost_per_reasoning_token",
            "input_cost_per_token_above_200k_tokens", "output_cost_per_token_above_200k_tokens",
        ):
            v = getattr(self, name)
            if v is not None and v < 0:
                raise ValueError(f"{name} must be >= 0, got {v}")
        start = parse_when(self.valid_from, "valid_from")
        end = parse_when(self.valid_to, "valid_to")
        if start and end and end <= start:
            raise ValueError(f"valid_to ({self.valid_to}) must be after valid_from ({self.valid_from})")


@dataclass
class GpuRate:
    """Cost of one whole GPU per hour; `gpu_model` matches as a word in the reported model name."""

    gpu_model: str = ""
    usd_per_hour: float = 0.0
    valid_from: str = ""
    valid_to: str = ""

    def __post_init__(self) -> None:
        if not self.gpu_model:
            raise ValueError("gpu_model is required")
        if self.usd_per_hour < 0:
            raise ValueError(f"usd_per_hour must be >= 0, got {self.usd_per_hour}")
        start = parse_when(self.valid_from, "valid_from")
        end = parse_when(self.valid_to, "valid_to")
        if start and end and end <= start:
            raise ValueError("valid_to must be after valid_from")


def _default_gpu_rates() -> list[GpuRate]:
    return [
        GpuRate("H200", 3.80),
        GpuRate("H100", 2.99),
        GpuRate("A100", 1.79),
        GpuRate("L40S", 1.25),
        GpuRate("A10G", 1.01),
        GpuRate("L4", 0.80),
        GpuRate("T4", 0.53),
    ]


@dataclass
class GpuPool:
    """GPUs a provider bills for: `count` GPUs matching `gpu_model` (as a word), on hosts matching `host_regex`.

    The inventory is what reconciliation compares the samples with: `count` GPUs
    for every hour in [valid_from, valid_to) are expected to be observed and billed.
    `usd_per_hour` 0 takes the rate from `gpu_rates`.
    """

    name: str = ""
    gpu_model: str = ""
    count: int = 0
    usd_per_hour: float = 0.0
    host_regex: str = ""
    valid_from: str = ""
    valid_to: str = ""

    def __post_init__(self) -> None:
        if not self.name or not self.gpu_model:
            raise ValueError("a GPU pool needs a name and a gpu_model")
        if self.count < 1:
            raise ValueError(f"GPU pool {self.name!r}: count must be >= 1, got {self.count}")
        if self.usd_per_hour < 0:
            raise ValueError(f"GPU pool {self.name!r}: usd_per_hour must be >= 0")
        if self.host_regex:
            try:
                re.compile(self.host_regex)
            except re.error as exc:
                raise ValueError(f"GPU pool {self.name!r}: host_regex is not a valid regex: {exc}") from exc
        start = parse_when(self.valid_from, "valid_from")
        end = parse_when(self.valid_to, "valid_to")
        if start and end and end <= start:
            raise ValueError(f"GPU pool {self.name!r}: valid_to must be after valid_from")


@dataclass
class GpuBill:
    """What the provider billed for one pool in one month (YYYY-MM), in the cost currency."""

    pool: str = ""
    month: str = ""
    amount: float = 0.0

    def __post_init__(self) -> None:
        if not self.pool:
            raise ValueError("a GPU bill needs a pool")
        if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", self.month):
            raise ValueError(f"GPU bill for {self.pool!r}: month must be YYYY-MM, got {self.month!r}")
        if self.amount < 0:
            raise ValueError(f"GPU bill for {self.pool!r}: amount must be >= 0")


@dataclass
class Budget:
    team: str = ""
    feature: str = ""  # empty: the whole team
    monthly: float = 0.0

    def __post_init__(self) -> None:
        if not self.team:
            raise ValueError("a budget needs a team")
        if self.monthly <= 0:
            raise ValueError(f"budget for team {self.team!r}: monthly must be > 0, got {self.monthly}")


@dataclass
class CostSettings:
    currency: str = "USD"
    # A LiteLLM-schema JSON used instead of the bundled snapshot ('' = bundled).
    catalog_path: str = ""
    # TOML or YAML file with a list `prices` of overrides (same keys as `overrides`).
    overrides_path: str = ""
    overrides: list[PriceOverride] = field(default_factory=list)
    # Providers whose input token count excludes cache tokens (Anthropic's own API does).
    input_excludes_cache_providers: list[str] = field(default_factory=list)
    # Providers served on our own GPUs: priced through GPU allocation, never "unpriced".
    self_hosted_providers: list[str] = field(default_factory=lambda: list(SELF_HOSTED_DEFAULT))
    gpu_rates: list[GpuRate] = field(default_factory=_default_gpu_rates)
    # Idle GPU time: its own line (false) or spread over the GPU's workloads by their use (true).
    spread_idle: bool = False
    # A GPU sample stands for the time until the GPU's next sample. Each GPU's own
    # sampling interval is learned from its samples (the median gap); a gap longer than
    # gpu_gap_factor x that interval is a coverage gap: the sample before it stands for
    # one interval and the rest is recorded as unobserved (gpu_coverage), never billed.
    gpu_gap_factor: float = 3.0
    # The interval assumed for a GPU with too few samples to learn its own (and no fleet to learn from).
    gpu_sample_interval_s: float = 60.0
    # Inventory and bills that `report reconcile` checks the observed GPU time against.
    gpu_pools: list[GpuPool] = field(default_factory=list)
    gpu_bills: list[GpuBill] = field(default_factory=list)
    budgets: list[Budget] = field(default_factory=list)
    # Days of history the month-end forecast learns weekday and weekend spend from.
    forecast_lookback_days: int = 28
    budget_thresholds: list[float] = field(default_factory=lambda: [0.5, 0.8, 1.0])
    # Where showback reports go (`YYYY-MM/` folders); '' = a `showback` folder beside the warehouse file.
    showback_dir: str = ""

    def report_dir(self, warehouse_path: str, month: str) -> Path:
        """Where the showback of `month` goes by default (never the process's working directory)."""
        base = Path(self.showback_dir) if self.showback_dir else Path(warehouse_path).resolve().parent / "showback"
        return base / month

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Z]{3}", self.currency):
            raise ValueError(f"currency must be an ISO 4217 code like USD, got {self.currency!r}")
        for i, o in enumerate(self.overrides):
            if o.currency != self.currency:
                raise ValueError(
                    f"overrides[{i}].currency is {o.currency} but analytics.cost.currency is {self.currency}"
                )
        if self.gpu_gap_factor < 1:
            raise ValueError("gpu_gap_factor must be >= 1")
        if self.gpu_sample_interval_s <= 0:
            raise ValueError("gpu_sample_interval_s must be > 0")
        names = [p.name for p in self.gpu_pools]
        if len(set(names)) != len(names):
            raise ValueError(f"gpu_pools names must be unique, got {names}")
        for b in self.gpu_bills:
            if b.pool not in names:
                raise ValueError(f"gpu_bills: pool {b.pool!r} is not one of gpu_pools {names}")
        if self.forecast_lookback_days < 7:
            raise ValueError("forecast_lookback_days must be >= 7")
        if any(not 0 < t <= 10 for t in self.budget_thresholds):
            raise ValueError("budget_thresholds are fractions of the budget, each in (0, 10]")
