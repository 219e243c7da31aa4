"""Choose the detector defaults on the tuning half only (grid + coordinate search, about a minute).

    .venv/bin/python -m benchmarks.anomaly_tune [--passes 2]

Looks only at the NAB TUNE categories and the synthetic `tune` seeds of
benchmarks/anomaly_eval.py; the held-out half is never loaded. The objective is the
NAB standard score of the tuning categories (official rules, threshold swept on them),
subject to the goal's own form on the NAB and the synthetic tuning series each: event F1 at
least the rolling z-score baseline's + 0.05 with no more false alarms than it (the baseline
chosen on the tuning half, as anomaly_eval chooses it). Stage 1 is a grid over the
seasonal CUSUM's keys and `shift_season`; stage 2 is a coordinate search (deterministic, so no seed) over the
other keys from the stage-1 best, each key in turn taking its best value from SPACE. The best
feasible trials of each stage and the chosen configuration are printed.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict, replace

SPACE = {
    "season_cusum_h": (10.0, 15.0, 20.0, 30.0, 40.0, 60.0, 80.0),
    "season_cusum_k": (0.5, 0.75, 1.0, 1.25, 1.5, 2.0),
    "z_alarm": (4.0, 4.5, 5.0, 5.5, 6.0),
    "cusum_k": (0.5, 0.75, 1.0),
    "cusum_h": (20.0, 30.0, 40.0, 60.0),
    "cusum_clip": (3.0, 4.0, 6.0),
    "alpha_fast": (0.02, 0.033, 0.05, 0.1),
    "alpha_slow": (0.005, 0.01, 0.02),
    "suppress_points": (60, 110, 200, 300),
    "range_margin": (0.0, 0.05, 0.1),
    "pot_risk": (1e-6, 5e-6, 2e-5),
    "pot_alarm_excess": (0.0, 1.0, 1.5, 2.0),
}


def main() -> None:
    from benchmarks.anomaly_eval import (
        TUNE_CATEGORIES,
        choose_baseline,
        nab_cases,
        ours,
        rolling_z_alarm,
        synthetic_cases,
        total,
    )
    from benchmarks.nab_score import evaluate, load_corpus
    from inferledger.analytics.anomaly.settings import DetectorConfig

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--passes", type=int, default=2, help="coordinate passes in stage 2")
    a = ap.parse_args()
    t0 = time.perf_counter()
    files = [f for f in load_corpus() if f.category in TUNE_CATEGORIES]
    nab = nab_cases(files)
    syn = synthetic_cases("tune")
    # the baseline is chosen as anomaly_eval chooses it (on NAB TUNE + synthetic tune together)
    w, k, _ = choose_baseline(nab + syn)
    base_nab = total(nab, [rolling_z_alarm(c.values, w, k) for c in nab])
    base_syn = total(syn, [rolling_z_alarm(c.values, w, k) for c in syn])
    print(f"baseline rolling z window {w}, |z| >= {k}: NAB tune {base_nab}\n  synthetic tune {base_syn}")

    def judge(cfg: DetectorConfig) -> tuple[float, float, int, bool]:
        scores, al = ours(nab, cfg)
        std = evaluate(files, scores)[0].score
        ev_nab = total(nab, al)
        _s, al = ours(syn, cfg)
        ev = total(syn, al)
        ok = all(e.f1 >= b.f1 + 0.05 and e.fp <= b.fp for e, b in ((ev_nab, base_nab), (ev, base_syn)))
        return std, ev.f1, ev.fp, ok

    def feasible(res) -> bool:
        return res[3]

    default = asdict(DetectorConfig())

    def show(label: str, res) -> None:
        ok = sorted((r for r in res if feasible(r[0])), key=lambda r: -r[0][0])
        print(f"-- {label}: {len(res)} trials, {len(ok)} feasible")
        for (std, f1, fp, _ok), cfg in ok[:6]:
            diff = {k: v for k, v in asdict(cfg).items() if v != default[k]}
            print(f"NAB tune {std:.1f}  synthetic F1 {f1:.3f}  false alarms {fp:3d}  {diff}")
        return ok[0][1] if ok else None

    start = DetectorConfig()
    (std, f1, fp, _ok) = judge(start)
    print(f"current defaults: NAB tune {std:.1f}, synthetic F1 {f1:.3f}, {fp} false alarms")
    # stage 1: the seasonal CUSUM's two keys on a grid
    grid = [(judge(c), c) for c in (replace(start, season_cusum_h=h, season_cusum_k=kk, shift_season=m)
                                    for m in (0.0, 1.0)
                                    for h in SPACE["season_cusum_h"] for kk in SPACE["season_cusum_k"])]
    best = show("stage 1, seasonal CUSUM grid", grid) or start
    # stage 2: coordinate search over the other keys, from the stage-1 best: each key in turn
    # takes the value of SPACE that scores best with the others held (ties keep the current one)
    cur, cur_res = best, judge(best)
    tried = [(cur_res, cur)]
    for sweep_no in range(a.passes):
        moved = False
        for key in (k for k in SPACE if not k.startswith("season_")):
            for v in SPACE[key]:
                if v == getattr(cur, key):
                    continue
                cfg = replace(cur, **{key: v})
                res = judge(cfg)
                tried.append((res, cfg))
                if feasible(res) and res[0] > cur_res[0] + 1e-9:
                    cur, cur_res, moved = cfg, res, True
        if not moved:
            break
    show("stage 2, coordinate search over the other keys", tried)
    diff = {k: v for k, v in asdict(cur).items() if v != default[k]}
    print(f"chosen: NAB tune {cur_res[0]:.1f}  synthetic F1 {cur_res[1]:.3f}  false alarms {cur_res[2]}  feasible {cur_res[3]}  {diff}")
    print(f"({time.perf_counter() - t0:.0f} s; shared, loaded machine)")


if __name__ == "__main__":
    main()
