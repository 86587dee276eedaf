"""Does Grafana slow LiteLLM's spend writes? The writer's latency, alone and under dashboards.

A throwaway PostgreSQL (loopback only) gets LiteLLM's migrated schema, `grafana_ro`
created from the stack's managed-role entry, and a realistic spend history. Then:

1. the writer alone: LiteLLM's spend-log flush, repeated;
2. the same writer while M processes, each logged in as grafana_ro, refresh both
   dashboards back to back (every panel and variable query, as Grafana expands them).

The writer does what LiteLLM's `DBSpendUpdateWriter.update_spend_logs` does with its
queue: up to 1000 rows per flush, written as `create_many(skip_duplicates=True)` calls
of 100 rows, i.e. one `INSERT ... VALUES (...) x100 ON CONFLICT DO NOTHING` statement
each. LiteLLM flushes every PROXY_BATCH_WRITE_AT (10 s); the benchmark flushes more
often, so it writes harder than a gateway does. Every loop is bounded in count and
in seconds. The script prints the results and writes them into BENCHMARKS.md between
its markers; it exits 1 if any statement failed, any row was lost, or the writer under
load could not keep up (its slowest flushes longer than LiteLLM's flush interval).

    uv run python benchmarks/gateway_under_dashboard_load.py [--help]
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import platform
import random
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

# A script run from the repository root gets only benchmarks/ on sys.path.
REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.dashboard_queries import dashboards_revision  # noqa: E402
from benchmarks.spend_fixture import MODELS, FixtureShape, load_spend_fixture  # noqa: E402
from manifests.role import managed_role  # noqa: E402
from pgsandbox import ThrowawayPostgres  # noqa: E402
from pgsandbox.litellm_schema import (  # noqa: E402
    LiteLLMDatabase,
    RoleLogin,
    create_app_owner,
    create_migrated_database,
    create_role_like_cnpg,
)
from pgsandbox.panel_queries import PanelQuery, TimeRange, panel_queries  # noqa: E402
from pgsandbox.server import DURABLE_SETTINGS  # noqa: E402
from settings import load_settings  # noqa: E402

BENCHMARKS_MD = REPO_ROOT / "BENCHMARKS.md"
START_MARKER = "<!-- load:start -->"
END_MARKER = "<!-- load:end -->"

LITELLM_ROWS_PER_FLUSH = 1000
"""MAX_LOGS_PER_INTERVAL in LiteLLM's update_spend_logs."""
LITELLM_ROWS_PER_STATEMENT = 100
"""BATCH_SIZE in LiteLLM's update_spend_logs: rows per create_many call."""
LITELLM_FLUSH_INTERVAL_S = 10.0
"""PROXY_BATCH_WRITE_AT's default: LiteLLM starts a spend flush this often."""
REQUEST_ID_PREFIX = "bench-"

APP = RoleLogin("litellm", "litellm-app-password")
GRAFANA_PASSWORD = "grafana-ro-benchmark-password"

SPEND_LOG_COLUMNS = (
    "request_id", "call_type", "api_key", "spend", "total_tokens", "prompt_tokens",
    "completion_tokens", "startTime", "endTime", "completionStartTime",
    "request_duration_ms", "model", "model_id", "model_group", "custom_llm_provider",
    "api_base", "user", "metadata", "cache_hit", "cache_key", "request_tags", "team_id",
    "end_user", "requester_ip_address", "messages", "response", "session_id", "status",
    "proxy_server_request", "litellm_call_id",
)  # fmt: skip


@dataclass(frozen=True)
class Options:
    """What one run does; every loop is bounded by a count and by seconds."""

    requests: int
    flushes: int
    flush_interval: float
    workers: int
    phase_seconds: float
    max_refreshes: int
    durable: bool
    write_markdown: bool


