"""The dashboards' template variables: datasource, team, key, model and the spend breakdown.

Each query variable reads a small table (teams, keys) or walks an index (models), never
LiteLLM_SpendLogs, so opening a dashboard stays cheap however many requests LiteLLM logged.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dashboard_builder
from grafana_foundation_sdk.models import dashboard

from spend_dashboards.filters import ALL_VALUE, all_selected, key_name
from spend_dashboards.postgres_query import DATASOURCE_TYPE

DATASOURCE_VARIABLE = "datasource"

DATASOURCE_REF = dashboard.DataSourceRef(type_val=DATASOURCE_TYPE, uid="${datasource}")
"""What every panel, target and query variable points at: the datasource variable."""

TEAM_SQL = """SELECT t.team_id AS __value, coalesce(nullif(t.team_alias, ''), t.team_id) AS __text
FROM "LiteLLM_TeamTable" t"""

KEY_SQL = f"""SELECT DISTINCT {key_name('k')} AS key
FROM "LiteLLM_VerificationToken" k
WHERE ({all_selected('team')} OR k.team_id IN ($team))"""

MODEL_SQL = """WITH RECURSIVE models AS (
  -- Walks the index on model one distinct value at a time instead of reading every row.
  SELECT min(d.model) AS model FROM "LiteLLM_DailyUserSpend" d WHERE d.model > ''
  UNION ALL
  SELECT (SELECT min(d.model) FROM "LiteLLM_DailyUserSpend" d WHERE d.model > m.model)
  FROM models m
  WHERE m.model IS NOT NULL
)
SELECT model FROM models WHERE model IS NOT NULL"""

MODEL_SQL_FROM_SPEND_LOGS = """SELECT DISTINCT l.model
FROM "LiteLLM_SpendLogs" l
WHERE l.model > ''"""
"""The straightforward way to list models: every request LiteLLM logged."""

BREAKDOWN_OPTIONS = {"Model": "model", "Key": "key", "Team": "team"}


def datasource_variable(datasource_uid: str) -> dashboard_builder.DatasourceVariable:
    """Pick the PostgreSQL datasource; the stack's provisioned one is the default."""
    return (
        dashboard_builder.DatasourceVariable(DATASOURCE_VARIABLE)
        .label("Data source")
        .type(DATASOURCE_TYPE)
        .current(dashboard.VariableOption(selected=True, text=datasource_uid,
                                          value=datasource_uid))
        .hide(dashboard.VariableHide.DONT_HIDE)
    )


def _query_variable(name: str, label: str, sql: str,
                    description: str) -> dashboard_builder.QueryVariable:
    return (
        dashboard_builder.QueryVariable(name)
        .label(label)
        .description(description)
        .datasource(DATASOURCE_REF)
        .query(sql)
        .multi(True)
        .include_all(True)
        .all_value(ALL_VALUE)
        .current(dashboard.VariableOption(selected=True, text=["All"], value=["$__all"]))
        .refresh(dashboard.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(dashboard.VariableSort.ALPHABETICAL_CASE_INSENSITIVE_ASC)
    )


def team_variable() -> dashboard_builder.QueryVariable:
    """Teams from LiteLLM_TeamTable, shown by alias."""
    return _query_variable(
        "team", "Team", TEAM_SQL,
        "Teams from LiteLLM_TeamTable. A key counts for the team it belongs to now.")


def key_variable() -> dashboard_builder.QueryVariable:
    """Keys of the selected teams, by alias or masked name; keys sharing a name go together."""
    return _query_variable(
        "key", "Key", KEY_SQL,
        "Keys of the selected teams, by alias, else by masked name (sk-...abcd).")


def model_variable() -> dashboard_builder.QueryVariable:
    """Every model LiteLLM's daily table has recorded."""
    return _query_variable(
        "model", "Model", MODEL_SQL,
        "Models LiteLLM has recorded in its daily spend table.")


def breakdown_variable() -> dashboard_builder.CustomVariable:
    """What the spend-per-day series are split by: model, key or team."""
    query = ", ".join(f"{text} : {value}" for text, value in BREAKDOWN_OPTIONS.items())
    return (
        dashboard_builder.CustomVariable("breakdown")
        .label("Split spend by")
        .description("What the spend-per-day panel stacks: models, keys or teams.")
        .values(query)
        .current(dashboard.VariableOption(selected=True, text="Model", value="model"))
        .options([dashboard.VariableOption(selected=value == "model", text=text, value=value)
                  for text, value in BREAKDOWN_OPTIONS.items()])
    )
