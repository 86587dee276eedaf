"""grafana_ro, created from the stack's managed-role entry, can read LiteLLM and do nothing else.

Every refusal is asserted by exception class, which psycopg maps one to one from the
SQLSTATE (InsufficientPrivilege is 42501), so a different failure fails the test.
"""

from __future__ import annotations

import hashlib

import psycopg
import pytest
from litellm_trigger import DIRECT_CALL, TRIGGER_FUNCTION, may_execute
from one_request_seed import seed_one_request
from psycopg import errors, sql

import spend_dashboards
from pgsandbox.litellm_schema import LiteLLMDatabase
from pgsandbox.panel_queries import TimeRange, panel_queries


# Statements grafana_ro must not be able to run, by the behaviour each would allow.
REFUSED_WITH_INSUFFICIENT_PRIVILEGE = {
    "insert_spend_log": (
        'INSERT INTO "LiteLLM_SpendLogs" (request_id, call_type, "startTime", "endTime")'
        " VALUES ('forged', 'acompletion', now(), now())"
    ),
    "update_key_spend": 'UPDATE "LiteLLM_VerificationToken" SET spend = 0',
    "delete_spend_logs": 'DELETE FROM "LiteLLM_SpendLogs"',
    "truncate_spend_logs": 'TRUNCATE "LiteLLM_SpendLogs"',
    "create_table_in_public": "CREATE TABLE public.grafana_scratch (i int)",
    "create_table_in_another_schema": "CREATE TABLE reporting.grafana_scratch (i int)",
    "create_view_in_another_schema": "CREATE VIEW reporting.grafana_scratch AS SELECT 1",
    "create_schema": "CREATE SCHEMA grafana_scratch",
    "alter_table": 'ALTER TABLE "LiteLLM_SpendLogs" ADD COLUMN grafana_scratch int',
    "drop_table": 'DROP TABLE "LiteLLM_SpendLogs"',
    "grant_role_membership": "GRANT pg_read_all_data TO litellm",
    "set_role_to_litellm": "SET ROLE litellm",
    "set_role_to_superuser": "SET ROLE postgres",
    "set_session_authorization_to_superuser": "SET SESSION AUTHORIZATION postgres",
    "copy_to_program": "COPY (SELECT 1) TO PROGRAM 'true'",
    "copy_from_server_file": "COPY \"LiteLLM_SpendLogs\" (request_id) FROM 'PG_VERSION'",
    "read_server_file": "SELECT pg_read_file('PG_VERSION')",
    "read_server_binary_file": "SELECT pg_read_binary_file('PG_VERSION')",
    "list_server_directory": "SELECT pg_ls_dir('.')",
    "import_server_file_as_large_object": "SELECT lo_import('/etc/hostname')",
    "create_trusted_extension": "CREATE EXTENSION pgcrypto",
    "create_untrusted_extension": "CREATE EXTENSION dblink",
    "replace_litellm_trigger_function": (
        f"CREATE OR REPLACE FUNCTION {TRIGGER_FUNCTION}() RETURNS trigger"
        " LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$"
    ),
    "fire_litellm_trigger_by_writing_its_table": (
        'UPDATE "LiteLLM_MCPServerTable" SET alias = alias'
    ),
    "raise_own_connection_limit": "ALTER ROLE grafana_ro CONNECTION LIMIT -1",
    "change_server_settings": "ALTER SYSTEM SET fsync = off",
}


@pytest.fixture
def reporting_schema(litellm_db: LiteLLMDatabase) -> LiteLLMDatabase:
    """The database with a second schema that LiteLLM's role owns, besides public."""
    with litellm_db.connect_app() as conn:
        conn.execute("CREATE SCHEMA reporting")
    return litellm_db


@pytest.mark.parametrize(
    "statement",
    list(REFUSED_WITH_INSUFFICIENT_PRIVILEGE.values()),
    ids=list(REFUSED_WITH_INSUFFICIENT_PRIVILEGE),
)
def test_grafana_ro_is_refused(reporting_schema: LiteLLMDatabase, statement: str) -> None:
    with reporting_schema.connect_grafana() as conn:
        with pytest.raises(errors.InsufficientPrivilege) as refused:
            conn.execute(statement)

    assert refused.value.sqlstate == "42501"


