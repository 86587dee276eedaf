"""grafana_sql.expand produces the SQL Grafana 11.6 would send for a PostgreSQL target."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from spend_dashboards.grafana_sql import ALL, MacroError, Selection, expand, parse_interval

FROM = datetime(2026, 3, 8, 13, 45, 0, 500_000, tzinfo=timezone.utc)
TO = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc)


def test_time_filter_is_between_rfc3339_literals_with_trailing_zeros_dropped() -> None:
    assert expand('WHERE $__timeFilter("startTime")', FROM, TO) == (
        "WHERE \"startTime\" BETWEEN '2026-03-08T13:45:00.5Z' AND '2026-03-10T12:00:00Z'")


def test_time_from_and_to_are_quoted_utc_literals() -> None:
    sql = "$__timeFrom()::timestamp, $__timeTo()::timestamp"
    assert expand(sql, FROM, TO) == (
        "'2026-03-08T13:45:00.5Z'::timestamp, '2026-03-10T12:00:00Z'::timestamp")


def test_naive_times_are_utc_and_aware_times_are_converted_to_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    assert expand("$__timeFrom() $__timeTo()", datetime(2026, 3, 8, 14, 0),
                  datetime(2026, 3, 8, 16, 0, tzinfo=plus_two)) == (
        "'2026-03-08T14:00:00Z' '2026-03-08T14:00:00Z'")


def test_time_group_floors_epoch_seconds_by_the_interval() -> None:
    assert expand("$__timeGroup(day, 1h)", FROM, TO) == (
        "floor(extract(epoch from day)/3600)*3600")
    assert expand("SELECT $__timeGroupAlias(u.day, 1d) FROM usage u", FROM, TO) == (
        'SELECT floor(extract(epoch from u.day)/86400)*86400 AS "time" FROM usage u')


def test_time_group_directly_followed_by_a_comma_gets_the_time_alias() -> None:
    # Grafana keeps pre-5.3 dashboards working this way.
    assert expand("SELECT $__timeGroup(ts, 5m), v", FROM, TO) == (
        'SELECT floor(extract(epoch from ts)/300)*300 AS "time", v')
    assert expand("SELECT $__timeGroup(ts, 5m) AS t, v", FROM, TO) == (
        "SELECT floor(extract(epoch from ts)/300)*300 AS t, v")


def test_large_intervals_print_as_go_does_in_exponent_form() -> None:
    assert expand("$__timeGroup(ts, '30d', 0)", FROM, TO) == (
        "floor(extract(epoch from ts)/2.592e+06)*2.592e+06")
    assert expand("$__timeGroup(ts, 1w, NULL)", FROM, TO) == (
        "floor(extract(epoch from ts)/604800)*604800")
    assert expand("$__timeGroup(ts, 500ms, previous)", FROM, TO) == (
        "floor(extract(epoch from ts)/0.5)*0.5")


def test_unix_epoch_macros_use_whole_seconds_and_nanoseconds() -> None:
    assert expand("$__unixEpochFilter(ts)", FROM, TO) == (
        "ts >= 1772977500 AND ts <= 1773144000")
    assert expand("$__unixEpochFrom() $__unixEpochTo()", FROM, TO) == "1772977500 1773144000"
    assert expand("$__unixEpochNanoFrom() $__unixEpochNanoTo()", FROM, TO) == (
        "1772977500500000000 1773144000000000000")
    assert expand("$__unixEpochNanoFilter(ns)", FROM, TO) == (
        "ns >= 1772977500500000000 AND ns <= 1773144000000000000")
    assert expand("$__unixEpochGroupAlias(epoch, 1h)", FROM, TO) == (
        'floor((epoch)/3600)*3600 AS "time"')


def test_time_and_time_epoch_alias_the_column() -> None:
    assert expand("$__time(ts), $__timeEpoch(ts)", FROM, TO) == (
        'ts AS "time", extract(epoch from ts) as "time"')


def test_interval_variables_format_like_grafana() -> None:
    sql = "$__interval $__interval_ms"
    assert expand(sql, FROM, TO, interval=timedelta(hours=2)) == "2h 7200000"
    assert expand(sql, FROM, TO, interval=timedelta(seconds=90)) == "1m 90000"
    assert expand(sql, FROM, TO, interval=timedelta(days=400)) == "1y 34560000000"


def test_range_variables_are_epoch_milliseconds() -> None:
    assert expand("$__from $__to $__range_s", FROM, TO) == (
        "1772977500500 1773144000000 166499")


def test_multi_value_selection_is_quoted_and_comma_joined() -> None:
    assert expand("team_id IN ($team)", FROM, TO, {"team": ["a", "O'Brien"]}) == (
        "team_id IN ('a','O''Brien')")


def test_single_value_of_a_multi_or_all_variable_is_quoted() -> None:
    team = Selection(value="research", multi=True, include_all=True)
    assert expand("IN ($team)", FROM, TO, {"team": team}) == "IN ('research')"


def test_single_value_variable_is_escaped_but_not_quoted() -> None:
    assert expand("'$breakdown'", FROM, TO, {"breakdown": "it's"}) == "'it''s'"


def test_custom_all_value_goes_in_verbatim() -> None:
    team = Selection(value=[ALL], multi=True, include_all=True, all_value="'__all'")
    assert expand("'__all' IN ($team)", FROM, TO, {"team": team}) == "'__all' IN ('__all')"


def test_all_without_custom_value_expands_to_every_option() -> None:
    team = Selection(value=ALL, multi=True, include_all=True, options=["a", "b"])
    assert expand("IN ($team)", FROM, TO, {"team": team}) == "IN ('a','b')"


def test_selection_reads_multi_and_all_value_from_a_variable_model() -> None:
    model = {"name": "key", "multi": True, "includeAll": True, "allValue": "'__all'"}
    assert Selection.from_model(model, ["$__all"]) == Selection(
        value=["$__all"], multi=True, include_all=True, all_value="'__all'")


def test_braced_and_formatted_references_are_replaced() -> None:
    variables = {"model": ["gpt-4o", "claude"]}
    assert expand("${model} ${model:csv} ${model:raw} [[model]]", FROM, TO, variables) == (
        "'gpt-4o','claude' gpt-4o,claude gpt-4o,claude 'gpt-4o','claude'")


def test_unknown_variables_and_dollar_quoting_are_left_alone() -> None:
    assert expand("$missing $1", FROM, TO) == "$missing $1"


def test_unknown_macro_is_refused() -> None:
    with pytest.raises(MacroError, match="unknown macro '__timeShift'"):
        expand("$__timeShift(ts)", FROM, TO)


def test_time_group_without_interval_is_refused() -> None:
    with pytest.raises(MacroError, match="needs time column and interval"):
        expand("$__timeGroup(ts)", FROM, TO)


def test_calendar_intervals_follow_the_calendar() -> None:
    now = datetime(2026, 1, 31, tzinfo=timezone.utc)
    assert parse_interval("1M", now) == timedelta(days=31)  # Jan 31 + 1 month = Mar 3
    assert parse_interval("1y", now) == timedelta(days=365)
    assert parse_interval("1h30m") == timedelta(minutes=90)
