"""OTLP/gRPC receiver (default :4317): the trace, metrics and logs Export services.

Same pipeline as OTLP/HTTP. Queue full -> RESOURCE_EXHAUSTED with a RetryInfo
detail (what OTLP exporters read to back off) and a `retry-after` trailer; bad
token -> UNAUTHENTICATED; a commit that failed -> UNAVAILABLE. The response is sent
only after the rows are committed.
"""

from __future__ import annotations

import asyncio

import grpc
from google.protobuf.duration_pb2 import Duration
from google.rpc import code_pb2, error_details_pb2, status_pb2
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

from collector import telemetry
from collector.decode import REJECTED_FIELD, RESPONSE_TYPES
from collector.pipeline import AuthError, IngestPipeline
from collector.writer import QueueFull, WriterStopped


class _Exporter:
    def __init__(self, pipeline: IngestPipeline, signal: str) -> None:
        self.pipeline = pipeline
        self.signal = signal

    async def Export(self, request, context: grpc.aio.ServicerContext):  # noqa: N802 (gRPC name)
        code = grpc.StatusCode.OK
        try:
            return await self._export(request, context)
        except _Abort as abort:
            code = abort.code
            await context.abort(abort.code, abort.message, trailing_metadata=abort.trailers)
        finally:
            telemetry.INGEST_REQUESTS.labels("grpc", self.signal, code.name).inc()

    async def _export(self, request, context):
        pipeline, signal = self.pipeline, self.signal
        metadata = dict(context.invocation_metadata() or ())
        try:
            tenant = pipeline.tenant_for(metadata.get("authorization"), metadata.get(pipeline.auth.tenant_header))
        except AuthError as exc:
            telemetry.INGEST_REJECTED.labels(signal, "unauthenticated").inc()
            raise _Abort(grpc.StatusCode.UNAUTHENTICATED, str(exc)) from None
        prepared = pipeline.prepare(signal, request, tenant)
        if prepared.needs_write:
            try:
                future = pipeline.writer.submit(prepared.batch)
            except QueueFull as exc:
                telemetry.INGEST_REJECTED.labels(signal, "queue_full").inc()
                raise _Abort.retryable(grpc.StatusCode.RESOURCE_EXHAUSTED, f"{exc}; retry later", pipeline) from None
            except WriterStopped as exc:
                raise _Abort.retryable(grpc.StatusCode.UNAVAILABLE, str(exc), pipeline) from None
            try:
                await asyncio.wrap_future(future)
            except Exception as exc:
                telemetry.INGEST_REJECTED.labels(signal, "commit_failed").inc()
                raise _Abort.retryable(
                    grpc.StatusCode.UNAVAILABLE, f"could not commit the batch: {type(exc).__name__}: {exc}", pipeline
                ) from None
            pipeline.record_stored(signal, tenant, prepared.accepted)
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


def create_otlp_grpc_server(pipeline: IngestPipeline, address: str) -> tuple[grpc.aio.Server, int]:
    """A started-later grpc.aio server bound to `address`; returns it and the bound port."""
    limit = pipeline.ingest.max_body_bytes
    server = grpc.aio.server(
        options=[("grpc.max_receive_message_length", limit), ("grpc.max_send_message_length", 16 * 1024 * 1024)],
        compression=None,
    )
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(_Exporter(pipeline, "traces"), server)
    metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(_Exporter(pipeline, "metrics"), server)
    logs_service_pb2_grpc.add_LogsServiceServicer_to_server(_Exporter(pipeline, "logs"), server)
    port = server.add_insecure_port(address)
    if port == 0:
        raise OSError(f"cannot bind OTLP/gRPC to {address}")
    return server, port