def test_grafana_ro_reads_every_litellm_table(litellm_db: LiteLLMDatabase) -> None:
    with litellm_db.connect_superuser() as conn:
        conn.execute(
            'INSERT INTO "LiteLLM_SpendLogs" (request_id, call_type, spend, "startTime",'
            " \"endTime\") VALUES ('req-1', 'acompletion', 0.25, now(), now())"
        )
        tables = [row[0] for row in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
        )]  # fmt: skip
        expected = {table: _count(conn, table) for table in tables}

    with litellm_db.connect_grafana() as conn:
        seen = {table: _count(conn, table) for table in tables}
        spend = conn.execute(
            "SELECT request_id, spend FROM \"LiteLLM_SpendLogs\""
        ).fetchall()

    assert len(tables) > 90 and "LiteLLM_SpendLogs" in tables
    assert seen == expected
    assert spend == [("req-1", 0.25)]


def test_every_panel_query_runs_as_grafana_ro_and_shows_no_token_hash(
    litellm_db: LiteLLMDatabase,
) -> None:
    token_hash = hashlib.sha256(b"sk-live-key").hexdigest()
    with litellm_db.connect_superuser() as conn:
        seed_one_request(conn, token_hash)
    queries = panel_queries(TimeRange.ending())

    cells: list[str] = []
    with litellm_db.connect_grafana() as conn:
        for query in queries:
            for row in conn.execute(query.sql).fetchall():
                cells += [str(value) for value in row]

    assert len(queries) == len(spend_dashboards.queries())
    assert "team-a-prod" in cells
    assert [cell for cell in cells if token_hash in cell] == []


def test_set_role_pg_read_all_data_gives_nothing_beyond_reading(
    litellm_db: LiteLLMDatabase,
) -> None:
    """grafana_ro may become the role it is a member of; that role only reads, as it does."""
    with litellm_db.connect_grafana() as conn:
        privileges_as_grafana_ro = _table_privileges_in_public(conn)
        conn.execute("SET ROLE pg_read_all_data")
        who = conn.execute("SELECT current_user, session_user").fetchone()
        privileges_as_member = _table_privileges_in_public(conn)
        spend_rows = conn.execute('SELECT count(*) FROM "LiteLLM_SpendLogs"').fetchone()
        memberships = conn.execute(
            "SELECT count(*) FROM pg_auth_members WHERE member = 'pg_read_all_data'::regrole"
        ).fetchone()
        with pytest.raises(errors.InsufficientPrivilege) as insert_refused:
            conn.execute(REFUSED_WITH_INSUFFICIENT_PRIVILEGE["insert_spend_log"])
        # SET ROLE checks the session user's memberships, so the detour reaches no further.
        with pytest.raises(errors.InsufficientPrivilege) as set_role_refused:
            conn.execute("SET ROLE litellm")

    tables = privileges_as_grafana_ro["SELECT"]
    assert who == ("pg_read_all_data", "grafana_ro")
    assert privileges_as_member == privileges_as_grafana_ro == {
        "SELECT": tables, "INSERT": 0, "UPDATE": 0, "DELETE": 0, "TRUNCATE": 0,
        "REFERENCES": 0, "TRIGGER": 0,
    }  # fmt: skip
    assert tables > 90
    assert spend_rows == (0,)
    assert memberships == (0,)
    assert insert_refused.value.diag.message_primary == (
        "permission denied for table LiteLLM_SpendLogs"
    )
    assert set_role_refused.value.diag.message_primary == 'permission denied to set role "litellm"'


def test_granting_table_privileges_grants_nothing(litellm_db: LiteLLMDatabase) -> None:
    """GRANT on a table it can only read is no error in PostgreSQL: it warns, changes nothing."""
    warnings: list[tuple[str | None, str | None]] = []
    with litellm_db.connect_superuser() as conn:
        acl_before = _spend_logs_acl(conn)

    with litellm_db.connect_grafana() as conn:
        conn.add_notice_handler(lambda d: warnings.append((d.sqlstate, d.message_primary)))
        conn.execute('GRANT INSERT, DELETE ON "LiteLLM_SpendLogs" TO PUBLIC')

    with litellm_db.connect_superuser() as conn:
        acl_after = _spend_logs_acl(conn)
        public_can_insert = conn.execute(
            "SELECT has_table_privilege('public', '\"LiteLLM_SpendLogs\"', 'INSERT')"
        ).fetchone()
    assert warnings == [("01007", 'no privileges were granted for "LiteLLM_SpendLogs"')]
    assert acl_after == acl_before
    assert public_can_insert == (False,)


