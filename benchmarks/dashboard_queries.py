"""Time every dashboard query as grafana_ro, beside the straightforward SpendLogs scan.

    uv run python -m benchmarks.dashboard_queries                 # 30k and 300k requests
    uv run python -m benchmarks.dashboard_queries --ten-million   # 1M and 10M requests

The command starts a throwaway PostgreSQL server, migrates LiteLLM's schema into it,
creates grafana_ro from the stack's managed-role entry and, for each of two sizes
(`--rows` requests and a tenth of that), fills a fresh database with
`benchmarks.spend_fixture`. Logged in as grafana_ro over TCP, as Grafana is, it runs
every panel target and query variable of the dashboards for the ranges 24 h, 7 d,
30 d and 90 d ending at the data's end (the smaller size only at 30 d, which is all
the growth target needs). Each query runs once to warm up and then `--runs` times; the
median wall-clock time of execute plus fetch is reported beside the straightforward
query (the same answer from a scan of LiteLLM_SpendLogs), timed the same way in the
same run, and the two answers are compared. At the target range it also records each
query's estimated plan cost beside grafana_ro's `jit_above_cost`: above it PostgreSQL
compiles the query with JIT, which costs more than these queries take to run.

It writes its section of BENCHMARKS.md (between the dashboards markers) and a plot of
panel time against row count, and prints which targets were met.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg

import spend_dashboards
from benchmarks.spend_fixture import FixtureShape, LoadReport, load_spend_fixture
from manifests.role import managed_role
from pgsandbox import ThrowawayPostgres
from pgsandbox.server import DURABLE_SETTINGS, FAST_UNSAFE_SETTINGS
from pgsandbox.litellm_schema import (
    clone_database,
    create_app_owner,
    create_migrated_template,
    create_role_like_cnpg,
    drop_database,
)
from settings import load_settings
from spend_dashboards import grafana_sql

REPO = Path(__file__).resolve().parent.parent
BENCHMARKS_MD = REPO / "BENCHMARKS.md"
PLOT = Path(__file__).resolve().parent / "panel_time_vs_rows.png"
SECTION_START = "<!-- dashboards:start -->"
SECTION_END = "<!-- dashboards:end -->"

RANGES = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30),
          "90d": timedelta(days=90)}
"""The time ranges every query is timed for, each ending at the data's end."""
TARGET_RANGE = "30d"
"""The range the targets are judged at."""
TARGET_MS = 100.0
"""The most milliseconds a panel's median may take at the target range."""
TARGET_SPEEDUP = 20.0
"""How many times faster than its straightforward query a panel must be there."""
TARGET_GROWTH = 1.5
"""How much a panel's time may grow when the requests grow tenfold."""
GROWTH_FLOOR_MS = 5.0
"""Queries faster than this at the larger size are not judged on growth: below a few
milliseconds, scheduling and network jitter on a shared machine decide the ratio."""
DEFAULT_ROWS = 300_000
"""The default larger size: with a tenth of it, the command takes about a minute."""
TEN_MILLION = 10_000_000

APP_ROLE = "litellm"
APP_PASSWORD = "bench-litellm-app"
GRAFANA_PASSWORD = "bench-grafana-ro"
TEMPLATE = "litellm_template"

SERVER_SETTINGS: dict[str, str | int | bool] = {
    # Room for the load's WAL without checkpoints in the middle of it; reads ignore these.
    "max_wal_size": "16GB",
    "checkpoint_timeout": "1h",
}
SHARED_BUFFERS = "1GB"
"""A quarter of a 4 GB database pod, the usual CloudNativePG sizing; the rest is default
while timing (fsync and the other durability settings on)."""


@dataclass(frozen=True)
class TimedQuery:
    """One dashboard query to time: a panel target or variable, with its selections."""

    dashboard_uid: str
    panel_title: str
    variant: str
    """Which non-default selection it runs with, e.g. `breakdown=key`; empty by default."""
    sql: str
    straightforward: str | None
    selections: dict[str, grafana_sql.Selection | str]

    @property
    def label(self) -> str:
        """`<dashboard uid> / <panel title>`, with the variant in brackets."""
        suffix = f" [{self.variant}]" if self.variant else ""
        return f"{self.dashboard_uid} / {self.panel_title}{suffix}"


