"""Where the service finds the jobs and admin routes of each area.

- JOB_MODULES: modules whose import registers jobs with `analytics.jobs.register_job`.
- ADMIN_ROUTE_MODULES: modules exposing `ROUTES: list[starlette.routing.Route]`, mounted
  on the admin address. Handlers reach the open warehouse and the settings through
  `request.app.state.warehouse` (analytics.warehouse.Warehouse) and
  `request.app.state.settings` (inferledger.config.Settings).
"""

JOB_MODULES: list[str] = [
    "inferledger.analytics.retention",
    "inferledger.analytics.cost.job",
    "inferledger.alerts.job",
    "inferledger.analytics.anomaly.job",
    "inferledger.analytics.drift.job",
    "inferledger.analytics.slo.job",
    "inferledger.analytics.lake.job",
    "inferledger.analytics.lake.writeback",
]

ADMIN_ROUTE_MODULES: list[str] = [
    "inferledger.alerts.routes",
    "inferledger.analytics.anomaly.routes",
    "inferledger.analytics.cost.routes",
    "inferledger.analytics.drift.routes",
    "inferledger.analytics.slo.routes",
]
