"""Every dashboard query, expanded as Grafana expands it, run as grafana_ro on LiteLLM's
pinned schema against data whose right answers are known by construction."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import litellm_seed
import psycopg
import pytest
from litellm_seed import FLUSHED_AT, KEYS, MIDNIGHT_BEFORE, REQUESTS, Request

import spend_dashboards
from spend_dashboards import grafana_sql
from spend_dashboards.panels import QueryRecord
from spend_dashboards.spend_dashboard import UID as SPEND

MODELS = {model["uid"]: model for model in spend_dashboards.build_all().values()}
RECORDS = spend_dashboards.queries()
RANGE_RECORDS = [r for r in RECORDS
                 if r.straightforward is not None and not r.panel_title.startswith("$")]


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


RANGES = {
    "every day": (utc("2026-03-07T00:00:00"), utc("2026-03-10T12:00:00")),
    "one day as Grafana rounds it": (utc("2026-03-08T00:00:00"),
                                     utc("2026-03-08T23:59:59.999")),
    "ending exactly at midnight": (utc("2026-03-08T00:00:00"), utc("2026-03-09T00:00:00")),
    "mid-day to mid-day": (utc("2026-03-08T13:45:00"), utc("2026-03-09T06:00:00")),
    "today": (utc("2026-03-10T00:00:00"), utc("2026-03-10T12:00:00")),
    "last 24 hours": (utc("2026-03-09T12:00:00"), utc("2026-03-10T12:00:00")),
    "before any request": (utc("2026-02-01T00:00:00"), utc("2026-02-02T23:59:59.999")),
}
EVERY_DAY = RANGES["every day"]

SELECTIONS: dict[str, dict[str, str | list[str]]] = {
    "all": {},
    "research team": {"team": ["team-research"]},
    "two keys by alias": {"key": ["support-bot", "batch-jobs"]},
    "a key by masked name": {"key": ["sk-...wxyz"]},
    "one model": {"model": ["gpt-4o"]},
    "support team on claude": {"team": ["team-support"], "model": ["claude-3-5-sonnet"]},
    "split by key": {"breakdown": "key"},
    "split by team, two teams": {"breakdown": "team", "team": ["team-ops", "team-research"]},
}


def selections(uid: str, chosen: Mapping[str, str | list[str]]) -> dict[str, Any]:
    """Every variable of the dashboard at its opening value, except those chosen."""
    return {
        variable["name"]: grafana_sql.Selection.from_model(
            variable, chosen.get(variable["name"], variable["current"]["value"]))
        for variable in MODELS[uid]["templating"]["list"]
        if variable["type"] in ("query", "custom")
    }


def run(conn: psycopg.Connection, uid: str, sql: str,
        time_range: tuple[datetime, datetime] = EVERY_DAY,
        chosen: Mapping[str, str | list[str]] | None = None) -> list[tuple[Any, ...]]:
    expanded = grafana_sql.expand(sql, *time_range, selections(uid, chosen or {}))
    return conn.execute(expanded).fetchall()


def plain(rows: Iterable[Sequence[Any]]) -> list[tuple[Any, ...]]:
    """Rows with integral decimals as int and other decimals as float, for comparison."""
    def value(cell: Any) -> Any:
        if isinstance(cell, Decimal):
            return int(cell) if cell == cell.to_integral_value() else float(cell)
        return cell
    return [tuple(value(cell) for cell in row) for row in rows]


def panel(title: str, uid: str = SPEND) -> QueryRecord:
    return next(r for r in RECORDS if r.dashboard_uid == uid and r.panel_title == title)


def epoch(day: str) -> int:
    return int(utc(day).timestamp())


def total_spend(conn: psycopg.Connection, time_range: tuple[datetime, datetime] = EVERY_DAY,
                chosen: Mapping[str, str | list[str]] | None = None) -> float:
    """The Spend field of the Totals panel."""
    ((spend, _, _, _),) = run(conn, SPEND, panel("Totals").sql, time_range, chosen)
    return spend


# --- The SQL agrees with LiteLLM_SpendLogs ------------------------------------------------


@pytest.mark.parametrize("record", RANGE_RECORDS, ids=lambda r: r.panel_title)
def test_panel_equals_the_spend_logs_scan_for_every_range_and_selection(
        grafana: psycopg.Connection, record: QueryRecord) -> None:
    for range_name, time_range in RANGES.items():
        for selection_name, chosen in SELECTIONS.items():
            dashboard = run(grafana, record.dashboard_uid, record.sql, time_range, chosen)
            scan = run(grafana, record.dashboard_uid, record.straightforward, time_range, chosen)
            assert plain(dashboard) == plain(scan), (range_name, selection_name)


def test_the_seed_leaves_the_last_minutes_out_of_the_daily_table(
        grafana: psycopg.Connection) -> None:
    # Guards the scenario itself: three of today's requests exist only in SpendLogs.
    daily = grafana.execute('SELECT sum(spend) FROM "LiteLLM_DailyUserSpend"'
                            " WHERE date = '2026-03-10'").fetchone()
    logs = grafana.execute('SELECT sum(spend) FROM "LiteLLM_SpendLogs"'
                           " WHERE \"startTime\" >= '2026-03-10'").fetchone()
    assert (daily, logs) == ((4.5,), (52.5,))


def test_requests_not_yet_flushed_are_counted_from_spend_logs(
        grafana: psycopg.Connection) -> None:
    assert total_spend(grafana, RANGES["today"]) == 52.5
    assert total_spend(grafana, RANGES["last 24 hours"]) == 65.25


def test_a_request_ending_at_the_flush_is_counted_once(grafana: psycopg.Connection) -> None:
    # r12 ends exactly when the daily rows were last written, so it is in them.
    assert total_spend(grafana, RANGES["today"], {"key": ["sk-...wxyz"]}) == 1.5


def test_a_request_that_started_before_the_flush_and_ended_after_it_is_counted(
        grafana: psycopg.Connection) -> None:
    # r13 (support-bot, 16 USD) started at 11:54, before the flush at 11:55 that stamped
    # the newest daily row, and ended at 11:58, so that flush could not count it.
    straddling = next(r for r in REQUESTS if r.request_id == "r13")
    assert straddling.start < FLUSHED_AT < straddling.end
    daily = grafana.execute(
        'SELECT max(updated_at), count(*) FILTER (WHERE api_key = %s AND date = %s)'
        ' FROM "LiteLLM_DailyUserSpend"',
        (litellm_seed.token("support-bot"), "2026-03-10")).fetchone()
    assert daily == (FLUSHED_AT, 0)

    logs = grafana.execute(
        'SELECT sum(spend) FROM "LiteLLM_SpendLogs"'
        " WHERE \"startTime\" >= '2026-03-10' AND \"startTime\" < '2026-03-11'").fetchone()
    assert logs == (52.5,)
    assert total_spend(grafana, RANGES["today"]) == 52.5
    assert total_spend(grafana, RANGES["today"], {"key": ["support-bot"]}) == 16.0


# --- Whole UTC days --------------------------------------------------------------------


def test_a_request_at_midnight_belongs_to_the_day_it_starts(grafana: psycopg.Connection) -> None:
    # r02 at 00:00:00.000 counts on 8 March, r01 a millisecond earlier on 7 March,
    # r06 at 23:59:59.999 still on 8 March and r07 at midnight on 9 March.
    rows = run(grafana, SPEND, panel("Spend per day").sql, RANGES["one day as Grafana rounds it"])
    assert plain(rows) == [
        (epoch("2026-03-08"), "claude-3-5-sonnet", 1.0),
        (epoch("2026-03-08"), "gpt-4o", 2.125),
        (epoch("2026-03-08"), "gpt-4o-mini", 0.25),
    ]


def test_a_range_inside_days_counts_those_whole_days(grafana: psycopg.Connection) -> None:
    assert total_spend(grafana, RANGES["mid-day to mid-day"]) == 16.125
    assert total_spend(grafana, RANGES["one day as Grafana rounds it"]) == 3.375
    assert total_spend(grafana, RANGES["before any request"]) == 0.0


def test_a_range_ending_at_midnight_includes_that_instant_and_so_its_day(
        grafana: psycopg.Connection) -> None:
    # Like $__timeFilter, whose BETWEEN includes the end: r07 starts exactly at the end.
    assert total_spend(grafana, RANGES["ending exactly at midnight"]) == 16.125


# --- Exact numbers, by construction -----------------------------------------------------


def test_totals_for_every_day(grafana: psycopg.Connection) -> None:
    assert sum(r.spend for r in REQUESTS) == 69.625
    # Spend, requests, failure rate (3 of 17) and tokens, in one row.
    assert plain(run(grafana, SPEND, panel("Totals").sql)) == [(69.625, 17, 3 / 17, 11795)]


@pytest.mark.parametrize(("chosen", "spend"), [
    ({"team": ["team-research"]}, 40.625),
    ({"key": ["support-bot", "batch-jobs"]}, 21.0),
    ({"key": ["sk-...wxyz"]}, 2.5),
    ({"key": ["sk-...cdef"]}, 0.0),
    ({"model": ["gpt-4o"]}, 60.625),
    ({"team": ["team-support"], "model": ["claude-3-5-sonnet"]}, 4.0),
    ({"team": ["team-ops", "team-support"], "key": ["support-bot"]}, 20.0),
])
def test_total_spend_follows_the_team_key_and_model_selection(
        grafana: psycopg.Connection, chosen: dict[str, list[str]], spend: float) -> None:
    assert total_spend(grafana, chosen=chosen) == spend


def test_spend_by_key_names_keys_by_alias_or_masked_name(grafana: psycopg.Connection) -> None:
    assert plain(run(grafana, SPEND, panel("Spend by key").sql)) == [
        ("research-bot", "Research", 38.0, 4, 5700),
        ("support-bot", "Support", 20.0, 3, 3030),
        ("(deleted or unknown key)", "(deleted or unknown key)", 8.0, 1, 1200),
        ("sk-...wxyz", "Research", 2.5, 3, 325),
        ("batch-jobs", "(no team)", 1.0, 4, 1520),
        ("expired-key", "Research", 0.125, 1, 10),
        ("limits-only", "team-ops", 0.0, 1, 10),
    ]


def test_spend_by_team_tells_a_deleted_key_from_a_live_key_without_a_team(
        grafana: psycopg.Connection) -> None:
    # r08 (8 USD) is the deleted key's; batch-jobs, live and in no team, spent 1 USD.
    assert plain(run(grafana, SPEND, panel("Spend by team").sql)) == [
        ("Research", 40.625), ("Support", 20.0), ("(deleted or unknown key)", 8.0),
        ("(no team)", 1.0), ("team-ops", 0.0)]


def test_spend_by_model(grafana: psycopg.Connection) -> None:
    assert plain(run(grafana, SPEND, panel("Spend by model").sql)) == [
        ("gpt-4o", 60.625), ("claude-3-5-sonnet", 8.0), ("(no model)", 0.75),
        ("gpt-4o-mini", 0.25)]


SPEND_PER_DAY = {
    "model": {
        ("2026-03-07", "gpt-4o"): 1.0,
        ("2026-03-08", "claude-3-5-sonnet"): 1.0, ("2026-03-08", "gpt-4o"): 2.125,
        ("2026-03-08", "gpt-4o-mini"): 0.25,
        ("2026-03-09", "(no model)"): 0.75, ("2026-03-09", "claude-3-5-sonnet"): 4.0,
        ("2026-03-09", "gpt-4o"): 8.0, ("2026-03-09", "gpt-4o-mini"): 0.0,
        ("2026-03-10", "claude-3-5-sonnet"): 3.0, ("2026-03-10", "gpt-4o"): 49.5,
        ("2026-03-10", "gpt-4o-mini"): 0.0,
    },
    "key": {
        ("2026-03-07", "research-bot"): 1.0,
        ("2026-03-08", "research-bot"): 2.0, ("2026-03-08", "sk-...wxyz"): 1.0,
        ("2026-03-08", "support-bot"): 0.0, ("2026-03-08", "batch-jobs"): 0.25,
        ("2026-03-08", "expired-key"): 0.125,
        ("2026-03-09", "support-bot"): 4.0, ("2026-03-09", "(deleted or unknown key)"): 8.0,
        ("2026-03-09", "limits-only"): 0.0, ("2026-03-09", "batch-jobs"): 0.75,
        ("2026-03-10", "research-bot"): 35.0, ("2026-03-10", "sk-...wxyz"): 1.5,
        ("2026-03-10", "support-bot"): 16.0, ("2026-03-10", "batch-jobs"): 0.0,
    },
    "team": {
        ("2026-03-07", "Research"): 1.0,
        ("2026-03-08", "Research"): 3.125, ("2026-03-08", "Support"): 0.0,
        ("2026-03-08", "(no team)"): 0.25,
        ("2026-03-09", "Support"): 4.0, ("2026-03-09", "(no team)"): 0.75,
        ("2026-03-09", "(deleted or unknown key)"): 8.0,
        ("2026-03-09", "team-ops"): 0.0,
        ("2026-03-10", "Research"): 36.5, ("2026-03-10", "Support"): 16.0,
        ("2026-03-10", "(no team)"): 0.0,
    },
}


@pytest.mark.parametrize("breakdown", ["model", "key", "team"])
def test_spend_per_day_stacks_by_the_chosen_breakdown(grafana: psycopg.Connection,
                                                      breakdown: str) -> None:
    rows = run(grafana, SPEND, panel("Spend per day").sql, chosen={"breakdown": breakdown})
    assert {(time, name): spend for time, name, spend in plain(rows)} == {
        (epoch(day), name): spend for (day, name), spend in SPEND_PER_DAY[breakdown].items()}
    assert [time for time, _, _ in plain(rows)] == sorted(time for time, _, _ in plain(rows))


def test_tokens_and_requests_per_day(grafana: psycopg.Connection) -> None:
    assert plain(run(grafana, SPEND, panel("Tokens per day").sql)) == [
        (epoch("2026-03-07"), 100, 50), (epoch("2026-03-08"), 1315, 625),
        (epoch("2026-03-09"), 1210, 600), (epoch("2026-03-10"), 5270, 2625)]
    assert plain(run(grafana, SPEND, panel("Requests per day").sql)) == [
        (epoch("2026-03-07"), 1, 0), (epoch("2026-03-08"), 5, 1),
        (epoch("2026-03-09"), 3, 1), (epoch("2026-03-10"), 5, 1)]
    assert plain(run(grafana, SPEND, panel("Failure rate per day").sql)) == [
        (epoch("2026-03-07"), 0.0), (epoch("2026-03-08"), 1 / 6),
        (epoch("2026-03-09"), 0.25), (epoch("2026-03-10"), 1 / 6)]


def test_tokens_and_cost_per_1k_tokens_by_model(grafana: psycopg.Connection) -> None:
    assert plain(run(grafana, SPEND, panel("Tokens by model").sql)) == [
        ("gpt-4o", 6085, 3030), ("gpt-4o-mini", 1030, 500),
        ("claude-3-5-sonnet", 780, 370), ("(no model)", 0, 0)]
    assert plain(run(grafana, SPEND, panel("Cost per 1K tokens by model").sql)) == [
        ("claude-3-5-sonnet", 8.0 / 1150 * 1000, 8.0, 1150),
        ("gpt-4o", 60.625 / 9115 * 1000, 60.625, 9115),
        ("gpt-4o-mini", 0.25 / 1530 * 1000, 0.25, 1530),
        ("(no model)", None, 0.75, 0)]


# --- Budgets ----------------------------------------------------------------------------

BUDGETS = "litellm-budgets"


FAR_FUTURE = datetime(2999, 1, 1)
"""Midnight UTC starting 2999: when the seed's active increases end."""


