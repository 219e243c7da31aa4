"""Admin API of the SLO area: `GET /admin/slo/status`, what `inferledger slo status` shows
when the running service holds the warehouse file."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from inferledger.analytics.slo.store import read_states


async def slo_status(request: Request) -> Response:
    rows = read_states(request.app.state.warehouse)
    return Response(json.dumps({"slos": rows}, default=str), media_type="application/json")


ROUTES = [Route("/admin/slo/status", slo_status, methods=["GET"])]
