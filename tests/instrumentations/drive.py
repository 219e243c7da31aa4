"""Drive a fixed set of LLM calls through one real instrumentation library (run in that library's venv).

usage: drive.py LIB   with FAKE_URL (the fake provider) and OTLP_BASE (InferLedger's OTLP/HTTP base URL)

Calls: OpenAI chat (user "u-42"), streamed chat with usage, embeddings, a chat answered 429;
Anthropic messages plain and streamed. Only the standard library and the venv's packages are imported.
"""

from __future__ import annotations

import os
import sys

LIB = sys.argv[1]
FAKE = os.environ["FAKE_URL"]
OTLP = os.environ["OTLP_BASE"].rstrip("/")
RESOURCE = {"service.name": f"il-{LIB}", "team": LIB}
OPENAI_LIBS = {"openinference_openai", "otel_openai_v2", "openllmetry", "openlit", "traceloop"}
ANTHROPIC_LIBS = {"openinference_anthropic", "anthropic_native", "openllmetry", "openlit", "traceloop"}


def sdk_provider():
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    provider = TracerProvider(resource=Resource.create(RESOURCE))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{OTLP}/v1/traces")))
    trace.set_tracer_provider(provider)
    return provider


def setup():
    if LIB == "openinference_openai":
        from openinference.instrumentation.openai import OpenAIInstrumentor

        p = sdk_provider()
        OpenAIInstrumentor().instrument(tracer_provider=p)
        return p.force_flush
    if LIB == "openinference_anthropic":
        from openinference.instrumentation.anthropic import AnthropicInstrumentor

        p = sdk_provider()
        AnthropicInstrumentor().instrument(tracer_provider=p)
        return p.force_flush
    if LIB == "otel_openai_v2":
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

        p = sdk_provider()
        OpenAIInstrumentor().instrument(tracer_provider=p)
        return p.force_flush
    if LIB == "anthropic_native":
        return sdk_provider().force_flush
    if LIB == "openllmetry":
        from opentelemetry.instrumentation.anthropic import AnthropicInstrumentor
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor

        p = sdk_provider()
        OpenAIInstrumentor().instrument(tracer_provider=p)
        AnthropicInstrumentor().instrument(tracer_provider=p)
        return p.force_flush
    if LIB == "openlit":
        import json
        import tempfile

        import openlit

        # What a user sets: the resource attributes for team, the endpoint; metrics stay on (the default),
        # so their export must not add to the request counts. A local (empty) price list keeps init offline.
        os.environ["OTEL_RESOURCE_ATTRIBUTES"] = f"team={LIB}"
        os.environ["OTEL_METRICS_EXPORTER"] = "otlp"
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump({}, f)
        openlit.init(otlp_endpoint=OTLP, application_name=RESOURCE["service.name"], disable_batch=True,
                     pricing_json=f.name)
        from opentelemetry import metrics, trace

        def flush() -> None:
            trace.get_tracer_provider().force_flush()
            metrics.get_meter_provider().force_flush()

        return flush
    if LIB == "traceloop":
        os.environ["TRACELOOP_TELEMETRY"] = "false"  # no usage ping at init
        from traceloop.sdk import Traceloop

        Traceloop.init(app_name=RESOURCE["service.name"], api_endpoint=OTLP, disable_batch=True,
                       telemetry_enabled=False, resource_attributes={"team": LIB})
        from opentelemetry import trace

        return trace.get_tracer_provider().force_flush
    raise SystemExit(f"unknown library {LIB}")


def openai_calls() -> None:
    import openai

    client = openai.OpenAI(base_url=f"{FAKE}/v1", api_key="sk-test", max_retries=0)
    client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], user="u-42")
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}],
                                            stream=True, stream_options={"include_usage": True})
    for _ in stream:
        pass
    client.embeddings.create(model="text-embedding-3-small", input=["a", "b"])
    try:
        client.chat.completions.create(model="gpt-rate-limited", messages=[{"role": "user", "content": "hi"}])
    except openai.RateLimitError:
        pass


def anthropic_calls() -> None:
    import anthropic

    client = anthropic.Anthropic(base_url=FAKE, api_key="sk-ant-test", max_retries=0)
    client.messages.create(model="claude-sonnet-4-5", max_tokens=64, messages=[{"role": "user", "content": "hi"}],
                           metadata={"user_id": "u-7"})
    with client.messages.stream(model="claude-sonnet-4-5", max_tokens=64,
                                messages=[{"role": "user", "content": "hi"}]) as s:
        for _ in s.text_stream:
            pass


def calls() -> None:
    if LIB in OPENAI_LIBS:
        openai_calls()
    if LIB in ANTHROPIC_LIBS:
        anthropic_calls()


def traceloop_calls() -> None:
    """The same calls inside a workflow of two tasks, as an OpenLLMetry user writes them."""
    from traceloop.sdk.decorators import task, workflow

    @task(name="openai_step")
    def openai_step() -> None:
        openai_calls()

    @task(name="anthropic_step")
    def anthropic_step() -> None:
        anthropic_calls()

    @workflow(name="answer")
    def answer() -> None:
        openai_step()
        anthropic_step()

    answer()


def main() -> None:
    flush = setup()
    if LIB == "traceloop":
        traceloop_calls()
    else:
        calls()
    flush()


if __name__ == "__main__":
    main()