@dataclass
class WriterResult:
    """What the writer measured in one phase."""

    statement_ms: list[float] = field(default_factory=list)
    flush_ms: list[float] = field(default_factory=list)
    rows_sent: int = 0
    rows_inserted: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class DashboardResult:
    """What the dashboard workers measured together in one phase."""

    refresh_seconds: list[float] = field(default_factory=list)
    query_ms: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def parse_options(argv: list[str] | None = None) -> Options:
    """Read the command line; the defaults keep a run under about two minutes."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200_000,
                        help="SpendLogs rows seeded before measuring (default 200000)")
    parser.add_argument("--flushes", type=int, default=40,
                        help="writer flushes per phase, 1000 rows each (default 40)")
    parser.add_argument("--flush-interval", type=float, default=0.5,
                        help="seconds from one flush start to the next (default 0.5; "
                             "LiteLLM: 10)")
    parser.add_argument("--workers", type=int, default=None,
                        help="concurrent dashboard refreshers as grafana_ro (default: "
                             "Grafana's pool, i.e. the role's connection limit)")
    parser.add_argument("--phase-seconds", type=float, default=45.0,
                        help="hard time limit of each phase (default 45)")
    parser.add_argument("--max-refreshes", type=int, default=1000,
                        help="refreshes per worker at most (default 1000)")
    parser.add_argument("--fast", action="store_true",
                        help="measure with fsync off (default: durable, as production)")
    parser.add_argument("--no-markdown", action="store_true",
                        help="print only; leave BENCHMARKS.md alone")
    args = parser.parse_args(argv)
    pool = load_settings({}, gcp_project="pgsandbox-bench").max_open_conns
    return Options(
        requests=args.requests,
        flushes=args.flushes,
        flush_interval=args.flush_interval,
        workers=args.workers if args.workers is not None else pool,
        phase_seconds=args.phase_seconds,
        max_refreshes=args.max_refreshes,
        durable=not args.fast,
        write_markdown=not args.no_markdown,
    )


# -- the writer -------------------------------------------------------------------------


@dataclass(frozen=True)
class Requester:
    """A key that sends requests, as the seeded catalog has it."""

    token: str
    team_id: str | None
    user_id: str | None
    key_alias: str | None


def load_requesters(db: LiteLLMDatabase) -> list[Requester]:
    """The seeded keys, so written rows join to keys and teams like real traffic."""
    with db.connect_superuser() as conn:
        rows = conn.execute(
            'SELECT token, team_id, user_id, key_alias FROM "LiteLLM_VerificationToken"'
            " ORDER BY token"
        ).fetchall()
    return [Requester(*row) for row in rows]


def spend_log_row(rng: random.Random, requester: Requester, now: datetime) -> tuple:
    """One SpendLogs row shaped like LiteLLM's logging payload for a finished request."""
    model = rng.choice(MODELS)
    prompt = rng.randint(20, 4000)
    completion = 0 if model.call_type == "aembedding" else rng.randint(1, 1200)
    duration_ms = rng.randint(150, 9000)
    started = now - timedelta(milliseconds=duration_ms)
    spend = (prompt * model.input_usd_per_mtok + completion * model.output_usd_per_mtok) / 1e6
    call_id = str(uuid.UUID(int=rng.getrandbits(128)))
    metadata = {
        "user_api_key": requester.token,
        "user_api_key_alias": requester.key_alias,
        "user_api_key_team_id": requester.team_id,
        "user_api_key_user_id": requester.user_id,
        "model_map_information": {"model_map_key": model.model, "model_map_value": None},
        "additional_usage_values": {"prompt_tokens_details": None},
        "status": "success",
    }
    return (
        REQUEST_ID_PREFIX + call_id, model.call_type, requester.token, spend,
        prompt + completion, prompt, completion, started, now, started, duration_ms,
        model.model, f"deployment-{model.group}", model.group, model.provider,
        model.api_base, requester.user_id or "", Jsonb(metadata), "False", "",
        Jsonb([]), requester.team_id, None, "10.0.0.7", Jsonb({}), Jsonb({}), call_id,
        "success", Jsonb({}), call_id,
    )  # fmt: skip


def insert_statement(rows: int) -> sql.Composed:
    """create_many(skip_duplicates=True) of `rows` rows as Prisma sends it: one INSERT."""
    placeholders = sql.SQL("(") + sql.SQL(", ").join(
        sql.Placeholder() * len(SPEND_LOG_COLUMNS)
    ) + sql.SQL(")")
    return sql.SQL("INSERT INTO {} ({}) VALUES {} ON CONFLICT DO NOTHING").format(
        sql.Identifier("LiteLLM_SpendLogs"),
        sql.SQL(", ").join(map(sql.Identifier, SPEND_LOG_COLUMNS)),
        sql.SQL(", ").join([placeholders] * rows),
    )