def test_key_budgets_come_from_the_key_else_its_budget_row_and_none_is_unlimited(
        grafana: psycopg.Connection) -> None:
    assert plain(run(grafana, BUDGETS, panel("Key budgets", BUDGETS).sql)) == [
        ("boost-lapsed", "(no team)", "key", 2.0, 3.5, -1.5, 1.75, None, None, None),
        ("support-bot", "Support", "key", 4.0, 6.0, -2.0, 1.5, "30d", datetime(2026, 4, 1),
         None),
        ("sk-...cdef", "team-ops", "key", 0.0, 0.0, 0.0, 1.0, None, None, None),
        ("boosted", "Support", "key + temporary increase", 15.0, 12.0, 3.0, 0.8, None, None,
         FAR_FUTURE),
        ("sk-...wxyz", "Research", "budget tier-small", 10.0, 7.5, 2.5, 0.75, "1d",
         datetime(2026, 3, 11), None),
        ("tier-boosted", "(no team)", "budget tier-small + temporary increase", 15.0, 11.0,
         4.0, 11.0 / 15.0, "1d", datetime(2026, 3, 11), FAR_FUTURE),
        ("garbled-boost", "Support", "key", 4.0, 2.0, 2.0, 0.5, None, None, None),
        ("capped-tier", "Support", "key", 8.0, 3.0, 5.0, 0.375, "1d", datetime(2026, 3, 11),
         None),
        ("research-bot", "Research", "key", 20.0, 5.0, 15.0, 0.25, "7d",
         datetime(2026, 3, 15), None),
        ("own-schedule", "team-ops", "budget tier-small", 10.0, 1.25, 8.75, 0.125, "30d",
         datetime(2026, 3, 31), None),
        # No budget anywhere: NULL budget, remaining and utilisation, never 0.
        ("batch-jobs", "(no team)", None, None, 30.0, None, None, None, None, None),
        ("limits-only", "team-ops", None, None, 0.5, None, None, None, None, None),
        ("unbudgeted-boost", "(no team)", None, None, 1.0, None, None, None, None, None),
    ]


