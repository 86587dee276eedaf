"""What pg_read_all_data lets grafana_ro read beyond LiteLLM's tables, and what it does not.

pg_read_all_data grants SELECT on every table and view, system catalogs included; the
functions behind some views and the other sessions' activity stay closed to it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from psycopg import errors

from pgsandbox.litellm_schema import LiteLLMDatabase

ROLE_PASSWORDS = "SELECT rolname, rolpassword FROM pg_authid ORDER BY rolname"


def test_grafana_ro_reads_every_roles_scram_verifier(litellm_db: LiteLLMDatabase) -> None:
    with litellm_db.connect_superuser() as conn:
        expected = conn.execute(ROLE_PASSWORDS).fetchall()
    with litellm_db.connect_grafana() as conn:
        seen = conn.execute(ROLE_PASSWORDS).fetchall()
        shadow = conn.execute(
            "SELECT usename, passwd FROM pg_shadow WHERE passwd IS NOT NULL ORDER BY usename"
        ).fetchall()
    verifiers = {name: verifier for name, verifier in seen if verifier is not None}

    assert seen == expected
    assert sorted(verifiers) == ["grafana_ro", "litellm"]
    assert shadow == sorted(verifiers.items())
    # A verifier lets its reader test password guesses offline, 4096 PBKDF2 rounds each.
    assert verifiers["litellm"].startswith("SCRAM-SHA-256$4096:")
    assert _verifier_accepts(verifiers["litellm"], litellm_db.app.password)
    assert _verifier_accepts(verifiers["grafana_ro"], litellm_db.grafana.password)
    assert not _verifier_accepts(verifiers["litellm"], litellm_db.app.password + "x")


def test_grafana_ro_reads_user_mapping_options_from_the_catalog_not_the_view(
    litellm_db: LiteLLMDatabase,
) -> None:
    """LiteLLM defines no foreign server; one added later would show its passwords."""
    with litellm_db.connect_grafana() as conn:
        mappings_from_litellm = conn.execute("SELECT count(*) FROM pg_user_mapping").fetchone()
    with litellm_db.connect_superuser() as conn:
        conn.execute("CREATE FOREIGN DATA WRAPPER probe_wrapper")
        conn.execute("CREATE SERVER probe_server FOREIGN DATA WRAPPER probe_wrapper")
        conn.execute(
            "CREATE USER MAPPING FOR litellm SERVER probe_server"
            " OPTIONS (user 'remote', password 'remote-secret')"
        )

    with litellm_db.connect_grafana() as conn:
        catalog = conn.execute(
            "SELECT umuser::regrole::text, umoptions FROM pg_user_mapping"
        ).fetchall()
        view = conn.execute("SELECT usename, srvname, umoptions FROM pg_user_mappings").fetchall()

    assert mappings_from_litellm == (0,)
    assert catalog == [("litellm", ["user=remote", "password=remote-secret"])]
    assert view == [("litellm", "probe_server", None)]


def test_grafana_ro_reads_column_statistics_of_litellm_tables(
    litellm_db: LiteLLMDatabase,
) -> None:
    """pg_statistic holds sample values of tables grafana_ro can read in full anyway."""
    with litellm_db.connect_superuser() as conn:
        for number, model in enumerate(["gpt-4o"] * 6 + ["claude"] * 4):
            conn.execute(
                'INSERT INTO "LiteLLM_SpendLogs" (request_id, call_type, model, "startTime",'
                " \"endTime\") VALUES (%s, 'acompletion', %s, now(), now())",
                (f"req-{number}", model),
            )
    with litellm_db.connect_app() as conn:
        conn.execute('ANALYZE "LiteLLM_SpendLogs"')

    with litellm_db.connect_grafana() as conn:
        catalog = conn.execute(
            "SELECT s.stavalues1::text, s.stanumbers1 FROM pg_statistic s"
            " JOIN pg_attribute a ON a.attrelid = s.starelid AND a.attnum = s.staattnum"
            " WHERE s.starelid = '\"LiteLLM_SpendLogs\"'::regclass AND a.attname = 'model'"
        ).fetchall()
        view = conn.execute(
            "SELECT most_common_vals::text, most_common_freqs FROM pg_stats"
            " WHERE tablename = 'LiteLLM_SpendLogs' AND attname = 'model'"
        ).fetchall()

    assert catalog == [("{gpt-4o,claude}", [0.6, 0.4])]
    assert view == catalog


def test_grafana_ro_reads_large_objects_through_the_catalog_only(
    litellm_db: LiteLLMDatabase,
) -> None:
    """LiteLLM stores no large object; one stored later would be readable in pg_largeobject."""
    with litellm_db.connect_grafana() as conn:
        objects_from_litellm = conn.execute("SELECT count(*) FROM pg_largeobject").fetchone()
    with litellm_db.connect_app() as conn:
        oid = conn.execute("SELECT lo_from_bytea(0, 'large object of litellm')").fetchone()[0]

    with litellm_db.connect_grafana() as conn:
        pages = conn.execute(
            "SELECT data FROM pg_largeobject WHERE loid = %s", (oid,)
        ).fetchall()
        with pytest.raises(errors.InsufficientPrivilege) as refused:
            conn.execute("SELECT lo_get(%s)", (oid,))

    assert objects_from_litellm == (0,)
    assert pages == [(b"large object of litellm",)]
    assert refused.value.diag.message_primary == f"permission denied for large object {oid}"


@pytest.mark.parametrize(
    ("statement", "refusal"),
    [
        ("SELECT * FROM pg_hba_file_rules", "permission denied for function pg_hba_file_rules"),
        (
            "SELECT * FROM pg_file_settings",
            "permission denied for function pg_show_all_file_settings",
        ),
        (
            "SHOW config_file",
            'must be superuser or have privileges of pg_read_all_settings to examine'
            ' "config_file"',
        ),
    ],
    ids=["pg_hba_file_rules", "pg_file_settings", "config_file"],
)
def test_grafana_ro_cannot_read_the_servers_configuration(
    litellm_db: LiteLLMDatabase, statement: str, refusal: str
) -> None:
    with litellm_db.connect_grafana() as conn:
        with pytest.raises(errors.InsufficientPrivilege) as refused:
            conn.execute(statement)

    assert refused.value.diag.message_primary == refusal


def test_grafana_ro_cannot_read_another_roles_queries(litellm_db: LiteLLMDatabase) -> None:
    with litellm_db.connect_app() as app:
        pid = app.execute("SELECT pg_backend_pid()").fetchone()[0]
        app.execute("SELECT 'a query of litellm'")
        with litellm_db.connect_grafana() as conn:
            activity = conn.execute(
                "SELECT usename, query, state, client_addr FROM pg_stat_activity WHERE pid = %s",
                (pid,),
            ).fetchall()

    assert activity == [("litellm", "<insufficient privilege>", None, None)]


def _verifier_accepts(verifier: str, password: str) -> bool:
    """Whether a SCRAM-SHA-256 verifier was made from `password` (RFC 5802, RFC 7677)."""
    iterations_and_salt, keys = verifier.removeprefix("SCRAM-SHA-256$").split("$")
    iterations, salt = iterations_and_salt.split(":")
    stored_key = keys.split(":")[0]

    # The passwords tested here are already in SASLprep's normal form.
    salted = hashlib.pbkdf2_hmac(
        "sha256", password.encode(), base64.b64decode(salt), int(iterations)
    )
    client_key = hmac.digest(salted, b"Client Key", "sha256")
    return hmac.compare_digest(hashlib.sha256(client_key).digest(), base64.b64decode(stored_key))
