"""Every SQL query the spend dashboards make Grafana run, as Grafana would send it.

The load script and the least-privilege test take their queries from here, so both
follow the dashboards: each panel target and query variable of `spend_dashboards`,
expanded by its Grafana macro expander for a time range, with every variable at the
value the dashboard opens with (All for team, key and model).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import spend_dashboards
from spend_dashboards import grafana_sql

DASHBOARD_DEFAULT_RANGE = timedelta(days=30)
"""How far back the dashboards look when opened (their `time.from` is now-30d)."""


@dataclass(frozen=True)
class PanelQuery:
    """One query Grafana sends: a panel target or a query variable."""

    title: str
    """`<dashboard uid> / <panel title> / <refId>`; a variable's panel title is `$name`."""
    sql: str
    """Ready to run: variables and macros expanded."""


@dataclass(frozen=True)
class TimeRange:
    """The dashboard's time picker, as Grafana passes it to macros (naive UTC)."""

    start: datetime
    end: datetime

    @classmethod
    def ending(cls, end: datetime | None = None,
               length: timedelta = DASHBOARD_DEFAULT_RANGE) -> TimeRange:
        """The range of `length` (default the dashboards' 30 days) ending at `end` (now)."""
        end = end or datetime.now(timezone.utc).replace(tzinfo=None)
        return cls(start=end - length, end=end)


def _opening_selections(model: dict[str, Any]) -> dict[str, grafana_sql.Selection]:
    # Grafana first runs a dashboard with each variable's saved `current` value.
    return {
        variable["name"]: grafana_sql.Selection.from_model(
            variable, variable["current"]["value"]
        )
        for variable in model["templating"]["list"]
        if variable["type"] in ("query", "custom")
    }


def panel_queries(time_range: TimeRange) -> list[PanelQuery]:
    """Every panel target and query variable of every dashboard, expanded for the range."""
    models = {model["uid"]: model for model in spend_dashboards.build_all().values()}
    selections = {uid: _opening_selections(model) for uid, model in models.items()}
    return [
        PanelQuery(
            title=f"{record.dashboard_uid} / {record.panel_title} / {record.ref_id}",
            sql=grafana_sql.expand(
                record.sql, time_range.start, time_range.end, selections[record.dashboard_uid]
            ),
        )
        for record in spend_dashboards.queries()
    ]
