from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest

from inferledger.analytics.retention import enforce_retention
from inferledger.analytics.warehouse import bundled_migrations, open_warehouse, utcnow
from tests.factories import insert_spans, span_row


@pytest.mark.slow
def test_migrations_applied_once(tmp_path):
    path = tmp_path / "w.duckdb"
    wh = open_warehouse(path)
    versions = wh.schema_versions()
    assert versions == [m.version for m in bundled_migrations()]
    wh.close()
    wh = open_warehouse(path)  # reopening applies nothing new and keeps data
    assert wh.schema_versions() == versions
    wh.close()


@pytest.mark.slow
def test_second_process_gets_clear_error_not_hang(tmp_path):
    path = tmp_path / "w.duckdb"
    wh = open_warehouse(path)
    code = f"from inferledger.analytics.warehouse import open_warehouse; open_warehouse({str(path)!r})"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "WarehouseLockedError" in proc.stderr and "is locked by process" in proc.stderr
    wh.close()


def test_duplicate_span_ignored(warehouse):
    row = span_row(utcnow())
    insert_spans(warehouse, [row, dict(row)])
    assert warehouse.con.execute("SELECT count(*) FROM spans").fetchone()[0] == 1


def test_retention_deletes_only_old_facts(warehouse):
    now = utcnow()
    insert_spans(warehouse, [span_row(now - timedelta(days=100)), span_row(now - timedelta(days=1))])
    deleted = enforce_retention(warehouse, now, retention_days=90)
    assert deleted["spans"] == 1
    assert warehouse.con.execute("SELECT count(*) FROM spans").fetchone()[0] == 1
