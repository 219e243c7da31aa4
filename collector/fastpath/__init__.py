"""The compiled OTLP traces decoder: wire bytes -> flat arrays -> the canonical rows.

`collector.normalize` stays the reference; this path produces the same rows and
hands any request it does not fully understand to the reference (see
`traces.normalize_traces_fast`).
"""
