"""The benchmark's data is consistent the way LiteLLM's own writer would leave it.

The daily tables must equal the flushed part of the log grouped by the writer's key, or
the dashboards would be timed against data LiteLLM could never produce. Each expected
table here is written out again from LiteLLM_SpendLogs, independently of the fixture's
own rollup, on a small load (no timing happens in tests).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import psycopg
import pytest

from benchmarks.spend_fixture import FixtureShape, LoadReport, load_spend_fixture
from pgsandbox import ThrowawayPostgres
from pgsandbox.litellm_schema import clone_database, drop_database

SHAPE = FixtureShape(requests=10_000, keys=60, idle_keys=5, teams=8, users=15, days=4)
END = datetime(2026, 3, 2, 12, 0)
DATABASE = "litellm_spend_fixture"

# The writer's measures for one group, rounded so that summation order cannot matter.
MEASURES = """
    sum(prompt_tokens)::bigint, sum(completion_tokens)::bigint,
    sum((metadata -> 'usage_object' ->> 'cache_read_input_tokens')::bigint)::bigint,
    round(sum(spend)::numeric, 9), count(*)::bigint,
    count(*) FILTER (WHERE status IS DISTINCT FROM 'failure')::bigint,
    count(*) FILTER (WHERE status = 'failure')::bigint,
    sum(request_duration_ms)::bigint, count(request_duration_ms)::bigint
"""
DAILY_MEASURES = """
    prompt_tokens, completion_tokens, cache_read_input_tokens, round(spend::numeric, 9),
    api_requests, successful_requests, failed_requests, total_response_time_ms,
    timed_requests
"""
ENDPOINT = "CASE call_type WHEN 'aembedding' THEN '/embeddings' ELSE '/chat/completions' END"
FLUSHED = '"endTime" <= %(flushed_until)s'


@pytest.fixture(scope="module")
def loaded(pg_server: ThrowawayPostgres,
           litellm_template: Any) -> Iterator[tuple[psycopg.Connection, LoadReport]]:
    """One small load into a copy of the session's migrated database, read by every test."""
    with psycopg.connect(pg_server.superuser_dsn()) as conn:
        owner = conn.execute("SELECT pg_get_userbyid(datdba) FROM pg_database"
                             " WHERE datname = %s", (litellm_template.name,)).fetchone()[0]
    clone_database(pg_server.superuser_dsn(), litellm_template.name, DATABASE, owner=owner)
    try:
        report = load_spend_fixture(pg_server.superuser_dsn(DATABASE), SHAPE, end=END)
        with psycopg.connect(pg_server.superuser_dsn(DATABASE), autocommit=True) as conn:
            yield conn, report
    finally:
        drop_database(pg_server.superuser_dsn(), DATABASE)


def rows(conn: psycopg.Connection, query: str, report: LoadReport) -> list[tuple]:
    return sorted(conn.execute(query, {"flushed_until": report.flushed_until}).fetchall())


def test_daily_user_spend_is_the_flushed_log_grouped_by_user_date_key_model(loaded):
    conn, report = loaded
    expected = rows(conn, f"""
        SELECT "user", to_char("startTime", 'YYYY-MM-DD'), api_key, model,
               custom_llm_provider, '', {ENDPOINT}, {MEASURES}
        FROM "LiteLLM_SpendLogs" WHERE {FLUSHED}
        GROUP BY "user", 2, api_key, model, custom_llm_provider, {ENDPOINT}""", report)
    actual = rows(conn, f"""
        SELECT user_id, date, api_key, model, custom_llm_provider, mcp_namespaced_tool_name,
               endpoint, {DAILY_MEASURES}
        FROM "LiteLLM_DailyUserSpend" """, report)

    assert actual == expected


def test_daily_team_spend_leaves_out_requests_without_a_team(loaded):
    conn, report = loaded
    expected = rows(conn, f"""
        SELECT team_id, to_char("startTime", 'YYYY-MM-DD'), api_key, model,
               custom_llm_provider, {ENDPOINT}, {MEASURES}
        FROM "LiteLLM_SpendLogs" WHERE {FLUSHED} AND team_id IS NOT NULL
        GROUP BY team_id, 2, api_key, model, custom_llm_provider, {ENDPOINT}""", report)
    actual = rows(conn, f"""
        SELECT team_id, date, api_key, model, custom_llm_provider, endpoint, {DAILY_MEASURES}
        FROM "LiteLLM_DailyTeamSpend" """, report)

    assert actual == expected
    assert conn.execute('SELECT count(*) FROM "LiteLLM_SpendLogs" WHERE team_id IS NULL'
                        ).fetchone()[0] > 0


def test_daily_tag_spend_counts_a_request_once_per_tag(loaded):
    conn, report = loaded
    expected = rows(conn, f"""
        SELECT tag, to_char("startTime", 'YYYY-MM-DD'), api_key, model,
               custom_llm_provider, {ENDPOINT}, {MEASURES}
        FROM "LiteLLM_SpendLogs" CROSS JOIN LATERAL jsonb_array_elements_text(request_tags) tag
        WHERE {FLUSHED}
        GROUP BY tag, 2, api_key, model, custom_llm_provider, {ENDPOINT}""", report)
    actual = rows(conn, f"""
        SELECT tag, date, api_key, model, custom_llm_provider, endpoint, {DAILY_MEASURES}
        FROM "LiteLLM_DailyTagSpend" """, report)

    assert actual == expected


def test_requests_logged_after_the_last_flush_are_only_in_the_log(loaded):
    conn, report = loaded
    in_log, unflushed = conn.execute(
        f'SELECT count(*), count(*) FILTER (WHERE NOT ({FLUSHED})) FROM "LiteLLM_SpendLogs"',
        {"flushed_until": report.flushed_until}).fetchone()
    in_daily, newest_flush = conn.execute(
        'SELECT sum(api_requests), max(updated_at) FROM "LiteLLM_DailyUserSpend"').fetchone()

    assert in_log == SHAPE.requests
    assert unflushed > 0
    assert in_daily == in_log - unflushed
    assert newest_flush <= report.flushed_until


def test_every_request_ends_before_the_data_end_in_the_span(loaded):
    conn, report = loaded
    first_end, last_end = conn.execute(
        'SELECT min("endTime"), max("endTime") FROM "LiteLLM_SpendLogs"').fetchone()

    assert report.end - timedelta(days=SHAPE.days) <= first_end
    assert last_end <= report.end


def test_key_spend_is_the_flushed_spend_of_its_current_budget_period(loaded):
    conn, report = loaded
    mismatched = conn.execute("""
        SELECT k.token, k.spend, coalesce(sum(l.spend), 0)
        FROM "LiteLLM_VerificationToken" k
        LEFT JOIN "LiteLLM_BudgetTable" b ON b.budget_id = k.budget_id
        LEFT JOIN "LiteLLM_SpendLogs" l
          ON l.api_key = k.token AND l."endTime" <= %(flushed_until)s
         AND l."startTime" >= coalesce(
               k.budget_reset_at - (rtrim(k.budget_duration, 'd') || ' days')::interval,
               b.budget_reset_at - (rtrim(b.budget_duration, 'd') || ' days')::interval,
               '-infinity')
        GROUP BY k.token, k.spend
        HAVING round(k.spend::numeric, 9) <> round(coalesce(sum(l.spend), 0)::numeric, 9)
        """, {"flushed_until": report.flushed_until}).fetchall()

    assert mismatched == []
