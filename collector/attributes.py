"""OTLP AnyValue / KeyValue -> plain Python values, and lenient coercion of the values we read.

Instrumentations disagree on types: token counts arrive as int, double or string,
flags as bool or "true", arrays as arrays or a single string. Coercion here is
lenient by design (never an error: an unreadable value is simply not mapped and
stays in the attributes JSON), so one odd SDK cannot make a whole batch fail.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

# Compact, no ASCII escaping (the JSON columns are read by DuckDB, not by humans), and strict:
# NaN / Infinity are not JSON and would make DuckDB refuse the whole batch.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=str, allow_nan=False)
try:  # the C encoder built once: JSONEncoder.encode rebuilds it on every call (~1 us per row)
    from json.encoder import c_make_encoder, encode_basestring

    _C_ENCODE = c_make_encoder(None, str, encode_basestring, None, ":", ",", False, False, False)
except (ImportError, TypeError):  # pure-Python json
    _C_ENCODE = None


def _finite(obj: Any) -> Any:
    """Non-finite floats -> their names as strings, so the value survives as valid JSON."""
    if type(obj) is float:
        return obj if math.isfinite(obj) else ("NaN" if obj != obj else ("Infinity" if obj > 0 else "-Infinity"))
    if type(obj) is dict:
        return {k: _finite(v) for k, v in obj.items()}
    if type(obj) is list:
        return [_finite(v) for v in obj]
    return obj


def dumps_json(obj: Any) -> str:
    """Compact JSON text of attribute values (tree-shaped: str, numbers, bools, lists, dicts)."""
    try:
        if _C_ENCODE is not None:
            return "".join(_C_ENCODE(obj, 0))
        return _ENCODER.encode(obj)
    except ValueError:  # NaN / Infinity somewhere
        return _ENCODER.encode(_finite(obj))


def any_value(v: Any) -> Any:
    """AnyValue -> str | bool | int | float | list | dict | bytes(hex str) | None."""
    kind = v.WhichOneof("value")
    if kind == "string_value":
        return v.string_value
    if kind == "int_value":
        return v.int_value
    if kind == "double_value":
        return v.double_value
    if kind == "bool_value":
        return v.bool_value
    if kind == "array_value":
        return [any_value(x) for x in v.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in v.kvlist_value.values}
    if kind == "bytes_value":
        # Bytes are not JSON: keep them as hex so the row stays serialisable.
        return v.bytes_value.hex()
    return None


def kv_dict(kvs: Iterable[Any]) -> dict[str, Any]:
    """Repeated KeyValue -> dict (last one wins on a duplicated key, like the SDKs)."""
    return {kv.key: any_value(kv.value) for kv in kvs}


def json_or_none(d: Mapping[str, Any] | None) -> str | None:
    """JSON text for a non-empty mapping; None for an empty one (no per-row '{}')."""
    if not d:
        return None
    return dumps_json(d)


def to_int(v: Any) -> int | None:
    """A non-negative count from int, float or numeric string; None when unreadable."""
    t = type(v)
    if t is int:
        return v if v >= 0 else None
    if t is float:
        if math.isfinite(v) and v >= 0:
            return int(round(v))
        return None
    if t is str:
        s = v.strip()
        try:
            n = int(s)
        except ValueError:
            try:
                f = float(s)
            except ValueError:
                return None
            if not math.isfinite(f) or f < 0:
                return None
            return int(round(f))
        return n if n >= 0 else None
    return None  # bool (not a count), lists, maps


def to_float(v: Any) -> float | None:
    """A finite float from int, float or numeric string; None when unreadable."""
    t = type(v)
    if t is float:
        return v if math.isfinite(v) else None
    if t is int:
        return float(v)
    if t is str:
        try:
            f = float(v.strip())
        except ValueError:
            return None
        return f if math.isfinite(f) else None
    return None


def to_bool(v: Any) -> bool | None:
    t = type(v)
    if t is bool:
        return v
    if t is int:
        return v != 0
    if t is str:
        s = v.strip().lower()
        if s in ("true", "1", "yes"):
            return True
        if s in ("false", "0", "no"):
            return False
    return None


def to_str(v: Any) -> str | None:
    if v is None:
        return None
    if type(v) is str:
        return v or None
    if isinstance(v, (list, dict)):
        return dumps_json(v)
    return str(v)


def first_str(mapping: Mapping[str, Any], keys: Iterable[str]) -> str | None:
    """The first non-empty value among `keys`, as a string (configured keys are tried in order)."""
    for k in keys:
        v = mapping.get(k)
        if v is not None and v != "":
            return to_str(v)
    return None


def to_str_list(v: Any) -> list[str] | None:
    """A string array; a single string (OpenLLMetry's finish_reason) becomes a one-item list.

    A JSON-encoded array string (some SDKs stringify arrays) is decoded too.
    """
    if v is None:
        return None
    if type(v) is list:
        out = [x if type(x) is str else str(x) for x in v if x is not None]
        return out or None
    if type(v) is str:
        s = v.strip()
        if not s:
            return None
        if s[0] == "[":
            try:
                arr = json.loads(s)
            except ValueError:
                return [s]
            if isinstance(arr, list):
                return to_str_list(arr)
        return [s]
    return [str(v)]
