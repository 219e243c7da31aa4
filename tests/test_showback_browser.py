"""The showback as a person sees it: opened in headless Chromium at 800 px, no console errors,
every chart laid out, the totals on the page equal to the CSV's, and a screenshot kept.

Needs Debian's `chromium` (`apt-get install chromium`); without it the test fails and says so.
The screenshot goes to $INFERLEDGER_TEST_ARTIFACTS (default out/test-artifacts/).
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
from collections import defaultdict
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from inferledger.analytics.cost.job import update_costs
from inferledger.analytics.cost.settings import CostSettings, GpuPool, GpuRate
from inferledger.analytics.cost.showback.build import build_showback
from tests.test_showback import seed

pytestmark = [pytest.mark.slow, pytest.mark.server]
ROOT = Path(__file__).resolve().parent.parent
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--window-size=800,1200"]


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail("headless Chromium is needed to check the showback renders: install Debian's `chromium` "
                "(apt-get install chromium; `make test` lists it among its system packages)")


def _run(args: list[str], tmp: Path) -> subprocess.CompletedProcess:
    return subprocess.run([_chromium(), *FLAGS, f"--user-data-dir={tmp / 'chromium-profile'}", *args],
                          capture_output=True, text=True, timeout=120)


def _cents(v: Decimal) -> str:
    """How the page writes an amount: cents, or four places under a dollar."""
    places = Decimal("0.01") if abs(v) >= 1 or v == 0 else Decimal("0.0001")
    return f"${v.quantize(places, rounding=ROUND_HALF_UP):,}"


def test_showback_renders_in_chromium_and_agrees_with_the_csv(warehouse, tmp_path):
    seed(warehouse)
    s = CostSettings(gpu_rates=[GpuRate("H100", 2.5)], gpu_pools=[GpuPool("h100", "H100", 1)])
    update_costs(warehouse, s, datetime(2026, 11, 1))
    out = tmp_path / "report"
    sb = build_showback(warehouse, s, "2026-10", out, now=datetime(2026, 11, 2))
    url = (out / "showback.html").as_uri()

    dom = _run(["--enable-logging=stderr", "--v=0", "--dump-dom", url], tmp_path)
    assert dom.returncode == 0, dom.stderr[-2000:]
    console = [line for line in dom.stderr.splitlines() if ":CONSOLE" in line]
    assert console == [], "the report logged to the browser console:\n" + "\n".join(console)
    body = re.search(r"<body([^>]*)>", dom.stdout).group(1)
    attrs = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', body))
    # two charts per team and the summary; every one laid out with a size
    assert int(attrs["charts"]) == 3 * len(sb.teams) + 1
    assert attrs["charts-drawn"] == attrs["charts"]
    assert int(attrs["scroll-width"]) <= 800, "the report scrolls sideways at 800 px"

    lines = list(csv.DictReader((out / "showback.csv").open()))
    per_team: dict[str, Decimal] = defaultdict(Decimal)
    for row in lines:
        per_team[row["team"]] += Decimal(row["cost"])
    grand = re.search(r'id="grand-total">([^<]+)<', dom.stdout).group(1)
    assert grand == _cents(sum(per_team.values(), Decimal(0)))
    shown = dict(re.findall(r'data-team="([^"]+)"><td>.*?</td><td class="n team-total">([^<]+)</td>', dom.stdout))
    assert shown == {team: _cents(v) for team, v in per_team.items()}
    assert 'id="reconciliation"' in dom.stdout

    artifacts = Path(os.environ.get("INFERLEDGER_TEST_ARTIFACTS", ROOT / "out" / "test-artifacts"))
    artifacts.mkdir(parents=True, exist_ok=True)
    shot = artifacts / "showback-800px.png"
    shot.unlink(missing_ok=True)
    res = _run([f"--screenshot={shot}", "--hide-scrollbars", url], tmp_path)
    assert res.returncode == 0 and shot.exists() and shot.stat().st_size > 10_000, res.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