def test_a_key_resets_on_its_own_budget_duration_else_with_its_budget_row(
        grafana: psycopg.Connection) -> None:
    # LiteLLM's reset job resets a key with a budget_duration on that schedule, and a key
    # with a budget_id and no budget_duration when its LiteLLM_BudgetTable row resets
    # (tier-small: daily, next on 11 March), whichever of the two its max_budget comes
    # from. limits-only's row has no budget_duration, and batch-jobs has neither.
    rows = run(grafana, BUDGETS, panel("Key budgets", BUDGETS).sql)
    resets = {key: (every, next_reset) for key, *_, every, next_reset, _until in rows}
    assert {key: reset for key, reset in resets.items() if "boost" not in key} == {
        "research-bot": ("7d", datetime(2026, 3, 15)),
        "support-bot": ("30d", datetime(2026, 4, 1)),
        "sk-...wxyz": ("1d", datetime(2026, 3, 11)),
        "capped-tier": ("1d", datetime(2026, 3, 11)),
        "own-schedule": ("30d", datetime(2026, 3, 31)),
        "limits-only": (None, None),
        "batch-jobs": (None, None),
        "sk-...cdef": (None, None),
    }


def test_keys_closest_to_and_over_their_budget(grafana: psycopg.Connection) -> None:
    assert plain(run(grafana, BUDGETS, panel("Keys closest to their budget", BUDGETS).sql)) == [
        ("boost-lapsed", 1.75), ("support-bot", 1.5), ("sk-...cdef", 1.0), ("boosted", 0.8),
        ("sk-...wxyz", 0.75), ("tier-boosted", 11.0 / 15.0), ("garbled-boost", 0.5),
        ("capped-tier", 0.375), ("research-bot", 0.25), ("own-schedule", 0.125)]
    # support-bot, sk-...cdef and boost-lapsed; boosted and tier-boosted are over their
    # base budget but within its temporary increase.
    assert run(grafana, BUDGETS, panel("Keys at or over budget", BUDGETS).sql) == [(3,)]


