"""PromQL label selectors bound to the template variables (one spelling everywhere)."""

SPANS = 'team=~"$team", model=~"$model", environment=~"$environment"'
COST = 'team=~"$team", model=~"$model"'
TEAM = 'team=~"$team"'
MODEL = 'model=~"$model"'
PER_HOUR = 3600


def link_to(uid: str, **var_fields: str) -> str:
    """A data link to another dashboard that carries the clicked series' labels and the time range."""
    params = "&".join(f"var-{var}=${{__field.labels.{label}}}" for var, label in var_fields.items())
    return f"/d/{uid}?{params}&${{__url_time_range}}" if params else f"/d/{uid}?${{__url_time_range}}"
