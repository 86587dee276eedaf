"""LiteLLM's one function, the trigger that the least-privilege and revoke tests probe."""

from __future__ import annotations

import psycopg
from psycopg import sql

TRIGGER_FUNCTION = "litellm_bump_mcp_catalog_revision"
"""LiteLLM's one function: a statement trigger on LiteLLM_MCPServerTable."""

DIRECT_CALL = sql.SQL("SELECT {}()").format(sql.Identifier(TRIGGER_FUNCTION))
"""Calling the function outside a trigger, as any login role may try."""


def may_execute(conn: psycopg.Connection) -> tuple[bool]:
    """Whether the connected role holds EXECUTE on the function."""
    return conn.execute(
        "SELECT has_function_privilege(%s, 'EXECUTE')", (f"{TRIGGER_FUNCTION}()",)
    ).fetchone()


def revoke_execute(conn: psycopg.Connection, grantees: str) -> None:
    """The operator's revoke of EXECUTE on the function from `grantees` (SQL role list)."""
    conn.execute(
        sql.SQL("REVOKE EXECUTE ON FUNCTION {}() FROM ").format(sql.Identifier(TRIGGER_FUNCTION))
        + sql.SQL(grantees)
    )