# --- Temporary budget increases -----------------------------------------------------------


def _key_budgets(conn: psycopg.Connection) -> dict[str, tuple[Any, ...]]:
    """Key budgets by key: Budget from, Budget, Remaining, Utilisation, Increase until."""
    return {key: (source, budget, remaining, share, until) for
            key, _, source, budget, _, remaining, share, _, _, until
            in plain(run(conn, BUDGETS, panel("Key budgets", BUDGETS).sql))}


def test_an_active_increase_raises_the_budget_until_its_expiry(
        grafana: psycopg.Connection) -> None:
    # boosted: 10 USD of its own + 5 until 2999-01-01T05:30:00+05:30, which is midnight
    # UTC; spent 12, so over its own budget but not over the raised one.
    assert _key_budgets(grafana)["boosted"] == (
        "key + temporary increase", 15.0, 3.0, 0.8, FAR_FUTURE)
    assert ("boosted", 0.8) in run(
        grafana, BUDGETS, panel("Keys closest to their budget", BUDGETS).sql)
    assert run(grafana, BUDGETS, panel("Keys at or over budget", BUDGETS).sql,
               chosen={"key": ["boosted"]}) == [(0,)]


def test_a_lapsed_increase_leaves_the_key_s_own_budget(grafana: psycopg.Connection) -> None:
    assert _key_budgets(grafana)["boost-lapsed"] == ("key", 2.0, -1.5, 1.75, None)
    assert run(grafana, BUDGETS, panel("Keys at or over budget", BUDGETS).sql,
               chosen={"key": ["boost-lapsed"]}) == [(1,)]


