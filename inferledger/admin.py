"""The admin HTTP app (default 127.0.0.1:9464): /metrics, /healthz, /readyz and the admin API.

CLI commands use the admin API when the service holds the warehouse file.
Areas add endpoints through `inferledger.plugins.ADMIN_ROUTE_MODULES`.
"""

from __future__ import annotations

import hmac
import importlib
import os
from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from inferledger.analytics.alert_records import recent_alert_records
from inferledger.analytics.jobs import REGISTRY as JOBS
from inferledger.analytics.jobs import JobContext, run_job
from inferledger.analytics.retention import FACT_TABLES
from inferledger.collector.unmapped import spans_by_scope, top_unmapped_keys
from inferledger.plugins import ADMIN_ROUTE_MODULES


def create_admin_app(state: object, is_ready: Callable[[], bool]) -> Starlette:
    """`state` carries `warehouse`, `settings` and `writer` for the handlers."""

    async def metrics(request: Request) -> Response:
        return Response(await run_in_threadpool(generate_latest, REGISTRY), media_type=CONTENT_TYPE_LATEST)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        ready = is_ready()
        return JSONResponse({"ready": ready}, status_code=200 if ready else 503)

    async def warehouse(request: Request) -> Response:
        """Which file this service holds: the CLI asks the service only about that file."""
        wh = request.app.state.warehouse
        path = wh.path if wh.path == ":memory:" else os.path.abspath(wh.path)
        wid = await run_in_threadpool(lambda: wh.warehouse_id)
        return JSONResponse({"path": path, "warehouse_id": wid, "pid": os.getpid(), "ready": is_ready()})

    async def stats(request: Request) -> Response:
        def count() -> dict:
            con = request.app.state.warehouse.con
            # Table names come from analytics.retention.FACT_TABLES, never from the request.
            tables = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in FACT_TABLES}
            by_vocab = dict(con.execute("SELECT vocabulary, count(*) FROM spans GROUP BY 1 ORDER BY 2 DESC").fetchall())
            return {"tables": tables, "spans_by_vocabulary": by_vocab, "queue_depth": request.app.state.writer.depth}

        return JSONResponse(await run_in_threadpool(count))

    async def unmapped(request: Request) -> Response:
        limit = _int_param(request, "limit", 20)
        if isinstance(limit, Response):
            return limit
        tenant = request.query_params.get("tenant")
        if request.query_params.get("by") == "scope":
            return JSONResponse(await run_in_threadpool(spans_by_scope, request.app.state.warehouse.con, tenant))
        scope = request.query_params.get("scope")
        writer = request.app.state.writer
        con = request.app.state.warehouse.con

        def read() -> list[dict]:
            if writer is None:
                return top_unmapped_keys(con, limit, tenant, None, scope)
            with writer.unmapped.settled() as pending:
                return top_unmapped_keys(con, limit, tenant, pending, scope)

        return JSONResponse(await run_in_threadpool(read))

    async def alert_records(request: Request) -> Response:
        limit = _int_param(request, "limit", 50)
        if isinstance(limit, Response):
            return limit
        source = request.query_params.get("source")
        rows = await run_in_threadpool(recent_alert_records, request.app.state.warehouse, limit, source)
        return JSONResponse(rows)

    async def list_jobs(request: Request) -> Response:
        return JSONResponse([{"name": j.name, "trigger": j.trigger, **j.trigger_args} for j in JOBS.values()])

    async def run_jobs(request: Request) -> Response:
        """POST /admin/jobs/run?name=a&name=b (no name: every job, in registration order)."""
        names = request.query_params.getlist("name") or list(JOBS)
        unknown = [n for n in names if n not in JOBS]
        if unknown:
            return JSONResponse({"error": f"unknown job(s): {', '.join(unknown)}"}, status_code=404)

        def run_all() -> list[dict]:
            results = []
            for name in names:
                ctx = JobContext(warehouse=request.app.state.warehouse, settings=request.app.state.settings)
                try:
                    out = run_job(JOBS[name], ctx)
                    results.append({"job": name, "status": "ok", "result": None if out is None else str(out)[:500]})
                except Exception as exc:  # reported per job; one failure does not stop the others
                    results.append({"job": name, "status": "failed", "error": f"{type(exc).__name__}: {exc}"})
            return results

        return JSONResponse(await run_in_threadpool(run_all))

    routes = [
        Route("/metrics", metrics),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/admin/warehouse", warehouse),
        Route("/admin/stats", stats),
        Route("/admin/unmapped", unmapped),
        Route("/admin/alert-records", alert_records),
        Route("/admin/jobs", list_jobs),
        Route("/admin/jobs/run", run_jobs, methods=["POST"]),
    ]
    for module_name in ADMIN_ROUTE_MODULES:
        routes.extend(importlib.import_module(module_name).ROUTES)
    app = Starlette(routes=routes, middleware=[Middleware(AdminGuard, settings=state.settings)])
    app.state.warehouse = state.warehouse
    app.state.settings = state.settings
    app.state.writer = state.writer
    return app


