"""Shared dashboard defaults and the panel shapes both dashboards are built from.

Everything the dashboards have in common lives here: tags, UTC, the default range, the
datasource every target points at, units, and how each kind of panel looks. A dashboard
module only says which panels it has, with which SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from grafana_foundation_sdk.builders import barchart, bargauge, stat, table, timeseries
from grafana_foundation_sdk.builders import common as common_builder
from grafana_foundation_sdk.builders import dashboard as dashboard_builder
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.models import common, dashboard

from spend_dashboards.postgres_query import PostgresQueryBuilder, QueryFormat
from spend_dashboards.variables import DATASOURCE_REF

TAGS = ["litellm", "spend"]
"""Tags on every dashboard, so Grafana's search lists them together."""

TIMEZONE = "utc"
"""LiteLLM stores UTC timestamps and UTC days; the dashboards show them as stored."""

DEFAULT_RANGE = ("now-30d/d", "now")
"""The last 30 UTC days, starting at midnight, through now."""

REFRESH_INTERVALS = ["5m", "15m", "1h"]

SPEND = "currencyUSD"
TOKENS = "short"
COUNT = "short"
UTILISATION = "percentunit"
TIMESTAMP = "dateTimeAsIso"

UNLIMITED = "unlimited"
"""What a missing budget shows as: never 0, which would read as an exhausted budget."""


@dataclass(frozen=True)
class QueryRecord:
    """One SQL query of a dashboard: a panel target or a query variable."""

    dashboard_uid: str
    """The dashboard's fixed uid."""
    panel_title: str
    """The panel's title; for a variable, `$` and the variable's name."""
    ref_id: str
    """The target's refId; for a variable, the variable's name."""
    sql: str
    """The SQL as the dashboard holds it: Grafana macros and `$var` references."""
    straightforward: str | None = None
    """SQL that scans LiteLLM_SpendLogs for the same answer; None if none applies."""
    format: QueryFormat = "table"
    """Whether Grafana reads the result as a table or as time series."""


@dataclass
class DashboardDraft:
    """A dashboard being assembled, with the records of the queries put on it."""

    uid: str
    builder: dashboard_builder.Dashboard
    records: list[QueryRecord] = field(default_factory=list)
    _next_panel_id: int = 1

    def row(self, title: str) -> None:
        """Start a row: an expanded header above the panels added after it."""
        self.builder.with_row(dashboard_builder.Row(title).collapsed(False)
                              .id(self._take_panel_id()))

    def panel(self, panel: cogbuilder.Builder[dashboard.Panel], title: str, sql: str, *,
              straightforward: str | None = None, format_val: QueryFormat = "table") -> None:
        """Add `panel` with its id and its one SQL target, and record the query."""
        panel.id(self._take_panel_id())  # type: ignore[attr-defined]
        panel.title(title)  # type: ignore[attr-defined]
        panel.with_target(  # type: ignore[attr-defined]
            PostgresQueryBuilder().ref_id("A").raw_sql(sql).format(format_val)
            .datasource(DATASOURCE_REF)
        )
        self.builder.with_panel(panel)
        self.records.append(QueryRecord(self.uid, title, "A", sql, straightforward,
                                        format_val))

    def _take_panel_id(self) -> int:
        panel_id = self._next_panel_id
        self._next_panel_id += 1
        return panel_id

    def variable(self, variable: dashboard_builder.QueryVariable, name: str, sql: str,
                 straightforward: str | None = None) -> dashboard_builder.QueryVariable:
        """Record a query variable's SQL; the variable itself is added by the caller."""
        self.records.append(QueryRecord(self.uid, f"${name}", name, sql, straightforward))
        return variable


def new_dashboard(uid: str, title: str, description: str) -> dashboard_builder.Dashboard:
    """A dashboard with the shared defaults: fixed uid, tags, UTC, range, refresh choices."""
    return (
        dashboard_builder.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(TAGS)
        .timezone(TIMEZONE)
        .week_start("monday")
        .time(*DEFAULT_RANGE)
        .timepicker(dashboard_builder.TimePicker().refresh_intervals(REFRESH_INTERVALS))
        .tooltip(dashboard.DashboardCursorSync.CROSSHAIR)
        .editable()
    )


def _with_common(panel: cogbuilder.Builder[dashboard.Panel], description: str, unit: str,
                 height: int, width: int) -> cogbuilder.Builder[dashboard.Panel]:
    return (
        panel.description(description)  # type: ignore[attr-defined]
        .datasource(DATASOURCE_REF)
        .unit(unit)
        .height(height)
        .span(width)
    )


