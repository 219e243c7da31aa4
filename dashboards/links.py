"""Links from alerts to dashboards: the URL an alert of a given source and labels points at.

The alert pipeline (alerts/) may not import this package (dependencies point one way),
so the shell passes `dashboard_url` in where it composes the parts, or a job copies
the URL into `AlertRecord.dashboard_url`. The URL opens the dashboard of the alert's
source with the template variables set from the alert's labels (team, model,
environment, slo), over the hour around the alert.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

from inferledger.dashboards.definitions.board import TEMPLATE_VARS, dashboard_path
from inferledger.dashboards.definitions.uids import BY_ALERT_SOURCE, PIPELINE

# Label names an alert may carry -> the template variable they set.
LABEL_TO_VAR = {**{v: v for v in TEMPLATE_VARS}, "slo": "slo", "slo_id": "slo", "sloth_id": "slo"}


def dashboard_url(source: str, labels: Mapping[str, str], public_url: str = "", *,
                  time_range: tuple[str, str] = ("now-6h", "now")) -> str:
    """`{public_url}/d/{uid}?var-team=...&from=...&to=...` for an alert of `source`."""
    uid = BY_ALERT_SOURCE.get(source, PIPELINE)
    params = [(f"var-{LABEL_TO_VAR[k]}", str(v)) for k, v in sorted(labels.items()) if k in LABEL_TO_VAR]
    params += [("from", time_range[0]), ("to", time_range[1])]
    return f"{public_url.rstrip('/')}{dashboard_path(uid)}?{urlencode(params)}"
