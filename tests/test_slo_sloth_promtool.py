"""promtool runs the generated rules: the seven-nines SLO does not page on one error (server tests)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from inferledger.analytics.slo.rules import render_rules
from inferledger.analytics.slo.rules_output import render_inputs
from inferledger.analytics.slo.spec import load_spec_file

PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
HERE = Path(__file__).parent / "promtool"
FIX = Path(__file__).parent / "slo_fixtures"


def _promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    if not Path(PROMTOOL).exists():
        pytest.skip("promtool is not installed (Debian package prometheus)")
    return subprocess.run([PROMTOOL, *args], cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.mark.server
def test_seven_nines_never_pages_on_one_error(tmp_path):
    (tmp_path / "rules.yaml").write_text(render_rules(load_spec_file(HERE / "seven_nines_slo.yaml")))
    shutil.copy(HERE / "seven_nines_slo_test.yaml", tmp_path / "test.yaml")
    res = _promtool("test", "rules", "test.yaml", cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.mark.server
def test_promtool_accepts_every_sloth_fixture_output(tmp_path):
    outputs, _ = render_inputs([str(FIX / "in-base.yaml"), str(FIX / "in-multifile.yaml"),
                                str(FIX / "in-openslo-v1alpha.yaml")])
    crd, _ = render_inputs([str(FIX / "in-k8s.yaml")])
    outputs.append(("k8s.yaml", yaml.safe_dump(yaml.safe_load(crd[0][1])["spec"])))
    for name, text in outputs:
        for n, doc in enumerate(d for d in yaml.safe_load_all(text) if d):
            f = tmp_path / f"{n}-{name}"
            f.write_text(yaml.safe_dump(doc))
            res = _promtool("check", "rules", str(f), cwd=tmp_path)
            assert res.returncode == 0, (name, res.stdout + res.stderr)
