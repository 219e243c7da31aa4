"""Per-file NAB breakdown of the detector on one half: where the score is lost.

    .venv/bin/python -m benchmarks.anomaly_breakdown [--half tune|held-out|all] [--profile standard]

At the corpus-optimal threshold of the half (official rules), each file's share: windows
found / total, the weight earned in windows (1 = detected at the window's start, near 0 at its
end), the false-positive cost, and the loss against a perfect detector on that file
(2 per missed window with fnWeight 1, 1 - tp per found one, plus the FP cost).
"""

from __future__ import annotations

import argparse

import numpy as np


def breakdown(files, scores, profile: str = "standard"):
    from benchmarks.nab_score import PROFILES, corpus_points, normalise, sweep

    _tp, fn_w, _fp = PROFILES[profile]
    pts = corpus_points(files, scores, profile)
    thr, tot = sweep(pts, profile)
    b = int(np.argmax(tot))
    t = float(thr[b])
    print(f"{profile}: threshold {t:.4f}  score {normalise(float(tot[b]), pts.n_windows, profile):.1f}  "
          f"windows {pts.n_windows}")
    rows = []
    for fid, f in enumerate(files):
        m = pts.file_id == fid
        det = m & (pts.score >= t)
        fp = float(pts.weight[det & (pts.window < 0)].sum())
        nfp = int((det & (pts.window < 0)).sum())
        wins = np.unique(pts.window[m & (pts.window >= 0)])
        got = {}
        for w in wins:
            d = det & (pts.window == w)
            if d.any():
                got[int(w)] = float(pts.weight[d].max())
        tp = sum(got.values())
        loss = sum(1 - v for v in got.values()) + (1 + fn_w) * (len(wins) - len(got)) - fp
        rows.append((loss, f.name, len(got), len(wins), tp, fp, nfp))
    rows.sort(reverse=True)
    print(f"{'loss':>6} {'found':>6} {'tp':>6} {'fp':>7} {'#fp':>4}  file")
    for loss, name, g, n, tp, fp, nfp in rows:
        print(f"{loss:6.2f} {g:>3}/{n:<2} {tp:6.2f} {fp:7.2f} {nfp:4d}  {name}")
    return rows


def main() -> None:
    from benchmarks.anomaly_eval import HELDOUT_CATEGORIES, TUNE_CATEGORIES, nab_cases, ours
    from benchmarks.nab_score import load_corpus

    ap = argparse.ArgumentParser()
    ap.add_argument("--half", default="tune", choices=("tune", "held-out", "all"))
    ap.add_argument("--profile", default="standard")
    a = ap.parse_args()
    files = load_corpus()
    cats = {"tune": TUNE_CATEGORIES, "held-out": HELDOUT_CATEGORIES}.get(a.half)
    part = [f for f in files if cats is None or f.category in cats]
    scores, _ = ours(nab_cases(part))
    breakdown(part, scores, a.profile)


if __name__ == "__main__":
    main()
