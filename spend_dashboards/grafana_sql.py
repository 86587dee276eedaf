"""Grafana's expansion of a PostgreSQL panel query: template variables, then SQL macros.

Grafana does this in two places that no Python library reproduces: the browser replaces
template variables (formatting multi-value and All selections as SQL literals), then the
grafana-postgresql-datasource backend, written in Go, replaces `$__interval`, the epoch
helpers and the `$__time...` macros (pkg/tsdb/grafana-postgresql-datasource/macros.go and
sqleng). Tests and benchmarks must run the SQL Grafana would send, so this module
reimplements both steps by hand, following Grafana 11.6's behaviour.
"""

from __future__ import annotations

import calendar
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

ALL = "$__all"
"""The value Grafana stores for a variable whose All option is selected."""


class MacroError(ValueError):
    """A macro Grafana would refuse: unknown name, missing argument or bad interval."""


@dataclass(frozen=True)
class Selection:
    """A template variable's current selection, with what decides its formatting.

    `value` is one string, a sequence of strings (multi-value), or `ALL`.
    """

    value: str | Sequence[str]
    """The selected value(s); `ALL` (or a sequence starting with it) selects All."""
    multi: bool = False
    """Whether the variable allows several values; multi values are quoted."""
    include_all: bool = False
    """Whether the variable offers All; such values are quoted like multi values."""
    all_value: str | None = None
    """The custom All value, inserted verbatim; None expands All to every option."""
    options: Sequence[str] = ()
    """The variable's option values, used for All when there is no custom All value."""

    @classmethod
    def from_model(cls, model: Mapping[str, Any], value: str | Sequence[str],
                   options: Sequence[str] = ()) -> Selection:
        """A selection for a variable as a dashboard's JSON model defines it."""
        return cls(
            value=value,
            multi=bool(model.get("multi")),
            include_all=bool(model.get("includeAll")),
            all_value=model.get("allValue") or None,
            options=tuple(options),
        )


def expand(
    sql: str,
    time_from: datetime,
    time_to: datetime,
    variables: Mapping[str, Selection | str | Sequence[str]] | None = None,
    *,
    interval: timedelta = timedelta(minutes=1),
) -> str:
    """Return `sql` as Grafana would send it to PostgreSQL for this range and selection.

    Args:
        sql: the panel's raw SQL with `$var` references and `$__...` macros.
        time_from: the range start (timezone-aware, or naive meaning UTC).
        time_to: the range end, likewise.
        variables: each variable's selection; a plain string is a single-valued
            variable, a list or tuple a multi-value one.
        interval: the panel's `$__interval`; default one minute.
    """
    time_from, time_to = _utc(time_from), _utc(time_to)
    selections = {name: _selection(value) for name, value in (variables or {}).items()}
    sql = _replace_variables(sql, selections, time_from, time_to, interval)
    sql = _replace_globals(sql, time_from, time_to, interval)
    return _replace_macros(sql, time_from, time_to)


# --- Step 1: template variables, as the browser replaces them --------------------------

# $var, ${var}, ${var:format} and the deprecated [[var]] / [[var:format]].
_VARIABLE = re.compile(r"\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?::(\w+))?\}")


def _selection(value: Selection | str | Sequence[str]) -> Selection:
    if isinstance(value, Selection):
        return value
    if isinstance(value, str):
        return Selection(value=value)
    return Selection(value=tuple(value), multi=True)


def _replace_variables(sql: str, selections: Mapping[str, Selection], time_from: datetime,
                       time_to: datetime, interval: timedelta) -> str:
    builtins = _builtin_variables(time_from, time_to, interval)

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2) or match.group(4)
        explicit_format = match.group(3) or match.group(5)
        if name in builtins:
            return builtins[name]
        selection = selections.get(name)
        if selection is None:
            return match.group(0)
        return _format_selection(selection, explicit_format)

    return _VARIABLE.sub(replace, sql)


