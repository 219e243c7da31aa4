"""Drift: our kernels vs Evidently 0.7's DataDriftPreset, same data, same outputs.

    .venv/bin/python benchmarks/bench_drift.py [--rows 1000000] [--skip-evidently]

Reference and current have ROWS rows each and 6 columns (4 numeric: tokens in /
out, latency, time to first token; 2 categorical: model, finish reason); the
current window is shifted a little. Each path runs in its own child process so
its peak memory is its own: peak RSS (sampled every 2 ms) during the timed part
minus the RSS at its start, the input data already built. Our path: one cold run
(fit the reference profile + compare; its peak memory), then the median of 3 warm
runs of fit + compare and of compare alone against the fitted profile (what every
later window of the job costs). Evidently runs once (it takes tens of seconds).
Timings on a shared machine are noisy; run it once, on an otherwise quiet box.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import statistics
import sys
import threading
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

NUM = ["input_tokens", "output_tokens", "latency_s", "time_to_first_token_s"]
CAT = ["model", "finish_reason"]


def make_data(rows: int, seed: int = 0):
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(seed)

    def frame(shift: float) -> pl.DataFrame:
        return pl.DataFrame({
            "input_tokens": np.round(rng.lognormal(6.5 + shift, 0.8, rows)).astype(np.int64),
            "output_tokens": np.round(rng.lognormal(5.0, 0.6, rows)).astype(np.int64),
            "latency_s": rng.gamma(3.0, 0.6 * (1 + shift), rows),
            "time_to_first_token_s": rng.exponential(0.25, rows),
            "model": rng.choice(["gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet", "llama-3.1-70b", "mistral-large"],
                                rows, p=[0.3, 0.3, 0.2, 0.15, 0.05]),
            "finish_reason": rng.choice(["stop", "length", "tool_calls", "content_filter"], rows,
                                        p=[0.8 - shift, 0.1 + shift, 0.09, 0.01]),
        })

    return frame(0.0), frame(0.05), frame(0.02)


class PeakRss:
    """Peak resident memory above the level at entry, sampled every 2 ms on a thread.

    (ru_maxrss would also count the data generation that ran before the timed part.)
    """

    def __enter__(self) -> "PeakRss":
        import psutil

        self._proc = psutil.Process()
        self.base = self._proc.memory_info().rss
        self.peak = self.base
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def _poll(self) -> None:
        while not self._stop.wait(0.002):
            self.peak = max(self.peak, self._proc.memory_info().rss)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._proc.memory_info().rss)

    @property
    def mib(self) -> float:
        return (self.peak - self.base) / 2**20


def ours(rows: int, queue, repeats: int = 3) -> None:
    from inferledger.analytics.drift.compare import compare_profile
    from inferledger.analytics.drift.profile import fit_profile

    ref, cur, cur2 = make_data(rows)
    kinds = {**{c: "numeric" for c in NUM}, **{c: "categorical" for c in CAT}}
    warm = fit_profile(ref.head(2000), kinds)  # numba kernels load from cache / compile once
    compare_profile(warm, cur.head(2000))
    with PeakRss() as mem:  # the first, cold run: its memory and its time
        t0 = time.perf_counter()
        profile = fit_profile(ref, kinds)
        t1 = time.perf_counter()
        results = compare_profile(profile, cur)
        t2 = time.perf_counter()
    cold = t2 - t0
    fits, compares, nexts = [], [], []
    for _ in range(repeats):  # then warm repetitions: the median is what a running service sees
        t0 = time.perf_counter()
        profile = fit_profile(ref, kinds)
        t1 = time.perf_counter()
        compare_profile(profile, cur)
        t2 = time.perf_counter()
        compare_profile(profile, cur2)
        t3 = time.perf_counter()
        fits.append(t1 - t0)
        compares.append(t2 - t1)
        nexts.append(t3 - t2)
    med = statistics.median
    queue.put({
        "fit_s": med(fits), "compare_s": med(compares), "fit_compare_s": med(fits) + med(compares),
        "next_window_s": med(nexts), "cold_s": cold, "peak_mb": mem.mib,
        "results": {r.column: (r.method, r.score, r.threshold, r.drifted) for r in results},
    })


def evidently(rows: int, queue) -> None:
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    from inferledger.analytics.drift.methods import METHODS

    ref, cur, _ = make_data(rows)
    ref_pd, cur_pd = ref.to_pandas(), cur.to_pandas()
    del ref, cur
    definition = DataDefinition(numerical_columns=NUM, categorical_columns=CAT)
    with PeakRss() as mem, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        snap = Report([DataDriftPreset()]).run(
            Dataset.from_pandas(cur_pd, data_definition=definition),
            Dataset.from_pandas(ref_pd, data_definition=definition),
        )
        metrics = snap.dict()["metrics"]
        t1 = time.perf_counter()
    names = {m.display_name: m for m in METHODS.values()}
    out = {}
    for m in metrics:
        cfg = m.get("config", {})
        if cfg.get("type") == "evidently:metric_v2:ValueDrift":
            method = names[cfg["method"]]
            score = float(m["value"])
            out[cfg["column"]] = (method.name, score, cfg["threshold"], method.drifted(score, cfg["threshold"]))
    queue.put({"seconds": t1 - t0, "peak_mb": mem.mib, "results": out})


def _child(target, rows: int) -> dict:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=target, args=(rows, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows per side (default 1M)")
    parser.add_argument("--skip-evidently", action="store_true")
    args = parser.parse_args()

    print(f"drift benchmark: {args.rows:,} reference + {args.rows:,} current rows x 6 columns (4 numeric, 2 categorical)")
    us = _child(ours, args.rows)
    print(f"ours       fit profile {us['fit_s']:.3f} s + compare {us['compare_s']:.3f} s = {us['fit_compare_s']:.3f} s"
          f" (median of 3; first cold run {us['cold_s']:.3f} s); next window (profile reused)"
          f" {us['next_window_s']:.3f} s; peak +{us['peak_mb']:.0f} MiB")
    if args.skip_evidently:
        return
    ev = _child(evidently, args.rows)
    print(f"evidently  DataDriftPreset {ev['seconds']:.3f} s; peak +{ev['peak_mb']:.0f} MiB")
    print(f"speed-up   {ev['seconds'] / us['fit_compare_s']:.0f}x (fit + compare), "
          f"{ev['seconds'] / us['cold_s']:.0f}x (cold first run), "
          f"{ev['seconds'] / us['next_window_s']:.0f}x (profile reused); "
          f"peak memory {ev['peak_mb'] / max(us['peak_mb'], 1):.1f}x less")
    worst = 0.0
    print(f"{'column':<24}{'method':<15}{'ours':>22}{'evidently':>22}  drifted")
    for col in NUM + CAT:
        m, s, t, d = us["results"][col]
        em, es, et, ed = ev["results"][col]
        rel = abs(s - es) / abs(es) if es else abs(s - es)
        worst = max(worst, rel)
        same = "same" if (m, t, d) == (em, et, ed) and rel <= 1e-9 else "DIFFERENT"
        print(f"{col:<24}{m:<15}{s:>22.15g}{es:>22.15g}  {d} / {ed}  {same}")
    print(f"largest relative difference of a score: {worst:.2e} (must be <= 1e-9)")
    if not math.isfinite(worst) or worst > 1e-9:
        raise SystemExit("scores differ from Evidently")


if __name__ == "__main__":
    main()
