"""The price catalog: LiteLLM's JSON schema, local overrides, and model matching.

Telemetry names models the way each client library does (`bedrock/us-east-1/...`,
`us.anthropic.claude-...`, `gpt-4o-2024-08-06`); the catalog names them LiteLLM's way.
Matching tries the most specific reading first (provider prefix, exact name), then
strips prefixes, regions and date suffixes, so a dated model gets its own price when
the catalog has one and its base model's price otherwise. Prices are exact decimals
(USD per token, 18 places) so sums of cost lines add up to the cent and beyond.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from importlib import resources
from pathlib import Path

from inferledger.analytics.cost.settings import CostSettings, PriceOverride, parse_when

BUNDLED_CATALOG = "model_prices_and_context_window.json"
RETIRED_MODELS = "retired_model_prices.json"
MIN_TIME = datetime(1970, 1, 1)
MAX_TIME = datetime(9999, 12, 31)
_QUANT = Decimal("1e-18")

# canonical provider (CONVENTIONS.md) -> LiteLLM key prefixes tried before the bare name
PROVIDER_PREFIXES: dict[str, tuple[str, ...]] = {
    "openai": ("",),
    "anthropic": ("",),
    "aws.bedrock": ("bedrock/", "bedrock_converse/", ""),
    "bedrock": ("bedrock/", ""),
    "azure.ai.openai": ("azure/", ""),
    "azure": ("azure/", ""),
    "azure.ai.inference": ("azure_ai/", ""),
    "gcp.vertex_ai": ("vertex_ai/", ""),
    "gcp.gemini": ("gemini/", ""),
    "gcp.gen_ai": ("gemini/", "vertex_ai/", ""),
    "mistral_ai": ("mistral/", ""),
    "groq": ("groq/", ""),
    "deepseek": ("deepseek/", ""),
    "x_ai": ("xai/", ""),
    "cohere": ("cohere/", ""),
    "perplexity": ("perplexity/", ""),
    "together_ai": ("together_ai/", ""),
    "fireworks_ai": ("fireworks_ai/", ""),
    "openrouter": ("openrouter/", ""),
}
_REGION = re.compile(r"^(us|eu|apac|global|jp|au|us-gov|ca)\.", re.I)
_DATE_SUFFIX = re.compile(r"([-@](\d{4}-\d{2}-\d{2}|\d{8}))(-v\d+(:\d+)?)?$|(-v\d+(:\d+)?|:\d+)$")


def to_decimal(value: float | int | str | None) -> Decimal | None:
    """A catalog float as the decimal it was written as (repr), to 18 places."""
    if value is None:
        return None
    return Decimal(repr(value) if isinstance(value, float) else str(value)).quantize(_QUANT)


@dataclass(frozen=True)
class Price:
    source: str  # catalog | override
    catalog_version: str
    catalog_key: str
    currency: str
    input: Decimal
    output: Decimal
    cache_read: Decimal
    cache_write: Decimal
    reasoning: Decimal | None
    input_above_200k: Decimal | None
    output_above_200k: Decimal | None
    input_includes_cache: bool
    # service tiers: tier -> (input, output, cache read) per token; absent parts fall back to standard
    tiers: tuple[tuple[str, Decimal | None, Decimal | None, Decimal | None], ...] = ()

    def tier(self, name: str) -> tuple[Decimal | None, Decimal | None, Decimal | None]:
        for t, i, o, c in self.tiers:
            if t == name:
                return i, o, c
        return None, None, None

    @property
    def price_id(self) -> str:
        canon = json.dumps(
            [self.source, self.catalog_version, self.catalog_key, self.currency, str(self.input),
             str(self.output), str(self.cache_read), str(self.cache_write), str(self.reasoning),
             str(self.input_above_200k), str(self.output_above_200k), self.input_includes_cache]
            + ([[t, str(i), str(o), str(c)] for t, i, o, c in self.tiers] if self.tiers else [])
        )
        return hashlib.sha256(canon.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Segment:
    """The price of one (provider, request model, response model) in [valid_from, valid_to)."""

    valid_from: datetime
    valid_to: datetime
    status: str  # priced | unpriced | self_hosted
    price: Price | None = None
    priced_model: str | None = None
    match_rule: str | None = None


class Catalog:
    """LiteLLM-schema entries that carry per-token prices, looked up case-insensitively."""

    def __init__(self, entries: dict[str, dict], version: str) -> None:
        self.version = version
        self.entries = {
            k: v for k, v in entries.items()
            if isinstance(v, dict) and k != "sample_spec" and v.get("input_cost_per_token") is not None
        }
        self._lower = {k.lower(): k for k in self.entries}

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, key: str) -> str | None:
        return self._lower.get(key.lower())

    def match(self, provider: str | None, model: str) -> tuple[str, str] | None:
        """The catalog key for a telemetry model name, and the rule that found it."""
        for candidate, rule in _candidates(provider, model):
            key = self.get(candidate)
            if key is not None:
                return key, rule
        return None

    def price(self, key: str, currency: str, input_includes_cache: bool) -> Price:
        e = self.entries[key]
        inp = to_decimal(e["input_cost_per_token"])
        return Price(
            source="catalog",
            catalog_version=self.version,
            catalog_key=key,
            currency=currency,
            input=inp,
            output=to_decimal(e.get("output_cost_per_token") or 0),
            # Absent cache prices mean no cache discount: cached tokens cost as input.
            cache_read=to_decimal(e.get("cache_read_input_token_cost")) if e.get("cache_read_input_token_cost") is not None else inp,
            cache_write=to_decimal(e.get("cache_creation_input_token_cost")) if e.get("cache_creation_input_token_cost") is not None else inp,
            reasoning=to_decimal(e.get("output_cost_per_reasoning_token")),
            input_above_200k=to_decimal(e.get("input_cost_per_token_above_200k_tokens")),
            output_above_200k=to_decimal(e.get("output_cost_per_token_above_200k_tokens")),
            input_includes_cache=input_includes_cache,
            tiers=tuple(
                (t, to_decimal(e.get(f"input_cost_per_token_{sfx}")), to_decimal(e.get(f"output_cost_per_token_{sfx}")),
                 to_decimal(e.get(f"cache_read_input_token_cost_{sfx}")))
                for t, sfx in (("priority", "priority"), ("flex", "flex"), ("batch", "batches"))
                if e.get(f"input_cost_per_token_{sfx}") is not None or e.get(f"output_cost_per_token_{sfx}") is not None
            ),
        )


def _candidates(provider: str | None, model: str) -> Iterable[tuple[str, str]]:
    prefixes = PROVIDER_PREFIXES.get((provider or "").lower(), ("",))
    seen: set[str] = set()

    def emit(name: str, rule: str):
        for pfx in prefixes:
            cand = pfx + name
            if cand.lower() not in seen:
                seen.add(cand.lower())
                yield cand, ("exact" if not pfx and rule == "exact" else rule if rule != "exact" else "provider_prefix")

    yield from emit(model, "exact")
    stripped = [model]
    parts = model.split("/")
    for i in range(1, len(parts)):
        name = "/".join(parts[i:])
        stripped.append(name)
        yield from emit(name, "stripped_prefix")
    for name in list(stripped):
        no_region = _REGION.sub("", name)
        if no_region != name:
            stripped.append(no_region)
            yield from emit(no_region, "stripped_region")
    for name in stripped:
        base = name
        while True:
            shorter = _DATE_SUFFIX.sub("", base)
            if shorter == base or not shorter:
                break
            base = shorter
            yield from emit(base, "base_version")


def catalog_path_or_bundled(path: str = "") -> Path:
    if path:
        return Path(path)
    return Path(str(resources.files("inferledger.analytics.cost.data").joinpath(BUNDLED_CATALOG)))


_LOADED: dict[tuple[str, int, int], Catalog] = {}


def load_catalog(path: str = "") -> Catalog:
    """The bundled LiteLLM snapshot, or the file at `path` (same schema).

    Parsed once per file version (path, mtime, size): the cost job asks every minute,
    and the 3 MB snapshot only changes on `prices update`.
    """
    p = catalog_path_or_bundled(path)
    if not p.exists():
        raise FileNotFoundError(f"price catalog {p} does not exist")
    st = p.stat()
    version = (str(p), st.st_mtime_ns, st.st_size)
    cached = _LOADED.get(version)
    if cached is None:
        cached = _parse_catalog(p)
        if len(_LOADED) >= 4:
            _LOADED.clear()
        _LOADED[version] = cached
    return cached


def _parse_catalog(p: Path) -> Catalog:
    raw = p.read_bytes()
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"price catalog {p} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"price catalog {p}: expected an object of model -> prices")
    # Retired models LiteLLM dropped (still named by older spans); only where the catalog has no entry.
    retired_raw = resources.files("inferledger.analytics.cost.data").joinpath(RETIRED_MODELS).read_bytes()
    retired = {k: v for k, v in json.loads(retired_raw).items() if isinstance(v, dict)}
    data = {**retired, **data}
    return Catalog(data, hashlib.sha256(raw + retired_raw).hexdigest()[:12])


def _override_price(o: PriceOverride, includes_cache: bool, version: str) -> Price:
    inp = to_decimal(o.input_cost_per_token)
    return Price(
        source="override",
        catalog_version=version,
        catalog_key=o.model or f"regex:{o.model_regex}",
        currency=o.currency,
        input=inp,
        output=to_decimal(o.output_cost_per_token),
        cache_read=to_decimal(o.cache_read_input_token_cost) if o.cache_read_input_token_cost is not None else inp,
        cache_write=to_decimal(o.cache_creation_input_token_cost) if o.cache_creation_input_token_cost is not None else inp,
        reasoning=to_decimal(o.output_cost_per_reasoning_token),
        input_above_200k=to_decimal(o.input_cost_per_token_above_200k_tokens),
        output_above_200k=to_decimal(o.output_cost_per_token_above_200k_tokens),
        input_includes_cache=includes_cache,
    )


def _model_names(model: str) -> set[str]:
    """The model as written and with provider/region prefixes removed (for override matching)."""
    names = {model.lower()}
    parts = model.split("/")
    for i in range(1, len(parts)):
        names.add("/".join(parts[i:]).lower())
    return names | {_REGION.sub("", n) for n in names}


def _base_names(names: set[str]) -> set[str]:
    """Date / version suffixes removed: an override for `gpt-4o` covers `gpt-4o-2024-08-06`."""
    out = set()
    for name in names:
        base = name
        while (shorter := _DATE_SUFFIX.sub("", base)) not in (base, ""):
            base = shorter
            out.add(base)
    return out - names


def _override_rule(o: PriceOverride, provider: str | None, model: str) -> str | None:
    """How an override matches a model: 'override' (exact), 'override_base' (dated version), 'regex', or None."""
    if o.provider and o.provider.lower() != (provider or "").lower():
        return None
    names = _model_names(model)
    if o.model:
        if o.model.lower() in names:
            return "override"
        return "override_base" if o.model.lower() in _base_names(names) else None
    return "regex" if any(re.fullmatch(o.model_regex, n, re.I) for n in names | {model}) else None


class PriceBook:
    """Catalog + overrides + settings: resolves a model key to effective-dated segments."""

    def __init__(self, catalog: Catalog, overrides: list[PriceOverride], settings: CostSettings) -> None:
        self.catalog = catalog
        self.overrides = overrides
        self.settings = settings
        self.self_hosted = {p.lower() for p in settings.self_hosted_providers}
        self.excludes_cache = {p.lower() for p in settings.input_excludes_cache_providers}
        canon = json.dumps([repr(o) for o in overrides])
        self.override_version = hashlib.sha256(canon.encode()).hexdigest()[:12]

    def resolve(self, provider: str | None, request_model: str | None, response_model: str | None) -> list[Segment]:
        if (provider or "").lower() in self.self_hosted:
            return [Segment(MIN_TIME, MAX_TIME, "self_hosted", None, response_model or request_model, None)]
        includes_cache = (provider or "").lower() not in self.excludes_cache
        # (valid_from, valid_to, price, model, rule) by priority: response model first;
        # per model, exact overrides (later wins), then regex overrides, then the catalog.
        sources: list[tuple[datetime, datetime, Price, str, str]] = []
        models = list(dict.fromkeys(m for m in (response_model, request_model) if m))
        # Priority: overrides beat the catalog; the response model beats the request model;
        # exact names beat dated-version bases beat regexes; a later override beats an earlier one.
        for model in models:
            for rule in ("override", "override_base", "regex"):
                for o in reversed(self.overrides):
                    if _override_rule(o, provider, model) != rule:
                        continue
                    inc = includes_cache if o.input_includes_cache is None else o.input_includes_cache
                    sources.append((
                        parse_when(o.valid_from, "valid_from") or MIN_TIME,
                        parse_when(o.valid_to, "valid_to") or MAX_TIME,
                        _override_price(o, inc, self.override_version), model, rule,
                    ))
        for model in models:
            hit = self.catalog.match(provider, model)
            if hit:
                key, rule = hit
                sources.append((MIN_TIME, MAX_TIME, self.catalog.price(key, self.settings.currency, includes_cache), model, rule))
        bounds = sorted({MIN_TIME, MAX_TIME} | {s[0] for s in sources} | {s[1] for s in sources})
        segments: list[Segment] = []
        for start, end in zip(bounds, bounds[1:]):
            winner = next((s for s in sources if s[0] <= start and end <= s[1]), None)
            seg = (
                Segment(start, end, "priced", winner[2], winner[3], winner[4])
                if winner else Segment(start, end, "unpriced", None, response_model or request_model, None)
            )
            last = segments[-1] if segments else None
            if last and (last.status, last.price, last.priced_model, last.match_rule) == (
                seg.status, seg.price, seg.priced_model, seg.match_rule
            ):
                segments[-1] = Segment(last.valid_from, end, last.status, last.price, last.priced_model, last.match_rule)
            else:
                segments.append(seg)
        return segments


def load_price_book(settings: CostSettings) -> PriceBook:
    from inferledger.analytics.cost.overrides import all_overrides

    return PriceBook(load_catalog(settings.catalog_path), all_overrides(settings), settings)
