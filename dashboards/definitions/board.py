"""A thin layer over grafana-foundation-sdk builders shared by every InferLedger dashboard.

Every dashboard gets the same datasource variable, the team / model / environment
template variables, the dropdown of links to its siblings, and the alert annotation
query, so moving between them keeps the selection and time range. Panel ids and
query refIds are assigned here in build order, which keeps the generated JSON stable
(the checked-in JSON is compared with a fresh build in the tests).
"""

from __future__ import annotations

import json
import string
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from grafana_foundation_sdk.builders import bargauge, stat, table, timeseries
from grafana_foundation_sdk.builders import common as common_b
from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import prometheus as prom
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as m
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

from inferledger.dashboards.settings import GrafanaSettings

_DEFAULTS = GrafanaSettings()
TAG = "inferledger"
DATASOURCE = m.DataSourceRef(type_val="prometheus", uid="${datasource}")
GRAFANA_DS = m.DataSourceRef(type_val="grafana", uid="-- Grafana --")
# The metric every template variable takes its values from (spans: always present).
VARIABLE_SOURCE = "inferledger_requests_total"
TEMPLATE_VARS = ("tenant", "team", "model", "environment")
VARIABLE_SOURCES = {"slo": "inferledger_slo_objective_ratio"}


@dataclass(frozen=True)
class Target:
    expr: str
    legend: str = ""
    instant: bool = False
    table: bool = False


