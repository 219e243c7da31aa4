"""The service: receivers, writer, scheduler and admin app on one event loop.

Start-up order matters for "a 200 means durable": the warehouse is opened and
migrated, then the writer starts, then the receivers. Shutdown runs the other way:
receivers stop taking requests, the writer commits what is queued, then the file
is checkpointed and closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import signal
import socket
import threading
import time
from dataclasses import dataclass

import uvicorn
from apscheduler.schedulers.background import BackgroundScheduler

from inferledger.admin import create_admin_app
from inferledger.analytics.jobs import REGISTRY as JOBS
from inferledger.analytics.jobs import Job, JobContext, run_job
from inferledger.analytics.warehouse import Warehouse, open_warehouse
from inferledger.collector.http_limits import Limits, limited_protocol
from inferledger.collector.otlp_grpc import create_otlp_grpc_server
from inferledger.collector.otlp_http import create_otlp_http_app
from inferledger.collector.pipeline import IngestPipeline
from inferledger.collector.settings import IngestSettings
from inferledger.collector.unmapped import UnmappedCounter
from inferledger.collector.writer import IngestWriter
from inferledger.config import Settings
from inferledger.dashboards.exporter import register_warehouse_collector
from inferledger.plugins import JOB_MODULES
from inferledger.preflight import check_configuration

log = logging.getLogger("inferledger.service")


def split_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"address must be HOST:PORT, got {address!r}")
    return host.strip("[]"), int(port)


def load_job_modules() -> dict[str, Job]:
    for name in JOB_MODULES:
        importlib.import_module(name)
    return dict(JOBS)


@dataclass
class ServiceState:
    warehouse: Warehouse
    settings: Settings
    writer: IngestWriter


class Service:
    def __init__(self, settings: Settings, *, run_scheduler: bool = True) -> None:
        self.settings = settings
        self.run_scheduler = run_scheduler and settings.analytics.jobs_enabled
        self._stop = asyncio.Event()
        self._ready = False
        self.state: ServiceState | None = None

    def request_stop(self) -> None:
        self._stop.set()

    @property
    def ready(self) -> bool:
        return self._ready

    async def run(self, started: "asyncio.Future | None" = None) -> None:
        s = self.settings
        check_configuration(s)  # a bad spec, overrides or catalog file stops start-up here, before ready
        jobs = load_job_modules()  # the admin API lists and runs jobs even when nothing is scheduled
        with contextlib.ExitStack() as cleanup:  # runs in reverse order, also when start-up fails
            # Bind first: an address in use fails here, before the warehouse is touched.
            http_sock = bind_socket(s.server.otlp_http, "OTLP/HTTP")
            cleanup.callback(http_sock.close)
            admin_sock = bind_socket(s.server.admin, "admin")
            cleanup.callback(admin_sock.close)
            bind_socket(s.server.otlp_grpc, "OTLP/gRPC").close()  # gRPC binds its own; check it is free now
            wh = open_warehouse(
                s.warehouse.path,
                memory_limit=s.warehouse.memory_limit,
                threads=s.warehouse.threads or duckdb_threads(s.ingest.workers),
                checkpoint_threshold=s.warehouse.checkpoint_threshold,
            )
            cleanup.callback(wh.close)
            cleanup.callback(wh.checkpoint)
            writer = IngestWriter(
                wh, max_batches=s.ingest.queue_max_batches, max_commit_rows=s.ingest.max_commit_rows,
                unmapped=UnmappedCounter(s.ingest.max_unmapped_keys_per_request, s.ingest.max_unmapped_keys_total),
                recent_ids=s.ingest.recent_ids, recent_ids_lookback_hours=s.ingest.recent_ids_lookback_hours,
                idle_checkpoint_bytes=s.ingest.idle_checkpoint_bytes,
                commit_target_rows=s.ingest.commit_target_rows, commit_linger_s=s.ingest.commit_linger_ms / 1000,
            )
            writer.start()
            cleanup.callback(writer.stop)  # commits everything still queued
            self.state = ServiceState(warehouse=wh, settings=s, writer=writer)
            register_warehouse_collector(wh, s)  # warehouse-derived families on /metrics
            pipeline = IngestPipeline(writer, s.ingest, s.attribution, s.auth)
            cleanup.callback(pipeline.close)
            grpc_server = create_otlp_grpc_server(pipeline, s.server.otlp_grpc)
            if self.run_scheduler:
                scheduler = self._start_scheduler(wh, jobs)
                cleanup.callback(scheduler.shutdown, wait=True)
            http = (_uvicorn(create_otlp_http_app(pipeline), s.ingest), http_sock)
            admin = (_uvicorn(create_admin_app(self.state, lambda: self._ready), s.ingest), admin_sock)
            await self._serve(grpc_server, http, admin, started)

    async def _serve(self, grpc_server, http: tuple, admin: tuple, started) -> None:
        """Serve until asked to stop; receivers stop taking requests before the writer drains."""
        s = self.settings
        (http_server, http_sock), (admin_server, admin_sock) = http, admin
        await grpc_server.start()
        http_task = asyncio.create_task(http_server.serve(sockets=[http_sock]))
        admin_task = asyncio.create_task(admin_server.serve(sockets=[admin_sock]))
        try:
            while not (http_server.started and admin_server.started):
                for task in (http_task, admin_task):
                    if task.done():
                        raise OSError(f"a receiver stopped during start-up: {task.exception()!r}")
                await asyncio.sleep(0.02)
            self._ready = True
            log.info("serving OTLP/gRPC %s, OTLP/HTTP %s, admin %s", s.server.otlp_grpc, s.server.otlp_http, s.server.admin)
            if started is not None and not started.done():
                started.set_result(True)
            await self._stop.wait()
        finally:
            self._ready = False
            http_server.should_exit = True
            await grpc_server.stop(grace=5)
            await asyncio.gather(http_task, return_exceptions=True)
            admin_server.should_exit = True
            await asyncio.gather(admin_task, return_exceptions=True)

    def _start_scheduler(self, wh: Warehouse, jobs: dict[str, Job]) -> BackgroundScheduler:
        scheduler = BackgroundScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1})
        for job in jobs.values():
            scheduler.add_job(
                self._run_logged, job.trigger, args=[job, wh], id=job.name, name=job.name, **job.trigger_args
            )
        scheduler.start()
        return scheduler

    def _run_logged(self, job: Job, wh: Warehouse) -> None:
        try:
            run_job(job, JobContext(warehouse=wh, settings=self.settings))
        except Exception:
            log.exception("job %s failed", job.name)


def duckdb_threads(workers: int) -> int:
    """DuckDB threads of the service process when `warehouse.threads` is 0: the cores the decode
    workers leave, at least one. More threads than free cores only make the writer's small
    appends spin and wait (measured: ~6 µs/span more CPU with 2 threads on 2 cores)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, cores - workers)


