"""OTLP/HTTP receiver (default :4318): POST /v1/traces, /v1/metrics, /v1/logs.

Answers follow the OTLP/HTTP spec, in the request's own encoding: 200 with
`partial_success` when some items were rejected; 400 for an undecodable body or
an unsupported content type; 401 for a missing or wrong token; 413 over the body
limit (also after decompression); 429 with Retry-After when the write queue is
full; 503 with Retry-After when the commit failed or the service is stopping.
The 200 is sent only after the rows are committed.
"""

from __future__ import annotations

import asyncio
import json

from google.rpc.status_pb2 import Status
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from collector import telemetry
from collector.decode import DecodeError, Encoding, decompress, encode_response, media_type, parse_request
from collector.pipeline import AuthError, IngestPipeline
from collector.writer import QueueFull, WriterStopped

SIGNALS = ("traces", "metrics", "logs")
# HTTP status -> google.rpc.Code carried in the error body.
GRPC_CODES = {400: 3, 401: 16, 413: 3, 429: 8, 503: 14}
CONTENT_TYPES = {"protobuf": "application/x-protobuf", "json": "application/json"}


def create_otlp_http_app(pipeline: IngestPipeline) -> Starlette:
    async def export(request: Request) -> Response:
        signal = request.path_params["signal"]
        if signal not in SIGNALS:
            return _plain(404, f"unknown OTLP endpoint /v1/{signal}: use /v1/traces, /v1/metrics or /v1/logs")
        response = await _export(pipeline, signal, request)
        telemetry.INGEST_REQUESTS.labels("http", signal, str(response.status_code)).inc()
        return response

    return Starlette(routes=[Route("/v1/{signal}", export, methods=["POST"])])


async def _export(pipeline: IngestPipeline, signal: str, request: Request) -> Response:
    limit = pipeline.ingest.max_body_bytes
    try:
        encoding: Encoding | None = media_type(request.headers.get("content-type"))
    except DecodeError:
        encoding = None  # reported below, after authentication

    def fail(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
        return _error(status, message, encoding, headers)

    try:
        tenant = pipeline.tenant_for(
            request.headers.get("authorization"), request.headers.get(pipeline.auth.tenant_header)
        )
    except AuthError as exc:
        telemetry.INGEST_REJECTED.labels(signal, "unauthenticated").inc()
        return fail(401, str(exc), {"WWW-Authenticate": 'Bearer realm="inferledger"'})
    try:
        encoding = media_type(request.headers.get("content-type"))
        body = await _read_body(request, limit)
        payload = decompress(body, request.headers.get("content-encoding"), limit)
        message = parse_request(signal, payload, encoding)
    except DecodeError as exc:
        telemetry.INGEST_REJECTED.labels(signal, "too_large" if exc.status == 413 else "undecodable").inc()
        return fail(exc.status, exc.message)

    prepared = pipeline.prepare(signal, message, tenant)
    if prepared.needs_write:
        retry_after = str(pipeline.ingest.retry_after_seconds)
        try:
            future = pipeline.writer.submit(prepared.batch)
        except QueueFull as exc:
            telemetry.INGEST_REJECTED.labels(signal, "queue_full").inc()
            return fail(429, f"{exc}; retry later", {"Retry-After": retry_after})
        except WriterStopped as exc:
            return fail(503, str(exc), {"Retry-After": retry_after})
        try:
            await asyncio.wrap_future(future)
        except Exception as exc:  # the commit failed: nothing of this request is stored
            telemetry.INGEST_REJECTED.labels(signal, "commit_failed").inc()
            return fail(503, f"could not commit the batch: {type(exc).__name__}: {exc}", {"Retry-After": retry_after})
        pipeline.record_stored(signal, tenant, prepared.accepted)
    body = encode_response(signal, encoding, prepared.rejected, prepared.error_message)
    return Response(body, 200, media_type=CONTENT_TYPES[encoding])


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise DecodeError(413, f"body of {declared} bytes exceeds the limit of {limit} bytes")
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise DecodeError(413, f"body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _plain(status: int, message: str) -> Response:
    return Response(message, status, media_type="text/plain")


def _error(status: int, message: str, encoding: Encoding | None, headers: dict[str, str] | None = None) -> Response:
    """An error answer: google.rpc.Status in the request's encoding, as OTLP/HTTP asks."""
    rpc = Status(code=GRPC_CODES.get(status, 2), message=message)
    if encoding == "protobuf":
        return Response(rpc.SerializeToString(), status, headers=headers, media_type=CONTENT_TYPES["protobuf"])
    body = json.dumps({"code": rpc.code, "message": message})
    return Response(body, status, headers=headers, media_type=CONTENT_TYPES["json"])
