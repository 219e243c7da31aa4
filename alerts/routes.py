"""Admin API of the alert pipeline (mounted by the service on the admin address).

GET    /admin/alerts                    alerts, silences, delivery state (?all=1: resolved too)
GET    /admin/alerts/silences           active and pending silences (?all=1: expired too)
POST   /admin/alerts/silences           {"matchers": ["severity=page"], "duration": "2h",
                                         "created_by": "...", "comment": "..."} -> 201 silence
DELETE /admin/alerts/silences/{id}      expire a silence
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from inferledger.alerts.overview import overview
from inferledger.alerts.silences import create_silence, expire_silence, list_silences, parse_duration, parse_matcher
from inferledger.analytics.warehouse import utcnow


def _flag(request: Request, name: str) -> bool:
    return request.query_params.get(name, "").lower() in ("1", "true", "yes")


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def get_alerts(request: Request) -> JSONResponse:
    wh = request.app.state.warehouse
    # DuckDB calls block: run them off the event loop that also serves ingest.
    return JSONResponse(await run_in_threadpool(overview, wh, include_resolved=_flag(request, "all")))


async def get_silences(request: Request) -> JSONResponse:
    wh = request.app.state.warehouse
    now = utcnow()
    found = await run_in_threadpool(list_silences, wh, include_expired=_flag(request, "all"), now=now)
    return JSONResponse([s.to_json(now) for s in found])


async def post_silence(request: Request) -> JSONResponse:
    try:
        body: Any = await request.json()
    except ValueError:
        return _error(400, "body must be JSON")
    if not isinstance(body, dict):
        return _error(400, "body must be a JSON object")
    try:
        matchers = body.get("matchers")
        if not isinstance(matchers, list) or not all(isinstance(m, str) for m in matchers):
            raise ValueError("matchers must be a list of strings like \"severity=page\"")
        sil = await run_in_threadpool(
            create_silence, request.app.state.warehouse, [parse_matcher(m) for m in matchers],
            duration=parse_duration(str(body.get("duration", "1h"))),
            created_by=str(body.get("created_by", "")), comment=str(body.get("comment", "")),
        )
    except ValueError as exc:
        return _error(400, str(exc))
    return JSONResponse(sil.to_json(utcnow()), status_code=201)


async def delete_silence(request: Request) -> JSONResponse:
    try:
        sil = await run_in_threadpool(expire_silence, request.app.state.warehouse, request.path_params["silence_id"])
    except KeyError as exc:
        return _error(404, str(exc.args[0]))
    except ValueError as exc:
        return _error(409, str(exc))
    return JSONResponse(sil.to_json(utcnow()))


ROUTES = [
    Route("/admin/alerts", get_alerts, methods=["GET"]),
    Route("/admin/alerts/silences", get_silences, methods=["GET"]),
    Route("/admin/alerts/silences", post_silence, methods=["POST"]),
    Route("/admin/alerts/silences/{silence_id}", delete_silence, methods=["DELETE"]),
]
