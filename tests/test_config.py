from __future__ import annotations

import pytest

from inferledger.config import ConfigError, load_settings


def test_defaults_work_without_a_file():
    s = load_settings(None, environ={})
    assert s.warehouse.retention_days == 90
    assert s.ingest.max_body_bytes == 64 * 1024 * 1024
    assert s.server.otlp_http == "0.0.0.0:4318" and s.server.admin == "127.0.0.1:9464"
    assert not s.auth.enabled


def test_file_then_environment_override(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[warehouse]\npath = "x.duckdb"\nretention_days = 30\n[auth.tokens]\n"tok" = "acme"\n')
    s = load_settings(cfg, environ={"INFERLEDGER_WAREHOUSE__RETENTION_DAYS": "7", "INFERLEDGER_INGEST__CAPTURE_CONTENT": "true"})
    assert s.warehouse.path == "x.duckdb"
    assert s.warehouse.retention_days == 7
    assert s.ingest.capture_content is True
    assert s.auth.tokens == {"tok": "acme"} and s.auth.enabled


@pytest.mark.parametrize(
    "toml, needle",
    [
        ("[warehouse]\nretention_dayz = 3\n", "warehouse.retention_dayz: unknown key"),
        ("[warehouse]\nretention_days = 'three'\n", "warehouse.retention_days: expected an integer"),
        ("[warehouse]\nretention_days = 0\n", "retention_days must be >= 1"),
        ("[nonsense]\nx = 1\n", "nonsense: unknown key"),
        ("[attribution]\nteam_keys = 'team'\n", "attribution.team_keys: expected a list"),
        ("[[alerts.receivers]]\nname = 'x'\ntype = 'carrier-pigeon'\n", "type must be one of"),
        ("[[alerts.receivers]]\ntype = 'slack'\n", "alerts.receivers[0]"),
    ],
)
def test_wrong_config_names_the_field(tmp_path, toml, needle):
    cfg = tmp_path / "c.toml"
    cfg.write_text(toml)
    with pytest.raises(ConfigError) as err:
        load_settings(cfg, environ={})
    assert needle in str(err.value)


def test_bad_environment_value_names_the_field():
    with pytest.raises(ConfigError, match="ingest.queue_max_batches: expected an integer"):
        load_settings(None, environ={"INFERLEDGER_INGEST__QUEUE_MAX_BATCHES": "lots"})


def test_cli_reports_config_errors(tmp_path):
    from click.testing import CliRunner

    from inferledger.cli import cli

    cfg = tmp_path / "c.toml"
    cfg.write_text("[warehouse]\nbogus = 1\n")
    result = CliRunner().invoke(cli, ["--config", str(cfg), "ingest", "unmapped"])
    assert result.exit_code != 0 and "warehouse.bogus: unknown key" in result.output
