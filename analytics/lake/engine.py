"""The Dask side: connect to a scheduler (or start a local cluster) and run one task per partition.

`distributed` is imported only when the engine is Dask, so the embedded default
never pays for it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass
class RunStats:
    """What a partition-parallel run cost: per-task seconds, bytes read, peak RSS per worker."""

    tasks: int = 0
    task_seconds: list[float] = field(default_factory=list)
    bytes_read: int = 0
    rows: int = 0
    peak_rss_by_worker: dict[str, int] = field(default_factory=dict)

    def add(self, results: list[dict], workers: list[str]) -> None:
        for res, worker in zip(results, workers):
            self.tasks += 1
            self.task_seconds.append(res["seconds"])
            self.bytes_read += res["bytes_read"]
            self.rows += res["rows"]
            self.peak_rss_by_worker[worker] = max(self.peak_rss_by_worker.get(worker, 0), res["peak_rss_bytes"])

    def summary(self) -> dict:
        return {"tasks": self.tasks, "task_seconds_total": round(sum(self.task_seconds), 3),
                "bytes_read": self.bytes_read, "rows": self.rows, "peak_rss_by_worker": dict(self.peak_rss_by_worker)}


@contextlib.contextmanager
def dask_client(scheduler: str = "", workers: int = 2) -> Iterator[Any]:
    """A `distributed.Client` on `scheduler`, or on a local cluster of `workers` processes, one thread each."""
    from distributed import Client, LocalCluster

    if scheduler:
        with Client(scheduler, timeout="30s") as client:
            yield client
        return
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        yield client


def map_partitions(client: Any, fn: Callable[..., dict], items: list[Any], stats: RunStats | None = None,
                   **kwargs: Any) -> list[Any]:
    """Run `fn(lake_uri, files, **kwargs)` per item and return the partials in order.

    The kwargs travel with each task: they are small (price tables, SQL), the data is
    read by the workers from the lake. With `client=None` the tasks run one after the
    other in this process: the single-node engine over the same lake, same code.
    """
    if not items:
        return []
    if client is None:
        results = [fn(*item, **kwargs) for item in items]
        workers = ["local"] * len(results)
    else:
        futures = client.map(fn, *zip(*items), pure=False, **kwargs)
        results = client.gather(futures)
        if stats is not None:
            where = client.who_has(futures)
            workers = [next(iter(where.get(f.key, ())), "?") for f in futures]
    if stats is not None:
        stats.add(results, workers)
    return [r["partial"] for r in results]
