"""Drop numba's cached kernels when any kernel source changed.

numba keys a cached function on its own source file only. A kernel compiled together with code
from another module (the anomaly loop and block inline `anomaly_steps` and read the constants of
`anomaly_params`; the collector's link index calls `recent_ids`) keeps that code in its cache, so
a change to the other module leaves a stale kernel that numba loads without a word: old
constants, old steps, in a source tree that says otherwise.

One digest over the sources of every package that holds numba kernels decides. When it differs
from the digest stamped beside their caches, their cache files go and numba compiles afresh. An
installed release replaces every file at once, so this matters to source checkouts; caches under
`NUMBA_CACHE_DIR`, or anywhere but the packages' own `__pycache__`, are left alone.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from collections.abc import Iterable
from pathlib import Path

KERNEL_PACKAGES = ("inferledger.analytics.kernels", "inferledger.collector", "inferledger.collector.fastpath")
STAMP = "kernel-sources.sha256"


def sources_digest(folders: Iterable[Path]) -> str:
    """SHA-256 over the names and bytes of every .py file directly in `folders`."""
    h = hashlib.sha256()
    for folder in folders:
        for path in sorted(folder.glob("*.py")):
            h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def drop_stale_caches(folders: list[Path]) -> bool:
    """Delete the numba cache files (*.nbi, *.nbc) in each folder's __pycache__ when the sources'
    digest is not the one stamped there, then stamp it. True if caches were dropped; a folder
    that cannot be written is skipped (numba then caches elsewhere, or not at all)."""
    digest = sources_digest(folders)
    dropped = False
    for folder in folders:
        cache = folder / "__pycache__"
        stamp = cache / STAMP
        try:
            if stamp.read_text() == digest:
                continue
        except OSError:  # no stamp yet
            pass
        try:
            cache.mkdir(exist_ok=True)
            for path in [*cache.glob("*.nbi"), *cache.glob("*.nbc")]:
                path.unlink(missing_ok=True)
                dropped = True
            stamp.write_text(digest)
        except OSError:
            continue
    return dropped


def refresh_kernel_caches() -> bool:
    """`drop_stale_caches` over KERNEL_PACKAGES, found without importing their modules."""
    if "NUMBA_CACHE_DIR" in os.environ:
        return False
    folders = []
    for name in KERNEL_PACKAGES:
        try:
            spec = importlib.util.find_spec(name)
        except ImportError:  # a partial install
            continue
        if spec is not None and spec.submodule_search_locations:
            folders += [Path(p) for p in spec.submodule_search_locations]
    return drop_stale_caches(folders)
