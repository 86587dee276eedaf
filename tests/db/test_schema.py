"""LiteLLM's migrations build what the dashboards read; grafana_ro is created as CNPG would."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from pgsandbox.litellm_schema import (
    LiteLLMDatabase,
    cnpg_create_role_sql,
    migration_dirs,
    parse_cnpg_role,
    table_columns,
)

TIMESTAMP = "timestamp without time zone"

# The columns spend dashboards read, with the types information_schema reports for
# them; names are those of litellm_proxy_extras/schema.prisma.
DASHBOARD_COLUMNS: dict[str, dict[str, str]] = {
    "LiteLLM_SpendLogs": {
        "request_id": "text",
        "call_type": "text",
        "api_key": "text",
        "spend": "double precision",
        "total_tokens": "integer",
        "prompt_tokens": "integer",
        "completion_tokens": "integer",
        "startTime": TIMESTAMP,
        "endTime": TIMESTAMP,
        "model": "text",
        "model_group": "text",
        "custom_llm_provider": "text",
        "user": "text",
        "team_id": "text",
        "end_user": "text",
        "request_tags": "jsonb",
        "metadata": "jsonb",
        "status": "text",
    },
    "LiteLLM_VerificationToken": {
        "token": "text",
        "key_name": "text",
        "key_alias": "text",
        "spend": "double precision",
        "max_budget": "double precision",
        "budget_duration": "text",
        "budget_reset_at": TIMESTAMP,
        "expires": TIMESTAMP,
        "blocked": "boolean",
        "user_id": "text",
        "team_id": "text",
        "budget_id": "text",
    },
    "LiteLLM_BudgetTable": {
        "budget_id": "text",
        "max_budget": "double precision",
        "soft_budget": "double precision",
        "budget_duration": "text",
        "budget_reset_at": TIMESTAMP,
    },
    "LiteLLM_TeamTable": {
        "team_id": "text",
        "team_alias": "text",
        "spend": "double precision",
        "max_budget": "double precision",
        "budget_duration": "text",
        "budget_reset_at": TIMESTAMP,
        "blocked": "boolean",
    },
}
_DAILY_COLUMNS = {
    "date": "text",
    "api_key": "text",
    "model": "text",
    "model_group": "text",
    "custom_llm_provider": "text",
    "prompt_tokens": "bigint",
    "completion_tokens": "bigint",
    "spend": "double precision",
    "api_requests": "bigint",
    "successful_requests": "bigint",
    "failed_requests": "bigint",
}
DASHBOARD_COLUMNS["LiteLLM_DailyUserSpend"] = {"user_id": "text", **_DAILY_COLUMNS}
DASHBOARD_COLUMNS["LiteLLM_DailyTeamSpend"] = {"team_id": "text", **_DAILY_COLUMNS}
DASHBOARD_COLUMNS["LiteLLM_DailyTagSpend"] = {"tag": "text", **_DAILY_COLUMNS}


def test_every_migration_is_applied_in_directory_name_order(
    litellm_template: Any,
) -> None:
    names = [d.name for d in migration_dirs()]

    assert litellm_template.applied == names
    assert names == sorted(names)
    assert names[0] == "20250326162113_baseline"


def test_migrations_build_the_columns_the_dashboards_read(litellm_db: LiteLLMDatabase) -> None:
    actual = table_columns(litellm_db.superuser_dsn, list(DASHBOARD_COLUMNS))

    found = {
        table: {column: actual.get(table, {}).get(column) for column in columns}
        for table, columns in DASHBOARD_COLUMNS.items()
    }
    assert found == DASHBOARD_COLUMNS


def test_litellm_tables_belong_to_litellm_not_the_superuser(litellm_db: LiteLLMDatabase) -> None:
    with litellm_db.connect_superuser() as conn:
        owners = conn.execute(
            "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()

    assert owners == [("litellm",)]


def test_grafana_ro_has_exactly_the_attributes_of_the_managed_role(
    litellm_db: LiteLLMDatabase,
) -> None:
    with litellm_db.connect_superuser() as conn:
        attributes = conn.execute(
            "SELECT rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin,"
            " rolreplication, rolbypassrls, rolconnlimit, rolvaliduntil,"
            " shobj_description(oid, 'pg_authid')"
            " FROM pg_roles WHERE rolname = 'grafana_ro'"
        ).fetchall()
        memberships = conn.execute(
            "SELECT r.rolname, m.admin_option, pg_get_userbyid(m.grantor)"
            " FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid"
            " WHERE m.member = 'grafana_ro'::regrole"
        ).fetchall()
        password = conn.execute(
            "SELECT rolpassword FROM pg_authid WHERE rolname = 'grafana_ro'"
        ).fetchone()

    assert attributes == [
        (False, True, False, False, True, False, False, 5, None,
         "Read-only access for Grafana's LiteLLM spend dashboards (managed by Pulumi)"),
    ]  # fmt: skip
    assert memberships == [("pg_read_all_data", False, "postgres")]
    assert password is not None and password[0].startswith("SCRAM-SHA-256$4096:")


def test_grafana_ro_logs_in_over_tcp_with_its_password_only(litellm_db: LiteLLMDatabase) -> None:
    with litellm_db.connect_grafana() as conn:
        who = conn.execute("SELECT current_user, session_user").fetchone()
    assert who == ("grafana_ro", "grafana_ro")

    grafana = litellm_db.grafana
    wrong = litellm_db.server.dsn(grafana.name, grafana.password + "x", litellm_db.name)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(wrong)


def test_role_sql_is_what_cloudnativepg_issues(grafana_role: dict) -> None:
    statement = cnpg_create_role_sql(parse_cnpg_role(grafana_role), "SCRAM-SHA-256$4096:x")

    assert statement.as_string() == (
        'CREATE ROLE "grafana_ro" NOBYPASSRLS NOCREATEDB NOCREATEROLE INHERIT LOGIN'
        " NOREPLICATION NOSUPERUSER CONNECTION LIMIT 5 IN ROLE \"pg_read_all_data\""
        " PASSWORD 'SCRAM-SHA-256$4096:x'"
    )


def test_role_sql_applies_the_crd_defaults_to_omitted_fields() -> None:
    bare = parse_cnpg_role({"name": "bare", "disablePassword": True})
    statement = cnpg_create_role_sql(bare, None)

    assert statement.as_string() == (
        'CREATE ROLE "bare" NOBYPASSRLS NOCREATEDB NOCREATEROLE INHERIT NOLOGIN'
        " NOREPLICATION NOSUPERUSER CONNECTION LIMIT -1 PASSWORD NULL"
    )


def test_a_misspelt_role_field_is_refused_not_ignored(grafana_role: dict) -> None:
    misspelt = dict(grafana_role, createDB=False)

    with pytest.raises(ValueError, match=r"unknown field\(s\) \['createDB'\]"):
        parse_cnpg_role(misspelt)
