"""The SQL Grafana runs as grafana_ro: the source the load script and tests draw from.

`panel_queries()` is the one place to point at the dashboards' own panel and variable
SQL once the `spend_dashboards` package provides it (with its Grafana macro expander).
Until then it returns STAND-IN queries written here: a handful of representative
spend aggregates over LiteLLM's tables, in the shape Grafana's PostgreSQL datasource
runs them (macros expanded to literal UTC timestamps). They are not the dashboards.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

QUERY_SOURCE = "stand-in spend aggregates (pgsandbox.panel_queries), not the dashboards' SQL"
"""What `panel_queries()` returns, for reports to state which queries they ran."""


@dataclass(frozen=True)
class PanelQuery:
    """One query Grafana sends: a panel target or a template variable."""

    title: str
    sql: str
    """Ready to run: Grafana macros already expanded."""


@dataclass(frozen=True)
class TimeRange:
    """The dashboard's time picker, as Grafana passes it to macros (UTC)."""

    start: datetime
    end: datetime

    @classmethod
    def last(cls, hours: float, end: datetime | None = None) -> TimeRange:
        """The range ending at `end` (default now, UTC) and `hours` long."""
        end = end or datetime.now(timezone.utc).replace(tzinfo=None)
        return cls(start=end - timedelta(hours=hours), end=end)


_STAND_IN_TEMPLATES: tuple[tuple[str, str], ...] = (
    ("Spend over time (stand-in)",
     'SELECT $__timeGroupAlias("startTime", 3600), sum(spend) AS spend'
     ' FROM "LiteLLM_SpendLogs" WHERE $__timeFilter("startTime") GROUP BY 1 ORDER BY 1'),
    ("Top models by spend (stand-in)",
     'SELECT model_group AS model, sum(spend) AS spend, count(*) AS requests'
     ' FROM "LiteLLM_SpendLogs" WHERE $__timeFilter("startTime")'
     " GROUP BY 1 ORDER BY 2 DESC LIMIT 10"),
    ("Top keys by spend (stand-in)",
     "SELECT coalesce(v.key_alias, v.key_name, 'unknown key') AS key, sum(s.spend) AS spend"
     ' FROM "LiteLLM_SpendLogs" s LEFT JOIN "LiteLLM_VerificationToken" v'
     ' ON v.token = s.api_key WHERE $__timeFilter(s."startTime")'
     " GROUP BY 1 ORDER BY 2 DESC LIMIT 20"),
    ("Spend by team (stand-in)",
     "SELECT coalesce(t.team_alias, s.team_id, 'no team') AS team, sum(s.spend) AS spend"
     ' FROM "LiteLLM_SpendLogs" s LEFT JOIN "LiteLLM_TeamTable" t ON t.team_id = s.team_id'
     ' WHERE $__timeFilter(s."startTime") GROUP BY 1 ORDER BY 2 DESC'),
    ("Tokens and failures by model (stand-in)",
     "SELECT model_group AS model, sum(prompt_tokens) AS prompt_tokens,"
     " sum(completion_tokens) AS completion_tokens,"
     " count(*) FILTER (WHERE status = 'failure') AS failed_requests"
     ' FROM "LiteLLM_SpendLogs" WHERE $__timeFilter("startTime") GROUP BY 1 ORDER BY 1'),
    ("Daily team spend (stand-in)",
     'SELECT date, sum(spend) AS spend FROM "LiteLLM_DailyTeamSpend"'
     " WHERE date BETWEEN to_char($__timeFrom()::timestamp, 'YYYY-MM-DD')"
     " AND to_char($__timeTo()::timestamp, 'YYYY-MM-DD') GROUP BY date ORDER BY date"),
    ("Team budget use (stand-in)",
     "SELECT coalesce(team_alias, team_id) AS team, spend, max_budget, budget_reset_at"
     ' FROM "LiteLLM_TeamTable" WHERE max_budget > 0'
     " ORDER BY spend / max_budget DESC LIMIT 20"),
    ("Variable: model (stand-in)",
     'SELECT DISTINCT model_group FROM "LiteLLM_DailyTeamSpend"'
     " WHERE model_group IS NOT NULL ORDER BY 1"),
)  # fmt: skip


def expand_stand_in_macros(template: str, time_range: TimeRange) -> str:
    """Expand the few Grafana macros the stand-ins use, as Grafana's datasource does."""
    start = "'" + time_range.start.strftime("%Y-%m-%dT%H:%M:%SZ") + "'"
    end = "'" + time_range.end.strftime("%Y-%m-%dT%H:%M:%SZ") + "'"
    text = re.sub(r"\$__timeFilter\(([^)]+)\)", rf"\1 BETWEEN {start} AND {end}", template)
    text = re.sub(
        r"\$__timeGroupAlias\(([^,]+), (\d+)\)",
        r'floor(extract(epoch from \1)/\2)*\2 AS "time"',
        text,
    )
    return text.replace("$__timeFrom()", start).replace("$__timeTo()", end)


def stand_in_queries(time_range: TimeRange) -> list[PanelQuery]:
    """Representative spend queries, clearly not the dashboards', with macros expanded."""
    return [
        PanelQuery(title, expand_stand_in_macros(template, time_range))
        for title, template in _STAND_IN_TEMPLATES
    ]


def panel_queries(time_range: TimeRange) -> list[PanelQuery]:
    """Every panel and variable query Grafana runs as grafana_ro, macros expanded.

    This is the seam for the dashboards' real SQL: once `spend_dashboards` exposes its
    panel/variable queries and macro expander, return those here (and update
    QUERY_SOURCE) so the load script and the least-privilege test follow.
    """
    return stand_in_queries(time_range)