@dataclass
class Timing:
    """The medians of one query at one size and range."""

    rows: int
    range_name: str
    query: TimedQuery
    ms: float
    straightforward_ms: float | None
    same_answer: bool | None
    """Whether both queries returned the same rows; None without a straightforward query."""
    plan_cost: float | None = None
    """The planner's estimated total cost; measured at the target range only."""

    @property
    def speedup(self) -> float | None:
        """How many times faster than the straightforward query."""
        if self.straightforward_ms is None:
            return None
        return self.straightforward_ms / self.ms


@dataclass
class SizeRun:
    """Everything measured at one size."""

    rows: int
    load: LoadReport
    timings: list[Timing] = field(default_factory=list)
    jit_above_cost: float = math.inf
    """grafana_ro's `jit_above_cost`; infinite when JIT is off."""


# -- which queries ----------------------------------------------------------------------


def _opening_selections(model: dict[str, Any]) -> dict[str, grafana_sql.Selection | str]:
    # The selections a dashboard opens with: each variable's saved current value.
    selections: dict[str, grafana_sql.Selection | str] = {}
    for variable in model["templating"]["list"]:
        if variable["type"] in ("query", "custom"):
            selections[variable["name"]] = grafana_sql.Selection.from_model(
                variable, variable["current"]["value"])
    return selections


def _custom_options(model: dict[str, Any]) -> dict[str, list[str]]:
    return {variable["name"]: [option["value"] for option in variable.get("options", [])]
            for variable in model["templating"]["list"] if variable["type"] == "custom"}


def _saved_value(model: dict[str, Any], name: str) -> str:
    for variable in model["templating"]["list"]:
        if variable["name"] == name:
            value = variable["current"]["value"]
            return value if isinstance(value, str) else value[0]
    raise KeyError(name)


def dashboard_queries() -> list[TimedQuery]:
    """Every panel target and query variable, once per option of a custom variable it uses."""
    models = {model["uid"]: model for model in spend_dashboards.build_all().values()}
    timed = []
    for record in spend_dashboards.queries():
        model = models[record.dashboard_uid]
        opening = _opening_selections(model)
        variants: list[tuple[str, dict[str, grafana_sql.Selection | str]]] = [("", opening)]
        for name, options in _custom_options(model).items():
            if re.search(rf"\$\{{?{name}\b", record.sql):
                current = _saved_value(model, name)
                variants += [(f"{name}={option}", {**opening, name: option})
                             for option in options if option != current]
        timed += [TimedQuery(record.dashboard_uid, record.panel_title, variant, record.sql,
                             record.straightforward, selections)
                  for variant, selections in variants]
    return timed


def _interval(length: timedelta) -> timedelta:
    # Grafana divides the range by the panel's data points (about its width in pixels).
    return max(timedelta(seconds=1), timedelta(seconds=int(length.total_seconds() / 1000)))


# -- timing -----------------------------------------------------------------------------


def _run(conn: psycopg.Connection, sql: str) -> tuple[float, list[tuple[Any, ...]]]:
    started = time.perf_counter()
    rows = conn.execute(sql).fetchall()  # type: ignore[call-overload]
    return (time.perf_counter() - started) * 1000, rows


def median_ms(conn: psycopg.Connection, sql: str, runs: int) -> tuple[float, list[tuple]]:
    """Run `sql` once to warm up, then `runs` times; the median in ms and the last rows."""
    _, rows = _run(conn, sql)
    samples = []
    for _ in range(runs):
        elapsed, rows = _run(conn, sql)
        samples.append(elapsed)
    return statistics.median(samples), rows


def _comparable(value: Any) -> Any:
    if isinstance(value, (float, Decimal)):
        return float(value)
    return value


