"""SLO error-budget burn: specs, per-minute rollups from spans, the burn-rate engine,
its scheduled job, and Prometheus rules with Sloth's names."""
