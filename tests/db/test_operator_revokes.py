"""What grafana_ro holds only through PUBLIC, and the optional revoke that takes each away.

PostgreSQL gives PUBLIC EXECUTE on new functions, TEMPORARY and CONNECT on new databases;
every revoke here is one the README offers the operator, and each test shows LiteLLM and
the dashboards keep working after it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import psycopg
import pytest
from litellm_trigger import DIRECT_CALL, TRIGGER_FUNCTION, may_execute, revoke_execute
from one_request_seed import seed_one_request
from psycopg import errors, sql

from pgsandbox.litellm_schema import LiteLLMDatabase, migration_dirs
from pgsandbox.panel_queries import TimeRange, panel_queries

TRIGGER_MIGRATION = "_add_mcp_catalog_revision_trigger"
"""The end of the name of the LiteLLM migration that creates the function and its trigger."""

# A statement-level trigger fires once per statement, even one that touches no row.
WRITE_THAT_FIRES_THE_TRIGGER = 'UPDATE "LiteLLM_MCPServerTable" SET alias = alias'
MCP_CATALOG_REVISIONS = 'SELECT param_name, reload_revision FROM "LiteLLM_Config"'

OTHER_DATABASES = ("postgres", "template1")
"""The databases besides LiteLLM's that accept connections on every PostgreSQL server."""


def test_revoking_public_execute_refuses_the_trigger_function_but_litellm_writes_fire_it(
    litellm_db: LiteLLMDatabase,
) -> None:
    with litellm_db.connect_app() as conn:
        # What the operator runs, as the function's owner (LiteLLM's role).
        revoke_execute(conn, "PUBLIC")

    with litellm_db.connect_grafana() as conn:
        grafana_may_execute = may_execute(conn)
        with pytest.raises(errors.InsufficientPrivilege) as refused:
            conn.execute(DIRECT_CALL)
    with litellm_db.connect_app() as conn:
        litellm_may_execute = may_execute(conn)
        conn.execute(WRITE_THAT_FIRES_THE_TRIGGER)
        revisions = conn.execute(MCP_CATALOG_REVISIONS).fetchall()

    assert grafana_may_execute == (False,)
    assert refused.value.sqlstate == "42501"
    assert refused.value.diag.message_primary == (
        f"permission denied for function {TRIGGER_FUNCTION}"
    )
    assert litellm_may_execute == (True,)
    assert revisions == [("mcp_catalog", 1)]


def test_public_execute_stays_revoked_when_litellms_trigger_migration_runs_again(
    litellm_db: LiteLLMDatabase,
) -> None:
    """The migration's CREATE OR REPLACE FUNCTION keeps the privileges the function has."""
    with litellm_db.connect_app() as conn:
        revoke_execute(conn, "PUBLIC")
        conn.execute(_trigger_migration().read_text())
        conn.execute(WRITE_THAT_FIRES_THE_TRIGGER)
        revisions = conn.execute(MCP_CATALOG_REVISIONS).fetchall()
    with litellm_db.connect_grafana() as conn:
        grafana_may_execute = may_execute(conn)

    assert grafana_may_execute == (False,)
    assert revisions == [("mcp_catalog", 1)]


def test_firing_the_trigger_checks_no_execute_but_creating_it_needs_the_owners(
    litellm_db: LiteLLMDatabase,
) -> None:
    """So the revoke is from PUBLIC only: without its own EXECUTE, LiteLLM's migration fails."""
    with litellm_db.connect_app() as conn:
        revoke_execute(conn, "PUBLIC, litellm")
        acl = conn.execute(
            "SELECT proacl::text[] FROM pg_proc WHERE proname = %s", (TRIGGER_FUNCTION,)
        ).fetchone()
        litellm_may_execute = may_execute(conn)
        conn.execute(WRITE_THAT_FIRES_THE_TRIGGER)
        conn.execute('DELETE FROM "LiteLLM_MCPServerTable"')
        revisions = conn.execute(MCP_CATALOG_REVISIONS).fetchall()
        with pytest.raises(errors.InsufficientPrivilege) as migration_refused:
            conn.execute(_trigger_migration().read_text())

    assert acl == ([],)
    assert litellm_may_execute == (False,)
    assert revisions == [("mcp_catalog", 2)]
    assert migration_refused.value.diag.message_primary == (
        f"permission denied for function {TRIGGER_FUNCTION}"
    )


def test_grafana_ro_creates_temporary_tables_through_public_temporary(
    litellm_db: LiteLLMDatabase,
) -> None:
    with litellm_db.connect_grafana() as conn:
        may_create = conn.execute(
            "SELECT has_database_privilege(current_database(), 'TEMPORARY')"
        ).fetchone()
        conn.execute("CREATE TEMPORARY TABLE grafana_scratch (i int)")
        conn.execute("INSERT INTO grafana_scratch VALUES (1)")
        table = conn.execute(
            "SELECT relpersistence, pg_get_userbyid(relowner),"
            " relnamespace = pg_my_temp_schema() FROM pg_class WHERE relname = 'grafana_scratch'"
        ).fetchall()

    assert may_create == (True,)
    assert table == [("t", "grafana_ro", True)]


