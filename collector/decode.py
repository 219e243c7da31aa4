"""Decoding OTLP request bodies: gzip, protobuf, OTLP/JSON.

Errors carry the HTTP status to answer with (400 undecodable / wrong type, 413 too
large) and a message that names the problem. The body limit is checked on the
wire size and again while decompressing, so a gzip bomb stops at the limit instead
of filling memory.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from dataclasses import dataclass
from typing import Any, Literal

from google.protobuf import json_format
from google.protobuf.message import DecodeError as ProtobufDecodeError
from google.protobuf.message import Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

Signal = Literal["traces", "metrics", "logs"]
Encoding = Literal["protobuf", "json"]

REQUEST_TYPES: dict[str, type[Message]] = {
    "traces": ExportTraceServiceRequest,
    "metrics": ExportMetricsServiceRequest,
    "logs": ExportLogsServiceRequest,
}
RESPONSE_TYPES: dict[str, type[Message]] = {
    "traces": ExportTraceServiceResponse,
    "metrics": ExportMetricsServiceResponse,
    "logs": ExportLogsServiceResponse,
}
# partial_success field naming the rejected items, per signal.
REJECTED_FIELD = {"traces": "rejected_spans", "metrics": "rejected_data_points", "logs": "rejected_log_records"}

PROTOBUF_TYPES = {"application/x-protobuf", "application/protobuf"}
JSON_TYPES = {"application/json"}
# OTLP/JSON keys whose values are hex ids (protobuf's JSON mapping would expect base64).
ID_KEYS = {"traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id"}


@dataclass
class DecodeError(Exception):
    status: int
    message: str

    def __str__(self) -> str:
        return self.message

    def __reduce__(self):  # raised in ingest worker processes, re-raised in the receiver
        return (DecodeError, (self.status, self.message))


def media_type(content_type: str | None) -> Encoding:
    """The encoding named by a Content-Type header, or DecodeError(400)."""
    mt = (content_type or "").split(";", 1)[0].strip().lower()
    if mt in PROTOBUF_TYPES:
        return "protobuf"
    if mt in JSON_TYPES:
        return "json"
    raise DecodeError(
        400,
        f"unsupported Content-Type {content_type!r}: use application/x-protobuf or application/json",
    )


def decompress(body: bytes, content_encoding: str | None, max_bytes: int) -> bytes:
    """Undo Content-Encoding, never producing more than `max_bytes`."""
    enc = (content_encoding or "identity").strip().lower()
    if enc in ("identity", ""):
        return body
    if enc not in ("gzip", "deflate"):
        raise DecodeError(400, f"unsupported Content-Encoding {content_encoding!r}: use gzip or none")
    wbits = 16 + zlib.MAX_WBITS if enc == "gzip" else zlib.MAX_WBITS
    parts: list[bytes] = []
    size = 0
    rest = body
    # A gzip body may hold several members back to back (RFC 1952 2.2): read every one.
    while True:
        inflater = zlib.decompressobj(wbits)
        try:
            out = inflater.decompress(rest, max_bytes - size + 1)
            if size + len(out) > max_bytes or inflater.unconsumed_tail:
                raise DecodeError(413, f"body exceeds the limit of {max_bytes} bytes after decompression")
            out += inflater.flush()
        except zlib.error as exc:
            raise DecodeError(400, f"body is not valid {enc}: {exc}") from exc
        size += len(out)
        if size > max_bytes:
            raise DecodeError(413, f"body exceeds the limit of {max_bytes} bytes after decompression")
        if not inflater.eof:
            raise DecodeError(400, f"body is not valid {enc}: truncated stream")
        parts.append(out)
        rest = inflater.unused_data
        if enc != "gzip" or not rest.strip(b"\0"):
            break
    return parts[0] if len(parts) == 1 else b"".join(parts)


def parse_request(signal: Signal, payload: bytes, encoding: Encoding) -> Message:
    """Bytes (already decompressed) to the OTLP request message of `signal`."""
    msg = REQUEST_TYPES[signal]()
    if encoding == "protobuf":
        try:
            msg.ParseFromString(payload)
        except (ProtobufDecodeError, RecursionError, ValueError) as exc:
            raise DecodeError(400, f"body is not a valid OTLP {signal} protobuf message: {exc}") from exc
        return msg
    try:
        doc = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DecodeError(400, f"body is not valid JSON: {exc}") from exc
    except RecursionError:
        raise DecodeError(400, "body is not valid OTLP/JSON: nested too deeply") from None
    if not isinstance(doc, dict):
        raise DecodeError(400, f"OTLP/JSON body must be an object, got {type(doc).__name__}")
    try:
        _hex_ids_to_base64(doc)
        json_format.ParseDict(doc, msg, ignore_unknown_fields=True)
    except json_format.ParseError as exc:
        raise DecodeError(400, f"body is not a valid OTLP/JSON {signal} request: {str(exc)[:500]}") from exc
    except RecursionError:
        raise DecodeError(400, f"body is not a valid OTLP/JSON {signal} request: nested too deeply") from None
    except (TypeError, ValueError, AttributeError) as exc:  # shapes ParseDict does not wrap in ParseError
        raise DecodeError(400, f"body is not a valid OTLP/JSON {signal} request: {type(exc).__name__}") from exc
    return msg


def _hex_ids_to_base64(node: Any) -> None:
    """OTLP/JSON writes ids as hex; protobuf JSON reads bytes as base64. Convert in place.

    An id that is not hex becomes empty bytes, so normalization rejects that one item
    (partial success) rather than the whole request.
    """
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ID_KEYS and isinstance(value, str):
                try:
                    raw = binascii.unhexlify(value)
                except (binascii.Error, ValueError):
                    raw = b""
                node[key] = base64.b64encode(raw).decode()
            elif isinstance(value, (dict, list)):
                _hex_ids_to_base64(value)
    elif isinstance(node, list):
        for item in node:
            _hex_ids_to_base64(item)


def encode_response(signal: Signal, encoding: Encoding, rejected: int = 0, error_message: str = "") -> bytes:
    """The Export*ServiceResponse, with partial_success only when something was rejected."""
    resp = RESPONSE_TYPES[signal]()
    if rejected or error_message:
        setattr(resp.partial_success, REJECTED_FIELD[signal], rejected)
        resp.partial_success.error_message = error_message
    if encoding == "protobuf":
        return resp.SerializeToString()
    return json_format.MessageToJson(resp, indent=None).encode()
