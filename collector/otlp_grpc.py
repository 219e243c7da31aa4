"""OTLP/gRPC receiver (default :4317): the trace, metrics and logs Export services.

Requests are taken as raw bytes (no deserializer) and go through the same pipeline
as OTLP/HTTP, so decoding happens in the ingest workers. Queue full ->
RESOURCE_EXHAUSTED with a RetryInfo detail (what OTLP exporters read to back off)
and a `retry-after` trailer; bad token -> UNAUTHENTICATED; undecodable ->
INVALID_ARGUMENT; a commit that failed -> UNAVAILABLE. The response is sent only
after the rows are committed.
"""

from __future__ import annotations

import grpc
from google.protobuf.duration_pb2 import Duration
from google.rpc import code_pb2, error_details_pb2, status_pb2

from inferledger.collector import telemetry
from inferledger.collector.decode import REJECTED_FIELD, RESPONSE_TYPES
from inferledger.collector.pipeline import (
    AuthError,
    CommitFailed,
    DecodeError,
    IngestPipeline,
    QueueFull,
    WorkersUnavailable,
    WriterStopped,
)

SERVICES = {
    "traces": "opentelemetry.proto.collector.trace.v1.TraceService",
    "metrics": "opentelemetry.proto.collector.metrics.v1.MetricsService",
    "logs": "opentelemetry.proto.collector.logs.v1.LogsService",
}


def _export_handler(pipeline: IngestPipeline, signal: str):
    async def export(body: bytes, context: grpc.aio.ServicerContext):
        code = grpc.StatusCode.OK
        try:
            return await _export(pipeline, signal, body, context)
        except _Abort as abort:
            code = abort.code
            await context.abort(abort.code, abort.message, trailing_metadata=abort.trailers)
        finally:
            telemetry.INGEST_REQUESTS.labels("grpc", signal, code.name).inc()

    return grpc.unary_unary_rpc_method_handler(
        export, request_deserializer=None, response_serializer=lambda msg: msg.SerializeToString()
    )


async def _export(pipeline: IngestPipeline, signal: str, body: bytes, context: grpc.aio.ServicerContext):
    metadata = dict(context.invocation_metadata() or ())
    try:
        tenant = pipeline.tenant_for(metadata.get("authorization"), metadata.get(pipeline.auth.tenant_header))
        pipeline.reserve(len(body))
        try:
            prepared = await pipeline.ingest_body(signal, body, "protobuf", None, tenant)
        finally:
            pipeline.release(len(body))
    except AuthError as exc:
        telemetry.INGEST_REJECTED.labels(signal, "unauthenticated").inc()
        raise _Abort(grpc.StatusCode.UNAUTHENTICATED, str(exc)) from None
    except DecodeError as exc:
        raise _Abort(grpc.StatusCode.INVALID_ARGUMENT, exc.message) from None
    except QueueFull as exc:
        raise _Abort.retryable(grpc.StatusCode.RESOURCE_EXHAUSTED, f"{exc}; retry later", pipeline) from None
    except (WriterStopped, CommitFailed, WorkersUnavailable) as exc:
        raise _Abort.retryable(grpc.StatusCode.UNAVAILABLE, str(exc), pipeline) from None
    response = RESPONSE_TYPES[signal]()
    if prepared.rejected:
        setattr(response.partial_success, REJECTED_FIELD[signal], prepared.rejected)
        response.partial_success.error_message = prepared.error_message
    return response


class _Abort(Exception):
    def __init__(self, code: grpc.StatusCode, message: str, trailers: tuple = ()) -> None:
        self.code, self.message, self.trailers = code, message, trailers

    @classmethod
    def retryable(cls, code: grpc.StatusCode, message: str, pipeline: IngestPipeline) -> "_Abort":
        seconds = pipeline.ingest.retry_after_seconds
        info = error_details_pb2.RetryInfo(retry_delay=Duration(seconds=seconds))
        status = status_pb2.Status(code=getattr(code_pb2, code.name), message=message)
        status.details.add().Pack(info)
        trailers = (("grpc-status-details-bin", status.SerializeToString()), ("retry-after", str(seconds)))
        return cls(code, message, trailers)


def create_otlp_grpc_server(pipeline: IngestPipeline, address: str) -> grpc.aio.Server:
    """A grpc.aio server bound to `address` (not started); OSError naming the address if it cannot bind."""
    server = grpc.aio.server(
        options=[
            ("grpc.max_receive_message_length", pipeline.ingest.max_body_bytes),
            ("grpc.max_send_message_length", 16 * 1024 * 1024),
            # Bounds before any handler runs: streams per connection, metadata size, idle connections.
            ("grpc.max_concurrent_streams", pipeline.ingest.grpc_max_concurrent_streams),
            ("grpc.max_metadata_size", pipeline.ingest.max_header_bytes),
            ("grpc.max_connection_idle_ms", int(pipeline.ingest.idle_timeout_s * 1000)),
            ("grpc.http2.max_pings_without_data", 2),
        ]
    )
    server.add_generic_rpc_handlers(tuple(
        grpc.method_handlers_generic_handler(service, {"Export": _export_handler(pipeline, signal)})
        for signal, service in SERVICES.items()
    ))
    try:
        port = server.add_insecure_port(address)
    except RuntimeError as exc:  # grpc raises RuntimeError("Failed to bind ...")
        raise OSError(f"cannot listen for OTLP/gRPC on {address}: {exc}") from exc
    if port == 0:
        raise OSError(f"cannot listen for OTLP/gRPC on {address}: address in use?")
    return server
