"""Typed settings: one TOML file, `INFERLEDGER_*` environment overrides, read once.

Each package owns the dataclass for its own section (collector, analytics, alerts,
dashboards); this module composes them and does the loading, so every section gets
the same rules: defaults that work, unknown keys are an error naming the key, and a
wrong type is an error naming the field.

Environment overrides use ``__`` between levels, e.g.
``INFERLEDGER_WAREHOUSE__RETENTION_DAYS=30`` or ``INFERLEDGER_INGEST__MAX_BODY_BYTES=1048576``.
Values are parsed as TOML values when they can be (numbers, booleans, arrays) and
taken as strings otherwise. Every setting lives in a section, so only names with a
``__`` are settings; ``INFERLEDGER_CONFIG`` (the config file) and the other names in
`NOT_SETTINGS` are read elsewhere and never taken for a key.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inferledger.alerts.settings import AlertSettings
from inferledger.analytics.lake.settings import EngineSettings, LakeSettings
from inferledger.analytics.settings import AnalyticsSettings, WarehouseSettings
from inferledger.collector.settings import AttributionSettings, AuthSettings, IngestSettings
from inferledger.dashboards.settings import DashboardSettings

ENV_PREFIX = "INFERLEDGER_"
# Environment variables with our prefix that are not settings (each is read by its own user).
NOT_SETTINGS = frozenset({"INFERLEDGER_CONFIG", "INFERLEDGER_ADMIN_TOKEN"})


class ConfigError(ValueError):
    """A configuration value is wrong; the message names the field."""


@dataclass
class ServerSettings:
    otlp_grpc: str = "0.0.0.0:4317"
    otlp_http: str = "0.0.0.0:4318"
    admin: str = "127.0.0.1:9464"


@dataclass
class Settings:
    warehouse: WarehouseSettings = field(default_factory=WarehouseSettings)
    server: ServerSettings = field(default_factory=ServerSettings)
    ingest: IngestSettings = field(default_factory=IngestSettings)
    auth: AuthSettings = field(default_factory=AuthSettings)
    attribution: AttributionSettings = field(default_factory=AttributionSettings)
    analytics: AnalyticsSettings = field(default_factory=AnalyticsSettings)
    alerts: AlertSettings = field(default_factory=AlertSettings)
    dashboards: DashboardSettings = field(default_factory=DashboardSettings)
    lake: LakeSettings = field(default_factory=LakeSettings)
    engine: EngineSettings = field(default_factory=EngineSettings)


def load_settings(
    path: str | Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Read the TOML file (if any), apply environment then explicit overrides, validate."""
    data: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        if not p.exists():
            raise ConfigError(f"config file {p} does not exist")
        try:
            data = tomllib.loads(p.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {p}: {exc}") from exc
    for dotted, value in _env_overrides(os.environ if environ is None else environ).items():
        _set_dotted(data, dotted, value)
    for dotted, value in (overrides or {}).items():
        _set_dotted(data, dotted, value)
    return build(Settings, data, "")


def with_overrides(settings: Settings, overrides: Mapping[str, Any]) -> Settings:
    """A copy of `settings` with dotted overrides applied and validated again."""
    data = dataclasses.asdict(settings)
    for dotted, value in overrides.items():
        _set_dotted(data, dotted, value)
    return build(Settings, data, "")


def _env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, raw in environ.items():
        if not key.startswith(ENV_PREFIX) or key in NOT_SETTINGS or "__" not in key[len(ENV_PREFIX):]:
            continue
        dotted = ".".join(part.lower() for part in key[len(ENV_PREFIX):].split("__"))
        out[dotted] = _parse_env_value(raw)
    return out


def _parse_env_value(raw: str) -> Any:
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def _set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    node = data
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"{dotted}: {part} is not a table")
    node[parts[-1]] = value


def build(cls: type, data: Any, where: str) -> Any:
    """Build dataclass `cls` from a mapping, checking keys and types recursively."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where or 'config'}: expected a table, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(
            f"{_join(where, unknown[0])}: unknown key (known keys: {', '.join(sorted(known))})"
        )
    kwargs = {name: _coerce(hints[name], value, _join(where, name)) for name, value in data.items()}
    try:
        obj = cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where or 'config'}: {exc}") from exc
    return obj


def _join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def _coerce(tp: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(arg, value, where)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if errors else f"{where}: invalid value {value!r}")
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"{where}: must be one of {', '.join(map(repr, args))}, got {value!r}")
        return value
    if dataclasses.is_dataclass(tp):
        return build(tp, value, where)
    if origin in (list, tuple):
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list, got {type(value).__name__}")
        item_tp = args[0] if args else Any
        items = [_coerce(item_tp, v, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: expected a table, got {type(value).__name__}")
        val_tp = args[1] if len(args) == 2 else Any
        return {str(k): _coerce(val_tp, v, f"{where}.{k}") for k, v in value.items()}
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return value
    if tp is dict:  # a free-form table (inline SLO specs): its keys are checked where it is parsed
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: expected a table, got {type(value).__name__}")
        return dict(value)
    return value
