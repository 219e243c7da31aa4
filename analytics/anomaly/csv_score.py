"""Score a `timestamp,value` table: the NAB results format (the same rows plus `anomaly_score`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from inferledger.analytics.anomaly.detectors import KIND_NAMES, Scored, score
from inferledger.analytics.anomaly.settings import DetectorConfig


class InputError(ValueError):
    """The input table is not a usable `timestamp,value` series; the message says why."""


def read_series_csv(path: str | Path) -> pd.DataFrame:
    try:
        df = pd.read_csv(path)
    except FileNotFoundError as exc:
        raise InputError(f"{path}: no such file") from exc
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a CSV file ({exc})") from exc
    missing = [c for c in ("timestamp", "value") if c not in df.columns]
    if missing:
        raise InputError(f"{path}: missing column {missing[0]!r} (need timestamp,value; found {', '.join(map(str, df.columns))})")
    return df


def parse_timestamps(df: pd.DataFrame, where: str = "input") -> np.ndarray:
    """Epoch seconds; offsets are converted to UTC, naive times are taken as UTC."""
    try:
        ts = pd.to_datetime(df["timestamp"], utc=True, format="mixed")
    except (ValueError, TypeError) as exc:
        raise InputError(f"{where}: column 'timestamp' has a value that is not a date/time ({exc})") from exc
    if ts.isna().any():
        row = int(np.flatnonzero(ts.isna().to_numpy())[0])
        raise InputError(f"{where}: column 'timestamp' is empty at data row {row + 1}")
    return (ts.dt.tz_localize(None).to_numpy().astype("datetime64[s]").astype(np.int64))


def parse_values(df: pd.DataFrame, where: str = "input") -> np.ndarray:
    values = pd.to_numeric(df["value"], errors="coerce")
    bad = values.isna() & df["value"].notna() & (df["value"].astype(str).str.strip() != "")
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"{where}: column 'value' is not a number at data row {row + 1}: {df['value'].iloc[row]!r}")
    return values.to_numpy(dtype=np.float64)  # empty cells are NaN: scored 0, state untouched


def score_frame(
    df: pd.DataFrame, config: DetectorConfig | None = None, where: str = "input"
) -> tuple[pd.DataFrame, Scored, np.ndarray]:
    """The same rows (and columns) plus `anomaly_score`, each row scored from the rows before it;
    also the parsed values (NaN for empty cells), for whoever draws them."""
    values = parse_values(df, where)
    result = score(parse_timestamps(df, where), values, config)
    out = df.copy()
    out["anomaly_score"] = result.score
    return out, result, values


def alarms(df: pd.DataFrame, result: Scored) -> list[dict]:
    idx = np.flatnonzero(result.alarm)
    return [
        {"row": int(i), "timestamp": str(df["timestamp"].iloc[i]), "value": float(df["value"].iloc[i]),
         "expected": float(result.expected[i]), "anomaly_score": float(result.score[i]),
         "kind": KIND_NAMES[int(result.kind[i])]}
        for i in idx
    ]
