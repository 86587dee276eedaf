"""What grafana_ro holds only through PUBLIC, and the optional revoke that takes each away.

PostgreSQL gives PUBLIC EXECUTE on new functions, TEMPORARY and CONNECT on new databases;
every revoke here is one the README offers the operator, and each test shows LiteLLM and
the dashboards keep working after it.
"""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors, sql

from pgsandbox.litellm_schema import LiteLLMDatabase

LITELLM_TRIGGER_FUNCTION = "litellm_bump_mcp_catalog_revision"
"""LiteLLM's one function: a statement trigger on LiteLLM_MCPServerTable."""

# A statement-level trigger fires once per statement, even one that touches no row.
WRITE_THAT_FIRES_THE_TRIGGER = 'UPDATE "LiteLLM_MCPServerTable" SET alias = alias'
MCP_CATALOG_REVISIONS = 'SELECT param_name, reload_revision FROM "LiteLLM_Config"'


def test_revoking_public_execute_refuses_the_trigger_function_but_litellm_writes_fire_it(
    litellm_db: LiteLLMDatabase,
) -> None:
    call = sql.SQL("SELECT {}()").format(sql.Identifier(LITELLM_TRIGGER_FUNCTION))
    with litellm_db.connect_app() as conn:
        # What the operator runs, as the database owner (LiteLLM's role).
        conn.execute(
            sql.SQL("REVOKE EXECUTE ON FUNCTION {}() FROM PUBLIC").format(
                sql.Identifier(LITELLM_TRIGGER_FUNCTION)
            )
        )

    with litellm_db.connect_grafana() as conn:
        grafana_may_execute = _may_execute(conn)
        with pytest.raises(errors.InsufficientPrivilege) as refused:
            conn.execute(call)
    with litellm_db.connect_app() as conn:
        litellm_may_execute = _may_execute(conn)
        conn.execute(WRITE_THAT_FIRES_THE_TRIGGER)
        revisions = conn.execute(MCP_CATALOG_REVISIONS).fetchall()

    assert grafana_may_execute == (False,)
    assert refused.value.sqlstate == "42501"
    assert refused.value.diag.message_primary == (
        f"permission denied for function {LITELLM_TRIGGER_FUNCTION}"
    )
    assert litellm_may_execute == (True,)
    assert revisions == [("mcp_catalog", 1)]


def test_firing_the_trigger_checks_no_execute_privilege(litellm_db: LiteLLMDatabase) -> None:
    """Even the owner's EXECUTE can go: PostgreSQL checks it at CREATE TRIGGER, not when firing."""
    with litellm_db.connect_app() as conn:
        conn.execute(
            sql.SQL("REVOKE EXECUTE ON FUNCTION {}() FROM PUBLIC, litellm").format(
                sql.Identifier(LITELLM_TRIGGER_FUNCTION)
            )
        )
        acl = conn.execute(
            "SELECT proacl::text[] FROM pg_proc WHERE proname = %s", (LITELLM_TRIGGER_FUNCTION,)
        ).fetchone()
        may_execute = _may_execute(conn)
        conn.execute(WRITE_THAT_FIRES_THE_TRIGGER)
        conn.execute('DELETE FROM "LiteLLM_MCPServerTable"')
        revisions = conn.execute(MCP_CATALOG_REVISIONS).fetchall()

    assert acl == ([],)
    assert may_execute == (False,)
    assert revisions == [("mcp_catalog", 2)]


def _may_execute(conn: psycopg.Connection) -> tuple[bool]:
    return conn.execute(
        "SELECT has_function_privilege(%s, 'EXECUTE')", (f"{LITELLM_TRIGGER_FUNCTION}()",)
    ).fetchone()
