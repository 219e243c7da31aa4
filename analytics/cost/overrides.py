"""Local price overrides: the config's inline list plus an optional TOML or YAML file.

Negotiated discounts, private deployments and price changes the bundled catalog does
not know yet live here, each with the dates it is in force, so a retroactive change
re-prices exactly the spans it covers.
"""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path
from typing import Any

import yaml

from inferledger.analytics.cost.settings import CostSettings, PriceOverride

_FIELDS = {f.name for f in dataclasses.fields(PriceOverride)}


class OverrideFileError(ValueError):
    """The overrides file is wrong; the message names the file, the entry and the key."""


def parse_overrides(data: Any, where: str) -> list[PriceOverride]:
    """Turn `{"prices": [ {...}, ... ]}` (or a bare list) into validated overrides."""
    entries = data.get("prices") if isinstance(data, dict) else data
    if isinstance(data, dict):
        extra = sorted(set(data) - {"prices"})
        if extra:
            raise OverrideFileError(f"{where}: unknown top-level key {extra[0]!r} (expected 'prices')")
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise OverrideFileError(f"{where}: 'prices' must be a list of tables")
    out = []
    for i, entry in enumerate(entries):
        at = f"{where}: prices[{i}]"
        if not isinstance(entry, dict):
            raise OverrideFileError(f"{at}: expected a table, got {type(entry).__name__}")
        unknown = sorted(set(entry) - _FIELDS)
        if unknown:
            raise OverrideFileError(f"{at}.{unknown[0]}: unknown key (known keys: {', '.join(sorted(_FIELDS))})")
        values = dict(entry)
        for key in ("valid_from", "valid_to"):
            # TOML and YAML both turn bare dates into date objects; keep them as ISO text.
            if key in values and not isinstance(values[key], str):
                values[key] = values[key].isoformat()
        try:
            out.append(PriceOverride(**values))
        except (TypeError, ValueError) as exc:
            raise OverrideFileError(f"{at}: {exc}") from exc
    return out


def load_overrides_file(path: str | Path) -> list[PriceOverride]:
    p = Path(path)
    if not p.exists():
        raise OverrideFileError(f"price overrides file {p} does not exist")
    text = p.read_text()
    try:
        if p.suffix.lower() in (".yaml", ".yml"):
            data = yaml.safe_load(text) or {}
        else:
            data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise OverrideFileError(f"price overrides file {p}: {exc}") from exc
    return parse_overrides(data, str(p))


def all_overrides(settings: CostSettings) -> list[PriceOverride]:
    """Inline overrides first, then the file's: later entries win where they overlap."""
    found = list(settings.overrides)
    if settings.overrides_path:
        from_file = load_overrides_file(settings.overrides_path)
        for i, o in enumerate(from_file):
            if o.currency != settings.currency:
                raise OverrideFileError(
                    f"{settings.overrides_path}: prices[{i}].currency is {o.currency}, "
                    f"analytics.cost.currency is {settings.currency}"
                )
        found.extend(from_file)
    return found
