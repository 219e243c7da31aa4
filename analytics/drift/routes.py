"""Admin API of drift (mounted by the service on the admin address).

GET /admin/drift/results          drifted columns of the latest run (?all=1: every column)

The CLI's `drift status` asks here when the service holds the warehouse file; the
job itself runs on demand through the generic POST /admin/jobs/run?name=drift.detect.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from inferledger.analytics.drift.store import latest_results


async def get_results(request: Request) -> JSONResponse:
    show_all = request.query_params.get("all", "").lower() in ("1", "true", "yes")
    rows = await run_in_threadpool(latest_results, request.app.state.warehouse, drifted_only=not show_all)
    return JSONResponse([{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.items()} for r in rows])


ROUTES = [Route("/admin/drift/results", get_results)]