def same_rows(left: Sequence[tuple], right: Sequence[tuple]) -> bool:
    """Whether two results hold the same rows, numbers equal to 1e-9 relative."""
    if len(left) != len(right):
        return False

    # Sums in a different order may differ in the last bits, which can also swap two
    # rows that tie; both sides are sorted on rounded values before comparing.
    def key(row: tuple) -> tuple:
        return tuple((0, f"{v:.9g}") if isinstance(v, float) else (1, repr(v))
                     for v in map(_comparable, row))

    for a, b in zip(sorted(left, key=key), sorted(right, key=key)):
        for x, y in zip(map(_comparable, a), map(_comparable, b)):
            if isinstance(x, float) and isinstance(y, float):
                if not math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9):
                    return False
            elif x != y:
                return False
    return True


def time_queries(conn: psycopg.Connection, rows: int, end: datetime,
                 queries: Iterable[TimedQuery], ranges: Sequence[str], runs: int,
                 progress: Callable[[str], None]) -> list[Timing]:
    """Time every query for each of `ranges`, ending at `end`."""
    timings = []
    for range_name in ranges:
        length = RANGES[range_name]
        started = time.perf_counter()
        for query in queries:
            def expand(sql: str) -> str:
                return grafana_sql.expand(sql, end - length, end, query.selections,
                                          interval=_interval(length))

            ms, answer = median_ms(conn, expand(query.sql), runs)
            straightforward_ms = same = None
            if query.straightforward is not None:
                straightforward_ms, expected = median_ms(conn, expand(query.straightforward),
                                                         runs)
                same = same_rows(answer, expected)
            plan_cost = (estimated_cost(conn, expand(query.sql))
                         if range_name == TARGET_RANGE else None)
            timings.append(Timing(rows, range_name, query, ms, straightforward_ms, same,
                                  plan_cost))
        progress(f"  timed {range_name} in {time.perf_counter() - started:.1f} s")
    return timings


def estimated_cost(conn: psycopg.Connection, sql: str) -> float:
    """The planner's estimated total cost of `sql` (EXPLAIN without running it)."""
    (plan,) = conn.execute("EXPLAIN (FORMAT JSON) " + sql).fetchone()  # type: ignore
    return float(plan[0]["Plan"]["Total Cost"])


def jit_threshold(conn: psycopg.Connection) -> float:
    """The plan cost above which this session's queries are JIT-compiled."""
    jit, above = conn.execute("SELECT current_setting('jit'),"
                              " current_setting('jit_above_cost')::float8").fetchone()
    return above if jit == "on" and above >= 0 else math.inf


