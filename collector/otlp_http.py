"""OTLP/HTTP receiver (default :4318): POST /v1/traces, /v1/metrics, /v1/logs.

Answers follow the OTLP/HTTP spec, in the request's own encoding: 200 with
`partial_success` when some items were rejected; 400 for an undecodable body or
an unsupported content type; 401 for a missing or wrong token; 413 over the body
limit (also after decompression); 429 with Retry-After when the write queue is
full; 503 with Retry-After when the commit failed or the service is stopping.
The 200 is sent only after the rows are committed.
"""

from __future__ import annotations

import json

from google.rpc.status_pb2 import Status
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from inferledger.collector import telemetry
from inferledger.collector.decode import DecodeError, Encoding, encode_response, media_type
from inferledger.collector.pipeline import (
    AuthError,
    CommitFailed,
    IngestPipeline,
    QueueFull,
    WorkersUnavailable,
    WriterStopped,
)

SIGNALS = ("traces", "metrics", "logs")
# HTTP status -> google.rpc.Code carried in the error body.
GRPC_CODES = {400: 3, 401: 16, 404: 5, 413: 3, 429: 8, 503: 14}
CONTENT_TYPES = {"protobuf": "application/x-protobuf", "json": "application/json"}


def create_otlp_http_app(pipeline: IngestPipeline) -> Starlette:
    async def export(request: Request) -> Response:
        signal = request.path_params["signal"]
        if signal not in SIGNALS:
            return _error(404, f"unknown OTLP endpoint /v1/{signal}: use /v1/traces, /v1/metrics or /v1/logs", None)
        response = await _export(pipeline, signal, request)
        telemetry.INGEST_REQUESTS.labels("http", signal, str(response.status_code)).inc()
        return response

    return Starlette(routes=[Route("/v1/{signal}", export, methods=["POST"])])


async def _export(pipeline: IngestPipeline, signal: str, request: Request) -> Response:
    headers = request.headers
    try:
        encoding: Encoding | None = media_type(headers.get("content-type"))
    except DecodeError:
        encoding = None  # reported after authentication

    def fail(status: int, message: str, extra: dict[str, str] | None = None) -> Response:
        return _error(status, message, encoding, extra)

    retry = {"Retry-After": str(pipeline.ingest.retry_after_seconds)}
    try:
        tenant = pipeline.tenant_for(headers.get("authorization"), headers.get(pipeline.auth.tenant_header))
        encoding = media_type(headers.get("content-type"))
        held = [0]
        try:
            body = await _read_body(request, pipeline.ingest.max_body_bytes, pipeline, held)
            prepared = await pipeline.ingest_body(signal, body, encoding, headers.get("content-encoding"), tenant)
        finally:
            pipeline.release(held[0])
    except AuthError as exc:
        telemetry.INGEST_REJECTED.labels(signal, "unauthenticated").inc()
        return fail(401, str(exc), {"WWW-Authenticate": 'Bearer realm="inferledger"'})
    except DecodeError as exc:
        return fail(exc.status, exc.message)
    except QueueFull as exc:
        return fail(429, f"{exc}; retry later", retry)
    except (WriterStopped, CommitFailed, WorkersUnavailable) as exc:
        return fail(503, str(exc), retry)
    body = encode_response(signal, encoding, prepared.rejected, prepared.error_message)
    return Response(body, 200, media_type=CONTENT_TYPES[encoding])


async def _read_body(request: Request, limit: int, pipeline: IngestPipeline, held: list[int]) -> bytes:
    """The body, its bytes counted against the in-flight bound before they are read (`held[0]`)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit():
        if int(declared) > limit:
            raise DecodeError(413, f"body of {declared} bytes exceeds the limit of {limit} bytes")
        pipeline.reserve(int(declared))
        held[0] = int(declared)
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise DecodeError(413, f"body exceeds the limit of {limit} bytes")
        if size > held[0]:  # chunked or understated: hold what actually arrived
            pipeline.reserve(size - held[0])
            held[0] = size
        chunks.append(chunk)
    return b"".join(chunks)


def _error(status: int, message: str, encoding: Encoding | None, headers: dict[str, str] | None = None) -> Response:
    """An error answer: google.rpc.Status in the request's encoding, as OTLP/HTTP asks."""
    rpc = Status(code=GRPC_CODES.get(status, 2), message=message)
    if encoding == "protobuf":
        return Response(rpc.SerializeToString(), status, headers=headers, media_type=CONTENT_TYPES["protobuf"])
    body = json.dumps({"code": rpc.code, "message": message})
    return Response(body, status, headers=headers, media_type=CONTENT_TYPES["json"])