def test_terminating_or_cancelling_another_roles_session_is_refused(
    litellm_db: LiteLLMDatabase,
) -> None:
    with litellm_db.connect_app() as app, litellm_db.connect_superuser() as superuser:
        targets = [
            app.execute("SELECT pg_backend_pid()").fetchone()[0],
            superuser.execute("SELECT pg_backend_pid()").fetchone()[0],
        ]
        with litellm_db.connect_grafana() as grafana:
            for pid in targets:
                for signal in ("pg_terminate_backend", "pg_cancel_backend"):
                    with pytest.raises(errors.InsufficientPrivilege):
                        grafana.execute(
                            sql.SQL("SELECT {}(%s)").format(sql.Identifier(signal)), (pid,)
                        )

        assert app.execute("SELECT 1").fetchone() == (1,)
        assert superuser.execute("SELECT 1").fetchone() == (1,)


def test_litellm_defines_one_function_a_security_invoker_trigger(
    litellm_db: LiteLLMDatabase,
) -> None:
    """A new LiteLLM function, above all a SECURITY DEFINER one, must be reviewed here."""
    with litellm_db.connect_superuser() as conn:
        functions = conn.execute(
            "SELECT p.proname, p.prorettype::regtype::text, p.prosecdef,"
            " pg_get_userbyid(p.proowner)"
            " FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')"
        ).fetchall()

    assert functions == [(TRIGGER_FUNCTION, "trigger", False, "litellm")]


def test_calling_litellm_trigger_function_directly_is_refused(
    litellm_db: LiteLLMDatabase,
) -> None:
    """PUBLIC holds EXECUTE on every new function, so the refusal is 0A000, not 42501.

    That is harmless: PostgreSQL refuses to run a function returning `trigger` anywhere but
    in a trigger, before its body starts, so the body's write to LiteLLM_Config never happens.
    """
    with litellm_db.connect_grafana() as conn:
        grafana_may_execute = may_execute(conn)
        with pytest.raises(errors.FeatureNotSupported) as refused:
            conn.execute(DIRECT_CALL)
    with litellm_db.connect_superuser() as conn:
        revisions = conn.execute(
            'SELECT param_name, reload_revision FROM "LiteLLM_Config"'
        ).fetchall()

    assert grafana_may_execute == (True,)
    assert revisions == []
    assert refused.value.sqlstate == "0A000"
    assert refused.value.diag.message_primary == (
        "trigger functions can only be called as triggers"
    )


def test_postgresql_14_public_schema_is_closed_by_the_documented_revoke(
    litellm_db: LiteLLMDatabase,
) -> None:
    """A database created on PostgreSQL 14 or older still lets PUBLIC create in public."""
    with litellm_db.connect_superuser() as conn:
        conn.execute("GRANT CREATE ON SCHEMA public TO PUBLIC")
    with litellm_db.connect_grafana() as conn:
        conn.execute("CREATE TABLE public.grafana_scratch (i int)")
    with litellm_db.connect_superuser() as conn:
        owner = conn.execute(
            "SELECT tableowner FROM pg_tables WHERE tablename = 'grafana_scratch'"
        ).fetchone()
        conn.execute("DROP TABLE public.grafana_scratch")

        # What an operator of such a database must run (for the README's security section).
        conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")

    with litellm_db.connect_grafana() as conn:
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("CREATE TABLE public.grafana_scratch (i int)")
    assert owner == ("grafana_ro",)


def _count(conn: psycopg.Connection, table: str) -> int:
    return conn.execute(
        sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
    ).fetchone()[0]


def _table_privileges_in_public(conn: psycopg.Connection) -> dict[str, int]:
    """How many of public's tables the current role holds each table privilege on."""
    return dict(conn.execute(
        "SELECT privilege, count(*) FILTER (WHERE has_table_privilege(c.oid, privilege))"
        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace,"
        " unnest(array['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES',"
        " 'TRIGGER']) AS privilege"
        " WHERE n.nspname = 'public' AND c.relkind = 'r' GROUP BY privilege"
    ).fetchall())  # fmt: skip


def _spend_logs_acl(conn: psycopg.Connection) -> tuple[object, ...] | None:
    # A NULL relacl means the owner's default privileges; a no-op GRANT may write them
    # out explicitly, which changes the column but not what anyone may do.
    return conn.execute(
        "SELECT coalesce(relacl, acldefault('r', relowner))::text[] FROM pg_class"
        " WHERE oid = '\"LiteLLM_SpendLogs\"'::regclass"
    ).fetchone()