def test_revoking_public_temporary_refuses_temp_tables_and_every_panel_query_still_runs(
    litellm_db: LiteLLMDatabase,
) -> None:
    with litellm_db.connect_superuser() as conn:
        seed_one_request(conn, hashlib.sha256(b"sk-live-key").hexdigest())
    queries = panel_queries(TimeRange.ending())
    with litellm_db.connect_grafana() as conn:
        rows_before = [conn.execute(query.sql).fetchall() for query in queries]

    with litellm_db.connect_app() as conn:
        # What the operator runs, as the database owner (LiteLLM's role).
        conn.execute(
            sql.SQL("REVOKE TEMPORARY ON DATABASE {} FROM PUBLIC").format(
                sql.Identifier(litellm_db.name)
            )
        )

    with litellm_db.connect_grafana() as conn:
        with pytest.raises(errors.InsufficientPrivilege) as refused:
            conn.execute("CREATE TEMPORARY TABLE grafana_scratch (i int)")
        rows_after = [conn.execute(query.sql).fetchall() for query in queries]
    with litellm_db.connect_app() as conn:
        # The owner keeps TEMPORARY through its own default privileges.
        conn.execute("CREATE TEMPORARY TABLE litellm_scratch (i int)")

    assert refused.value.sqlstate == "42501"
    assert refused.value.diag.message_primary == (
        f'permission denied to create temporary tables in database "{litellm_db.name}"'
    )
    assert rows_after == rows_before
    assert any(rows_before)


def test_grafana_ro_connects_to_postgres_and_template1_through_public_connect(
    litellm_db: LiteLLMDatabase,
) -> None:
    with litellm_db.connect_grafana() as conn:
        connectable = conn.execute(
            "SELECT datname FROM pg_database WHERE datallowconn"
            " AND has_database_privilege(datname, 'CONNECT')"
            " AND datname IN ('postgres', 'template0', 'template1', current_database())"
            " ORDER BY datname"
        ).fetchall()
    reached = {name: _current_database(litellm_db, name) for name in OTHER_DATABASES}
    with pytest.raises(psycopg.OperationalError) as template0_refused:
        _current_database(litellm_db, "template0")

    assert connectable == [(litellm_db.name,), ("postgres",), ("template1",)]
    assert reached == {"postgres": "postgres", "template1": "template1"}
    assert 'database "template0" is not currently accepting connections' in str(
        template0_refused.value
    )


def test_a_grafana_ro_session_on_template1_makes_create_database_fail(
    litellm_db: LiteLLMDatabase,
) -> None:
    """CREATE DATABASE copies template1 only while no one else is connected to it."""
    template1 = litellm_db.server.dsn(litellm_db.grafana.name, litellm_db.grafana.password,
                                      "template1")  # fmt: skip
    with psycopg.connect(template1):
        with psycopg.connect(litellm_db.server.superuser_dsn(), autocommit=True) as superuser:
            # PostgreSQL waits five seconds for the other session to leave, then gives up.
            with pytest.raises(errors.ObjectInUse) as refused:
                superuser.execute("CREATE DATABASE grafana_blocked")

    assert refused.value.sqlstate == "55006"
    assert refused.value.diag.message_primary == (
        'source database "template1" is being accessed by other users'
    )
    assert refused.value.diag.message_detail == "There is 1 other session using the database."


def test_revoking_public_connect_on_other_databases_leaves_grafana_ro_litellms_only(
    litellm_db: LiteLLMDatabase,
) -> None:
    revoke = sql.SQL("REVOKE CONNECT ON DATABASE {} FROM PUBLIC").format(
        sql.SQL(", ").join(map(sql.Identifier, OTHER_DATABASES))
    )
    log_start = litellm_db.server.log_path.stat().st_size
    with psycopg.connect(litellm_db.server.superuser_dsn(), autocommit=True) as superuser:
        # What the operator runs, as the superuser that owns both databases. They belong
        # to the whole test server, so PostgreSQL's default grant is put back afterwards.
        superuser.execute(revoke)
        try:
            refusals = {}
            for name in OTHER_DATABASES:
                with pytest.raises(psycopg.OperationalError) as refused:
                    _current_database(litellm_db, name)
                refusals[name] = str(refused.value)
            with litellm_db.connect_grafana() as conn:
                still_reads = conn.execute(
                    'SELECT current_database(), count(*) FROM "LiteLLM_SpendLogs"'
                ).fetchone()
        finally:
            superuser.execute(
                sql.SQL("GRANT CONNECT ON DATABASE {} TO PUBLIC").format(
                    sql.SQL(", ").join(map(sql.Identifier, OTHER_DATABASES))
                )
            )
    log = _log_since(litellm_db, log_start)

    for name in OTHER_DATABASES:
        assert f'FATAL:  permission denied for database "{name}"' in refusals[name]
        assert "DETAIL:  User does not have CONNECT privilege." in refusals[name]
        # libpq gives no SQLSTATE for a refused connection; the server's log line has it.
        assert f'42501 grafana_ro@{name} FATAL:  permission denied for database "{name}"' in log
    assert still_reads == (litellm_db.name, 0)


def _trigger_migration() -> Path:
    return next(
        d / "migration.sql" for d in migration_dirs() if d.name.endswith(TRIGGER_MIGRATION)
    )


def _current_database(db: LiteLLMDatabase, name: str) -> str:
    with psycopg.connect(db.server.dsn(db.grafana.name, db.grafana.password, name)) as conn:
        return conn.execute("SELECT current_database()").fetchone()[0]


def _log_since(db: LiteLLMDatabase, offset: int) -> str:
    with db.server.log_path.open("rb") as log:
        log.seek(offset)
        return log.read().decode(errors="replace")
