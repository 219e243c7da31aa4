"""InferLedger: OTLP in; unit cost, SLO burn, drift and anomalies out."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("inferledger")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0.0.0+unknown"
