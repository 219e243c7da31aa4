"""numba is told to use 512-bit vectors on AVX-512 CPUs, before it is first imported."""

from __future__ import annotations

import os
import subprocess
import sys

import llvmlite.binding as llvm

from inferledger.vectors import wide_vector_features

HOST = llvm.get_host_cpu_features().flatten()


def _numba_features(env: dict[str, str]) -> str:
    code = "import inferledger, numba; print(numba.config.CPU_FEATURES)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_wide_vectors_only_where_the_cpu_has_avx512():
    assert wide_vector_features("+64bit,+avx2,+avx512f,+fma") == "+64bit,+avx2,+avx512f,+fma,-prefer-256-bit"
    assert wide_vector_features("+64bit,+avx2,-avx512f,+fma") is None
    assert wide_vector_features("+64bit,+avx2,+avx512fp16") is None  # a feature named alike is not avx512f


def test_importing_inferledger_sets_numbas_features_for_this_host():
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CPU_FEATURES"}
    want = wide_vector_features(HOST)
    assert _numba_features(env) == (want if want is not None else "None")


def test_a_users_numba_cpu_features_wins():
    env = {**os.environ, "NUMBA_CPU_FEATURES": HOST}
    assert _numba_features(env) == HOST