def stat_panel(description: str, unit: str, width: int = 6, height: int = 4, *,
               columns: dict[str, str] | None = None) -> stat.Panel:
    """One number for the whole range, or one per column, named, when `columns` maps
    column names to units where they differ from `unit`."""
    panel = (
        stat.Panel()
        .graph_mode(common.BigValueGraphMode.NONE)
        .color_mode(common.BigValueColorMode.NONE)
        .text_mode(common.BigValueTextMode.VALUE_AND_NAME if columns
                   else common.BigValueTextMode.VALUE)
        .reduce_options(common_builder.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
    )
    for column, column_unit in (columns or {}).items():
        panel.override_by_name(column, [dashboard.DynamicConfigValue(id_val="unit",
                                                                     value=column_unit)])
    return _with_common(panel, description, unit, height, width)  # type: ignore[return-value]


def daily_series_panel(description: str, unit: str, *, stacked: bool,
                       width: int = 12) -> timeseries.Panel:
    """Bars per UTC day; each bar covers its day rather than straddling midnight."""
    panel = (
        timeseries.Panel()
        .draw_style(common.GraphDrawStyle.BARS)
        .bar_alignment(common.BarAlignment.AFTER)
        .fill_opacity(80)
        .line_width(1)
        .show_points(common.VisibilityMode.NEVER)
        .stacking(common_builder.StackingConfig().mode(
            common.StackingMode.NORMAL if stacked else common.StackingMode.NONE))
        .legend(common_builder.VizLegendOptions()
                .display_mode(common.LegendDisplayMode.TABLE)
                .placement(common.LegendPlacement.RIGHT)
                .show_legend(True)
                .calcs(["sum"]))
        .tooltip(common_builder.VizTooltipOptions()
                 .mode(common.TooltipDisplayMode.MULTI)
                 .sort(common.SortOrder.DESCENDING))
    )
    return _with_common(panel, description, unit, 9, width)  # type: ignore[return-value]


def ranking_panel(description: str, unit: str, *, width: int = 8,
                  max_value: float | None = None) -> bargauge.Panel:
    """One horizontal bar per row of the result, largest first."""
    panel = (
        bargauge.Panel()
        .orientation(common.VizOrientation.HORIZONTAL)
        .display_mode(common.BarGaugeDisplayMode.BASIC)
        .value_mode(common.BarGaugeValueMode.TEXT)
        .show_unfilled(True)
        .min_viz_height(16)
        .reduce_options(common_builder.ReduceDataOptions().values(True).calcs([]).limit(50))
        .min(0)
    )
    if max_value is not None:
        panel.max(max_value)
    return _with_common(panel, description, unit, 9, width)  # type: ignore[return-value]


def stacked_bars_panel(description: str, unit: str, x_field: str,
                       width: int = 12) -> barchart.Panel:
    """Horizontal stacked bars, one per row, split into the numeric columns."""
    panel = (
        barchart.Panel()
        .x_field(x_field)
        .orientation(common.VizOrientation.HORIZONTAL)
        .stacking(common.StackingMode.NORMAL)
        .show_value(common.VisibilityMode.NEVER)
        .fill_opacity(80)
        .legend(common_builder.VizLegendOptions()
                .display_mode(common.LegendDisplayMode.LIST)
                .placement(common.LegendPlacement.BOTTOM)
                .show_legend(True))
    )
    return _with_common(panel, description, unit, 9, width)  # type: ignore[return-value]


def table_panel(description: str, unit: str, columns: dict[str, str],
                sort_by: str, width: int = 24, height: int = 10) -> table.Panel:
    """A table; `columns` maps column names to units where they differ from `unit`."""
    panel = (
        table.Panel()
        .cell_height(common.TableCellHeight.SM)
        .align(common.FieldTextAlignment.AUTO)
        .sort_by([common_builder.TableSortByFieldState().display_name(sort_by).desc(True)])
        .show_header(True)
    )
    for column, column_unit in columns.items():
        panel.override_by_name(column, [dashboard.DynamicConfigValue(id_val="unit",
                                                                     value=column_unit)])
    return _with_common(panel, description, unit, height, width)  # type: ignore[return-value]


def show_null_as(panel: cogbuilder.Builder[dashboard.Panel], columns: list[str],
                 text: str) -> None:
    """Display NULL in the given columns as `text` (e.g. a missing budget as unlimited)."""
    mapping = dashboard.SpecialValueMap(options=dashboard.DashboardSpecialValueMapOptions(
        match=dashboard.SpecialValueMatch.NULL,
        result=dashboard.ValueMappingResult(text=text)))
    for column in columns:
        panel.override_by_name(column, [  # type: ignore[attr-defined]
            dashboard.DynamicConfigValue(id_val="mappings", value=[mapping])])


def utilisation_thresholds(panel: cogbuilder.Builder[dashboard.Panel]) -> None:
    """Green below 80 % of the budget, orange from 80 %, red from 100 % (blocked)."""
    panel.thresholds(  # type: ignore[attr-defined]
        dashboard_builder.ThresholdsConfig()
        .mode(dashboard.ThresholdsMode.ABSOLUTE)
        .steps([dashboard.Threshold(value=None, color="green"),
                dashboard.Threshold(value=0.8, color="orange"),
                dashboard.Threshold(value=1.0, color="red")])
    )
