"""InferLedger: OTLP in; unit cost, SLO burn, drift and anomalies out."""

from importlib.metadata import PackageNotFoundError, version

from inferledger.kernel_cache import refresh_kernel_caches
from inferledger.vectors import prefer_wide_vectors

prefer_wide_vectors()  # before any module imports numba
refresh_kernel_caches()  # before any kernel is loaded from numba's cache

try:
    __version__ = version("inferledger")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0.0.0+unknown"
