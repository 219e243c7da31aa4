"""The built wheel: one top-level package, every subpackage and its data; no bare imports in the tree."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# folder in the source tree -> its package in the wheel
FOLDERS = {"inferledger": "inferledger", "collector": "inferledger/collector", "analytics": "inferledger/analytics",
           "alerts": "inferledger/alerts", "dashboards": "inferledger/dashboards"}
BARE = ("collector", "analytics", "alerts", "dashboards")
SOURCE_DIRS = ("collector", "analytics", "alerts", "dashboards", "inferledger", "tests", "benchmarks")
BARE_IMPORT = re.compile(rf"^\s*(?:import|from)\s+({'|'.join(BARE)})(?:\.|\s|$)", re.MULTILINE)


def _ignore(_dir: str, names: list[str]) -> set[str]:
    return {n for n in names if n in ("__pycache__", "build") or n.endswith((".egg-info", ".pyc"))}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    """Build the wheel from a copy of the tree (no network: the venv's own setuptools builds it)."""
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    for folder in FOLDERS:
        shutil.copytree(ROOT / folder, src / folder, ignore=_ignore)
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
         "-w", str(out), str(src)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (built,) = out.glob("inferledger-*.whl")
    with zipfile.ZipFile(built) as zf:
        yield zf


def _dist_info(zf: zipfile.ZipFile, name: str) -> str:
    (path,) = [n for n in zf.namelist() if re.fullmatch(rf"inferledger-[^/]+\.dist-info/{name}", n)]
    return zf.read(path).decode()


@pytest.mark.slow
def test_the_wheel_has_one_top_level_package(wheel):
    assert _dist_info(wheel, "top_level.txt").split() == ["inferledger"]
    tops = {n.split("/")[0] for n in wheel.namelist() if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"inferledger"}


@pytest.mark.slow
def test_every_package_folder_is_in_the_wheel(wheel):
    names = set(wheel.namelist())
    expected = [f"{pkg}/{init.relative_to(ROOT / folder)}" for folder, pkg in FOLDERS.items()
                for init in (ROOT / folder).rglob("__init__.py") if "__pycache__" not in init.parts]
    missing = [p for p in expected if p not in names]
    assert len(expected) > 15 and not missing, f"not in the wheel (add to pyproject's packages): {missing}"


@pytest.mark.slow
def test_package_data_is_in_the_wheel(wheel):
    names = set(wheel.namelist())

    def shipped(folder: str, pattern: str) -> list[str]:
        files = sorted((ROOT / folder).glob(pattern))
        assert files, f"{folder}/{pattern} matches nothing in the tree"
        return [f"{FOLDERS[folder]}/{f.relative_to(ROOT / folder)}" for f in files]

    wanted = (shipped("analytics", "migrations/*.sql") + shipped("analytics", "cost/data/*.json")
              + shipped("dashboards", "json/*.json") + shipped("analytics", "cost/showback/*.j2")
              + shipped("analytics", "slo/demo_slos.yaml"))
    assert [w for w in wanted if w not in names] == []


def test_no_module_imports_the_bare_folder_names():
    found = []
    for d in SOURCE_DIRS:
        for path in (ROOT / d).rglob("*.py"):
            if "__pycache__" in path.parts:
                continue
            for m in BARE_IMPORT.finditer(path.read_text()):
                line = path.read_text()[: m.start()].count("\n") + 1
                found.append(f"{path.relative_to(ROOT)}:{line}: {m.group(0).strip()}")
    assert found == [], "import them as inferledger.<name>: " + "; ".join(found)


def test_the_bare_import_check_catches_each_form():
    for line in ("import analytics", "from alerts.settings import X", "    import collector.writer as w",
                 "from dashboards import families"):
        assert BARE_IMPORT.search(line), line
    for line in ("from inferledger.analytics import x", "import analytics_python", "# from alerts import x"):
        assert not BARE_IMPORT.search(line), line