def explain(conn: psycopg.Connection, sql: str) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of `sql`, as text."""
    plan = conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql).fetchall()  # type: ignore
    return "\n".join(line for (line,) in plan)


# -- one size on one server -------------------------------------------------------------


def measure_size(server: ThrowawayPostgres, rows: int, queries: list[TimedQuery],
                 ranges: Sequence[str], runs: int, days: int, explain_misses: bool,
                 progress: Callable[[str], None]) -> SizeRun:
    """Load `rows` requests into a fresh database, time every query, drop the database."""
    name = f"litellm_{rows}"
    clone_database(server.superuser_dsn(), TEMPLATE, name, owner=APP_ROLE)
    try:
        # Loading does not need to survive a crash; the timing runs with the settings
        # a production server has, after a checkpoint so no load pages are left to write.
        server.apply_settings(FAST_UNSAFE_SETTINGS)
        progress(f"loading {rows:,} requests into {name}")
        load = load_spend_fixture(server.superuser_dsn(name),
                                  FixtureShape(requests=rows, days=days), progress=progress)
        progress(f"  loaded in {load.total_seconds:.1f} s")
        server.apply_settings(DURABLE_SETTINGS)
        with psycopg.connect(server.superuser_dsn(name), autocommit=True) as conn:
            conn.execute("CHECKPOINT")

        run = SizeRun(rows, load)
        grafana_dsn = server.dsn(managed_role_name(), GRAFANA_PASSWORD, name)
        # Grafana sends each query as plain text; psycopg would otherwise prepare a
        # statement run five times and let the server reuse a generic plan.
        with psycopg.connect(grafana_dsn, autocommit=True, prepare_threshold=None) as conn:
            run.jit_above_cost = jit_threshold(conn)
            run.timings = time_queries(conn, rows, load.end, queries, ranges, runs, progress)
            if explain_misses:
                _print_plans_of_misses(conn, run, load.end)
        return run
    finally:
        drop_database(server.superuser_dsn(), name)


def _print_plans_of_misses(conn: psycopg.Connection, run: SizeRun, end: datetime) -> None:
    for timing in run.timings:
        if timing.range_name != TARGET_RANGE or not _misses_time_or_speed(timing):
            continue
        length = RANGES[timing.range_name]
        sql = grafana_sql.expand(timing.query.sql, end - length, end, timing.query.selections,
                                 interval=_interval(length))
        print(f"\n### {timing.query.label} at {run.rows:,} rows, {timing.range_name}: "
              f"{timing.ms:.1f} ms\n{sql}\n\n{explain(conn, sql)}\n")


def managed_role_name() -> str:
    """grafana_ro's name as the stack's default settings give it."""
    return str(_grafana_role()["name"])


def _grafana_role() -> dict[str, Any]:
    return managed_role(load_settings({}, gcp_project="litellm-benchmarks"))


# -- targets ----------------------------------------------------------------------------


def _misses_time_or_speed(timing: Timing) -> bool:
    speedup = timing.speedup
    return timing.ms > TARGET_MS or (speedup is not None and speedup < TARGET_SPEEDUP)


def growth(small: SizeRun, large: SizeRun) -> dict[str, tuple[float, float, float]]:
    """Per query at the target range: (ms small, ms large, large / small)."""
    before = {t.query.label: t.ms for t in small.timings if t.range_name == TARGET_RANGE}
    return {t.query.label: (before[t.query.label], t.ms, t.ms / before[t.query.label])
            for t in large.timings
            if t.range_name == TARGET_RANGE and t.query.label in before}


def _grown(small: SizeRun, large: SizeRun) -> dict[str, tuple[float, float, float]]:
    return {label: g for label, g in growth(small, large).items()
            if g[1] >= GROWTH_FLOOR_MS and g[2] > TARGET_GROWTH}


def _where(timings: Sequence[Timing]) -> str:
    # Mismatches tend to hit every panel of a kind at once; name each panel and each
    # size and range once instead of listing every combination.
    panels = list(dict.fromkeys(t.query.label for t in timings))
    places = list(dict.fromkeys(f"{t.range_name} at {t.rows:,} rows" for t in timings))
    return f"{'; '.join(panels)} (in {', '.join(places)})"


def target_summary(small: SizeRun, large: SizeRun) -> list[str]:
    """One line per target: met or missed, and by which queries."""
    at_target = [t for t in large.timings if t.range_name == TARGET_RANGE]
    slow = [t for t in at_target if t.ms > TARGET_MS]
    weak = [t for t in at_target if t.speedup is not None and t.speedup < TARGET_SPEEDUP]
    judged = {label: g for label, g in growth(small, large).items()
              if g[1] >= GROWTH_FLOOR_MS}
    grown = _grown(small, large)
    compared = [t for t in small.timings + large.timings if t.same_answer is not None]
    compiled = [t for t in at_target
                if t.plan_cost is not None and t.plan_cost > large.jit_above_cost]
    wrong = [t for t in compared if not t.same_answer]
    with_straightforward = sum(1 for t in at_target if t.speedup is not None)

    def verdict(missed: int, total: int, what: str, by: str) -> str:
        if not missed:
            return f"- met: {what} ({total} of {total})"
        return f"- MISSED: {what} ({total - missed} of {total}); missed by: {by}"

    return [
        verdict(len(slow), len(at_target),
                f"median <= {TARGET_MS:.0f} ms at {TARGET_RANGE}, {large.rows:,} rows",
                "; ".join(f"{t.query.label} {t.ms:.1f} ms" for t in slow)),
        verdict(len(weak), with_straightforward,
                f">= {TARGET_SPEEDUP:.0f}x faster than the straightforward query at "
                f"{TARGET_RANGE}, {large.rows:,} rows",
                "; ".join(f"{t.query.label} {t.speedup:.1f}x" for t in weak)),
        verdict(len(grown), len(judged),
                f"growth <= {TARGET_GROWTH}x from {small.rows:,} to {large.rows:,} rows "
                f"at {TARGET_RANGE} (queries under {GROWTH_FLOOR_MS:.0f} ms not judged)",
                "; ".join(f"{label} {g[2]:.2f}x" for label, g in grown.items())),
        verdict(len(wrong), len(compared),
                "same answer as the straightforward query", _where(wrong)),
        verdict(len(compiled), len(at_target),
                f"estimated plan cost under jit_above_cost ({large.jit_above_cost:,.0f}) at "
                f"{TARGET_RANGE}, {large.rows:,} rows, so no query is JIT-compiled",
                "; ".join(f"{t.query.label} {t.plan_cost:,.0f}" for t in compiled)),
    ]


# -- report -----------------------------------------------------------------------------


def _ms(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.1f}" if value < 1000 else f"{value:,.0f}"


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f}×"


def _answer(value: bool | None) -> str:
    return "—" if value is None else ("yes" if value else "**no**")


def _bytes(count: int) -> str:
    return f"{count / 2**30:.1f} GiB" if count >= 2**30 else f"{count / 2**20:.0f} MiB"


def render_section(runs: list[SizeRun], argv: Sequence[str], context: dict[str, str],
                   plot_name: str) -> str:
    """The BENCHMARKS.md section, markers included."""
    small, large = runs[0], runs[-1]
    shape = large.load.shape
    command = " ".join(["uv run python -m benchmarks.dashboard_queries", *argv])
    lines = [
        SECTION_START,
        "## Dashboard queries against LiteLLM_SpendLogs scans",
        "",
        f"Written by `{command}` on {context['date']}, on {context['machine']}, "
        f"PostgreSQL {context['server_version']} (shared_buffers {SHARED_BUFFERS}, "
        f"otherwise default settings); load average {context['load_average']} when the "
        "run started (other work on the machine slows every number alike).",
        "",
        "**Data** (`benchmarks/spend_fixture.py`): LiteLLM's migrated schema with "
        f"{shape.keys:,} keys ({shape.idle_keys} never used; the busiest 10 % send about "
        f"46 % of requests), {shape.teams} teams, {shape.users} users and 20 models over "
        f"{shape.days} days ending at the data's end (\"now\"); requests peak at 12:00 UTC "
        "and dip at weekends; 1–6 % fail per model. The daily tables (user, team, tag) are "
        "derived from the log by the keys LiteLLM's writer aggregates on, except requests "
        f"logged in the last {shape.unflushed_minutes} minutes, which are left unflushed. "
        "SpendLogs has the indexes of the migrations plus the `(api_key, \"startTime\")` "
        "and `(litellm_call_id)` indexes LiteLLM's migration job builds after deploy, as "
        "production has them. The 90 d range reads the same 30 days of data as 30 d "
        "(the log starts 30 days back), so it measures the wider date predicates, not "
        "more rows. Requests grow, keys, teams, models and days stay the same.",
        "",
        "| rows | load time | SpendLogs size | DailyUserSpend rows | DailyTeamSpend rows |"
        " DailyTagSpend rows |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        counts = run.load.rows
        lines.append(
            f"| {run.rows:,} | {run.load.total_seconds:.0f} s | "
            f"{_bytes(run.load.spend_logs_bytes)} | "
            f"{counts['LiteLLM_DailyUserSpend']:,} | {counts['LiteLLM_DailyTeamSpend']:,} | "
            f"{counts['LiteLLM_DailyTagSpend']:,} |")
    lines += [
        "",
        "**Method**: every panel target and query variable of `spend_dashboards.queries()` "
        f"({context['dashboards']}), expanded by `spend_dashboards.grafana_sql.expand` "
        "with the selections the dashboard opens with (All; each other option of a custom "
        "variable the query uses is a separate row), run as `grafana_ro` over TCP with one "
        f"warm-up and then the median of {context['runs']} runs of the client's wall clock "
        "around execute and fetch; the straightforward query (same answer from a "
        "SpendLogs scan) is timed the same way in the same run, and both results are "
        f"compared. The smaller size is timed at {TARGET_RANGE} only, for the growth "
        f"target. The whole command took {context['duration']}.",
        "",
        f"**Targets** at {TARGET_RANGE}, checked by the command:",
        "",
        *target_summary(small, large),
        "",
        f"### Growth from {small.rows:,} to {large.rows:,} requests ({TARGET_RANGE})",
        "",
        "LiteLLM_DailyUserSpend holds "
        f"{small.load.rows['LiteLLM_DailyUserSpend']:,} rows at the smaller size and "
        f"{large.load.rows['LiteLLM_DailyUserSpend']:,} at the larger: a daily row exists "
        "per user, key, model and day that saw a request, so it stops growing once every "
        "key has used its models every day, which takes about a million requests here. "
        "Growth measured from a smaller size than that includes the daily table filling up.",
        "",
        f"![Panel time against SpendLogs rows]({plot_name})",
        "",
        f"| dashboard / panel | ms at {small.rows:,} | ms at {large.rows:,} | growth |"
        f" plan cost at {large.rows:,} |",
        "|---|---:|---:|---:|---:|",
    ]
    costs = {t.query.label: t.plan_cost for t in large.timings
             if t.range_name == TARGET_RANGE}
    for label, (before, after, factor) in growth(small, large).items():
        cost = costs.get(label)
        lines.append(f"| {label} | {_ms(before)} | {_ms(after)} | {factor:.2f}× | "
                     f"{'—' if cost is None else f'{cost:,.0f}'} |")
    lines += [
        "",
        "### Every query",
        "",
        "| rows | range | dashboard / panel | ms (median) | straightforward ms | ratio |"
        " same answer |",
        "|---:|---|---|---:|---:|---:|---|",
    ]
    for run in runs:
        for t in run.timings:
            lines.append(f"| {t.rows:,} | {t.range_name} | {t.query.label} | {_ms(t.ms)} | "
                         f"{_ms(t.straightforward_ms)} | {_ratio(t.speedup)} | "
                         f"{_answer(t.same_answer)} |")
    lines.append(SECTION_END)
    return "\n".join(lines) + "\n"


def write_section(path: Path, section: str) -> None:
    """Put `section` between its markers in `path`, keeping everything else as it is."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    start, end = text.find(SECTION_START), text.find(SECTION_END)
    if start != -1 and end != -1:
        text = text[:start] + section + text[end + len(SECTION_END):].lstrip("\n")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text, encoding="utf-8")


