"""A NAB-compatible scorer, written from the rules in ../shared/data/nab/SCORING.md.

Rules (SCORING.md, Numenta Anomaly Benchmark):
* every row gets an anomaly score in [0, 1]; one threshold per profile for the
  whole corpus, found by sweeping every distinct score; score >= threshold detects;
* the first min(floor(0.15 n), 750) rows of a file are probationary (not scored);
* a detection at row i inside a window [l, r] (width w = r - l + 1 rows) earns
  tpWeight * scaledSigmoid(-(r - i + 1) / w) / scaledSigmoid(-1); a window counts
  once, at its best detection; an undetected window costs -fnWeight;
* a detection outside every window earns fpWeight * scaledSigmoid(|i - r_prev| /
  (w_prev - 1)) past the preceding window, or -fpWeight before the first one;
* scaledSigmoid(x) = 2 / (1 + exp(5x)) - 1, and -1 for x > 3;
* normalised score = 100 (S - S_null) / (tpWeight * windows - S_null) with
  S_null = -fnWeight * windows.

Windows are counted where they have at least one scored (post-probation) row, as
NAB does (its null and perfect detectors run through the same probation rule).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

PROFILES = {  # (tpWeight, fnWeight, fpWeight), from config/profiles.json
    "standard": (1.0, 1.0, 0.11),
    "reward_low_FP_rate": (1.0, 1.0, 0.22),
    "reward_low_FN_rate": (1.0, 2.0, 0.11),
}

# Published NAB scoreboard (SCORING.md, from NAB's README scoreboard, v1.1):
# standard / reward_low_FP_rate / reward_low_FN_rate.
PUBLISHED = {
    "ARTime": (74.9, 65.2, 80.4),
    "Numenta HTM": (70.1, 63.1, 74.3),
    "CAD OSE": (69.9, 67.0, 73.2),
    "KNN CAD": (58.0, 43.4, 64.8),
    "Relative Entropy": (54.6, 47.6, 58.8),
    "Random Cut Forest": (51.7, 38.4, 59.7),
    "Twitter ADVec": (47.1, 33.6, 53.5),
    "Windowed Gaussian": (39.6, 20.9, 47.4),
    "Random": (16.8, 5.8, 25.9),
}


def default_nab_dir() -> Path:
    """../shared/data/nab relative to the repository root (CI has shared/ beside the clone)."""
    return Path(__file__).resolve().parents[1].parent / "shared" / "data" / "nab"


@dataclass
class NabFile:
    name: str            # "category/file.csv"
    timestamps: np.ndarray   # datetime64[ns]
    values: np.ndarray       # float64
    windows: list[tuple[int, int]]  # inclusive row ranges

    @property
    def category(self) -> str:
        return self.name.split("/", 1)[0]


def load_corpus(nab_dir: Path | None = None) -> list[NabFile]:
    nab_dir = Path(nab_dir or default_nab_dir())
    if not (nab_dir / "labels" / "combined_windows.json").exists():
        raise FileNotFoundError(f"NAB data not found under {nab_dir} (expected labels/combined_windows.json)")
    labels = json.loads((nab_dir / "labels" / "combined_windows.json").read_text())
    out = []
    for name in sorted(labels):
        df = pd.read_csv(nab_dir / "data" / name)
        ts = pd.to_datetime(df["timestamp"]).to_numpy()
        wins = []
        for start, end in labels[name]:
            lo = int(np.searchsorted(ts, np.datetime64(pd.Timestamp(start)), side="left"))
            hi = int(np.searchsorted(ts, np.datetime64(pd.Timestamp(end)), side="right")) - 1
            if hi >= lo:
                wins.append((lo, hi))
        out.append(NabFile(name, ts, df["value"].to_numpy(dtype=np.float64), wins))
    return out


def scaled_sigmoid(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(over="ignore"):
        val = 2.0 / (1.0 + np.exp(5.0 * x)) - 1.0
    return np.where(x > 3.0, -1.0, val)


def probationary_length(n: int) -> int:
    return int(min(math.floor(0.15 * n), 750))


def point_weights(n: int, windows: list[tuple[int, int]], profile: str) -> tuple[np.ndarray, np.ndarray]:
    """Per row: the score a detection there would earn, and its window id (-1 outside).

    Probationary rows get window id -2 (never scored).
    """
    tp_w, _fn_w, fp_w = PROFILES[profile]
    max_tp = float(scaled_sigmoid(-1.0))
    idx = np.arange(n)
    weight = np.full(n, -fp_w)
    win = np.full(n, -1, dtype=np.int64)
    prev_right, prev_width = None, None
    bounds = sorted(windows) + [(n, n)]
    cursor = 0
    for k, (lo, hi) in enumerate(bounds):
        # rows between the previous window and this one: false positives
        gap = slice(cursor, lo)
        if prev_right is not None:
            pos = np.abs(prev_right - idx[gap]) / float(prev_width - 1) if prev_width > 1 else np.full(lo - cursor, 4.0)
            weight[gap] = fp_w * scaled_sigmoid(pos)
        if lo >= n:
            break
        width = float(hi - lo + 1)
        inside = slice(lo, hi + 1)
        weight[inside] = scaled_sigmoid(-(hi - idx[inside] + 1) / width) * tp_w / max_tp
        win[inside] = k
        prev_right, prev_width = hi, width
        cursor = hi + 1
    win[: probationary_length(n)] = -2
    return weight, win


@dataclass
class CorpusPoints:
    """Every scored row of the corpus with its detection weight and global window id."""

    score: np.ndarray
    weight: np.ndarray
    window: np.ndarray   # global window id, -1 outside windows
    file_id: np.ndarray
    n_windows: int


def corpus_points(files: list[NabFile], scores: list[np.ndarray], profile: str) -> CorpusPoints:
    parts_s, parts_w, parts_win, parts_f = [], [], [], []
    offset = 0
    for fid, (f, s) in enumerate(zip(files, scores)):
        if len(s) != len(f.values):
            raise ValueError(f"{f.name}: {len(s)} scores for {len(f.values)} rows")
        w, win = point_weights(len(f.values), f.windows, profile)
        keep = win != -2
        win = win[keep]
        win = np.where(win >= 0, win + offset, -1)
        offset += len(f.windows)
        parts_s.append(np.asarray(s, dtype=np.float64)[keep])
        parts_w.append(w[keep])
        parts_win.append(win)
        parts_f.append(np.full(keep.sum(), fid))
    window = np.concatenate(parts_win)
    present = np.unique(window[window >= 0])
    return CorpusPoints(np.concatenate(parts_s), np.concatenate(parts_w), window, np.concatenate(parts_f), len(present))


def sweep(points: CorpusPoints, profile: str) -> tuple[np.ndarray, np.ndarray]:
    """Raw total score for every distinct threshold (descending), as NAB's sweep does."""
    _tp_w, fn_w, _fp_w = PROFILES[profile]
    order = np.argsort(-points.score, kind="stable")
    s = points.score[order]
    w = points.weight[order]
    win = points.window[order]
    # change of the total when each row becomes a detection
    delta = np.where(win < 0, w, 0.0)
    in_win = win >= 0
    if in_win.any():
        df = pd.DataFrame({"win": win[in_win], "w": w[in_win]})
        best = df.groupby("win")["w"].cummax().to_numpy()
        prev = df.groupby("win")["w"].cummax().groupby(df["win"]).shift(1).to_numpy()
        prev = np.where(np.isnan(prev), -fn_w, prev)
        delta[in_win] = np.maximum(best, -fn_w) - np.maximum(prev, -fn_w)
    base = -fn_w * points.n_windows
    total = base + np.cumsum(delta)
    # value at each threshold = total after the last row with that score
    last = np.r_[s[1:] != s[:-1], True]
    thresholds = np.r_[1.1, s[last]]
    totals = np.r_[base, total[last]]
    return thresholds, totals


