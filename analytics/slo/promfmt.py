"""Numbers and durations spelled the way Sloth (Go) spells them in generated rules.

Rules are compared text-for-text with Sloth's and parsed back by Prometheus, so every
threshold must print the exact float64 the engine uses, in Go's `%v` layout (see
`go_v`); truncating to a fixed number of decimals would move small error budgets.
"""

from __future__ import annotations

import re

_DURATION_RE = re.compile(r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$")
_UNIT_SECONDS = (365 * 86400, 7 * 86400, 86400, 3600, 60, 1)


def _digits(x: float) -> tuple[str, int]:
    """Shortest round-trip decimal digits of |x| and the exponent of the first digit.

    Python's repr and Go's strconv both produce the shortest digit string that reads
    back to the same float64 (closest on ties), so the digits agree; only the layout
    differs, and that is rebuilt here.
    """
    mant, _, exp = repr(abs(float(x))).partition("e")
    whole, _, frac = mant.partition(".")
    e = int(exp) if exp else 0
    digits = (whole + frac).lstrip("0")
    lead_zeros = len(whole + frac) - len((whole + frac).lstrip("0"))
    point = len(whole) + e - lead_zeros  # digits before the decimal point
    digits = digits.rstrip("0") or "0"
    return digits, point - 1


def go_v(x: float) -> str:
    """`fmt.Sprint(x)` / `%v` / `%g` of a float64: Go's strconv 'g' with shortest precision.

    Exponent form when the decimal exponent is < -4 or >= 6 (strconv uses precision 6
    for that decision when printing the shortest form): 1e-05, 1.0000000000047748e-05,
    1e+06; otherwise plain: 0.0001, 14.4, 5.6000000000000005, 100000.
    """
    x = float(x)
    if x != x:
        return "NaN"
    if x in (float("inf"), float("-inf")):
        return "+Inf" if x > 0 else "-Inf"
    if x == 0:
        return "-0" if str(x).startswith("-") else "0"
    sign = "-" if x < 0 else ""
    digits, exp = _digits(x)
    if exp < -4 or exp >= 6:
        mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{mant}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    return sign + _plain(digits, exp)


def go_f(x: float) -> str:
    """`strconv.FormatFloat(x, 'f', -1, 64)`: shortest digits, never an exponent (Sloth's sloth_objective)."""
    x = float(x)
    if x == 0:
        return "0"
    sign = "-" if x < 0 else ""
    digits, exp = _digits(x)
    return sign + _plain(digits, exp)


def _plain(digits: str, exp: int) -> str:
    if exp < 0:
        return "0." + "0" * (-exp - 1) + digits
    whole = digits[: exp + 1].ljust(exp + 1, "0")
    frac = digits[exp + 1:]
    return whole + ("." + frac if frac else "")


def parse_duration(text: str) -> int:
    """A Prometheus duration (`5m`, `1h30m`, `4w`, `168h`) in seconds; ValueError if it is not one."""
    m = _DURATION_RE.match(str(text).strip())
    if not m or not str(text).strip() or not any(m.groups()):
        raise ValueError(f"{text!r} is not a Prometheus duration (e.g. 5m, 6h, 30d, 4w)")
    *parts, ms = m.groups()
    if ms:
        raise ValueError(f"{text!r}: SLO windows are whole seconds")
    return sum(int(p) * u for p, u in zip(parts, _UNIT_SECONDS) if p)


def prom_duration_seconds(seconds: int) -> str:
    """Prometheus model.Duration String(): `y` and `w` only when exact (28d is `4w`, 30d stays `30d`)."""
    if seconds == 0:
        return "0s"
    out = []
    rest = seconds
    for unit, size, exact in (("y", 365 * 86400, True), ("w", 7 * 86400, True), ("d", 86400, False),
                              ("h", 3600, False), ("m", 60, False), ("s", 1, False)):
        if exact and rest % size:
            continue
        if rest >= size:
            out.append(f"{rest // size}{unit}")
            rest %= size
    return "".join(out)


def prom_duration(minutes: int) -> str:
    """Prometheus spelling of a whole number of minutes: 28d is `4w`, 30d stays `30d`, 60m is `1h`."""
    return prom_duration_seconds(int(minutes) * 60)
