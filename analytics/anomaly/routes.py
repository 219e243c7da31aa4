"""Admin API of anomaly detection (mounted by the service on the admin address).

GET /admin/anomaly/list?hours=24[&series=..&team=..&model=..&kind=..&min_score=..&incidents=1]
    stored anomalies, newest first (or grouped into incidents, most unusual first): what
    `inferledger anomaly list` prints when the service holds the warehouse
"""

from __future__ import annotations

import json
from datetime import timedelta

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from inferledger.analytics.anomaly.store import AnomalyFilter, incident_rows, recent_anomalies
from inferledger.analytics.warehouse import utcnow


def filter_from_query(query: dict) -> AnomalyFilter:
    """The listing filter from query parameters; ValueError names the bad one."""
    raw = query.get("hours", "24")
    try:
        hours = int(raw)
        if hours < 1:
            raise ValueError
    except ValueError:
        raise ValueError(f"hours must be a positive integer, got {raw!r}") from None
    min_score = query.get("min_score")
    try:
        score = None if min_score in (None, "") else float(min_score)
    except ValueError:
        raise ValueError(f"min_score must be a number, got {min_score!r}") from None
    return AnomalyFilter(since=utcnow() - timedelta(hours=hours), series=query.get("series") or None,
                         team=query.get("team") or None, model=query.get("model") or None,
                         kind=query.get("kind") or None, min_score=score)


async def get_anomalies(request: Request) -> JSONResponse:
    try:
        flt = filter_from_query(dict(request.query_params))
    except ValueError as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    wh = request.app.state.warehouse
    rows = await run_in_threadpool(recent_anomalies, wh, flt)
    if request.query_params.get("incidents") in ("1", "true"):
        rows = incident_rows(rows, request.app.state.settings.analytics.anomaly.grouping_minutes)
    return JSONResponse(json.loads(json.dumps(rows, default=str)))


ROUTES = [Route("/admin/anomaly/list", get_anomalies, methods=["GET"])]