def test_an_increase_raises_a_budget_row_s_budget_and_never_creates_one(
        grafana: psycopg.Connection) -> None:
    # LiteLLM copies the budget row's max_budget into the key's before it adds the
    # increase, and adds none to a key without any budget.
    budgets = _key_budgets(grafana)
    assert budgets["tier-boosted"] == (
        "budget tier-small + temporary increase", 15.0, 4.0, 11.0 / 15.0, FAR_FUTURE)
    assert budgets["unbudgeted-boost"] == (None, None, None, None, None)
    assert run(grafana, BUDGETS, panel("Keys at or over budget", BUDGETS).sql,
               chosen={"key": ["tier-boosted", "unbudgeted-boost"]}) == [(0,)]


def test_malformed_increase_values_add_nothing(grafana: psycopg.Connection) -> None:
    # garbled-boost: increase "abc", expiry "soon"; LiteLLM fails such a key's
    # authentication, and the panels show its own budget.
    assert _key_budgets(grafana)["garbled-boost"] == ("key", 4.0, 2.0, 0.5, None)


def test_a_zone_less_expiry_is_utc_whatever_the_session_time_zone(
        grafana: psycopg.Connection) -> None:
    grafana.execute("SET TimeZone = 'Pacific/Kiritimati'")
    budgets = _key_budgets(grafana)
    assert budgets["tier-boosted"][-1] == FAR_FUTURE  # written "2999-01-01"
    assert budgets["boosted"][-1] == FAR_FUTURE  # written "2999-01-01T05:30:00+05:30"


# The forms of expiry that LiteLLM (datetime.fromisoformat) and PostgreSQL read alike raise
# the budget; values either refuses, and the few forms only Python reads, add nothing.
# Each is on a key of 8 USD that spent 9, with an increase of 5.
EXPIRY_FORMS = {
    "2999-01-01": True,
    "2999-01-01T10:00": True,
    "2999-01-01 10:00:00": True,
    "2999-01-01t10:00:00.5": True,
    "2999-01-01T10:00:00.123456": True,
    "2999-01-01T10:00:00.1234567": True,
    "2999-01-01T10:00:00Z": True,
    "2999-01-01T10:00:00+05": True,
    "2999-01-01T10:00:00-0530": True,
    "2999-01-01T10:00:00.123456+15:59": True,
    "2000-01-01T10:00:00+00:00": False,
    "soon": False,
    "": False,
    "2999-02-29T00:00:00": False,
    "2999-04-31": False,
    "2999-13-01": False,
    "2999-01-01T24:00:00": False,
    "2999-01-01T10:60:00": False,
    "2999-01-01T10:00:60": False,
    "0000-01-01": False,
    " 2999-01-01": False,
    "2999-01-01\n": False,
    # Only LiteLLM reads these three; the panels show such a key without its increase.
    "2999-01-01T10:00:00+16:00": False,
    "2999-01-01T10": False,
    "29990101T100000": False,
}
RAW_METADATA = {
    "leap day": ('{"temp_budget_increase": 5, "temp_budget_expiry": "2996-02-29"}', True),
    "number expiry": ('{"temp_budget_increase": 5, "temp_budget_expiry": 29990101}', False),
    "null expiry": ('{"temp_budget_increase": 5, "temp_budget_expiry": null}', False),
    "no expiry": ('{"temp_budget_increase": 5}', False),
    "no increase": ('{"temp_budget_expiry": "2999-01-01"}', False),
    "zero": ('{"temp_budget_increase": 0, "temp_budget_expiry": "2999-01-01"}', False),
    "null increase": ('{"temp_budget_increase": null, "temp_budget_expiry": "2999-01-01"}',
                      False),
    "string number": ('{"temp_budget_increase": "5", "temp_budget_expiry": "2999-01-01"}',
                      False),
    "true": ('{"temp_budget_increase": true, "temp_budget_expiry": "2999-01-01"}', False),
    "array": ('{"temp_budget_increase": [5], "temp_budget_expiry": "2999-01-01"}', False),
    "beyond a double": (
        '{"temp_budget_increase": 1e400, "temp_budget_expiry": "2999-01-01"}', False),
    "below a double": (
        '{"temp_budget_increase": 1e-400, "temp_budget_expiry": "2999-01-01"}', False),
    "metadata an array": ('[1, 2]', False),
    "metadata a string": ('"temp_budget_increase"', False),
}


