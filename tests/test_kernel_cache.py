"""Stale numba caches are dropped when a kernel package's sources change (inferledger/kernel_cache.py)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from inferledger.kernel_cache import KERNEL_PACKAGES, STAMP, drop_stale_caches, refresh_kernel_caches


def _cache_files(folder: Path) -> list[str]:
    return sorted(p.name for p in (folder / "__pycache__").glob("*.nb*"))


def _fake_cache(folder: Path) -> None:
    (folder / "__pycache__").mkdir(exist_ok=True)
    for name in ("k.f-1.py311.nbi", "k.f-1.py311.1.nbc"):
        (folder / "__pycache__" / name).write_bytes(b"compiled")


def test_caches_go_when_any_kernel_source_changes_and_stay_otherwise(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for d in (a, b):
        d.mkdir()
        (d / "k.py").write_text("X = 1\n")
        _fake_cache(d)
    assert drop_stale_caches([a, b])  # no stamp yet: nothing is known about these caches
    assert _cache_files(a) == _cache_files(b) == []
    assert (a / "__pycache__" / STAMP).read_text() == (b / "__pycache__" / STAMP).read_text()
    _fake_cache(a)
    _fake_cache(b)
    assert not drop_stale_caches([a, b])  # same sources: the caches stand
    assert len(_cache_files(a)) == len(_cache_files(b)) == 2
    (b / "k.py").write_text("X = 2\n")  # a module the other's kernels may inline or call
    assert drop_stale_caches([a, b])
    assert _cache_files(a) == _cache_files(b) == []


def test_the_kernel_packages_are_found_and_stamped():
    refresh_kernel_caches()  # may drop caches on a first run; then the sources are stamped
    assert refresh_kernel_caches() is False
    import importlib.util

    for name in KERNEL_PACKAGES:
        (folder,) = importlib.util.find_spec(name).submodule_search_locations
        assert (Path(folder) / "__pycache__" / STAMP).is_file()


_RUN = """
import sys
sys.path.insert(0, {root!r})
from inferledger.kernel_cache import drop_stale_caches
from pathlib import Path
if {drop}:
    drop_stale_caches([Path({root!r}) / "pkg"])
from pkg.kern import k
print(k())
"""


@pytest.mark.slow
def test_a_constant_changed_in_another_module_reaches_a_cached_kernel(tmp_path):
    """The numba behaviour this guards against, and the guard: a cached kernel keeps a constant
    it imported from another module after that module changed, until its caches are dropped."""
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "consts.py").write_text("K = 1\n")
    (pkg / "kern.py").write_text(textwrap.dedent("""
        import numba
        from pkg.consts import K

        @numba.njit(cache=True)
        def k():
            return K
    """))

    def run(drop: bool) -> str:
        code = _RUN.format(root=str(tmp_path), drop=drop)
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()

    assert run(drop=True) == "1"  # compiled and cached
    (pkg / "consts.py").write_text("K = 2\n")
    assert run(drop=False) == "1"  # numba alone: the stale kernel
    assert run(drop=True) == "2"
