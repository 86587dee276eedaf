"""The LiteLLM spend dashboard: spend, tokens and requests over whole UTC days."""

from __future__ import annotations

from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.models import dashboard

from spend_dashboards import usage_sql
from spend_dashboards.panels import (
    COUNT,
    SPEND,
    TOKENS,
    UTILISATION,
    DashboardDraft,
    daily_series_panel,
    new_dashboard,
    ranking_panel,
    stacked_bars_panel,
    stat_panel,
    table_panel,
)
from spend_dashboards.usage_sql import from_daily_table, from_spend_logs
from spend_dashboards.variables import (
    KEY_SQL,
    MODEL_SQL,
    MODEL_SQL_FROM_SPEND_LOGS,
    TEAM_SQL,
    breakdown_variable,
    datasource_variable,
    key_variable,
    model_variable,
    team_variable,
)

UID = "litellm-spend"
FILE_NAME = "litellm-spend.json"

WHOLE_DAYS = (" Counts whole UTC days: a range that starts or ends inside a day counts "
              "that whole day (today up to now).")
"""Appended to every range panel's description: the range is widened to UTC days."""

SOURCES = (" From LiteLLM_DailyUserSpend, plus LiteLLM_SpendLogs for requests LiteLLM has "
           "not yet flushed into it.")


def build(datasource_uid: str) -> DashboardDraft:
    """The spend dashboard on the given datasource, with the records of its queries."""
    draft = DashboardDraft(UID, new_dashboard(
        UID, "LiteLLM spend",
        "What LiteLLM's gateway spent, on which models, keys and teams, per UTC day."))
    board = draft.builder

    board.with_variable(datasource_variable(datasource_uid))
    board.with_variable(draft.variable(team_variable(), "team", TEAM_SQL))
    board.with_variable(draft.variable(key_variable(), "key", KEY_SQL))
    board.with_variable(draft.variable(model_variable(), "model", MODEL_SQL,
                                       MODEL_SQL_FROM_SPEND_LOGS))
    board.with_variable(breakdown_variable())

    def range_panel(panel: cogbuilder.Builder[dashboard.Panel], title: str, body: str,
                    time_series: bool = False, twin_body: str | None = None) -> None:
        draft.panel(panel, title, from_daily_table(body),
                    straightforward=from_spend_logs(twin_body or body),
                    format_val="time_series" if time_series else "table")

    draft.row("Totals for the range")
    range_panel(
        stat_panel("For the range: spend in USD of every request, as LiteLLM priced it; "
                   "requests LiteLLM logged, failed ones included; the share of them that "
                   "failed (SpendLogs status 'failure'); prompt plus completion tokens. One "
                   "query computes all four, so a refresh reads the gateway's database "
                   "once for them." + WHOLE_DAYS + SOURCES, SPEND, width=24,
                   columns={"Requests": COUNT, "Failure rate": UTILISATION,
                            "Tokens": TOKENS}),
        "Totals", usage_sql.TOTALS)

    draft.row("Spend")
    range_panel(
        daily_series_panel("Spend per UTC day, stacked by the 'Split spend by' choice: "
                           "model, key or team. The ten largest get a series each; the "
                           "rest are summed as (others). A key counts for the team it "
                           "belongs to now." + WHOLE_DAYS + SOURCES, SPEND,
                           stacked=True, width=24),
        "Spend per day", usage_sql.SPEND_PER_DAY, time_series=True,
        twin_body=usage_sql.SPEND_PER_DAY_BY_PAIRS)
    range_panel(
        ranking_panel("Spend per model LiteLLM logged, largest first." + WHOLE_DAYS
                      + SOURCES, SPEND),
        "Spend by model", usage_sql.SPEND_BY_MODEL)
    range_panel(
        table_panel("Spend, requests and tokens per key, largest spend first. Keys show "
                    "by alias, else by masked name (sk-...abcd), never by their hash; "
                    "spend of keys no longer in LiteLLM_VerificationToken is summed as "
                    "(deleted or unknown key)." + WHOLE_DAYS + SOURCES, SPEND,
                    {"Requests": COUNT, "Tokens": TOKENS}, sort_by="Spend",
                    width=8, height=9),
        "Spend by key", usage_sql.SPEND_BY_KEY)
    range_panel(
        ranking_panel("Spend per team, largest first. A key counts for the team it belongs "
                      "to now; keys outside any team are summed as (no team), keys no "
                      "longer in LiteLLM_VerificationToken as (deleted or unknown key)."
                      + WHOLE_DAYS + SOURCES, SPEND),
        "Spend by team", usage_sql.SPEND_BY_TEAM)

    draft.row("Tokens and requests")
    range_panel(
        daily_series_panel("Prompt and completion tokens per UTC day." + WHOLE_DAYS + SOURCES,
                           TOKENS, stacked=True),
        "Tokens per day", usage_sql.TOKENS_PER_DAY, time_series=True)
    range_panel(
        stacked_bars_panel("Prompt and completion tokens per model, most tokens first."
                           + WHOLE_DAYS + SOURCES, TOKENS, x_field="Model"),
        "Tokens by model", usage_sql.TOKENS_BY_MODEL)
    range_panel(
        daily_series_panel("Requests per UTC day, split into succeeded and failed (SpendLogs "
                           "status 'failure')." + WHOLE_DAYS + SOURCES, COUNT, stacked=True),
        "Requests per day", usage_sql.REQUESTS_PER_DAY, time_series=True)
    range_panel(
        daily_series_panel("Share of each UTC day's requests that failed." + WHOLE_DAYS
                           + SOURCES, UTILISATION, stacked=False),
        "Failure rate per day", usage_sql.FAILURE_RATE_PER_DAY, time_series=True)
    range_panel(
        table_panel("What a thousand tokens (prompt plus completion) cost on each model: "
                    "the model's spend divided by its tokens. Models that logged no tokens "
                    "show no cost." + WHOLE_DAYS + SOURCES, SPEND, {"Tokens": TOKENS},
                    sort_by="Cost per 1K tokens", width=24, height=8),
        "Cost per 1K tokens by model", usage_sql.COST_PER_1K_TOKENS)

    return draft