def run_writer(db: LiteLLMDatabase, requesters: list[Requester], options: Options,
               seed: int) -> WriterResult:
    """Flush `options.flushes` times (or until the phase's time is up), timing each INSERT."""
    result = WriterResult()
    rng = random.Random(seed)
    statement = insert_statement(LITELLM_ROWS_PER_STATEMENT)
    deadline = time.monotonic() + options.phase_seconds
    with db.connect_app() as conn:
        # Prisma prepares its statements; so does psycopg after a few runs without this.
        conn.prepare_threshold = 0
        next_flush = time.monotonic()
        for _ in range(options.flushes):
            if time.monotonic() > deadline:
                break
            time.sleep(max(0.0, next_flush - time.monotonic()))
            next_flush += options.flush_interval
            now = datetime.now(timezone.utc).replace(tzinfo=None)
            flush = [spend_log_row(rng, rng.choice(requesters), now)
                     for _ in range(LITELLM_ROWS_PER_FLUSH)]
            flush_start = time.perf_counter()
            for start in range(0, len(flush), LITELLM_ROWS_PER_STATEMENT):
                batch = flush[start:start + LITELLM_ROWS_PER_STATEMENT]
                params = [value for row in batch for value in row]
                began = time.perf_counter()
                try:
                    cursor = conn.execute(statement, params)
                except psycopg.Error as error:
                    result.errors.append(f"writer: {type(error).__name__}: {error}")
                    continue
                result.statement_ms.append((time.perf_counter() - began) * 1000)
                result.rows_sent += len(batch)
                result.rows_inserted += cursor.rowcount
            result.flush_ms.append((time.perf_counter() - flush_start) * 1000)
    return result


# -- the dashboards ---------------------------------------------------------------------


def refresh_dashboards(dsn: str, queries: list[tuple[str, str]], stop_at: float,
                       max_refreshes: int, stop: multiprocessing.synchronize.Event,
                       results: multiprocessing.Queue) -> None:
    """One Grafana connection refreshing every panel back to back (a worker process)."""
    refresh_seconds: list[float] = []
    query_ms: dict[str, list[float]] = {title: [] for title, _ in queries}
    errors: list[str] = []
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            for _ in range(max_refreshes):
                if stop.is_set() or time.monotonic() > stop_at:
                    break
                began = time.perf_counter()
                for title, text in queries:
                    query_began = time.perf_counter()
                    try:
                        conn.execute(text).fetchall()
                    except psycopg.Error as error:
                        errors.append(f"{title}: {type(error).__name__}: {error}")
                        continue
                    query_ms[title].append((time.perf_counter() - query_began) * 1000)
                refresh_seconds.append(time.perf_counter() - began)
    except Exception as error:  # noqa: BLE001 - reported, so the parent never waits forever
        errors.append(f"dashboard worker: {type(error).__name__}: {error}")
    finally:
        results.put((refresh_seconds, query_ms, errors))


def run_phase(db: LiteLLMDatabase, requesters: list[Requester], options: Options,
              queries: list[PanelQuery], workers: int, seed: int
              ) -> tuple[WriterResult, DashboardResult]:
    """Run the writer with `workers` dashboard processes beside it (0 for the baseline)."""
    # Separate processes keep the dashboards' result decoding from holding the
    # writer's GIL, so only the database is shared, as in production.
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    results: multiprocessing.Queue = context.Queue()
    stop_at = time.monotonic() + options.phase_seconds
    pairs = [(q.title, q.sql) for q in queries]
    processes = [
        context.Process(target=refresh_dashboards,
                        args=(db.grafana_dsn, pairs, stop_at, options.max_refreshes, stop,
                              results))
        for _ in range(workers)
    ]
    for process in processes:
        process.start()
    if workers:
        # The writer starts once every worker has connected and run a first query,
        # so the whole measured phase is under load.
        wait_for_sessions(db, workers, timeout=30)

    writer = run_writer(db, requesters, options, seed)
    stop.set()
    dashboards = DashboardResult(query_ms={q.title: [] for q in queries})
    for _ in processes:
        refresh_seconds, query_ms, errors = results.get(timeout=options.phase_seconds + 60)
        dashboards.refresh_seconds += refresh_seconds
        dashboards.errors += errors
        for title, values in query_ms.items():
            dashboards.query_ms[title] += values
    for process in processes:
        process.join(timeout=30)
    return writer, dashboards


def wait_for_sessions(db: LiteLLMDatabase, count: int, timeout: float) -> None:
    """Wait until `count` grafana_ro sessions are connected (pg_stat_activity)."""
    deadline = time.monotonic() + timeout
    with db.connect_superuser() as conn:
        while time.monotonic() < deadline:
            active = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE usename = %s",
                (db.grafana.name,),
            ).fetchone()[0]
            if active >= count:
                return
            time.sleep(0.05)
    raise RuntimeError(f"only some of {count} dashboard workers started within {timeout} s")


# -- set-up and report ------------------------------------------------------------------


