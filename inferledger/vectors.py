"""Let numba's kernels use 512-bit vectors on CPUs that have them.

LLVM prefers 256-bit vectors on AVX-512 CPUs (wide vectors once lowered the clock of older
Xeons), so numba's loops over doubles run four lanes per instruction where the CPU has eight. The
anomaly kernel's vector blocks (`analytics.kernels.anomaly_block`) score 10-20 % more points per
second with eight; the floating-point results are the same bits (no fast-math: every operation is
the same IEEE operation, only more of them per instruction).

numba reads the setting once, as it is imported, for the whole process, so this must run before
the first `import numba`: the package's `__init__` calls it. A `NUMBA_CPU_FEATURES` set by the
user wins, and nothing changes where numba was imported already or the CPU has no AVX-512.
Subprocesses (decode workers, Dask workers) inherit it through the environment.
"""

from __future__ import annotations

import os
import sys


def wide_vector_features(host_features: str) -> str | None:
    """The feature string for numba on a CPU with `host_features` (LLVM's "+a,-b,..." form), or
    None where the CPU has no AVX-512 and numba's default stands."""
    if "+avx512f" not in host_features.split(","):
        return None
    return host_features + ",-prefer-256-bit"


def prefer_wide_vectors() -> bool:
    """Set NUMBA_CPU_FEATURES for 512-bit vectors where it applies; True if it was set here."""
    if "NUMBA_CPU_FEATURES" in os.environ or "numba" in sys.modules:
        return False
    try:
        import llvmlite.binding as llvm

        features = wide_vector_features(llvm.get_host_cpu_features().flatten())
    except (ImportError, RuntimeError):  # no llvmlite, or a host LLVM cannot describe
        return False
    if features is None:
        return False
    os.environ["NUMBA_CPU_FEATURES"] = features
    return True
