"""LiteLLM spend dashboards for Grafana, generated with grafana-foundation-sdk.

`build_all()` returns every dashboard's JSON model by file name; `queries()` lists every
SQL query on them (panel targets and query variables), each with the straightforward
LiteLLM_SpendLogs query that gives the same answer where one exists; `grafana_sql.expand`
turns a query into the SQL Grafana would run for a given range and selection.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.cog.encoder import JSONEncoder

from spend_dashboards import budget_dashboard, spend_dashboard
from spend_dashboards.panels import DashboardDraft, QueryRecord
from spend_dashboards.postgres_query import register

DEFAULT_DATASOURCE_UID = "litellm-spend"
"""The uid the stack gives its PostgreSQL datasource unless configured otherwise."""

DASHBOARD_DIR = Path(__file__).resolve().parent.parent / "dashboards" / "litellm"
"""Where the generated files are committed, for the stack's ConfigMaps."""

_DASHBOARDS = {
    spend_dashboard.FILE_NAME: spend_dashboard.build,
    budget_dashboard.FILE_NAME: budget_dashboard.build,
}

__all__ = ["DASHBOARD_DIR", "DEFAULT_DATASOURCE_UID", "QueryRecord", "build_all", "queries",
           "render", "write_all"]

register()


def _drafts(datasource_uid: str) -> dict[str, DashboardDraft]:
    return {name: build(datasource_uid) for name, build in _DASHBOARDS.items()}


def build_all(datasource_uid: str = DEFAULT_DATASOURCE_UID) -> dict[str, dict[str, Any]]:
    """Every dashboard's JSON model by file name, with `datasource_uid` as the default."""
    return {
        name: json.loads(json.dumps(draft.builder.build(), cls=JSONEncoder))
        for name, draft in _drafts(datasource_uid).items()
    }


def queries(datasource_uid: str = DEFAULT_DATASOURCE_UID) -> list[QueryRecord]:
    """Every panel target and query variable of every dashboard, in dashboard order."""
    return [record for draft in _drafts(datasource_uid).values() for record in draft.records]


def render(model: dict[str, Any]) -> str:
    """A dashboard model as committed: sorted keys, two-space indent, trailing newline."""
    return json.dumps(model, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def write_all(folder: Path = DASHBOARD_DIR,
              datasource_uid: str = DEFAULT_DATASOURCE_UID) -> list[Path]:
    """Write every dashboard into `folder`; return the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, model in build_all(datasource_uid).items():
        path = folder / name
        path.write_text(render(model), encoding="utf-8")
        written.append(path)
    return written