def test_no_metadata_value_makes_a_key_panel_fail_and_only_usable_ones_raise_the_budget(
        litellm_db) -> None:  # type: ignore[no-untyped-def]
    cases = {f"expiry {expiry!r}": (json.dumps({"temp_budget_increase": 5,
                                                "temp_budget_expiry": expiry}), applies)
             for expiry, applies in EXPIRY_FORMS.items()} | RAW_METADATA
    with litellm_db.connect_app() as conn:
        conn.cursor().executemany(
            'INSERT INTO "LiteLLM_VerificationToken" (token, key_alias, spend, max_budget,'
            " metadata, models) VALUES (%s, %s, 9, 8, %s, '{}')",
            [(litellm_seed.token(name), name, metadata)
             for name, (metadata, _) in cases.items()])
    with litellm_db.connect_grafana() as conn:
        budgets = {key: budget for key, (_, budget, *_) in _key_budgets(conn).items()}
        over = run(conn, BUDGETS, panel("Keys at or over budget", BUDGETS).sql)
        closest = run(conn, BUDGETS, panel("Keys closest to their budget", BUDGETS).sql)
    assert budgets == {name: 13.0 if applies else 8.0 for name, (_, applies) in cases.items()}
    assert over == [(sum(not applies for _, applies in cases.values()),)]
    assert len(closest) == 10


def test_key_budgets_follow_the_team_and_key_selection(grafana: psycopg.Connection) -> None:
    key_budgets = panel("Key budgets", BUDGETS).sql
    assert [row[0] for row in run(grafana, BUDGETS, key_budgets,
                                  chosen={"team": ["team-research"]})] == [
        "sk-...wxyz", "research-bot"]
    assert [row[0] for row in run(grafana, BUDGETS, key_budgets,
                                  chosen={"key": ["batch-jobs"]})] == ["batch-jobs"]


def test_team_budgets(grafana: psycopg.Connection) -> None:
    assert plain(run(grafana, BUDGETS, panel("Team budgets", BUDGETS).sql)) == [
        ("Support", 50.0, 55.0, -5.0, 1.1, "7d", datetime(2026, 3, 14)),
        ("Research", 100.0, 40.0, 60.0, 0.4, "30d", datetime(2026, 4, 1)),
        ("team-ops", None, 12.0, None, None, None, None),
    ]
    assert plain(run(grafana, BUDGETS, panel("Teams closest to their budget", BUDGETS).sql)) == [
        ("Support", 1.1), ("Research", 0.4)]
    assert run(grafana, BUDGETS, panel("Teams at or over budget", BUDGETS).sql) == [(1,)]
    assert [row[0] for row in run(grafana, BUDGETS, panel("Team budgets", BUDGETS).sql,
                                  chosen={"team": ["team-ops"]})] == ["team-ops"]


# --- Variables --------------------------------------------------------------------------


def test_variables_offer_teams_keys_by_name_and_recorded_models(
        grafana: psycopg.Connection) -> None:
    assert set(run(grafana, SPEND, panel("$team").sql)) == {
        ("team-research", "Research"), ("team-support", "Support"), ("team-ops", "team-ops")}
    assert {name for (name,) in run(grafana, SPEND, panel("$key").sql)} == {
        "research-bot", "sk-...wxyz", "support-bot", "batch-jobs", "limits-only",
        "expired-key", "sk-...cdef", "capped-tier", "own-schedule", "boosted", "boost-lapsed",
        "tier-boosted", "unbudgeted-boost", "garbled-boost"}
    assert {name for (name,) in run(grafana, SPEND, panel("$key").sql,
                                    chosen={"team": ["team-ops"]})} == {
        "limits-only", "sk-...cdef", "own-schedule"}
    model = panel("$model")
    assert run(grafana, SPEND, model.sql) == [
        ("claude-3-5-sonnet",), ("gpt-4o",), ("gpt-4o-mini",)]
    assert sorted(run(grafana, SPEND, model.straightforward)) == run(grafana, SPEND, model.sql)


# --- No hash on any panel ---------------------------------------------------------------

_TOKEN_PIECES = {token[i:i + 8] for token in litellm_seed.ALL_TOKENS for i in range(57)}