def _builtin_variables(time_from: datetime, time_to: datetime,
                       interval: timedelta) -> dict[str, str]:
    from_ms, to_ms = _epoch_ms(time_from), _epoch_ms(time_to)
    return {
        "__interval": _format_interval(interval),
        "__interval_ms": str(int(interval / timedelta(milliseconds=1))),
        "__from": str(from_ms),
        "__to": str(to_ms),
        "__range_ms": str(to_ms - from_ms),
        "__range_s": str((to_ms - from_ms) // 1000),
        "__range": f"{(to_ms - from_ms) // 1000}s",
    }


def _format_selection(selection: Selection, explicit_format: str | None) -> str:
    value = selection.value
    is_all = value == ALL or (not isinstance(value, str) and list(value[:1]) == [ALL])
    if is_all:
        # A custom All value goes in verbatim: it is SQL the dashboard author wrote.
        if selection.all_value is not None and explicit_format not in ("text", "percentencode"):
            return selection.all_value
        value = tuple(selection.options)

    if explicit_format is not None:
        return _format_explicitly(value, explicit_format)
    if isinstance(value, str):
        if selection.multi or selection.include_all:
            return _quote_literal(value)
        return value.replace("'", "''")
    return ",".join(_quote_literal(item) for item in value)


def _format_explicitly(value: str | Sequence[str], name: str) -> str:
    values = [value] if isinstance(value, str) else list(value)
    if name == "raw":
        return value if isinstance(value, str) else ",".join(values)
    if name == "csv":
        return ",".join(values)
    if name == "pipe":
        return "|".join(values)
    if name == "sqlstring":
        return ",".join(_quote_literal(item) for item in values)
    if name == "singlequote":
        return ",".join("'" + item.replace("'", "\\'") + "'" for item in values)
    if name == "doublequote":
        return ",".join('"' + item.replace('"', '\\"') + '"' for item in values)
    raise MacroError(f"variable format {name!r} is not supported here; use raw, csv, pipe, "
                     "sqlstring, singlequote or doublequote")


def _quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


# --- Step 2: the backend's global substitutions (sqleng.Interpolate) -------------------


def _replace_globals(sql: str, time_from: datetime, time_to: datetime,
                     interval: timedelta) -> str:
    sql = sql.replace("$__interval_ms", str(int(interval / timedelta(milliseconds=1))))
    sql = sql.replace("$__interval", _format_interval(interval))
    sql = sql.replace("$__unixEpochFrom()", str(_epoch_seconds(time_from)))
    return sql.replace("$__unixEpochTo()", str(_epoch_seconds(time_to)))


# --- Step 3: the PostgreSQL macros (macros.go) ------------------------------------------

# A macro call: its arguments cannot contain ')', exactly as in Grafana's pattern.
_MACRO = re.compile(r"\$([_a-zA-Z0-9]+)\(([^)]*)\)")


def _replace_macros(sql: str, time_from: datetime, time_to: datetime) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        # Before Grafana 5.3 `$__timeGroup(...)` added its own alias; Grafana still does
        # so when a comma directly follows the first occurrence of the same call.
        if name == "__timeGroup":
            end = sql.find(match.group(0)) + len(match.group(0))
            if end < len(sql) and sql[end] == ",":
                name = "__timeGroupAlias"
        args = [arg.strip(" ") for arg in match.group(2).split(",")]
        return _evaluate_macro(name, args, time_from, time_to)

    return _MACRO.sub(replace, sql)


def _evaluate_macro(name: str, args: list[str], time_from: datetime,
                    time_to: datetime) -> str:
    has_argument = bool(args) and args != [""]
    if name in ("__time", "__timeEpoch", "__timeFilter", "__unixEpochFilter",
                "__unixEpochNanoFilter") and not has_argument:
        raise MacroError(f"missing time column argument for macro {name}")

    if name == "__time":
        return f'{args[0]} AS "time"'
    if name == "__timeEpoch":
        return f'extract(epoch from {args[0]}) as "time"'
    if name == "__timeFilter":
        return f"{args[0]} BETWEEN '{_rfc3339(time_from)}' AND '{_rfc3339(time_to)}'"
    if name == "__timeFrom":
        return f"'{_rfc3339(time_from)}'"
    if name == "__timeTo":
        return f"'{_rfc3339(time_to)}'"
    if name in ("__timeGroup", "__timeGroupAlias"):
        seconds = _go_float(_group_interval(name, args).total_seconds())
        group = f"floor(extract(epoch from {args[0]})/{seconds})*{seconds}"
        return group + ' AS "time"' if name == "__timeGroupAlias" else group
    if name == "__unixEpochFilter":
        return (f"{args[0]} >= {_epoch_seconds(time_from)} AND "
                f"{args[0]} <= {_epoch_seconds(time_to)}")
    if name == "__unixEpochNanoFilter":
        return (f"{args[0]} >= {_epoch_nanos(time_from)} AND "
                f"{args[0]} <= {_epoch_nanos(time_to)}")
    if name == "__unixEpochNanoFrom":
        return str(_epoch_nanos(time_from))
    if name == "__unixEpochNanoTo":
        return str(_epoch_nanos(time_to))
    if name in ("__unixEpochGroup", "__unixEpochGroupAlias"):
        seconds = _go_float(_group_interval(name, args).total_seconds())
        group = f"floor(({args[0]})/{seconds})*{seconds}"
        return group + ' AS "time"' if name == "__unixEpochGroupAlias" else group
    raise MacroError(f"unknown macro {name!r}")


def _group_interval(name: str, args: list[str]) -> timedelta:
    if len(args) < 2:
        raise MacroError(f"macro {name} needs time column and interval and optional fill value")
    interval = parse_interval(args[1].strip("'"))
    if len(args) == 3 and not _is_fill_mode(args[2]):
        raise MacroError(f"error parsing fill value {args[2]}")
    return interval


def _is_fill_mode(value: str) -> bool:
    # The fill argument changes how Grafana post-processes rows, never the SQL text.
    if value in ("NULL", "previous"):
        return True
    try:
        float(value)
    except ValueError:
        return False
    return True


# --- Grafana's interval and time formats ------------------------------------------------

_GO_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_GO_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0,
                    "m": 60.0, "h": 3600.0}
