"""The demo fleet: a seeded simulation of an inference fleet and its emission
through the real OpenTelemetry SDK OTLP exporters.

- catalog / spec: models, services, features, GPU nodes; the knobs (FleetSpec)
- incidents: the injected incidents and when they happen
- fleet / gpus: the pure, seeded simulation (requests, dcgm-style GPU samples)
- vocabularies: how each instrumentation dialect writes a request down
- exporters / gpu_metrics / genai_metrics: SDK spans, metrics and exporters
- emit: `backfill` (history, fast) and `stream_live` (current time, steady)
"""
