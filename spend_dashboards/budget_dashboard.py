"""The LiteLLM budgets dashboard: what each key and team may still spend this period."""

from __future__ import annotations

from spend_dashboards import budget_sql
from spend_dashboards.panels import (
    COUNT,
    SPEND,
    TIMESTAMP,
    UNLIMITED,
    UTILISATION,
    DashboardDraft,
    new_dashboard,
    ranking_panel,
    show_null_as,
    stat_panel,
    table_panel,
    utilisation_thresholds,
)
from spend_dashboards.variables import (
    KEY_SQL,
    TEAM_SQL,
    datasource_variable,
    key_variable,
    team_variable,
)

UID = "litellm-budgets"
FILE_NAME = "litellm-budgets.json"

CURRENT_STATE = (" Shows LiteLLM's budget state now; the dashboard's time range does not "
                 "change it.")
KEY_BUDGET_RULE = (" A key's budget is its max_budget, else the max_budget of its "
                   "LiteLLM_BudgetTable row (budget_id), plus a temporary increase "
                   "(temp_budget_increase in its metadata) until its temp_budget_expiry; "
                   "keys with neither budget are unlimited. Expired keys are left out.")


def build(datasource_uid: str) -> DashboardDraft:
    """The budgets dashboard on the given datasource, with the records of its queries."""
    draft = DashboardDraft(UID, new_dashboard(
        UID, "LiteLLM budgets",
        "Budgets LiteLLM enforces on keys and teams: spend this period, what is left, and "
        "when it resets."))
    board = draft.builder

    board.with_variable(datasource_variable(datasource_uid))
    board.with_variable(draft.variable(team_variable(), "team", TEAM_SQL))
    board.with_variable(draft.variable(key_variable(), "key", KEY_SQL))

    draft.row("Key budgets")
    draft.panel(
        stat_panel("Keys whose spend this period has reached their budget; LiteLLM rejects "
                   "their requests until the next reset." + KEY_BUDGET_RULE + CURRENT_STATE,
                   COUNT, width=4, height=9),
        "Keys at or over budget", budget_sql.KEYS_OVER_BUDGET)
    closest_keys = ranking_panel(
        "The ten keys that have used the largest share of their budget this period; "
        "over 100 % means over budget." + KEY_BUDGET_RULE + CURRENT_STATE,
        UTILISATION, width=20, max_value=1)
    utilisation_thresholds(closest_keys)
    draft.panel(closest_keys, "Keys closest to their budget",
                budget_sql.KEYS_CLOSEST_TO_BUDGET)
    key_table = table_panel(
        "Each key's budget, where it comes from (the key itself or a budget_id, '+ "
        "temporary increase' while one applies), its spend this period "
        "(LiteLLM_VerificationToken.spend, set back to 0 at each reset), what remains "
        "(negative when over budget), the share used, how often and when it next resets "
        "(on the key's own budget_duration when it has one, else with its "
        "LiteLLM_BudgetTable row, else never), and until when a temporary increase "
        "applies. An increase that is not a number, or an expiry that is not an ISO-8601 "
        "date and time, adds nothing: the key shows its base budget, though LiteLLM "
        "fails its requests' authentication. Keys show by alias, else by masked name, "
        "never by their hash." + KEY_BUDGET_RULE + CURRENT_STATE, SPEND,
        {"Utilisation": UTILISATION, "Next reset": TIMESTAMP, "Increase until": TIMESTAMP},
        sort_by="Utilisation", height=12)
    show_null_as(key_table, ["Budget", "Remaining"], UNLIMITED)
    show_null_as(key_table, ["Utilisation"], "no budget")
    draft.panel(key_table, "Key budgets", budget_sql.KEY_BUDGETS)

    draft.row("Team budgets")
    draft.panel(
        stat_panel("Teams whose spend this period has reached their max_budget; LiteLLM "
                   "rejects their keys' requests until the next reset." + CURRENT_STATE,
                   COUNT, width=4, height=9),
        "Teams at or over budget", budget_sql.TEAMS_OVER_BUDGET)
    closest_teams = ranking_panel(
        "The ten teams that have used the largest share of their max_budget this period."
        + CURRENT_STATE, UTILISATION, width=20, max_value=1)
    utilisation_thresholds(closest_teams)
    draft.panel(closest_teams, "Teams closest to their budget",
                budget_sql.TEAMS_CLOSEST_TO_BUDGET)
    team_table = table_panel(
        "Each team's max_budget, its spend this period (LiteLLM_TeamTable.spend, set back "
        "to 0 at each reset), what remains, the share used, and the next reset. Teams "
        "without max_budget are unlimited." + CURRENT_STATE, SPEND,
        {"Utilisation": UTILISATION, "Next reset": TIMESTAMP}, sort_by="Utilisation",
        height=10)
    show_null_as(team_table, ["Budget", "Remaining"], UNLIMITED)
    show_null_as(team_table, ["Utilisation"], "no budget")
    draft.panel(team_table, "Team budgets", budget_sql.TEAM_BUDGETS)

    return draft