def draw_plot(runs: list[SizeRun], path: Path) -> None:
    """Panel time at the target range against SpendLogs rows, dashboard and straightforward."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    rows = [run.rows for run in runs]
    labels = [t.query.label for t in runs[0].timings if t.range_name == TARGET_RANGE]
    colours = [*plt.get_cmap("tab20").colors, *plt.get_cmap("tab20b").colors]
    figure, axes = plt.subplots(figsize=(12, 7.5))
    for index, label in enumerate(labels):
        series = [next(t for t in run.timings
                       if t.range_name == TARGET_RANGE and t.query.label == label)
                  for run in runs]
        colour = colours[index % len(colours)]
        axes.plot(rows, [t.ms for t in series], marker="osD^v"[index % 5], linewidth=1.2,
                  color=colour, label=label.removeprefix("litellm-"))
        if series[0].straightforward_ms is not None:
            axes.plot(rows, [t.straightforward_ms for t in series], linestyle="--",
                      linewidth=0.8, color=colour, alpha=0.7)
    axes.axhline(TARGET_MS, color="red", linewidth=0.8)
    axes.text(rows[0], TARGET_MS * 1.08, f"target {TARGET_MS:.0f} ms", color="red",
              fontsize=8)
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xticks(rows, [f"{r:,}" for r in rows])
    axes.xaxis.set_minor_formatter(NullFormatter())
    axes.set_xlabel("LiteLLM_SpendLogs rows")
    axes.set_ylabel(f"median ms at {TARGET_RANGE} (dashed: straightforward SpendLogs scan)")
    axes.set_title("Dashboard query time against request volume")
    axes.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


# -- command ----------------------------------------------------------------------------


def dashboards_revision() -> str:
    """Which dashboard SQL a run measured: the commit, and whether it had local edits."""
    # The dashboards change under review; the report names the SQL it measured.
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True,
                              check=False).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown commit"
    dirty = git("status", "--porcelain", "--", "spend_dashboards")
    return f"SQL at {commit}" + (" plus uncommitted changes" if dirty else "")


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.dashboard_queries",
        description="Time the dashboards' SQL as grafana_ro against realistic LiteLLM data, "
                    "at --rows requests and a tenth of that.")
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS,
                        help=f"SpendLogs rows of the larger size (default {DEFAULT_ROWS:,}); "
                             "the smaller size is a tenth of it")
    parser.add_argument("--ten-million", action="store_true",
                        help=f"shorthand for --rows {TEN_MILLION}: 1M and 10M requests "
                             "(loading takes minutes, timing the scans tens of minutes)")
    parser.add_argument("--runs", type=int, default=5,
                        help="timed runs per query after one warm-up (default 5, minimum 5)")
    parser.add_argument("--days", type=int, default=30,
                        help="days of traffic in the data (default 30)")
    parser.add_argument("--explain", action="store_true",
                        help="print EXPLAIN ANALYZE of each query missing the time or "
                             "speed-up target at 30 d")
    parser.add_argument("--no-write", action="store_true",
                        help="print the summary only; leave BENCHMARKS.md and the plot alone")
    args = parser.parse_args(argv)
    if args.ten_million:
        args.rows = TEN_MILLION
    if args.runs < 5:
        parser.error(f"--runs {args.runs}: at least 5 runs are needed for a median")
    if args.rows < 10:
        parser.error(f"--rows {args.rows}: at least 10 rows (the smaller size is a tenth)")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; return the exit status (0 even when targets are missed)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    started = time.perf_counter()
    context = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{os.cpu_count()} CPUs, {platform.machine()}",
        "load_average": " / ".join(f"{value:.1f}" for value in os.getloadavg()),
        "runs": str(args.runs),
    }

    def progress(message: str) -> None:
        print(message, flush=True)

    context["dashboards"] = dashboards_revision()
    queries = dashboard_queries()
    progress(f"{len(queries)} dashboard queries, ranges {', '.join(RANGES)}")
    with ThrowawayPostgres(shared_buffers=SHARED_BUFFERS, settings=SERVER_SETTINGS) as server:
        create_app_owner(server.superuser_dsn(), APP_ROLE, APP_PASSWORD)
        create_migrated_template(server, TEMPLATE, APP_ROLE, APP_PASSWORD)
        create_role_like_cnpg(server.superuser_dsn(), _grafana_role(), GRAFANA_PASSWORD)
        with psycopg.connect(server.superuser_dsn()) as conn:
            context["server_version"] = str(conn.execute("SHOW server_version").fetchone()[0])
        # The smaller size only serves the growth target, so it is timed at that range
        # alone; the scans of the straightforward queries dominate the command's time.
        runs = [measure_size(server, args.rows // 10, queries, [TARGET_RANGE], args.runs,
                             args.days, False, progress),
                measure_size(server, args.rows, queries, list(RANGES), args.runs, args.days,
                             args.explain, progress)]

    context["duration"] = f"{(time.perf_counter() - started) / 60:.1f} min"
    print("\nTargets:")
    for line in target_summary(runs[0], runs[-1]):
        print(line)
    if not args.no_write:
        draw_plot(runs, PLOT)
        write_section(BENCHMARKS_MD, render_section(
            runs, argv, context, PLOT.relative_to(REPO).as_posix()))
        print(f"\nwrote {BENCHMARKS_MD.relative_to(REPO)} and {PLOT.relative_to(REPO)}")
    print(f"finished in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