def score_at(points: CorpusPoints, threshold: float, profile: str, mask: np.ndarray | None = None) -> tuple[float, int]:
    """Raw score and window count of the rows in `mask` at a fixed threshold."""
    _tp_w, fn_w, _fp_w = PROFILES[profile]
    m = np.ones(points.score.shape, bool) if mask is None else mask
    det = m & (points.score >= threshold)
    fp = points.weight[det & (points.window < 0)].sum()
    wins = np.unique(points.window[m & (points.window >= 0)])
    best = pd.Series(points.weight[det & (points.window >= 0)]).groupby(points.window[det & (points.window >= 0)]).max()
    tp = best.sum() + -fn_w * (len(wins) - len(best))
    return float(fp + tp), len(wins)


def normalise(raw: float, n_windows: int, profile: str) -> float:
    tp_w, fn_w, _ = PROFILES[profile]
    null = -fn_w * n_windows
    perfect = tp_w * n_windows
    return 100.0 * (raw - null) / (perfect - null) if perfect != null else 0.0


@dataclass
class ProfileResult:
    profile: str
    threshold: float
    score: float
    by_category: dict[str, float]


def evaluate(files: list[NabFile], scores: list[np.ndarray]) -> list[ProfileResult]:
    """Optimise the threshold per profile over the corpus, then report it overall and per category."""
    results = []
    categories = sorted({f.category for f in files})
    for profile in PROFILES:
        pts = corpus_points(files, scores, profile)
        thresholds, totals = sweep(pts, profile)
        best = int(np.argmax(totals))
        thr = float(thresholds[best])
        overall = normalise(float(totals[best]), pts.n_windows, profile)
        by_cat = {}
        for cat in categories:
            fids = [i for i, f in enumerate(files) if f.category == cat]
            raw, nw = score_at(pts, thr, profile, np.isin(pts.file_id, fids))
            by_cat[cat] = normalise(raw, nw, profile) if nw else float("nan")
        results.append(ProfileResult(profile, thr, overall, by_cat))
    return results
