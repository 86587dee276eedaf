"""The managed role's connection limit holds on a real server, for grafana_ro only."""

from __future__ import annotations

import time
from contextlib import ExitStack
from typing import Any

import psycopg
import pytest

from pgsandbox.litellm_schema import LiteLLMDatabase
from settings import load_settings

REFUSAL = 'FATAL:  too many connections for role "grafana_ro"'


def test_connection_past_the_limit_is_refused_while_litellm_still_connects(
    litellm_db: LiteLLMDatabase, grafana_role: dict[str, Any]
) -> None:
    limit = grafana_role["connectionLimit"]
    log_start = litellm_db.server.log_path.stat().st_size

    with ExitStack() as held:
        sessions = [held.enter_context(litellm_db.connect_grafana()) for _ in range(limit)]
        answers = [conn.execute("SELECT 1").fetchone() for conn in sessions]
        with pytest.raises(psycopg.OperationalError) as refused:
            psycopg.connect(litellm_db.grafana_dsn)
        with litellm_db.connect_app() as app:
            app_user = app.execute("SELECT current_user").fetchone()
    log = _log_since(litellm_db, log_start)

    assert limit == 5
    assert answers == [(1,)] * limit
    assert REFUSAL in str(refused.value)
    # libpq gives no SQLSTATE for a failed connection; the server's log line has it.
    assert f"53300 grafana_ro@{litellm_db.name} {REFUSAL}" in log
    assert app_user == ("litellm",)


def test_the_limit_counts_sessions_in_every_database(
    litellm_db: LiteLLMDatabase, grafana_role: dict[str, Any]
) -> None:
    other_database = litellm_db.server.dsn(
        litellm_db.grafana.name, litellm_db.grafana.password, "postgres"
    )

    with ExitStack() as held:
        for _ in range(grafana_role["connectionLimit"]):
            held.enter_context(litellm_db.connect_grafana())
        with pytest.raises(psycopg.OperationalError, match="too many connections for role"):
            psycopg.connect(other_database)


def test_a_closed_session_frees_its_slot(
    litellm_db: LiteLLMDatabase, grafana_role: dict[str, Any]
) -> None:
    with ExitStack() as held:
        sessions = [
            held.enter_context(litellm_db.connect_grafana())
            for _ in range(grafana_role["connectionLimit"])
        ]
        sessions[0].close()
        # The server process of a closed session exits asynchronously; until it has,
        # it still counts, so the retry is bounded and no timing is asserted.
        replacement = _connect_within(litellm_db.grafana_dsn, seconds=10)
        held.enter_context(replacement)

        assert replacement.execute("SELECT current_user").fetchone() == ("grafana_ro",)


def test_grafanas_default_pool_fits_inside_the_limit(
    litellm_db: LiteLLMDatabase, grafana_role: dict[str, Any]
) -> None:
    pool = load_settings({}, gcp_project="pgsandbox-tests").max_open_conns

    with ExitStack() as held:
        sessions = [held.enter_context(litellm_db.connect_grafana()) for _ in range(pool)]
        answers = [conn.execute("SELECT 1").fetchone() for conn in sessions]

    assert pool == grafana_role["connectionLimit"]
    assert answers == [(1,)] * pool


def _log_since(db: LiteLLMDatabase, offset: int) -> str:
    with db.server.log_path.open("rb") as log:
        log.seek(offset)
        return log.read().decode(errors="replace")


def _connect_within(dsn: str, seconds: float) -> psycopg.Connection:
    deadline = time.monotonic() + seconds
    while True:
        try:
            return psycopg.connect(dsn)
        except psycopg.OperationalError as error:
            if "too many connections" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)
