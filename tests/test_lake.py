"""The lake on a local directory: sealing whole hours atomically and idempotently, the manifest,
dedupe on read of spans resent to two nodes, the CLI, and the settings."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from inferledger.analytics.lake import partials
from inferledger.analytics.lake.export import export_range, lake_status, seal_completed
from inferledger.analytics.lake.store import open_lake, partitions, read_manifest
from inferledger.analytics.warehouse import open_warehouse
from inferledger.cli import cli
from inferledger.config import ConfigError, load_settings
from tests.factories import insert_gpu_samples, insert_spans, span_row

H0 = datetime(2026, 10, 5, 10)
NO_SERVICE = {"INFERLEDGER_SERVER__ADMIN": "127.0.0.1:1"}


def lake_spans(root: Path) -> int:
    """Distinct spans in the lake as any reader sees them: DuckDB over the Hive layout, deduped by key."""
    return duckdb.sql(
        f"SELECT count(*) FROM (SELECT DISTINCT tenant, trace_id, span_id FROM read_parquet('{root}/spans/**/*.parquet'))"
    ).fetchall()[0][0]


@pytest.fixture
def wh():
    w = open_warehouse(":memory:")
    yield w
    w.close()


def test_seals_completed_hours_only_as_hive_partitioned_zstd_parquet(wh, tmp_path):
    rows = [span_row(H0 + timedelta(minutes=10 * i), tenant="acme" if i % 2 else "beta") for i in range(12)]
    insert_spans(wh, rows)  # 10:00 .. 11:50
    lake = open_lake(str(tmp_path / "lake"))
    res = seal_completed(wh, lake, "n1", now=H0 + timedelta(hours=1, minutes=20), delay_seconds=300)
    # 10:xx is complete (ended 11:00 + 5 min grace); 11:xx is still open at 11:20
    assert res.rows == 6 and res.files == 2
    f = tmp_path / "lake/spans/tenant=acme/day=2026-10-05/10.n1.parquet"
    meta = pq.ParquetFile(f).metadata
    assert meta.row_group(0).column(0).compression == "ZSTD"
    times = pq.read_table(f).column("start_time").to_pylist()
    assert times == sorted(times)
    assert not list((tmp_path / "lake").rglob("_tmp.*"))
    # overlap 0: rows ingested within the overlap window would be re-sealed (harmless, the same file again)
    res = seal_completed(wh, lake, "n1", now=H0 + timedelta(hours=2, minutes=10), delay_seconds=300, overlap_seconds=0)
    assert res.rows == 6  # 11:xx now, and 10:xx not again
    assert lake_spans(tmp_path / "lake") == 12
    manifest = read_manifest(lake, "n1")
    assert {e["hour"] for e in manifest["hours"].values()} == {"2026-10-05T10:00:00", "2026-10-05T11:00:00"}
    assert sum(e["rows"] for e in manifest["hours"].values()) == 12


def test_reseal_after_a_late_span_replaces_the_nodes_file(wh, tmp_path):
    insert_spans(wh, [span_row(H0 + timedelta(minutes=i)) for i in range(5)])
    lake = open_lake(str(tmp_path / "lake"))
    now = H0 + timedelta(hours=3)
    seal_completed(wh, lake, "n1", now=now, overlap_seconds=0)
    insert_spans(wh, [span_row(H0 + timedelta(minutes=30))])  # late, for the sealed hour
    res = seal_completed(wh, lake, "n1", now=now + timedelta(minutes=5), overlap_seconds=0)
    assert res.files == 1 and res.rows == 6  # the whole hour again, as one file
    files = list((tmp_path / "lake/spans").rglob("*.parquet"))
    assert len(files) == 1 and pq.read_table(files[0]).num_rows == 6
    # an explicit export of the same range is idempotent too
    export_range(wh, lake, "n1", H0, H0 + timedelta(hours=1))
    export_range(wh, lake, "n1", H0, H0 + timedelta(hours=1))
    assert lake_spans(tmp_path / "lake") == 6
    assert len(list((tmp_path / "lake/spans").rglob("*.parquet"))) == 1


@pytest.mark.slow
def test_spans_resent_to_two_nodes_count_once(tmp_path):
    shared = [span_row(H0 + timedelta(minutes=i)) for i in range(20)]
    only_a = [span_row(H0 + timedelta(minutes=i, seconds=30)) for i in range(7)]
    only_b = [span_row(H0 + timedelta(minutes=i, seconds=45)) for i in range(9)]
    lake = open_lake(str(tmp_path / "lake"))
    for node, extra in (("a", only_a), ("b", only_b)):
        w = open_warehouse(":memory:")
        insert_spans(w, shared + extra)
        seal_completed(w, lake, node, now=H0 + timedelta(hours=2))
        w.close()
    (_, _, files), = partitions(lake, "spans", H0, H0 + timedelta(hours=1))
    assert [Path(f).name for f in files] == ["10.a.parquet", "10.b.parquet"]
    data, read = partials.read_files(lake.uri, files, partials.KEY_COLUMNS + ["start_time"])
    assert data.num_rows == 56 and read > 0
    assert partials.load_spans(partials._warehouse(), data) == 36
    assert lake_spans(tmp_path / "lake") == 36
    status = lake_status(lake)
    assert [(n["node"], n["tables"]["spans"]["rows"]) for n in status["nodes"]] == [("a", 27), ("b", 29)]


@pytest.mark.slow
def test_read_spans_keeps_the_first_copy_of_each_resent_span(tmp_path):
    # node a and b share 20 spans; b's copies carry another team, so which copy survives is visible
    shared = [span_row(H0 + timedelta(minutes=i)) for i in range(20)]
    only_a = [span_row(H0 + timedelta(minutes=i, seconds=30)) for i in range(7)]
    only_b = [span_row(H0 + timedelta(minutes=i, seconds=45)) for i in range(9)]
    lake = open_lake(str(tmp_path / "lake"))
    for node, rows in (("a", shared + only_a), ("b", [{**r, "team": "from-b"} for r in shared] + only_b)):
        w = open_warehouse(":memory:")
        insert_spans(w, rows)
        seal_completed(w, lake, node, now=H0 + timedelta(hours=2))
        w.close()
    (_, _, files), = partitions(lake, "spans", H0, H0 + timedelta(hours=1))
    data, read, before = partials.read_spans(lake.uri, files, ["team"])
    assert before == 56 and read > 0
    keys = list(zip(data["trace_id"].to_pylist(), data["span_id"].to_pylist()))
    assert len(keys) == len(set(keys)) == 36
    expect = {(r["trace_id"], r["span_id"]) for r in shared + only_a + only_b}
    assert set(keys) == expect
    teams = dict(zip(keys, data["team"].to_pylist()))
    assert all(teams[(r["trace_id"], r["span_id"])] != "from-b" for r in shared)  # a's file is read first
    # one node's files are never deduped (its warehouse kept each span once)
    only_a_files = [f for f in files if partials.node_of(f) == "a"]
    assert partials.read_spans(lake.uri, only_a_files, ["team"])[0].num_rows == 27


def test_readers_skip_uncommitted_temporary_files(wh, tmp_path):
    insert_spans(wh, [span_row(H0)])
    lake = open_lake(str(tmp_path / "lake"))
    seal_completed(wh, lake, "n1", now=H0 + timedelta(hours=2))
    part = next((tmp_path / "lake/spans").rglob("day=*"))
    (part / "_tmp.deadbeef.11.n2.parquet").write_bytes(b"half a file")
    (_, _, files), = partitions(lake, "spans", H0, H0 + timedelta(days=1))
    assert [Path(f).name for f in files] == ["10.n1.parquet"]


def test_gpu_samples_and_metric_points_are_sealed_too(wh, tmp_path):
    insert_gpu_samples(wh, [dict(time=H0 + timedelta(minutes=i), gpu_uuid="GPU-1", utilization=0.5) for i in range(4)])
    lake = open_lake(str(tmp_path / "lake"))
    res = seal_completed(wh, lake, "n1", now=H0 + timedelta(hours=2))
    assert res.rows == 4
    assert pq.read_table(tmp_path / "lake/gpu_samples/tenant=default/day=2026-10-05/10.n1.parquet").num_rows == 4


@pytest.mark.slow
def test_cli_export_and_status(tmp_path):
    db = tmp_path / "wh.duckdb"
    w = open_warehouse(db)
    insert_spans(w, [span_row(H0 + timedelta(hours=h), tenant="t/1") for h in range(3)])
    w.close()
    lake = tmp_path / "lake"
    runner = CliRunner(env=NO_SERVICE)
    r = runner.invoke(cli, ["--db", str(db), "--lake", str(lake), "lake", "export", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["rows"] == 3
    assert (lake / "spans/tenant=t%2F1/day=2026-10-05").is_dir()
    r = runner.invoke(cli, ["--db", str(db), "--lake", str(lake), "lake", "export", "--since", "2026-10-05T11:00",
                            "--until", "2026-10-05T12:00", "--json"])
    assert json.loads(r.output)["files"] == 1
    r = runner.invoke(cli, ["--lake", str(lake), "lake", "status", "--json"])
    assert r.exit_code == 0, r.output
    (node,) = json.loads(r.output)["nodes"]
    assert node["tables"]["spans"]["hours"] == 3 and node["tables"]["spans"]["rows"] == 3
    r = runner.invoke(cli, ["--lake", str(lake), "lake", "export", "--since", "yesterday"])
    assert r.exit_code == 2 and "--since" in r.output
    r = runner.invoke(cli, ["lake", "status"], env={**NO_SERVICE, "INFERLEDGER_LAKE__PATH": ""})
    assert r.exit_code == 2 and "--lake" in r.output


def test_settings_validate():
    s = load_settings(None, environ={}, overrides={"lake.path": "s3://b/x", "engine.kind": "dask"})
    assert s.lake.node_id and s.engine.kind == "dask" and s.engine.workers == 2
    with pytest.raises(ConfigError, match="engine.kind"):
        load_settings(None, environ={}, overrides={"engine.kind": "spark"})
    with pytest.raises(ConfigError, match="scheduler"):
        load_settings(None, environ={}, overrides={"engine.scheduler": "10.0.0.1:8786"})
    with pytest.raises(ConfigError, match="lake.bucket"):
        load_settings(None, environ={}, overrides={"lake.bucket": "x"})
    with pytest.raises(ConfigError, match="node_id"):
        load_settings(None, environ={}, overrides={"lake.node_id": "a b"})
