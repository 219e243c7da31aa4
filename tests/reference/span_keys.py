"""Plain-Python reference for collector/span_keys.py: the same keys from Python strings."""

from __future__ import annotations

_M = (1 << 64) - 1
_FNV, _PRIME = 14695981039346656037, 1099511628211


def _fold(h: int, text: str) -> int:
    data = text.encode()
    for byte in data:
        h = ((h ^ byte) * _PRIME) & _M
    return ((h ^ len(data)) * _PRIME) & _M


def _finish(h: int) -> int:
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & _M
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & _M
    h ^= h >> 33
    return h or 1


def _key(seed: int, *fields: str) -> int:
    h = ((_FNV ^ seed) * _PRIME) & _M
    for f in fields:
        h = _fold(h, f)
    return _finish(h)


def span_keys(rows: list[dict]) -> dict[str, list[int]]:
    """rows: dicts with tenant, trace_id, span_id, response_id (or None)."""
    return {
        "h": [_key(0x68, r["tenant"], r["trace_id"], r["span_id"]) for r in rows],
        "t": [_key(0x74, r["tenant"], r["trace_id"]) for r in rows],
        "r": [0 if r["response_id"] is None else _key(0x72, r["tenant"], r["response_id"]) for r in rows],
    }