def test_no_query_output_holds_a_token_hash_or_a_piece_of_one(
        grafana: psycopg.Connection) -> None:
    assert len(litellm_seed.ALL_TOKENS) == len(KEYS) + 1
    checked = 0
    for record in RECORDS:
        for sql in filter(None, (record.sql, record.straightforward)):
            for time_range in RANGES.values():
                for chosen in SELECTIONS.values():
                    for row in run(grafana, record.dashboard_uid, sql, time_range, chosen):
                        for cell in row:
                            text = str(cell)
                            pieces = {text[i:i + 8] for i in range(len(text) - 7)}
                            assert not pieces & _TOKEN_PIECES, (record.panel_title, text)
                            checked += 1
    assert checked > 1000


# --- The pinned schema ------------------------------------------------------------------

_ALIASED_TABLE = re.compile(r'"(LiteLLM_\w+)"\s+([a-z])\b')
_ALIASED_COLUMN = re.compile(r'\b([a-z])\.("?)(\w+)\2')


def test_every_table_and_column_the_dashboards_use_exists_in_the_pinned_schema(
        grafana: psycopg.Connection) -> None:
    columns: dict[str, set[str]] = {}
    for table, column in grafana.execute(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = 'public' AND table_name LIKE 'LiteLLM%'"):
        columns.setdefault(table, set()).add(column)

    used: set[tuple[str, str]] = set()
    for record in RECORDS:
        for sql in filter(None, (record.sql, record.straightforward)):
            aliases = dict((alias, table) for table, alias in _ALIASED_TABLE.findall(sql))
            assert aliases, record.panel_title
            for alias, _, column in _ALIASED_COLUMN.findall(sql):
                if alias in aliases:
                    used.add((aliases[alias], column))
    missing = sorted(f"{table}.{column}" for table, column in used
                     if column not in columns.get(table, set()))
    assert not missing, (
        f"the dashboards use {missing}, which the pinned litellm-proxy-extras schema lacks")
    assert ("LiteLLM_DailyUserSpend", "failed_requests") in used
    assert ("LiteLLM_SpendLogs", "startTime") in used


# --- Scenarios needing their own database -----------------------------------------------


def _seed_flushed_at(litellm_db, flushed_at: datetime) -> None:  # type: ignore[no-untyped-def]
    with litellm_db.connect_app() as conn:
        litellm_seed.insert_catalog(conn)
        litellm_seed.insert_spend_logs(conn)
        litellm_seed.insert_daily_rows(conn, flushed_at=flushed_at)


def test_totals_stay_exact_when_the_writer_has_not_flushed_for_two_hours(litellm_db) -> None:
    # The last flush came at 10:00 on 10 March: r12 to r15 are only in SpendLogs, and
    # every range and panel still equals the scan.
    _seed_flushed_at(litellm_db, datetime(2026, 3, 10, 10))
    with litellm_db.connect_grafana() as conn:
        assert total_spend(conn) == 69.625
        for record in RANGE_RECORDS:
            for time_range in RANGES.values():
                assert plain(run(conn, SPEND, record.sql, time_range)) == plain(
                    run(conn, SPEND, record.straightforward, time_range)), record.panel_title


def test_a_writer_stalled_longer_than_the_unflushed_window_shows_what_the_daily_table_holds(
        litellm_db) -> None:
    # The README's limit: the last flush came at midnight starting 9 March, 36 hours
    # before the range ends. Only requests started in the last three hours (r12 to r15,
    # 49.5 USD) are read from SpendLogs; r06 to r11 (20 USD), logged after the flush and
    # started earlier, are missing until the writer flushes them.
    _seed_flushed_at(litellm_db, datetime(2026, 3, 9))
    with litellm_db.connect_grafana() as conn:
        assert total_spend(conn) == 4.125 + 49.5
        assert total_spend(conn, RANGES["today"]) == 49.5


@pytest.mark.parametrize("flushed_at", [FLUSHED_AT, datetime(2026, 3, 10, 12)],
                         ids=["before its flush", "after its flush"])
def test_a_request_logged_without_a_status_counts_as_succeeded_before_and_after_its_flush(
        litellm_db, flushed_at: datetime) -> None:  # type: ignore[no-untyped-def]
    # LiteLLM's daily writer counts a request as failed only when the status in its
    # metadata is 'failure' (PrismaClient.get_request_status defaults to 'success'), the
    # same rule by which LiteLLM fills SpendLogs.status. r18 has no status anywhere: read
    # from SpendLogs before the flush at 12:00 and from its daily row after it, today
    # holds six requests of which one (r14) failed.
    without_status = next(r for r in REQUESTS if r.request_id == "r18")
    assert without_status.without_status
    assert FLUSHED_AT < without_status.end < datetime(2026, 3, 10, 12)
    _seed_flushed_at(litellm_db, flushed_at)
    today = RANGES["today"]
    with litellm_db.connect_grafana() as conn:
        assert conn.execute(
            'SELECT status, metadata ? \'status\' FROM "LiteLLM_SpendLogs"'
            " WHERE request_id = %s", (without_status.request_id,)).fetchall() == [
            (None, False)]
        assert plain(run(conn, SPEND, panel("Totals").sql, today)) == [(52.5, 6, 1 / 6, 7895)]
        assert plain(run(conn, SPEND, panel("Requests per day").sql, today)) == [
            (epoch("2026-03-10"), 5, 1)]
        assert plain(run(conn, SPEND, panel("Failure rate per day").sql, today)) == [
            (epoch("2026-03-10"), 1 / 6)]


def _seed_one_flush(litellm_db, flushed: Request,  # type: ignore[no-untyped-def]
                    unflushed: Request) -> datetime:
    """Seed two requests of research-bot: `flushed` in the daily table, `unflushed` not."""
    last_flush = litellm_seed.flush_after(flushed.end)
    assert unflushed.end > last_flush
    with litellm_db.connect_app() as conn:
        litellm_seed.insert_catalog(conn)
        litellm_seed.insert_spend_logs(conn, [flushed, unflushed])
        conn.execute(
            'INSERT INTO "LiteLLM_DailyUserSpend" (id, user_id, date, api_key, model, spend,'
            " prompt_tokens, completion_tokens, api_requests, successful_requests,"
            " created_at, updated_at)"
            " VALUES ('d1', 'user-1', %s, %s, %s, %s, %s, %s, 1, 1, %s, %s)",
            (flushed.start.date().isoformat(), litellm_seed.token(flushed.key), flushed.model,
             flushed.spend, flushed.prompt_tokens, flushed.completion_tokens, last_flush,
             last_flush))
    return last_flush


def test_a_range_ending_in_the_future_reads_unflushed_requests_up_to_now(litellm_db) -> None:
    # Grafana's "Today" or "This week" end in the future; the window for unflushed
    # requests then ends now, on the server's clock, instead of at the range's end.
    with litellm_db.connect_app() as conn:
        now = conn.execute("SELECT date_trunc('second', now() AT TIME ZONE 'UTC')").fetchone()[0]
    flushed = Request("f1", now - timedelta(minutes=10), "research-bot", "gpt-4o", 1.0, 10, 5)
    # Started before the last flush, ended a minute ago.
    running = Request("f2", now - timedelta(minutes=12), "research-bot", "gpt-4o", 2.0, 20, 10,
                      duration=timedelta(minutes=11))
    last_flush = _seed_one_flush(litellm_db, flushed, running)
    assert running.start < last_flush < running.end

    week = (utc((now - timedelta(days=2)).isoformat()), utc((now + timedelta(days=7)).isoformat()))
    with litellm_db.connect_grafana() as conn:
        assert total_spend(conn, week) == 3.0
        for record in RANGE_RECORDS:
            assert plain(run(conn, SPEND, record.sql, week)) == plain(
                run(conn, SPEND, record.straightforward, week)), record.panel_title


def test_a_request_longer_than_ten_minutes_waits_for_the_next_flush(litellm_db) -> None:
    # The README's limit: the top-up looks for unflushed requests that started at most
    # ten minutes before the newest flush. f2 ran for 55 minutes and ended after the
    # flush of f1, so it shows once LiteLLM's next flush (within 10 s) adds it.
    flushed = Request("f1", datetime(2026, 3, 10, 11, 50), "research-bot", "gpt-4o",
                      1.0, 10, 5)
    long_running = Request("f2", datetime(2026, 3, 10, 11), "research-bot", "gpt-4o",
                           2.0, 20, 10, duration=timedelta(minutes=55))
    _seed_one_flush(litellm_db, flushed, long_running)
    with litellm_db.connect_grafana() as conn:
        assert total_spend(conn, RANGES["today"]) == 1.0


def test_spend_per_day_keeps_ten_series_and_sums_the_rest_as_others(litellm_db) -> None:
    keys = [litellm_seed.Key(f"bulk-{n:02d}", f"bulk-{n:02d}", None, None, spend=0.0)
            for n in range(1, 13)]
    requests = [Request(f"b{n:02d}", datetime(2026, 3, 8, n), f"bulk-{n:02d}", "gpt-4o",
                        float(n), 1, 1) for n in range(1, 13)]
    with litellm_db.connect_app() as conn, conn.cursor() as cur:
        cur.executemany(
            'INSERT INTO "LiteLLM_VerificationToken" (token, key_name, key_alias, models)'
            " VALUES (%s, %s, %s, '{}')", [(k.token, k.key_name, k.alias) for k in keys])
        for r in requests:
            cur.execute(
                'INSERT INTO "LiteLLM_DailyUserSpend" (id, user_id, date, api_key, model,'
                " spend, api_requests, successful_requests, created_at, updated_at)"
                " VALUES (%s, '', '2026-03-08', %s, 'gpt-4o', %s, 1, 1, %s, %s)",
                (r.request_id, litellm_seed.token(r.key), r.spend, FLUSHED_AT, FLUSHED_AT))
    with litellm_db.connect_grafana() as conn:
        rows = run(conn, SPEND, panel("Spend per day").sql, RANGES["one day as Grafana rounds it"],
                   {"breakdown": "key"})
    assert {name: spend for _, name, spend in plain(rows)} == {
        **{f"bulk-{n:02d}": float(n) for n in range(3, 13)}, "(others)": 3.0}