@dataclass
class Board:
    """One dashboard under construction; `panel_*` methods append panels left to right."""

    uid: str
    title: str
    description: str
    variables: Sequence[str] = TEMPLATE_VARS
    annotation_sources: Sequence[str] = ()
    _builder: db.Dashboard = field(init=False)
    _next_id: int = field(init=False, default=1)

    def __post_init__(self) -> None:
        b = (
            db.Dashboard(self.title)
            .uid(self.uid)
            .description(self.description)
            .tags([TAG])
            .time("now-24h", "now")
            .refresh("1m")
            .timezone("utc")
            .editable()
            .tooltip(m.DashboardCursorSync.CROSSHAIR)
            .link(
                db.DashboardLink("InferLedger")
                .type(m.DashboardLinkType.DASHBOARDS)
                .tags([TAG])
                .as_dropdown(True)
                .include_vars(True)
                .keep_time(True)
            )
            .with_variable(
                # Preselect the datasource that provisioning and push create (Grafana falls back
                # to the default Prometheus when that uid does not exist).
                db.DatasourceVariable("datasource").label("Prometheus").type("prometheus").current(
                    m.VariableOption(selected=True, text=_DEFAULTS.datasource_name, value=_DEFAULTS.datasource_uid)
                )
            )
        )
        for name in self.variables:
            b = b.with_variable(_query_variable(name))
        b = b.annotation(
            db.AnnotationQuery()
            .name("InferLedger alerts")
            .datasource(GRAFANA_DS)
            .enable(True)
            .icon_color("red")
            .target(
                db.AnnotationTarget().type("tags").tags([TAG, *self.annotation_sources]).match_any(False).limit(200)
            )
        )
        self._builder = b

    # --- panels ---------------------------------------------------------------------------

    def row(self, title: str) -> "Board":
        self._builder = self._builder.with_row(db.Row(title).id(self._take_id()))
        return self

    def timeseries(
        self, title: str, targets: Sequence[Target], *, unit: str = "short", span: int = 12, height: int = 8,
        description: str = "", stacked: bool = False, links: Sequence[tuple[str, str]] = (),
    ) -> "Board":
        p = (
            timeseries.Panel()
            .title(title)
            .description(description)
            .unit(unit)
            .fill_opacity(20 if stacked else 8)
            .legend(
                common_b.VizLegendOptions()
                .display_mode(common.LegendDisplayMode.TABLE)
                .placement(common.LegendPlacement.BOTTOM)
                .show_legend(True)
                .calcs(["mean", "max", "lastNotNull"])
            )
        )
        if stacked:
            p = p.stacking(common_b.StackingConfig().mode(common.StackingMode.NORMAL))
        return self._add(p, targets, span, height, links)

    def stat(
        self, title: str, targets: Sequence[Target], *, unit: str = "short", span: int = 6, height: int = 4,
        description: str = "", decimals: int | None = None, links: Sequence[tuple[str, str]] = (),
    ) -> "Board":
        p = (
            stat.Panel()
            .title(title)
            .description(description)
            .unit(unit)
            .graph_mode(common.BigValueGraphMode.AREA)
            .color_mode(common.BigValueColorMode.VALUE)
            .reduce_options(common_b.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        )
        if decimals is not None:
            p = p.decimals(decimals)
        return self._add(p, targets, span, height, links)

    def bars(
        self, title: str, targets: Sequence[Target], *, unit: str = "short", span: int = 12, height: int = 8,
        description: str = "", links: Sequence[tuple[str, str]] = (), max_value: float | None = None,
    ) -> "Board":
        p = (
            bargauge.Panel()
            .title(title)
            .description(description)
            .unit(unit)
            .display_mode(common.BarGaugeDisplayMode.GRADIENT)
            .orientation(common.VizOrientation.HORIZONTAL)
            .reduce_options(common_b.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        )
        if max_value is not None:
            p = p.min(0).max(max_value)
        return self._add(p, targets, span, height, links)

    def table(
        self, title: str, targets: Sequence[Target], *, unit: str = "short", span: int = 24, height: int = 9,
        description: str = "", links: Sequence[tuple[str, str]] = (),
    ) -> "Board":
        p = (
            table.Panel()
            .title(title)
            .description(description)
            .unit(unit)
            .show_header(True)
            .with_transformation(m.DataTransformerConfig(id_val="merge", options={}))
            .with_transformation(
                m.DataTransformerConfig(id_val="organize", options={"excludeByName": {"Time": True}})
            )
        )
        # Instant table queries merge into one row per label set; a target's legend names its column.
        # (Grafana calls the value column "Value" for one query, "Value #<refId>" for several.)
        for ref, t in zip(string.ascii_uppercase, targets):
            if t.legend:
                column = "Value" if len(targets) == 1 else f"Value #{ref}"
                p = p.override_by_name(column, [m.DynamicConfigValue(id_val="displayName", value=t.legend)])
        targets = [Target(t.expr, t.legend, instant=True, table=True) for t in targets]
        return self._add(p, targets, span, height, links)

    # --- output -------------------------------------------------------------------------

    def build(self) -> dict[str, Any]:
        """The dashboard as a JSON-ready dict (what Grafana's API and file provisioning read)."""
        return json.loads(json.dumps(self._builder.build(), cls=JSONEncoder))

    def _take_id(self) -> int:
        pid = self._next_id
        self._next_id += 1
        return pid

    def _add(self, panel, targets: Sequence[Target], span: int, height: int, links) -> "Board":
        if not targets:
            raise ValueError(f"panel on {self.uid} has no query")
        panel = panel.id(self._take_id()).datasource(DATASOURCE).span(span).height(height)
        for ref, t in zip(string.ascii_uppercase, targets):
            q = prom.Dataquery().expr(t.expr).ref_id(ref).legend_format(t.legend or "__auto")
            if t.instant:
                q = q.instant()
            else:
                q = q.range()
            if t.table:
                q = q.format(PromQueryFormat.TABLE)
            panel = panel.with_target(q)
        if links:
            panel = panel.data_links([db.DashboardLink(title).url(url) for title, url in links])
        self._builder = self._builder.with_panel(panel)
        return self


def _query_variable(name: str) -> db.QueryVariable:
    """tenant / team / model / environment, each filtered by the ones before it."""
    scope = {"tenant": "", "team": '{tenant=~"$tenant"}', "model": '{tenant=~"$tenant", team=~"$team"}',
             "environment": '{tenant=~"$tenant", team=~"$team", model=~"$model"}'}
    source = VARIABLE_SOURCES.get(name, VARIABLE_SOURCE) + scope.get(name, "")
    return (
        db.QueryVariable(name)
        .label(name.upper() if name == "slo" else name.capitalize())
        .datasource(DATASOURCE)
        .query(f"label_values({source}, {name})")
        .refresh(m.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(m.VariableSort.ALPHABETICAL_ASC)
        .multi(True)
        .include_all(True)
        .all_value(".*")
        .current(m.VariableOption(selected=True, text="All", value="$__all"))
    )


def dashboard_path(uid: str) -> str:
    """Grafana's path to a dashboard by uid (links between dashboards and from alerts)."""
    return f"/d/{uid}"
