"""CSV cells that a spreadsheet would run as formulas, neutralised.

Team, feature and model names come from client telemetry; a team called
`=HYPERLINK("http://evil", "x")` would become a live formula in the showback CSV
when finance opens it. Such cells get a leading apostrophe (the OWASP advice);
numbers, negative ones included, stay numbers.
"""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def safe_cell(v: Any) -> Any:
    """`v` as written to a CSV cell: text that starts like a formula is prefixed with '."""
    if isinstance(v, str) and v.startswith(FORMULA_STARTS) and not _is_number(v):
        return "'" + v
    return v


def safe_sql(column: str) -> str:
    """The same rule as a DuckDB expression over a VARCHAR column (for COPY ... TO csv)."""
    return (f"CASE WHEN regexp_matches({column}, '^[=+\\-@\\t\\r]') AND TRY_CAST({column} AS DOUBLE) IS NULL"
            f" THEN '''' || {column} ELSE {column} END")