LISTEN_BACKLOG = 2048  # uvicorn's own default, which it sets again when it serves the socket


def bind_socket(address: str, what: str) -> socket.socket:
    """A bound TCP socket for `address`, or an OSError that names the address and its use."""
    host, port = split_address(address)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        # listen now: with SO_REUSEADDR a bind succeeds on a port that a connection uses as its
        # local port, and only listen() finds the conflict (EADDRINUSE, in uvicorn, unnamed)
        sock.listen(LISTEN_BACKLOG)
    except OSError as exc:
        sock.close()
        raise OSError(f"cannot listen for {what} on {address}: {exc.strerror or exc}") from exc
    sock.set_inheritable(True)
    return sock


def _uvicorn(app, ingest: IngestSettings) -> uvicorn.Server:
    limits = Limits(ingest.max_header_bytes, ingest.max_header_count, ingest.header_timeout_s, ingest.max_connections)
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="off", loop="none", http=limited_protocol(limits),
        timeout_keep_alive=int(ingest.idle_timeout_s),
    )
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # the service owns signals
    return server


def serve_forever(settings: Settings) -> None:
    """Run until SIGTERM or SIGINT; pending batches are committed before exit."""
    service = Service(settings)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, service.request_stop)
        await service.run()

    try:
        import uvloop

        uvloop.run(main())
    except ImportError:
        asyncio.run(main())


class BackgroundService:
    """The service on its own thread and event loop (the demo and the tests use it)."""

    def __init__(self, settings: Settings, *, run_scheduler: bool = True) -> None:
        self.service = Service(settings, run_scheduler=run_scheduler)
        self._loop = asyncio.new_event_loop()
        self._errors: list[BaseException] = []
        self._thread = threading.Thread(target=self._run, name="inferledger-service", daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self.service.run())
        except BaseException as exc:  # surfaced by start() / stop()
            self._errors.append(exc)

    def start(self, timeout: float = 60) -> "BackgroundService":
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.service.ready:
            if self._errors:
                raise self._errors[0]
            if time.monotonic() > deadline:
                raise TimeoutError("the service did not become ready")
            time.sleep(0.02)
        return self

    def stop(self, timeout: float = 60) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self.service.request_stop)
            self._thread.join(timeout)
        if self._errors:
            raise self._errors[0]
