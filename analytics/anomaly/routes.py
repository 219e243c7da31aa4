"""Admin API of anomaly detection (mounted by the service on the admin address).

GET /admin/anomaly/list?hours=24   stored anomalies, newest first (what `inferledger anomaly list` prints
                                   when the service holds the warehouse)
"""

from __future__ import annotations

import json
from datetime import timedelta

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from inferledger.analytics.anomaly.store import recent_anomalies
from inferledger.analytics.warehouse import utcnow


async def get_anomalies(request: Request) -> JSONResponse:
    raw = request.query_params.get("hours", "24")
    try:
        hours = int(raw)
        if hours < 1:
            raise ValueError
    except ValueError:
        return JSONResponse({"error": f"hours must be a positive integer, got {raw!r}"}, status_code=400)
    wh = request.app.state.warehouse
    rows = await run_in_threadpool(recent_anomalies, wh, utcnow() - timedelta(hours=hours))
    return JSONResponse(json.loads(json.dumps(rows, default=str)))


ROUTES = [Route("/admin/anomaly/list", get_anomalies, methods=["GET"])]
