"""Settings of the lake (`[lake]`) and of the engine that runs the heavy jobs (`[engine]`)."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Literal


@dataclass
class LakeSettings:
    # Where sealed facts go: a local directory or an object-store URL that pyarrow
    # understands (s3://bucket/prefix, gs://..., with query options such as
    # ?endpoint_override=host:9000&scheme=http for an S3-compatible server). Empty: no lake.
    path: str = ""
    # This collector's name in file names and the manifest; default the host name.
    node_id: str = ""
    # How often the `lake.seal` job runs.
    seal_every_seconds: int = 300
    # An hour is sealed once it ended this long ago (late spans have time to arrive).
    seal_delay_seconds: int = 300
    # Re-read rows ingested this long before the seal watermark (a late commit is still sealed).
    overlap_seconds: int = 120

    def __post_init__(self) -> None:
        if not self.node_id:
            self.node_id = socket.gethostname() or "node"
        if not all(c.isalnum() or c in "-_." for c in self.node_id):
            raise ValueError(f"node_id may hold letters, digits, '-', '_' and '.', got {self.node_id!r}")
        if self.seal_every_seconds < 1:
            raise ValueError("seal_every_seconds must be >= 1")
        if self.seal_delay_seconds < 0 or self.overlap_seconds < 0:
            raise ValueError("seal_delay_seconds and overlap_seconds must be >= 0")


@dataclass
class EngineSettings:
    # duckdb: the heavy jobs read the warehouse file in one process (the default).
    # dask: they read the lake and run one task per tenant-day partition on Dask workers.
    kind: Literal["duckdb", "dask"] = "duckdb"
    # Dask scheduler address, e.g. tcp://10.0.0.5:8786; empty starts a local cluster.
    scheduler: str = ""
    # Worker processes of that local cluster.
    workers: int = 2

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ValueError("workers must be >= 1")
        if self.scheduler and "://" not in self.scheduler:
            raise ValueError(f"scheduler must look like tcp://HOST:PORT, got {self.scheduler!r}")


def on_dask(settings: object) -> bool:
    """True where the heavy jobs run on Dask over the lake (`lake.analyze`); the single-node jobs stand down."""
    engine = getattr(settings, "engine", None)
    lake = getattr(settings, "lake", None)
    return engine is not None and engine.kind == "dask" and bool(getattr(lake, "path", ""))
