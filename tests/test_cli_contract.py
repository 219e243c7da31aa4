"""The command-line contract: global options anywhere, the config file, and which warehouse answers."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from importlib.metadata import version

import click
import httpx
import pytest
from click.testing import CliRunner

from inferledger.analytics.warehouse import open_warehouse, utcnow
from inferledger.cli import cli
from inferledger.collector.unmapped import upsert_unmapped
from inferledger.config import ConfigError, load_settings
from inferledger.options import GLOBAL_OPTIONS
from inferledger.service import BackgroundService
from tests.harness import running_service, service_settings

NO_SERVICE = {"INFERLEDGER_SERVER__ADMIN": "127.0.0.1:1"}
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _leaves(group: click.Group, path: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _leaves(command, (*path, name))
        else:
            yield (*path, name), command


def _warehouse_with_key(path, key: str, spans: int = 3) -> None:
    wh = open_warehouse(path)
    upsert_unmapped(wh.con, Counter({("default", key): spans}), utcnow())
    wh.close()


def _unmapped_keys(output: str) -> list[str]:
    return [r["key"] for r in json.loads(output)]


def test_every_command_takes_every_global_option():
    flags = [o.flag for o in GLOBAL_OPTIONS]
    assert {"--config", "--db", "--json"} <= set(flags)
    leaves = list(_leaves(cli))
    assert len(leaves) > 20
    for path, command in leaves:
        opts = {o for p in command.params for o in getattr(p, "opts", [])}
        missing = [f for f in flags if f not in opts]
        assert not missing, f"inferledger {' '.join(path)} lacks {missing}"


@pytest.mark.parametrize("args", [
    ["--db", "{db}", "--json", "ingest", "unmapped"],
    ["ingest", "unmapped", "--db", "{db}", "--json"],
    ["--json", "ingest", "--db", "{db}", "unmapped"],
    ["--db", "{other}", "ingest", "unmapped", "--db", "{db}", "--json"],  # the later, closer one wins
])
@pytest.mark.slow
def test_global_options_before_or_after_the_subcommand(tmp_path, args):
    db, other = tmp_path / "a.duckdb", tmp_path / "b.duckdb"
    _warehouse_with_key(db, "ai.model.id")
    _warehouse_with_key(other, "other.key")
    argv = [a.format(db=db, other=other) for a in args]
    res = CliRunner().invoke(cli, argv, env=NO_SERVICE)
    assert res.exit_code == 0, res.output
    assert _unmapped_keys(res.output) == ["ai.model.id"]


@pytest.mark.slow
def test_config_after_the_subcommand_and_from_the_environment(tmp_path):
    db = tmp_path / "from-config.duckdb"
    _warehouse_with_key(db, "from.config")
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[warehouse]\npath = "{db}"\n[server]\nadmin = "127.0.0.1:1"\n')
    after = CliRunner().invoke(cli, ["ingest", "unmapped", "--json", "--config", str(cfg)], env={})
    assert after.exit_code == 0, after.output
    assert _unmapped_keys(after.output) == ["from.config"]
    # INFERLEDGER_CONFIG names the file; INFERLEDGER_ADMIN_TOKEN is not a setting.
    env = {"INFERLEDGER_CONFIG": str(cfg), "INFERLEDGER_ADMIN_TOKEN": "t0ken"}
    by_env = CliRunner().invoke(cli, ["ingest", "unmapped", "--json"], env=env)
    assert by_env.exit_code == 0, by_env.output
    assert _unmapped_keys(by_env.output) == ["from.config"]


def test_environment_names_without_a_section_are_not_settings():
    s = load_settings(None, environ={"INFERLEDGER_CONFIG": "/x.toml", "INFERLEDGER_ADMIN_TOKEN": "t",
                                     "INFERLEDGER_WAREHOUSE__RETENTION_DAYS": "30"})
    assert s.warehouse.retention_days == 30
    with pytest.raises(ConfigError, match="warehouse.bogus: unknown key"):
        load_settings(None, environ={"INFERLEDGER_WAREHOUSE__BOGUS": "1"})


def test_free_form_tables_must_be_tables():
    with pytest.raises(ConfigError, match=r"analytics.slo.specs\[0\]: expected a table"):
        load_settings(None, environ={}, overrides={"analytics.slo.specs": ["not a table"]})


def test_no_section_takes_arbitrary_keys():
    with pytest.raises(ConfigError, match="analytics.extra: unknown key"):
        load_settings(None, environ={}, overrides={"analytics.extra.anything": 1})


def test_version():
    res = CliRunner().invoke(cli, ["--version"])
    assert res.exit_code == 0 and res.output.strip() == f"inferledger {version('inferledger')}"


READ_COMMANDS = [
    ["ingest", "unmapped"],
    ["prices", "check"],
    ["prices", "reprice", "--dry-run"],
    ["report", "showback", "--month", "2026-01"],
    ["alerts", "list"],
    ["alerts", "silence", "list"],
    ["alerts", "silence", "create", "-m", "alertname=X", "--comment", "typo"],
    ["slo", "status"],
    ["slo", "evaluate"],
    ["slo", "replay", "--hours", "1"],
    ["drift", "status"],
    ["drift", "run"],
    ["anomaly", "list"],
]


@pytest.mark.parametrize("args", READ_COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_a_warehouse_that_does_not_exist_is_an_error_and_nothing_is_created(tmp_path, args):
    missing = tmp_path / "typo" / "dir" / "inferledger.duckdb"
    res = CliRunner().invoke(cli, ["--db", str(missing), *args], env=NO_SERVICE)
    assert res.exit_code == 1, res.output
    assert f"no warehouse at {missing}" in res.output
    assert not (tmp_path / "typo").exists()


@pytest.mark.slow
def test_a_file_locked_by_another_process_names_that_process(tmp_path):
    db = tmp_path / "held.duckdb"
    open_warehouse(db).close()
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                               "print('held', flush=True); time.sleep(120)", str(db)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        res = CliRunner().invoke(cli, ["--db", str(db), "ingest", "unmapped"], env=NO_SERVICE)
    finally:
        holder.kill()
        holder.wait()
    assert res.exit_code == 1
    assert f"is locked by process {holder.pid}" in res.output and "duckdb.connect" in res.output


@pytest.fixture
def service_on_a(tmp_path):
    a = tmp_path / "a.duckdb"
    with running_service(a) as (service, eps):
        yield service, eps, a


@pytest.mark.slow
def test_admin_api_says_which_warehouse_it_holds(service_on_a, tmp_path):
    service, eps, a = service_on_a
    info = httpx.get(f"{eps.admin}/admin/warehouse").json()
    assert info["path"] == str(a.resolve()) and info["ready"] is True
    assert UUID.match(info["warehouse_id"])
    assert info["warehouse_id"] == service.state.warehouse.warehouse_id
    b = tmp_path / "b.duckdb"
    wh = open_warehouse(b)
    other_id = wh.warehouse_id
    wh.close()
    again = open_warehouse(b)  # the id is made once, at creation
    assert again.warehouse_id == other_id != info["warehouse_id"]
    again.close()


@pytest.mark.slow
def test_the_cli_asks_the_service_only_about_the_file_it_holds(service_on_a, tmp_path, monkeypatch):
    import inferledger.app as app

    service, eps, a = service_on_a
    b = tmp_path / "b.duckdb"
    _warehouse_with_key(b, "only.in.b")
    upsert_unmapped(service.state.warehouse.con, Counter({("default", "only.in.a"): 1}), utcnow())
    asked: list[str] = []
    real = app.admin_request
    monkeypatch.setattr(app, "admin_request", lambda url, method, path, *a, **k: asked.append(path) or real(
        url, method, path, *a, **k))
    env = {"INFERLEDGER_SERVER__ADMIN": eps.admin.removeprefix("http://")}

    res = CliRunner().invoke(cli, ["--db", str(b), "ingest", "unmapped", "--json"], env=env)
    assert res.exit_code == 0, res.output
    assert _unmapped_keys(res.output) == ["only.in.b"] and asked == []

    res = CliRunner().invoke(cli, ["ingest", "unmapped", "--json", "--db", str(a)], env=env)
    assert res.exit_code == 0, res.output
    assert _unmapped_keys(res.output) == ["only.in.a"] and asked == ["/admin/unmapped?limit=20"]


def test_demo_refuses_a_service_that_holds_another_warehouse(service_on_a, tmp_path):
    service, eps, a = service_on_a
    b = tmp_path / "demo.duckdb"
    env = {"INFERLEDGER_SERVER__ADMIN": eps.admin.removeprefix("http://"),
           "INFERLEDGER_SERVER__OTLP_HTTP": eps.http.removeprefix("http://")}
    res = CliRunner().invoke(cli, ["--db", str(b), "demo", "--days", "0.1", "--out", str(tmp_path / "out")], env=env)
    assert res.exit_code == 1, res.output
    assert f"holds {a.resolve()}" in res.output and "does not send into another warehouse" in res.output
    assert not b.exists() and not (tmp_path / "out").exists()
    assert service.state.warehouse.cursor().execute("SELECT count(*) FROM spans").fetchone() == (0,)


@pytest.mark.parametrize("override, needle", [
    ({"analytics.slo.spec_files": ["{tmp}/missing.yaml"]}, "analytics.slo (spec_files / specs): {tmp}/missing.yaml"),
    ({"analytics.slo.spec_files": ["{tmp}/bad.yaml"]}, "{tmp}/bad.yaml.slos[0].objective: must be a percentage"),
    ({"analytics.slo.specs": [{"name": "x", "service": "s", "objective": 101, "sli": "availability"}]},
     "analytics.slo.specs[0].objective"),
    ({"analytics.cost.overrides_path": "{tmp}/nope.toml"}, "analytics.cost.overrides_path: price overrides file"),
    ({"analytics.cost.overrides_path": "{tmp}/bad.toml"}, "{tmp}/bad.toml: prices[0].bogus: unknown key"),
    ({"analytics.cost.catalog_path": "{tmp}/cat.json"}, "analytics.cost.catalog_path: price catalog {tmp}/cat.json"),
])
def test_a_bad_file_named_by_the_config_stops_start_up(tmp_path, override, needle):
    (tmp_path / "bad.yaml").write_text("slos:\n  - name: a\n    service: s\n    objective: 120\n    sli: availability\n")
    (tmp_path / "bad.toml").write_text('[[prices]]\nmodel = "m"\nbogus = 1\n')
    key, value = next(iter(override.items()))
    value = json.loads(json.dumps(value).replace("{tmp}", str(tmp_path)))
    settings, eps = service_settings(tmp_path / "w.duckdb", **{key: value})
    with pytest.raises(ConfigError) as err:
        BackgroundService(settings, run_scheduler=False).start(timeout=30)
    assert needle.replace("{tmp}", str(tmp_path)) in str(err.value)
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{eps.admin}/readyz", timeout=1)


@pytest.mark.slow
def test_the_demo_prints_an_inferledger_that_runs_as_printed():
    from inferledger.commands.demo import cli_invocation

    printed = cli_invocation()
    assert printed.endswith("inferledger") and "/" in printed  # not a bare name that PATH may lack
    ran = subprocess.run(f"{printed} --version", shell=True, capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0 and ran.stdout.strip() == f"inferledger {version('inferledger')}", ran.stderr
