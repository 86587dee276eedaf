"""A panel target for Grafana's PostgreSQL datasource, for the foundation SDK.

grafana-foundation-sdk ships query types for Prometheus, Loki, Athena and others but none
for grafana-postgresql-datasource, so this module adds one: a `Dataquery` variant that
serialises to the JSON Grafana's SQL query editor saves, a builder for it, and a
registration so the SDK can read such targets back from a dashboard's JSON.
"""

from __future__ import annotations

import typing

from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import runtime as cogruntime
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.models import dashboard

DATASOURCE_TYPE = "grafana-postgresql-datasource"
"""The datasource plugin id the stack provisions."""

QueryFormat = typing.Literal["table", "time_series"]


class PostgresQuery(cogvariants.Dataquery):
    """One SQL target: raw SQL in code mode, returned as a table or as time series."""

    ref_id: str
    raw_sql: str
    format_val: QueryFormat
    datasource: dashboard.DataSourceRef | None

    def __init__(self, ref_id: str = "A", raw_sql: str = "", format_val: QueryFormat = "table",
                 datasource: dashboard.DataSourceRef | None = None) -> None:
        self.ref_id = ref_id
        self.raw_sql = raw_sql
        self.format_val = format_val
        self.datasource = datasource

    def to_json(self) -> dict[str, object]:
        """The target as Grafana stores it; `rawQuery` and code mode keep the SQL as typed."""
        payload: dict[str, object] = {
            "refId": self.ref_id,
            "rawSql": self.raw_sql,
            "format": self.format_val,
            "rawQuery": True,
            "editorMode": "code",
        }
        if self.datasource is not None:
            payload["datasource"] = self.datasource
        return payload

    @classmethod
    def from_json(cls, data: dict[str, typing.Any]) -> typing.Self:
        """Read a target back from a dashboard's JSON."""
        datasource = data.get("datasource")
        return cls(
            ref_id=data.get("refId", "A"),
            raw_sql=data.get("rawSql", ""),
            format_val=data.get("format", "table"),
            datasource=dashboard.DataSourceRef.from_json(datasource) if datasource else None,
        )


class PostgresQueryBuilder(cogbuilder.Builder[PostgresQuery]):
    """Builds a `PostgresQuery` the way the SDK's own query builders work."""

    def __init__(self) -> None:
        self._internal = PostgresQuery()

    def build(self) -> PostgresQuery:
        """The query built so far."""
        return self._internal

    def ref_id(self, ref_id: str) -> typing.Self:
        """The target's id within its panel (A, B, ...)."""
        self._internal.ref_id = ref_id
        return self

    def raw_sql(self, raw_sql: str) -> typing.Self:
        """The SQL, with Grafana's macros and `$variable` references."""
        self._internal.raw_sql = raw_sql
        return self

    def format(self, format_val: QueryFormat) -> typing.Self:
        """`time_series` for a time column plus values, `table` for anything else."""
        self._internal.format_val = format_val
        return self

    def datasource(self, datasource: dashboard.DataSourceRef) -> typing.Self:
        """The datasource the target runs on; the dashboards pass their variable."""
        self._internal.datasource = datasource
        return self


def register() -> None:
    """Let the SDK's JSON readers turn PostgreSQL targets back into `PostgresQuery`."""
    cogruntime.register_dataquery_variant(
        cogruntime.DataqueryConfig(identifier=DATASOURCE_TYPE,
                                   from_json_hook=PostgresQuery.from_json)
    )
