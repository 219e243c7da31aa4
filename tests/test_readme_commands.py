"""Every `inferledger` command shown in README.md's shell blocks parses and runs without a usage error.

Placeholders (FILE, DIR, URL, ...) are replaced by real paths and a closed port;
the long-running `serve` and `demo` get `--help`, which still fails on an unknown
option. A command may fail for want of data (exit 1, e.g. an unknown receiver), never
with a usage error (exit 2) or a traceback.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from inferledger.analytics.warehouse import open_warehouse
from inferledger.cli import cli

ROOT = Path(__file__).resolve().parents[1]
FENCE = re.compile(r"^```(?:sh|bash|shell)\n(.*?)^```", re.MULTILINE | re.DOTALL)
LONG_RUNNING = {"serve", "demo"}
SLOTH = ROOT / "tests" / "promtool" / "sloth_availability_slo.yaml"


def readme_commands() -> list[str]:
    lines = []
    for block in FENCE.findall((ROOT / "README.md").read_text()):
        for line in block.splitlines():
            words = shlex.split(line, comments=True)
            while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", words[0]):
                words = words[1:]
            if words and words[0] in ("inferledger", ".venv/bin/inferledger"):
                lines.append(line)
    return lines


def _placeholders(tmp: Path) -> dict[str, str]:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"latency": rng.gamma(2.0, 1.0, 300), "tokens": rng.poisson(400, 300)})
    frame.to_parquet(tmp / "ref.parquet")
    frame.assign(latency=frame.latency * 1.5).to_csv(tmp / "cur.csv", index=False)
    ts = pd.date_range("2026-01-01", periods=200, freq="5min")
    pd.DataFrame({"timestamp": ts.strftime("%Y-%m-%d %H:%M:%S"), "value": rng.normal(10, 1, 200)}).to_csv(
        tmp / "in.csv", index=False)
    return {
        "FILE": str(tmp / "out.file"), "DIR": str(tmp / "out-dir"), "URL": "http://127.0.0.1:1", "TOKEN": "t0ken",
        "RECEIVER": "nobody", "SILENCE_ID": "no-such-silence", "N": "4", "YYYY-MM": "2026-01",
        "SPEC.yaml": str(SLOTH), "REF.parquet": str(tmp / "ref.parquet"), "CUR.csv": str(tmp / "cur.csv"),
        "IN.csv": str(tmp / "in.csv"), "OUT.csv": str(tmp / "out.csv"), "OUT.svg": str(tmp / "out.svg"),
    }


def test_the_readme_shows_the_commands():
    commands = " ".join(readme_commands())
    for sub in ("serve", "slo status", "drift compare", "anomaly score", "alerts silence create", "grafana push"):
        assert f" {sub}" in commands, sub


@pytest.mark.slow
@pytest.mark.parametrize("line", readme_commands())
def test_readme_command_parses_and_runs(line, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    open_warehouse(tmp_path / "inferledger.duckdb").close()  # the default --db, as after `serve`
    subs = _placeholders(tmp_path)
    words = shlex.split(line, comments=True)
    env = {"INFERLEDGER_SERVER__ADMIN": "127.0.0.1:1"}  # never a service that happens to run here
    while re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", words[0]):
        key, _, value = words.pop(0).partition("=")
        env[key] = value
    args = [subs.get(w, w) for w in words[1:]]
    if LONG_RUNNING & set(args):
        args.append("--help")
    res = CliRunner().invoke(cli, args, env=env)
    assert res.exit_code != 2 and "No such option" not in res.output, f"{line}\n{res.output}"
    assert res.exception is None or isinstance(res.exception, SystemExit), f"{line}\n{res.output}\n{res.exception!r}"
