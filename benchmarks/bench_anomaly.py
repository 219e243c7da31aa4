"""Anomaly detection benchmark: throughput (numba kernel vs plain NumPy) and the NAB evaluation.

    .venv/bin/python -m benchmarks.bench_anomaly                 # both parts
    .venv/bin/python -m benchmarks.bench_anomaly --skip-nab      # throughput only

Throughput: 10,000 series x 30 days at 5-minute steps (86.4 M points) scored the way
the anomaly job scores them (`job.score_all` on one `Series` per row, each with its own arrays:
the series of one time axis in vector blocks of 16, the rest one by one, parallel numba calls
that return the alarms), in chunks of series so the inputs need not
all sit in memory at once; wall and CPU time are both printed;
next to it, the NumPy reference implementation of the same recurrence (a loop over
time, vectorised over series) measured in the same run on `--ref-series` series and
scaled linearly, with a check that both give the same numbers. Each phase runs in its
own child process so its peak RSS is its own.

Job against job: `score_all` of `--baseline` (a git revision, default `main`, unpacked with
`git archive` and imported under its own copy of the package) and the working tree's, on the same
`--cmp-series` series in the same process, alternating, `--reps` times on 1 and on 2 threads; the
figures are CPU time (all threads) per point, i.e. ns/point/thread, and wall x threads per point,
minimum over the repetitions (the wall clock of a shared machine says more about the neighbours
than about the code). Both must give identical alarms (index, score, expected, kind).

NAB: every file of ../shared/data/nab scored with the one default configuration and
evaluated by benchmarks/nab_score.py (standard / low-FP / low-FN, per category),
printed next to the published NAB scoreboard. Caveat: the EWMA / CUSUM / range defaults
were chosen on this same corpus (random search + coordinate descent, one global
configuration, no per-file tuning); the level-shift confirmation and the peaks-over-threshold
calibration only on the tuning categories of benchmarks/anomaly_eval.py, which reports the
held-out categories separately.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

STEP = 300
T0 = 1_709_251_200


def make_chunk(n_series: int, n_points: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Daily-seasonal series with noise, a few spikes and level shifts (realistic work for the kernel)."""
    rng = np.random.default_rng(seed)
    ts = T0 + STEP * np.arange(n_points, dtype=np.int64)
    hours = (ts % 86400) / 3600
    base = rng.uniform(10, 1000, (n_series, 1))
    x = base * (1 + 0.3 * np.sin(2 * np.pi * hours / 24)) + rng.normal(0, 1, (n_series, n_points)) * base * 0.05
    rows = np.arange(n_series)
    x[rows, rng.integers(n_points // 4, n_points, n_series)] *= 5
    shift_at = rng.integers(n_points // 4, n_points, n_series)
    x[np.arange(n_points)[None, :] >= shift_at[:, None]] *= 1.2
    return ts, x


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _series(ts: np.ndarray, x: np.ndarray) -> list:
    """What the job holds: one Series per row, each with its own time axis array."""
    from inferledger.analytics.anomaly.series import Series

    return [Series("spend_5m", "usd", {"team": str(i)}, STEP, ts.copy(), x[i]) for i in range(x.shape[0])]


def _alarms_of(r) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(index, score, expected, kind) of the alarms in either result shape of `score_all`
    (alarms only, or the older full per-point `Scored`)."""
    if hasattr(r, "index"):
        return r.index, r.score, r.expected, r.kind
    idx = np.flatnonzero(r.kind)
    return idx, r.score[idx], r.expected[idx], r.kind[idx]


def _timed(fn) -> tuple[float, float, object]:
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - w, time.process_time() - c, out


def _kernel_phase(n_series: int, n_points: int, chunk: int, q) -> None:
    import numba

    from inferledger.analytics.anomaly.job import score_all
    from inferledger.analytics.anomaly.settings import AnomalySettings

    cfg = AnomalySettings()
    t = time.perf_counter()
    ts, x = make_chunk(4, 1000, 0)
    score_all(_series(ts, x), cfg)  # compile or load from cache
    compile_s = time.perf_counter() - t
    base_rss = _peak_rss_mb()
    wall = cpu = 0.0
    alarms = 0
    for k, lo in enumerate(range(0, n_series, chunk)):
        ts, x = make_chunk(min(chunk, n_series - lo), n_points, seed=k + 1)
        series = _series(ts, x)
        del x
        w, c, scored = _timed(lambda: score_all(series, cfg))
        wall += w
        cpu += c
        alarms += sum(len(_alarms_of(r)[0]) for r in scored)
        del scored, series
    threads = numba.get_num_threads()
    # one chunk again on a single thread: the per-core figure, for machines with more cores
    ts, x = make_chunk(min(chunk, n_series), n_points, seed=1)
    series = _series(ts, x)
    numba.set_num_threads(1)
    w1, c1, _ = _timed(lambda: score_all(series, cfg))
    q.put({"seconds": wall, "cpu_s": cpu, "compile_s": compile_s, "peak_rss_mb": _peak_rss_mb(),
           "base_rss_mb": base_rss, "alarms": alarms, "threads": threads,
           "one_thread_ns": c1 / x.size * 1e9, "one_thread_wall_ns": w1 / x.size * 1e9})


def _reference_phase(ref_series: int, n_points: int, q) -> None:
    from inferledger.analytics.anomaly.job import score_all
    from inferledger.analytics.anomaly.settings import AnomalySettings
    from inferledger.analytics.kernels.anomaly_batch import score_matrix
    from tests.reference.anomaly import score_matrix_reference

    cfg = AnomalySettings()
    params = cfg.detector.params()
    ts, x = make_chunk(ref_series, n_points, seed=1)
    base_rss = _peak_rss_mb()
    t = time.perf_counter()
    s_ref, e_ref, k_ref = score_matrix_reference(ts, x, params)
    elapsed = time.perf_counter() - t
    s, e, k = score_matrix(ts, x, params)
    # and what the job runs: its alarms must be the reference's alarms
    same_alarms = True
    alarm_diff = 0.0
    for row, r in enumerate(score_all(_series(ts, x), cfg)):
        idx, sc, ex, kd = _alarms_of(r)
        ref_idx = np.flatnonzero(k_ref[row])
        same_alarms &= bool(np.array_equal(idx, ref_idx) and np.array_equal(kd, k_ref[row, ref_idx]))
        if same_alarms and len(idx):
            alarm_diff = max(alarm_diff, float(np.max(np.abs(sc - s_ref[row, idx]))))
    q.put({"seconds": elapsed, "peak_rss_mb": _peak_rss_mb(), "base_rss_mb": base_rss,
           "max_abs_diff": float(np.max(np.abs(s - s_ref))), "kinds_equal": bool(np.array_equal(k, k_ref)),
           "expected_max_rel_diff": float(np.max(np.abs(e - e_ref) / np.maximum(np.abs(e_ref), 1e-300))),
           "alarms_equal": same_alarms, "alarm_score_diff": alarm_diff})


def _baseline_score_all(baseline: str, tmp: Path):
    """`score_all` of another git revision, imported from a copy of that tree under its own
    package name, then unloaded, so the working tree's imports in this process are untouched."""
    import sys

    root = Path(__file__).resolve().parent.parent
    archive = subprocess.run(["git", "archive", baseline], cwd=root, capture_output=True, check=True).stdout
    src = tmp / "src"
    src.mkdir()
    subprocess.run(["tar", "-x", "-C", str(src)], input=archive, check=True)
    pkg = tmp / "pkg"
    pkg.mkdir()
    subprocess.run(["cp", "-r", str(src / "inferledger"), str(pkg)], check=True)
    for d in ("collector", "analytics", "alerts", "dashboards"):
        (pkg / "inferledger" / d).symlink_to(src / d)
    saved = {k: v for k, v in sys.modules.items() if k == "inferledger" or k.startswith("inferledger.")}
    for k in saved:
        del sys.modules[k]
    sys.path.insert(0, str(pkg))
    try:
        from inferledger.analytics.anomaly.job import score_all
        from inferledger.analytics.anomaly.settings import AnomalySettings
    finally:
        sys.path.remove(str(pkg))
        for k in [k for k in sys.modules if k == "inferledger" or k.startswith("inferledger.")]:
            del sys.modules[k]
        sys.modules.update(saved)
    return score_all, AnomalySettings()  # that revision's own defaults


def _compare_phase(baseline: str, n_series: int, n_points: int, reps: int, q) -> None:
    import numba

    from inferledger.analytics.anomaly.job import score_all as new
    from inferledger.analytics.anomaly.settings import AnomalySettings

    with tempfile.TemporaryDirectory() as tmp:
        try:
            old, old_cfg = _baseline_score_all(baseline, Path(tmp))
            cfg = AnomalySettings()
            ts, x = make_chunk(n_series, n_points, seed=7)
            series = _series(ts, x)
            outs = [f(series, c) for f, c in ((old, old_cfg), (new, cfg))]  # compiles, and the equality check
        except Exception as e:  # any failure of the other revision is reported, not raised
            q.put({"error": f"cannot run score_all of {baseline!r}: {type(e).__name__}: {e}"})
            return
        same = all(all(np.array_equal(a, b) for a, b in zip(_alarms_of(r0), _alarms_of(r1)))
                   for r0, r1 in zip(*outs))
        res: dict = {"same": same, "points": x.size}
        for threads in (1, 2):
            numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
            best = {(k, m): float("inf") for k in ("old", "new") for m in ("cpu", "wall")}
            for _ in range(reps):
                for name, f, conf in (("old", old, old_cfg), ("new", new, cfg)):
                    w, c, _ = _timed(lambda: f(series, conf))
                    best[name, "cpu"] = min(best[name, "cpu"], c)
                    best[name, "wall"] = min(best[name, "wall"], w)
            res[threads] = {f"{k}_{m}": v / x.size * 1e9 for (k, m), v in best.items()}
    q.put(res)


def _in_child(target, *args) -> dict:
    import queue

    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=target, args=(*args, q))
    p.start()
    while True:  # a child that dies without an answer must not hang the benchmark
        try:
            out = q.get(timeout=2)
            break
        except queue.Empty:
            if not p.is_alive():
                out = {"error": f"the {target.__name__} child exited with code {p.exitcode}"}
                break
    p.join()
    return out


def throughput(n_series: int, days: int, chunk: int, ref_series: int, baseline: str | None = None,
               cmp_series: int = 300, reps: int = 7) -> None:
    n_points = days * 86400 // STEP
    total = n_series * n_points
    print(f"== throughput: {n_series:,} series x {days} days at 5 min = {total / 1e6:.1f} M points ==")
    k = _in_child(_kernel_phase, n_series, n_points, chunk)
    r = _in_child(_reference_phase, ref_series, n_points)
    for phase in (k, r):
        if "error" in phase:
            print(f"throughput: {phase['error']}")
            return
    ref_scaled = r["seconds"] * n_series / ref_series
    ns_wall = k["seconds"] / total * 1e9 * k["threads"]
    print(f"score_all (job)  : {k['seconds']:.2f} s wall  ({total / k['seconds'] / 1e6:.1f} M points/s, "
          f"{k['threads']} threads, chunks of {chunk:,} series; compile/cache load {k['compile_s']:.2f} s not counted)")
    print(f"                   CPU {k['cpu_s']:.2f} s = {k['cpu_s'] / total * 1e9:.1f} ns/point/thread "
          f"(wall x threads: {ns_wall:.1f}); one thread: {k['one_thread_ns']:.1f} ns/point CPU, "
          f"{k['one_thread_wall_ns']:.1f} wall")
    print(f"                   peak RSS {k['peak_rss_mb']:.0f} MB (process before scoring {k['base_rss_mb']:.0f} MB); "
          f"{k['alarms']:,} alarms")
    print(f"NumPy reference  : {r['seconds']:.2f} s on {ref_series:,} series -> {ref_scaled:.1f} s scaled to "
          f"{n_series:,} ({ref_series * n_points / r['seconds'] / 1e6:.2f} M points/s); peak RSS {r['peak_rss_mb']:.0f} MB "
          f"for {ref_series:,} series")
    full = n_series >= 10_000 and days >= 30
    goal = ("met" if k["seconds"] < 2 else "NOT met") if full else "n/a (smaller than 10,000 series x 30 days)"
    print(f"speed-up         : {ref_scaled / k['seconds']:.0f}x   goal < 2 s for 10,000 x 30 days: {goal}")
    print(f"same numbers     : kernel vs reference max |score diff| {r['max_abs_diff']:.1e}, expected max rel diff "
          f"{r['expected_max_rel_diff']:.1e}, kinds equal: {r['kinds_equal']}; score_all's alarms are the "
          f"reference's: {r['alarms_equal']} (max |score diff| {r['alarm_score_diff']:.1e})")
    if baseline:
        c = _in_child(_compare_phase, baseline, cmp_series, n_points, reps)
        if "error" in c:
            print(f"score_all vs {baseline}: skipped ({c['error']})")
            return
        print(f"score_all vs {baseline} ({cmp_series} series x {n_points:,} points, ns/point/thread as CPU time "
              f"and as wall x threads, min of {reps}; identical alarms: {c['same']}, each with its own defaults)")
        for threads in (1, 2):
            d = c[threads]
            print(f"  {threads} thread{'s' if threads > 1 else ' '}        : CPU {baseline} {d['old_cpu']:.1f}   this tree "
                  f"{d['new_cpu']:.1f} ({d['old_cpu'] / d['new_cpu']:.2f}x)   wall {d['old_wall'] * threads:.1f} -> "
                  f"{d['new_wall'] * threads:.1f} ({d['old_wall'] / d['new_wall']:.2f}x)")


def nab(nab_dir: str | None) -> None:
    from rich.console import Console
    from rich.progress import track
    from rich.table import Table

    from benchmarks.nab_score import PUBLISHED, evaluate, load_corpus
    from inferledger.analytics.anomaly.detectors import score
    from inferledger.analytics.anomaly.settings import DetectorConfig

    console = Console()
    files = load_corpus(nab_dir)
    cfg = DetectorConfig()
    t = time.perf_counter()
    scores = [score(f.timestamps, f.values, cfg).score for f in track(files, description="scoring NAB files")]
    scoring_s = time.perf_counter() - t
    results = evaluate(files, scores)
    rows = sum(len(f.values) for f in files)
    console.print(f"== NAB: {len(files)} files, {rows:,} rows, {sum(len(f.windows) for f in files)} windows;"
                  f" scored in {scoring_s:.2f} s with one configuration (DetectorConfig defaults) ==")
    table = Table("detector", "standard", "reward_low_FP", "reward_low_FN", title="NAB scores (0 = null, 100 = perfect)")
    ours = tuple(r.score for r in results)
    entries = list(PUBLISHED.items()) + [("InferLedger streaming (this run)", ours)]
    entries.sort(key=lambda kv: -kv[1][0])
    for name, (std, lfp, lfn) in entries:
        style = "bold green" if name.startswith("InferLedger") else None
        table.add_row(name, f"{std:.1f}", f"{lfp:.1f}", f"{lfn:.1f}", style=style)
    console.print(table)
    console.print("published figures: NAB scoreboard (github.com/numenta/NAB README, v1.1), as listed in "
                  "../shared/data/nab/SCORING.md")
    cats = sorted(results[0].by_category)
    ctab = Table("category", *[r.profile for r in results], title="ours per category (corpus threshold per profile)")
    for c in cats:
        ctab.add_row(c, *[("n/a (no windows)" if np.isnan(r.by_category[c]) else f"{r.by_category[c]:.1f}")
                          for r in results])
    console.print(ctab)
    console.print("thresholds: " + ", ".join(f"{r.profile} {r.threshold:.4f}" for r in results))
    # a picture: standard score bars against the published detectors
    console.print("\nstandard profile")
    for name, (std, _l, _f) in entries:
        bar = "█" * max(0, int(round(std / 2)))
        console.print(f"{name[:34]:>34} {bar} {std:.1f}", style="bold green" if name.startswith("InferLedger") else None)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--series", type=int, default=10_000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--chunk", type=int, default=1_000, help="series per kernel call")
    ap.add_argument("--ref-series", type=int, default=1_000, help="series the NumPy reference runs on")
    ap.add_argument("--baseline", default="main", help="git revision whose kernel is timed beside this one ('' skips)")
    ap.add_argument("--cmp-series", type=int, default=300, help="series of the kernel-vs-kernel comparison")
    ap.add_argument("--reps", type=int, default=7, help="repetitions of the kernel-vs-kernel comparison")
    ap.add_argument("--nab-dir", default=None)
    ap.add_argument("--skip-nab", action="store_true")
    ap.add_argument("--skip-throughput", action="store_true")
    args = ap.parse_args()
    if not args.skip_throughput:
        throughput(args.series, args.days, args.chunk, args.ref_series, args.baseline, args.cmp_series, args.reps)
    if not args.skip_nab:
        nab(args.nab_dir)


if __name__ == "__main__":
    main()