_DATE_UNIT = re.compile(r"^(\d+)([dwMy])$")


def parse_interval(text: str, now: datetime | None = None) -> timedelta:
    """Parse an interval as gtime.ParseInterval does: Go durations, or N d/w/M/y.

    Months and years are calendar steps from `now` (default: the current UTC time),
    as in Grafana; days and weeks are 24 h and 7 × 24 h in UTC.
    """
    unit_match = _DATE_UNIT.match(text)
    if unit_match:
        count, unit = int(unit_match.group(1)), unit_match.group(2)
        if unit == "d":
            return timedelta(days=count)
        if unit == "w":
            return timedelta(days=7 * count)
        start = _utc(now or datetime.now(timezone.utc))
        months = count if unit == "M" else 12 * count
        return _add_months(start, months) - start
    return _parse_go_duration(text)


def _parse_go_duration(text: str) -> timedelta:
    sign, body = (-1, text[1:]) if text.startswith("-") else (1, text.removeprefix("+"))
    if body == "0":
        return timedelta(0)
    position, seconds = 0, 0.0
    while position < len(body):
        part = _GO_DURATION_PART.match(body, position)
        if part is None:
            raise MacroError(f"error parsing interval {text}")
        seconds += float(part.group(1)) * _GO_UNIT_SECONDS[part.group(2)]
        position = part.end()
    if not body:
        raise MacroError(f"error parsing interval {text}")
    return timedelta(seconds=sign * seconds)


def _add_months(moment: datetime, months: int) -> datetime:
    # Go's AddDate normalises overflowing days (Jan 31 + 1 month = Mar 2 or 3).
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    overflow = moment.day - calendar.monthrange(year, month)[1]
    if overflow > 0:
        return moment.replace(year=year, month=month, day=calendar.monthrange(year, month)[1]) \
            + timedelta(days=overflow)
    return moment.replace(year=year, month=month)


def _format_interval(interval: timedelta) -> str:
    """Format like gtime.FormatInterval: the largest unit that fits, truncated."""
    milliseconds = int(interval / timedelta(milliseconds=1))
    for unit, size in (("y", 365 * 86_400_000), ("d", 86_400_000), ("h", 3_600_000),
                       ("m", 60_000), ("s", 1000), ("ms", 1)):
        if milliseconds >= size:
            return f"{milliseconds // size}{unit}"
    return "1ms"


def _go_float(value: float) -> str:
    """Format a float as Go's %v does: shortest digits, exponent form from 1e+06 up."""
    if value == 0:
        return "0"
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    text = "".join(map(str, digits))
    point = len(text) + exponent  # position of the decimal point after the first digit
    decimal_exponent = point - 1
    prefix = "-" if sign else ""
    if decimal_exponent < -4 or decimal_exponent >= 6:
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        exponent_sign = "-" if decimal_exponent < 0 else "+"
        return f"{prefix}{mantissa}e{exponent_sign}{abs(decimal_exponent):02d}"
    if point <= 0:
        return f"{prefix}0.{'0' * -point}{text}"
    if point >= len(text):
        return prefix + text + "0" * (point - len(text))
    return f"{prefix}{text[:point]}.{text[point:]}"


def _rfc3339(moment: datetime) -> str:
    """Go's time.RFC3339Nano for a UTC time: trailing zeros of the fraction dropped."""
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += "." + f"{moment.microsecond:06d}".rstrip("0")
    return text + "Z"


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _epoch_seconds(moment: datetime) -> int:
    return math.floor((moment - _EPOCH).total_seconds())


def _epoch_ms(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def _epoch_nanos(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1) * 1000
