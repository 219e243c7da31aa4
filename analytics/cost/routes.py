"""Admin API of the cost engine (mounted on the admin address), for CLIs while the service holds the file.

GET  /admin/cost/check                         catalog health and unpriced usage (as `prices check --json`)
POST /admin/cost/reprice   {"dry_run": true, "since": "...", "until": "..."}   (as `prices reprice --json`)
POST /admin/cost/showback  {"month": "YYYY-MM", "out": "DIR"}                  (as `report showback --json`)
GET  /admin/cost/reconcile?month=YYYY-MM                                       (as `report reconcile --json`)
GET  /admin/cost/budgets                                                       (as `budget status --json`)
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from inferledger.analytics.cost.reports import budget_report, check_report, reconcile_report, reprice_report, showback_report
from inferledger.analytics.cost.showback.build import parse_month


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _body(request: Request) -> dict | JSONResponse:
    try:
        body = await request.json()
    except ValueError:
        return _error(400, "body must be JSON")
    return body if isinstance(body, dict) else _error(400, "body must be a JSON object")


async def get_check(request: Request) -> JSONResponse:
    s = request.app.state.settings.analytics.cost
    return JSONResponse(await run_in_threadpool(check_report, request.app.state.warehouse, s))


async def post_reprice(request: Request) -> JSONResponse:
    body = await _body(request)
    if isinstance(body, JSONResponse):
        return body
    try:
        since = datetime.fromisoformat(body["since"]) if body.get("since") else None
        until = datetime.fromisoformat(body["until"]) if body.get("until") else None
    except (TypeError, ValueError) as exc:
        return _error(400, f"since / until must be ISO 8601 times: {exc}")
    s = request.app.state.settings.analytics.cost
    result = await run_in_threadpool(
        lambda: reprice_report(request.app.state.warehouse, s, dry_run=bool(body.get("dry_run")), since=since, until=until)
    )
    return JSONResponse(result)


async def post_showback(request: Request) -> JSONResponse:
    body = await _body(request)
    if isinstance(body, JSONResponse):
        return body
    month = body.get("month", "")
    try:
        parse_month(month)
    except ValueError as exc:
        return _error(400, str(exc))
    s = request.app.state.settings.analytics.cost
    out = Path(body["out"]) if body.get("out") else s.report_dir(request.app.state.settings.warehouse.path, month)
    result = await run_in_threadpool(lambda: showback_report(request.app.state.warehouse, s, month, out))
    return JSONResponse(result)


async def get_reconcile(request: Request) -> JSONResponse:
    month = request.query_params.get("month", "")
    try:
        parse_month(month)
    except ValueError as exc:
        return _error(400, str(exc))
    s = request.app.state.settings.analytics.cost
    return JSONResponse(await run_in_threadpool(reconcile_report, request.app.state.warehouse, s, month))


async def get_budgets(request: Request) -> JSONResponse:
    s = request.app.state.settings.analytics.cost
    return JSONResponse(await run_in_threadpool(budget_report, request.app.state.warehouse, s))


ROUTES = [
    Route("/admin/cost/check", get_check, methods=["GET"]),
    Route("/admin/cost/reprice", post_reprice, methods=["POST"]),
    Route("/admin/cost/showback", post_showback, methods=["POST"]),
    Route("/admin/cost/reconcile", get_reconcile, methods=["GET"]),
    Route("/admin/cost/budgets", get_budgets, methods=["GET"]),
]
