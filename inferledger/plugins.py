"""Where the service finds the parts that later issues add.

- JOB_MODULES: modules whose import registers jobs with `analytics.jobs.register_job`.
- ADMIN_ROUTE_MODULES: modules exposing `ROUTES: list[starlette.routing.Route]`, mounted
  on the admin address. Handlers reach the open warehouse and the settings through
  `request.app.state.warehouse` (analytics.warehouse.Warehouse) and
  `request.app.state.settings` (inferledger.config.Settings).
"""

JOB_MODULES: list[str] = [
    "analytics.retention",
    "analytics.cost_jobs",
    "alerts.job",
    "analytics.anomaly.job",
    "analytics.drift.job",
    "analytics.slo.job",
]

ADMIN_ROUTE_MODULES: list[str] = [
    "alerts.admin_routes",
    "analytics.anomaly.admin_routes",
    "analytics.cost_routes",
    "analytics.drift.admin_routes",
    "analytics.slo.routes",
]
