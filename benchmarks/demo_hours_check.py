"""The demo run at different hours of the day: does it find the same incidents whenever it runs?

    .venv/bin/python -m benchmarks.demo_hours_check --days 1.5 --hours 0 3 6 9 12 15 18 21

The demo's history ends when it runs, so the hour of day moves every injected incident
along the fleet's daily traffic curve: the cost spike lands on the quiet night or on the
midday peak. Each hour runs `inferledger demo` in a child process whose warehouse clock
(`analytics.warehouse.utcnow`, which the demo, the jobs and the alerts read) is set back
to that hour of the last day, then `benchmarks.anomaly_demo_check` on its warehouse. The
table shows, per hour, what `tests/test_demo_command.py` asserts (one budget page, a page
led by the spend of the spike's team, feature or model) and what the check counts (injected incidents found as one
grouped alert, false pageable incidents).

The clock only goes back (an hour later than now would put the history in the future,
which ingest refuses). Ingest's own future-skew bound still reads the real clock.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table

from tests.harness import free_port

# the page tests/test_demo_command.py looks for: led by the spend of the spike's team, feature or model
SPEND_PAGE = re.compile(r'\[FIRING\s*\] \w+ InferenceAnomaly: spend_\w+\{(team="growth"|feature="campaign-copy"|model="gpt-4o[-\d]*")\}')
BUDGET_PAGE = re.compile(r"\[FIRING\s*\] \w+ InferenceBudgetConsumed")
ANOMALY_PAGE = re.compile(r"\[FIRING\s*\] \w+ InferenceAnomaly: (\S+)")


def _run_child(shift_s: float, argv: list[str]) -> None:
    """Run the CLI with the warehouse clock `shift_s` seconds behind the real one."""
    import inferledger.analytics.warehouse as warehouse

    real = warehouse.utcnow

    def shifted() -> datetime:
        return real() + timedelta(seconds=shift_s)

    warehouse.utcnow = shifted
    # a module imported from here on binds the shifted clock; those already imported hold the real one
    for module in list(sys.modules.values()):
        if getattr(module, "utcnow", None) is real:
            module.utcnow = shifted
    from inferledger.cli import main
    sys.argv = ["inferledger", *argv]
    main()


def _shift_to(hour: int, now: datetime) -> float:
    """Seconds back from `now` to the same minute at `hour` UTC (0 .. 24 h back)."""
    back = (now.hour - hour) % 24
    return -back * 3600.0


def _one(hour: int, days: float, seed: int, work: Path) -> dict:
    db = work / f"demo-{hour:02d}.duckdb"
    for old in (db, Path(f"{db}.wal")):  # a demo adds to a warehouse it finds, and its alerts are sent already
        old.unlink(missing_ok=True)
    env = {**os.environ, "COLUMNS": "200",
           "INFERLEDGER_SERVER__OTLP_HTTP": f"127.0.0.1:{free_port()}",
           "INFERLEDGER_SERVER__OTLP_GRPC": f"127.0.0.1:{free_port()}",
           "INFERLEDGER_SERVER__ADMIN": f"127.0.0.1:{free_port()}"}
    shift = _shift_to(hour, datetime.now(UTC))
    demo = subprocess.run(
        [sys.executable, "-m", "benchmarks.demo_hours_check", "--child", str(shift), "--",
         "--db", str(db), "demo", "--days", str(days), "--seed", str(seed), "--out", str(work / f"out-{hour:02d}")],
        env=env, capture_output=True, text=True, timeout=1800)
    out = demo.stdout + demo.stderr
    (work / f"demo-{hour:02d}.log").write_text(out)
    row = {"hour": hour, "rc": demo.returncode, "budget": len(BUDGET_PAGE.findall(out)),
           "spend_page": bool(SPEND_PAGE.search(out)), "anomaly_pages": ANOMALY_PAGE.findall(out)}
    if demo.returncode != 0:
        row["error"] = out[-2000:]
        return row
    check = subprocess.run([sys.executable, "-m", "benchmarks.anomaly_demo_check", str(db), "--seed", str(seed)],
                           capture_output=True, text=True, timeout=600)
    text = check.stdout
    row["found"] = [(m.group(1), int(m.group(2))) for m in re.finditer(r"^\s+(\w+) \S+ \S+: (\d+) grouped alert", text, re.M)]
    false = re.search(r"false incidents: (\d+)", text)
    row["false"] = int(false.group(1)) if false else None
    row["check"] = text
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--days", type=float, default=1.5)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--hours", type=int, nargs="+", default=[0, 3, 6, 9, 12, 15, 18, 21],
                    help="UTC hours at which the demo runs (its history ends then)")
    ap.add_argument("--keep", default=None, help="folder to keep the warehouses in (default: a temporary one)")
    ap.add_argument("--child", type=float, default=None, help=argparse.SUPPRESS)
    ap.add_argument("argv", nargs="*", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child is not None:
        _run_child(args.child, args.argv)
        return
    console = Console(width=max(Console().width, 160))
    table = Table(title=f"the {args.days:g}-day demo (seed {args.seed}) run at different hours (UTC)")
    for col in ("ends at", "exit", "budget pages", "spike's spend paged", "anomaly pages",
                "injected found (grouped alerts)", "false pageable incidents"):
        table.add_column(col)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.keep or tmp)
        work.mkdir(parents=True, exist_ok=True)
        with console.status("running demos") as status:
            for hour in args.hours:
                status.update(f"demo ending at {hour:02d}:xx UTC")
                r = _one(hour, args.days, args.seed, work)
                if r["rc"] != 0:
                    console.print(f"[red]demo at {hour:02d}:xx failed[/]\n{r['error']}")
                table.add_row(f"{hour:02d}:xx", str(r["rc"]), str(r["budget"]), "yes" if r["spend_page"] else "NO",
                              "\n".join(r["anomaly_pages"]),
                              ", ".join(f"{k} {n}" for k, n in r.get("found", [])), str(r.get("false")))
    console.print(table)


if __name__ == "__main__":
    main()
