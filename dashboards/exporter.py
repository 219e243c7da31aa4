"""The warehouse side of /metrics: a prometheus_client Collector evaluated at scrape time.

The service serves `generate_latest(REGISTRY)`; the collector adds what the jobs have
computed (spend, tokens, unit cost, SLO burn, drift, anomalies, GPU fleet, job runs,
outbox depth) next to the ingest metrics the collector package registers itself.

Why a custom Collector and not gauges set by the jobs: the warehouse is the source of
truth, so /metrics is always consistent with it (after a re-price, a restart, a job
run by the CLI) and nothing has to be kept in step. Queries are aggregates over
DuckDB's columnar storage; results are cached for `metrics_cache_seconds` so several
Prometheus replicas scraping at once cost one evaluation.

A family never breaks a scrape: a missing table (another area's migration not there
yet) means the family emits nothing; any other error is logged and counted in
`inferledger_exporter_family_up{family} 0`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence

import duckdb
from prometheus_client.core import REGISTRY, CollectorRegistry, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from inferledger.analytics.warehouse import Warehouse, utcnow
from inferledger.dashboards.families import Family, all_families
from inferledger.dashboards.settings import DashboardSettings

log = logging.getLogger(__name__)

MISSING_SCHEMA = (duckdb.CatalogException, duckdb.BinderException)


class WarehouseCollector(Collector):
    """Reads the warehouse at scrape time, caches the result for a few seconds."""

    def __init__(
        self,
        warehouse: Warehouse,
        settings: DashboardSettings,
        *,
        families: Sequence[Family] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.warehouse = warehouse
        self.settings = settings
        self.families = list(families) if families is not None else list(all_families())
        self._clock = clock
        self._lock = threading.Lock()
        self._cached: list[Metric] | None = None
        self._cached_at = 0.0

    def describe(self) -> Iterable[Metric]:
        # Empty: registering must not run warehouse queries (prometheus_client calls
        # describe() at register time and would otherwise call collect()).
        return []

    def collect(self) -> Iterable[Metric]:
        with self._lock:
            now = self._clock()
            ttl = self.settings.metrics_cache_seconds
            if self._cached is None or ttl <= 0 or now - self._cached_at >= ttl:
                self._cached = self.evaluate()
                self._cached_at = self._clock()
            return list(self._cached)

    def evaluate(self) -> list[Metric]:
        """Run every family now (no cache); each one isolated from the others' failures."""
        con = self.warehouse.con
        now = utcnow()
        out: list[Metric] = []
        up = GaugeMetricFamily(
            "inferledger_exporter_family_up",
            "1 when the family's tables exist and its query succeeded, else 0.",
            labels=["family"],
        )
        took = GaugeMetricFamily(
            "inferledger_exporter_family_duration_seconds",
            "Time spent evaluating each family on the last uncached scrape.",
            labels=["family"],
        )
        for fam in self.families:
            started = time.perf_counter()
            ok = 1.0
            try:
                metrics = fam.collect(con, self.settings, now)
            except MISSING_SCHEMA as exc:
                log.debug("metrics family %s skipped: %s", fam.name, exc)
                metrics, ok = [], 0.0
            except Exception:
                log.exception("metrics family %s failed", fam.name)
                metrics, ok = [], 0.0
            if ok and not metrics:
                ok = 0.0  # the family's tables are not there yet
            out.extend(metrics)
            up.add_metric([fam.name], ok)
            took.add_metric([fam.name], time.perf_counter() - started)
        out.extend([up, took])
        return out


def register_warehouse_collector(
    warehouse: Warehouse, settings, registry: CollectorRegistry = REGISTRY
) -> WarehouseCollector:
    """Add the warehouse collector to `registry` (the default one serves /metrics).

    `settings` may be the whole `inferledger.config.Settings` or its `DashboardSettings`.
    """
    dash = settings if isinstance(settings, DashboardSettings) else settings.dashboards
    collector = WarehouseCollector(warehouse, dash)
    with _REGISTERED_LOCK:
        previous = _REGISTERED.pop(id(registry), None)
        if previous is not None:
            # A service restarted in the same process (tests, demo): the old warehouse is closed.
            try:
                registry.unregister(previous)
            except KeyError:
                pass
        registry.register(collector)
        _REGISTERED[id(registry)] = collector
    return collector


_REGISTERED: dict[int, WarehouseCollector] = {}
_REGISTERED_LOCK = threading.Lock()
