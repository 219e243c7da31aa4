"""The demo fleet: a seeded simulation of an inference fleet (`fleet`) and its
emission through the real OpenTelemetry SDK OTLP exporters (`emit`)."""