def _int_param(request: Request, name: str, default: int, maximum: int = 100_000) -> int | Response:
    """A non-negative integer query parameter, or the 400 answer naming it."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.strip().isdigit() or int(raw) > maximum:
        return JSONResponse({"error": f"{name} must be an integer between 0 and {maximum}, got {raw!r}"}, status_code=400)
    return int(raw)


# Read-only endpoints a monitoring system calls without the admin token.
OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")


def _split_host(address: str) -> tuple[str, str]:
    host, _, port = address.rpartition(":")
    return host.strip("[]") or "0.0.0.0", port


def admin_token_required(settings: object) -> bool:
    """Tokens are required when tenant auth is on or when the admin API listens beyond loopback."""
    host, _ = _split_host(settings.server.admin)
    return settings.auth.enabled or host not in ("127.0.0.1", "localhost", "::1")


class AdminGuard:
    """ASGI middleware: Host / Origin checks, JSON-only state changes, admin bearer tokens.

    - Host must name the configured address (or, on loopback, any loopback name with its
      port): a DNS-rebinding page then cannot read the API through its own domain.
    - A request with an Origin header must come from that address: cross-site pages are refused.
    - POST/PUT/PATCH/DELETE need `Content-Type: application/json` (415), which a browser
      cannot send cross-site without a CORS preflight this app never grants.
    - `Authorization: Bearer <one of auth.admin_tokens>` on every endpoint but OPEN_PATHS,
      when admin tokens are set or required (`admin_token_required`).
    """

    def __init__(self, app, settings: object) -> None:
        self.app = app
        self.tokens = [t.encode() for t in settings.auth.admin_tokens]
        self.required = admin_token_required(settings) or bool(self.tokens)
        host, port = _split_host(settings.server.admin)
        if host in ("0.0.0.0", "::"):
            self.hosts = None  # any interface: the token (required) is the protection
        elif host in ("127.0.0.1", "localhost", "::1"):
            self.hosts = {f"{h}:{port}" for h in _LOOPBACK}
        else:
            self.hosts = {f"{host}:{port}", f"[{host}]:{port}"}

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem = self._check(scope)
        if problem is not None:
            status, message = problem
            headers = {"WWW-Authenticate": 'Bearer realm="inferledger-admin"'} if status == 401 else None
            await JSONResponse({"error": message}, status_code=status, headers=headers)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _check(self, scope) -> tuple[int, str] | None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        host = headers.get("host", "").lower()
        if self.hosts is not None and host not in self.hosts:
            return 403, f"Host {host!r} is not this admin API's address"
        origin = headers.get("origin")
        if origin is not None and origin.lower().removeprefix("http://") != host:  # same origin only
            return 403, f"cross-origin request from {origin!r} refused"
        method = scope["method"]
        if method not in SAFE_METHODS:
            ctype = headers.get("content-type", "").split(";", 1)[0].strip().lower()
            if ctype != "application/json":
                return 415, "state-changing admin requests need Content-Type: application/json"
        if scope["path"] in OPEN_PATHS and method in SAFE_METHODS:
            return None
        if self.required:
            if not self.tokens:
                return 401, "the admin API needs a token here: set [auth] admin_tokens"
            scheme, _, token = headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not any(hmac.compare_digest(t, token.strip().encode()) for t in self.tokens):
                return 401, "missing or invalid admin token: send 'Authorization: Bearer <auth.admin_tokens entry>'"
        return None