def prepare(server: ThrowawayPostgres, options: Options) -> tuple[LiteLLMDatabase, dict]:
    """Migrate, create grafana_ro as CNPG would, and load the spend history."""
    role = managed_role(load_settings({}, gcp_project="pgsandbox-bench"))
    create_app_owner(server.superuser_dsn(), APP.name, APP.password)
    create_migrated_database(server, "litellm", APP.name, APP.password)
    create_role_like_cnpg(server.superuser_dsn(), role, GRAFANA_PASSWORD)
    db = LiteLLMDatabase(server=server, name="litellm", app=APP,
                         grafana=RoleLogin(role["name"], GRAFANA_PASSWORD))
    report = load_spend_fixture(db.superuser_dsn, FixtureShape(requests=options.requests))
    return db, {"role": role, "fixture": report}


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (`share` in 0..1); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def count_benchmark_rows(db: LiteLLMDatabase) -> int:
    """Rows the writer's flushes left in SpendLogs, counted on the server."""
    with db.connect_superuser() as conn:
        return conn.execute(
            'SELECT count(*) FROM "LiteLLM_SpendLogs" WHERE request_id LIKE %s',
            (REQUEST_ID_PREFIX + "%",),
        ).fetchone()[0]


def render_section(options: Options, context: dict, phases: dict) -> str:
    """The BENCHMARKS.md section, markers included."""
    alone_w, _ = phases["alone"]
    loaded_w, loaded_d = phases["loaded"]
    fixture = context["fixture"]
    rows_sent = alone_w.rows_sent + loaded_w.rows_sent
    errors = len(alone_w.errors) + len(loaded_w.errors) + len(loaded_d.errors)

    def line(label: str, w: WriterResult) -> str:
        return (f"| {label} | {len(w.statement_ms)} | {percentile(w.statement_ms, .5):.1f} | "
                f"{percentile(w.statement_ms, .99):.1f} | {max(w.statement_ms):.1f} | "
                f"{percentile(w.flush_ms, .5):.0f} | {percentile(w.flush_ms, .99):.0f} |")

    slowest = sorted(
        ((percentile(v, .99), percentile(v, .5), t) for t, v in loaded_d.query_ms.items() if v),
        reverse=True,
    )[:3]
    slowest_lines = [f"  - `{title}`: p50 {p50:.0f} ms, p99 {p99:.0f} ms"
                     for p99, p50, title in slowest]
    with psycopg.connect(context["server_dsn"]) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]
    mode = "durable (fsync, synchronous_commit and full_page_writes on)" if options.durable \
        else "fast (fsync off; not production-like)"
    return "\n".join([
        START_MARKER,
        "## Gateway writes under dashboard load",
        "",
        "`uv run python benchmarks/gateway_under_dashboard_load.py` "
        f"({datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f} at the end, PostgreSQL {version}, {mode}, "
        f"{platform.machine()}; dashboard {context['revision']}). Loopback only; a throwaway "
        "server.",
        "",
        f"- Data: {fixture.rows['LiteLLM_SpendLogs']:,} SpendLogs rows over "
        f"{fixture.shape.days} days, {fixture.rows['LiteLLM_VerificationToken']:,} keys "
        "(`benchmarks/spend_fixture.py`).",
        f"- Writer: as LiteLLM's `update_spend_logs`, {LITELLM_ROWS_PER_FLUSH} rows per "
        f"flush as {LITELLM_ROWS_PER_FLUSH // LITELLM_ROWS_PER_STATEMENT} statements of "
        f"`INSERT ... {LITELLM_ROWS_PER_STATEMENT} rows ... ON CONFLICT DO NOTHING`, "
        f"a flush every {options.flush_interval:g} s (LiteLLM: every 10 s), "
        f"{options.flushes} flushes per phase, as LiteLLM's role.",
        f"- Dashboards: {options.workers} processes as `grafana_ro` (Grafana's pool = the "
        f"role's connection limit {context['role']['connectionLimit']}), each refreshing "
        f"both dashboards back to back: {len(loaded_d.query_ms)} queries per refresh, "
        "expanded for the dashboards' default 30 days with every variable at All.",
        "",
        "| Writer | INSERTs (100 rows) | p50 ms | p99 ms | max ms | flush p50 ms | "
        "flush p99 ms |",
        "|---|---|---|---|---|---|---|",
        line("alone", alone_w),
        line(f"with {options.workers} dashboard refreshers", loaded_w),
        "",
        f"- Dashboard refreshes completed during the loaded phase: "
        f"{len(loaded_d.refresh_seconds)}, each p50 "
        f"{percentile(loaded_d.refresh_seconds, .5):.2f} s, p99 "
        f"{percentile(loaded_d.refresh_seconds, .99):.2f} s. Slowest panel queries:",
        *slowest_lines,
        f"- Errors: {errors} (writer {len(alone_w.errors) + len(loaded_w.errors)}, "
        f"dashboards {len(loaded_d.errors)}).",
        f"- Rows lost: {context['rows_lost']} of {rows_sent:,} written "
        f"(count of the writer's request ids in SpendLogs: {context['rows_found']:,}).",
        f"- Keeps up: {'met' if keeps_up(loaded_w) else 'NOT MET'}: under load the writer's "
        f"p99 flush took {percentile(loaded_w.flush_ms, .99):,.0f} ms, "
        f"{percentile(loaded_w.flush_ms, .99) / 1000 / LITELLM_FLUSH_INTERVAL_S:.1%} of "
        f"LiteLLM's {LITELLM_FLUSH_INTERVAL_S:g} s flush interval, so its queue of spend "
        "logs does not grow: the dashboards slow each write but never make it fall behind.",
        "",
        "Timings on a shared 2-CPU machine vary from run to run; read the ratio of the",
        "two writer rows, not the absolute numbers.",
        END_MARKER,
    ])


