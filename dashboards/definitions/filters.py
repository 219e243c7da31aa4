"""PromQL label selectors bound to the template variables (one spelling everywhere)."""

SPANS = 'tenant=~"$tenant", team=~"$team", model=~"$model", environment=~"$environment"'
COST = 'tenant=~"$tenant", team=~"$team", model=~"$model", environment=~"$environment"'
TEAM = 'team=~"$team"'
TENANT_TEAM = 'tenant=~"$tenant", team=~"$team"'
# Spend over fixed event-time windows (dashboards.families.spend): agrees with the showback.
MTD = 'window="month_to_date"'
LAST_HOUR = 'window="last_hour"'
MODEL = 'model=~"$model"'
PER_HOUR = 3600


def link_to(uid: str, **var_fields: str) -> str:
    """A data link to another dashboard that carries the clicked series' labels and the time range."""
    params = "&".join(f"var-{var}=${{__field.labels.{label}}}" for var, label in var_fields.items())
    return f"/d/{uid}?{params}&${{__url_time_range}}" if params else f"/d/{uid}?${{__url_time_range}}"