def keeps_up(writer: WriterResult) -> bool:
    """True when the writer's slowest flushes fit in LiteLLM's interval between flushes."""
    # LiteLLM starts a flush every interval and queues what arrives meanwhile; a flush that
    # takes longer than the interval is the point where the queue, and memory, would grow.
    return percentile(writer.flush_ms, .99) < LITELLM_FLUSH_INTERVAL_S * 1000


def write_section(section: str, path: Path = BENCHMARKS_MD) -> None:
    """Put `section` between this script's markers, leaving the rest of the file as is."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    start, end = text.find(START_MARKER), text.find(END_MARKER)
    if start != -1 and end > start:
        text = text[:start] + section + text[end + len(END_MARKER):]
    elif start == -1 and end == -1:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    else:
        raise ValueError(f"{path} has only one of {START_MARKER} / {END_MARKER}; fix it by hand")
    path.write_text(text)


def main(argv: list[str] | None = None) -> int:
    """Run both phases, print and record the results; exit 1 on errors, lost rows or lag."""
    options = parse_options(argv)
    started = time.monotonic()
    # The load runs fast; the durability settings are restored before measuring.
    with ThrowawayPostgres(max_connections=50, shared_buffers="256MB") as server:
        print(f"server on 127.0.0.1:{server.port}; migrating and loading "
              f"{options.requests:,} requests ...", flush=True)
        db, context = prepare(server, options)
        context["server_dsn"] = server.superuser_dsn()
        context["revision"] = dashboards_revision()
        if options.durable:
            server.apply_settings(DURABLE_SETTINGS)
        with db.connect_superuser() as conn:
            conn.execute("CHECKPOINT")
        requesters = load_requesters(db)
        queries = panel_queries(TimeRange.ending())
        print(f"ready after {time.monotonic() - started:.0f} s; {len(queries)} dashboard "
              "queries per refresh", flush=True)

        phases = {}
        for name, workers, seed in (("alone", 0, 1), ("loaded", options.workers, 2)):
            phases[name] = run_phase(db, requesters, options, queries, workers, seed)
            writer, dashboards = phases[name]
            print(f"{name}: {len(writer.statement_ms)} INSERTs, p50 "
                  f"{percentile(writer.statement_ms, .5):.1f} ms, p99 "
                  f"{percentile(writer.statement_ms, .99):.1f} ms; "
                  f"{len(dashboards.refresh_seconds)} dashboard refreshes; "
                  f"{len(writer.errors) + len(dashboards.errors)} errors", flush=True)

        rows_sent = sum(phase[0].rows_sent for phase in phases.values())
        rows_inserted = sum(phase[0].rows_inserted for phase in phases.values())
        context["rows_found"] = count_benchmark_rows(db)
        context["rows_lost"] = rows_sent - context["rows_found"]
        section = render_section(options, context, phases)

    print(section)
    if options.write_markdown:
        write_section(section)
    failures = [e for w, d in phases.values() for e in w.errors + d.errors]
    for failure in failures[:20]:
        print("ERROR", failure, file=sys.stderr)
    lost = context["rows_lost"] != 0 or rows_inserted != rows_sent
    print(f"done in {time.monotonic() - started:.0f} s", flush=True)
    return 1 if failures or lost or not keeps_up(phases["loaded"][0]) else 0


if __name__ == "__main__":
    raise SystemExit(main())
