"""A small LiteLLM database whose right answers are known by construction.

Three teams, a budget table with and without a max_budget, keys of every budget kind
(own budget, budget from budget_id, none, over budget, zero, expired), of every reset
schedule (their own, their budget row's, none) and with a temporary budget increase in
their metadata (active, lapsed, on a budget row's budget, on no budget, malformed), a
deleted key,
requests on four UTC days including exactly at midnight and a millisecond before it,
failures, a request logged without a status, a tool call without a model, and the last
minutes of today only in
LiteLLM_SpendLogs, as when LiteLLM has not flushed them into its daily table yet: among
them a long request that started before the last flush and ended after it.

The daily rows follow LiteLLM's writer: a request is added when it is logged, at its
end, to the row of the UTC day it started on, and each row carries the write cycle that
last touched it, as `benchmarks/spend_fixture.py` does.

Every spend is a sum of powers of two, so totals are exact in floating point whichever
order PostgreSQL adds them in.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg

FLUSHED_AT = datetime(2026, 3, 10, 11, 55)
"""LiteLLM's last flush into LiteLLM_DailyUserSpend; requests ending later are log-only."""

WRITE_CYCLE = timedelta(seconds=10)
"""LiteLLM's writer flushes every PROXY_BATCH_WRITE_AT seconds (10 by default)."""


def token(name: str) -> str:
    """The hashed token LiteLLM stores for a key: SHA-256 of the secret, as hex."""
    return hashlib.sha256(f"sk-seed-secret-{name}".encode()).hexdigest()


@dataclass(frozen=True)
class Team:
    team_id: str
    alias: str | None
    max_budget: float | None
    spend: float
    budget_duration: str | None = None
    budget_reset_at: datetime | None = None


@dataclass(frozen=True)
class Budget:
    budget_id: str
    max_budget: float | None
    budget_duration: str | None = None
    budget_reset_at: datetime | None = None


@dataclass(frozen=True)
class Key:
    name: str
    """How the tests refer to the key; its token is derived from it."""
    alias: str | None
    key_name: str | None
    team_id: str | None
    spend: float
    max_budget: float | None = None
    budget_id: str | None = None
    budget_duration: str | None = None
    budget_reset_at: datetime | None = None
    expires: datetime | None = None
    user_id: str = "user-1"
    metadata: dict[str, object] | None = None
    """The key's metadata, where LiteLLM's /key/update keeps a temporary budget increase."""

    @property
    def token(self) -> str:
        return token(self.name)


@dataclass(frozen=True)
class Request:
    request_id: str
    start: datetime
    key: str
    """A key's name, or DELETED_KEY for a key no longer in LiteLLM_VerificationToken."""
    model: str
    spend: float
    prompt_tokens: int
    completion_tokens: int
    failed: bool = False
    """Logged by LiteLLM as a failure: `status` 'failure' in its metadata and its row."""
    without_status: bool = False
    """Logged with no status at all (NULL column, none in metadata), as by another writer;
    LiteLLM's daily writer counts such a request as a success."""
    provider: str = "openai"
    duration: timedelta = timedelta(seconds=2)
    """From startTime to endTime; LiteLLM logs the request at its end."""

    @property
    def end(self) -> datetime:
        return self.start + self.duration


DELETED_KEY = "deleted-key"

TEAMS = [
    Team("team-research", "Research", 100.0, 40.0, "30d", datetime(2026, 4, 1)),
    Team("team-support", "Support", 50.0, 55.0, "7d", datetime(2026, 3, 14)),
    Team("team-ops", None, None, 12.0),
]

BUDGETS = [
    Budget("tier-small", 10.0, "1d", datetime(2026, 3, 11)),
    Budget("limits-only", None),
]

KEYS = [
    Key("research-bot", "research-bot", "sk-...r1ab", "team-research", spend=5.0,
        max_budget=20.0, budget_duration="7d", budget_reset_at=datetime(2026, 3, 15)),
    Key("tiered", None, "sk-...wxyz", "team-research", spend=7.5, budget_id="tier-small"),
    Key("support-bot", "support-bot", "sk-...s3cd", "team-support", spend=6.0,
        max_budget=4.0, budget_duration="30d", budget_reset_at=datetime(2026, 4, 1)),
    Key("batch-jobs", "batch-jobs", "sk-...b4ef", None, spend=30.0),
    Key("limits-only", "limits-only", "sk-...l5gh", "team-ops", spend=0.5,
        budget_id="limits-only"),
    Key("expired", "expired-key", "sk-...e6ij", "team-research", spend=2.0, max_budget=1.0,
        expires=datetime(2000, 1, 1)),
    # A full secret stored in key_name by hand: the dashboards must still mask it.
    Key("zero-budget", "", "sk-live-1234567890abcdef", "team-ops", spend=0.0, max_budget=0.0),
    # Its own budget, but no budget_duration of its own: LiteLLM resets it with its budget
    # row, daily.
    Key("capped-tier", "capped-tier", "sk-...c7kl", "team-support", spend=3.0,
        max_budget=8.0, budget_id="tier-small"),
    # Its budget from its budget row, but a budget_duration of its own: LiteLLM resets it
    # on that schedule, not the row's.
    Key("own-schedule", "own-schedule", "sk-...o8mn", "team-ops", spend=1.25,
        budget_id="tier-small", budget_duration="30d", budget_reset_at=datetime(2026, 3, 31)),
    # Over its own 10 USD but within 10 + 5 until 1 January 2999 (midnight UTC, written
    # with an offset as LiteLLM's /key/update writes it): not over budget.
    Key("boosted", "boosted", "sk-...t1qr", "team-support", spend=12.0, max_budget=10.0,
        metadata={"temp_budget_increase": 5.0,
                  "temp_budget_expiry": "2999-01-01T05:30:00+05:30"}),
    # Its increase ran out in 2000, so its own 2 USD holds and it is over budget.
    Key("boost-lapsed", "boost-lapsed", "sk-...u2st", None, spend=3.5, max_budget=2.0,
        metadata={"temp_budget_increase": 4.0, "temp_budget_expiry": "2000-01-01T00:00:00"}),
    # No max_budget of its own: LiteLLM copies tier-small's 10 USD into the key's budget
    # before it adds the increase, so 10 + 5 holds; the date alone means midnight UTC.
    Key("tier-boosted", "tier-boosted", "sk-...v3uv", None, spend=11.0,
        budget_id="tier-small",
        metadata={"temp_budget_increase": 5.0, "temp_budget_expiry": "2999-01-01"}),
    # No budget anywhere: LiteLLM adds an increase only to a budget, so it stays unlimited.
    Key("unbudgeted-boost", "unbudgeted-boost", "sk-...w4wx", None, spend=1.0,
        metadata={"temp_budget_increase": 5.0, "temp_budget_expiry": "2999-01-01"}),
    # Values LiteLLM cannot use (it fails this key's authentication): no increase shows.
    Key("garbled-boost", "garbled-boost", "sk-...x5yz", "team-support", spend=2.0,
        max_budget=4.0, metadata={"temp_budget_increase": "abc", "temp_budget_expiry": "soon"}),
]

MIDNIGHT_BEFORE = timedelta(milliseconds=1)

REQUESTS = [
    Request("r01", datetime(2026, 3, 8) - MIDNIGHT_BEFORE, "research-bot", "gpt-4o", 1.0, 100, 50),
    Request("r02", datetime(2026, 3, 8), "research-bot", "gpt-4o", 2.0, 200, 100),
    Request("r03", datetime(2026, 3, 8, 10), "tiered", "claude-3-5-sonnet", 0.5, 40, 10,
            provider="anthropic"),
    # Same key, model and day through another provider: a second daily row.
    Request("r04", datetime(2026, 3, 8, 10, 30), "tiered", "claude-3-5-sonnet", 0.5, 40, 10,
            provider="bedrock"),
    Request("r05", datetime(2026, 3, 8, 11), "support-bot", "gpt-4o", 0.0, 30, 0, failed=True),
    Request("r06", datetime(2026, 3, 9) - MIDNIGHT_BEFORE, "batch-jobs", "gpt-4o-mini", 0.25,
            1000, 500),
    Request("r07", datetime(2026, 3, 9), "support-bot", "claude-3-5-sonnet", 4.0, 400, 200,
            provider="anthropic"),
    Request("r08", datetime(2026, 3, 9, 12), DELETED_KEY, "gpt-4o", 8.0, 800, 400),
    Request("r09", datetime(2026, 3, 9, 13), "limits-only", "gpt-4o-mini", 0.0, 10, 0,
            failed=True),
    Request("r10", datetime(2026, 3, 9, 14), "batch-jobs", "", 0.75, 0, 0, provider=""),
    Request("r11", datetime(2026, 3, 10, 1), "research-bot", "claude-3-5-sonnet", 3.0, 300, 150,
            provider="anthropic"),
    # Ended exactly when the last flush wrote the daily rows, so it is in them.
    Request("r12", FLUSHED_AT - timedelta(seconds=2), "tiered", "gpt-4o", 1.5, 150, 75),
    # Ended after the last flush: only in LiteLLM_SpendLogs. r13 started four minutes
    # before that flush, so only its end tells that the flush could not count it.
    Request("r13", datetime(2026, 3, 10, 11, 54), "support-bot", "gpt-4o", 16.0, 1600, 800,
            duration=timedelta(minutes=4)),
    Request("r14", datetime(2026, 3, 10, 11, 59, 30), "batch-jobs", "gpt-4o-mini", 0.0, 20, 0,
            failed=True),
    Request("r15", datetime(2026, 3, 10, 11, 59, 59), "research-bot", "gpt-4o", 32.0, 3200, 1600),
    Request("r17", datetime(2026, 3, 8, 9), "expired", "gpt-4o", 0.125, 5, 5),
    # Not flushed yet, and without a status: neither 'success' nor 'failure'.
    Request("r18", datetime(2026, 3, 10, 11, 59, 45), "batch-jobs", "gpt-4o-mini", 0.0, 0, 0,
            without_status=True),
]

ALL_TOKENS = [key.token for key in KEYS] + [token(DELETED_KEY)]


def key_by_name(name: str) -> Key | None:
    return next((key for key in KEYS if key.name == name), None)


def flush_after(instant: datetime) -> datetime:
    """The first write cycle at or after `instant`: when the writer upserts what was
    logged then, stamping the row's created_at or updated_at."""
    cycles = -((datetime.min - instant) // WRITE_CYCLE)
    return datetime.min + cycles * WRITE_CYCLE


def insert_catalog(conn: psycopg.Connection) -> None:
    """Teams, budgets and keys, as LiteLLM's management endpoints store them."""
    with conn.cursor() as cur:
        cur.executemany(
            'INSERT INTO "LiteLLM_TeamTable" (team_id, team_alias, max_budget, spend,'
            " budget_duration, budget_reset_at, admins, members, models, created_at,"
            " updated_at) VALUES (%s, %s, %s, %s, %s, %s, '{}', '{}', '{}', now(), now())",
            [(t.team_id, t.alias, t.max_budget, t.spend, t.budget_duration, t.budget_reset_at)
             for t in TEAMS])
        cur.executemany(
            'INSERT INTO "LiteLLM_BudgetTable" (budget_id, max_budget, rpm_limit,'
            " budget_duration, budget_reset_at, created_by, updated_by)"
            " VALUES (%s, %s, 100, %s, %s, 'admin', 'admin')",
            [(b.budget_id, b.max_budget, b.budget_duration, b.budget_reset_at)
             for b in BUDGETS])
        cur.executemany(
            'INSERT INTO "LiteLLM_VerificationToken" (token, key_name, key_alias, team_id,'
            " user_id, spend, total_spend, max_budget, budget_id, budget_duration,"
            " budget_reset_at, expires, metadata, models)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, '{}')",
            [(k.token, k.key_name, k.alias, k.team_id, k.user_id, k.spend, k.spend + 100,
              k.max_budget, k.budget_id, k.budget_duration, k.budget_reset_at, k.expires,
              json.dumps(k.metadata or {}))
             for k in KEYS])


def insert_spend_logs(conn: psycopg.Connection, requests: list[Request] = REQUESTS) -> None:
    """One LiteLLM_SpendLogs row per request, as LiteLLM's spend log writer stores it."""
    rows = []
    for r in requests:
        key = key_by_name(r.key)
        status = None if r.without_status else "failure" if r.failed else "success"
        metadata = {"user_api_key_alias": key.alias if key else None}
        if status is not None:
            metadata["status"] = status
        rows.append((
            r.request_id, "acompletion", token(r.key), r.spend,
            r.prompt_tokens + r.completion_tokens, r.prompt_tokens, r.completion_tokens,
            r.start, r.end, r.model, r.model, r.provider,
            key.user_id if key else "", key.team_id if key and key.team_id else "",
            status, json.dumps(metadata),
        ))
    conn.cursor().executemany(
        'INSERT INTO "LiteLLM_SpendLogs" (request_id, call_type, api_key, spend,'
        ' total_tokens, prompt_tokens, completion_tokens, "startTime", "endTime", model,'
        ' model_group, custom_llm_provider, "user", team_id, status, metadata)'
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        rows)


def insert_daily_rows(conn: psycopg.Connection, flushed_at: datetime = FLUSHED_AT) -> None:
    """LiteLLM_DailyUserSpend as LiteLLM's writer leaves it after its last flush.

    One row per user, UTC date of the start, key, model and provider; a request counts as
    failed only when its metadata says 'failure', as LiteLLM's writer decides, so one
    logged without a status counts as successful. Requests that ended after the last
    flush are left out, and each row is stamped with the write cycles that first and last
    wrote it.
    `flushed_at` must fall on a write cycle.
    """
    assert flush_after(flushed_at) == flushed_at, flushed_at
    groups: dict[tuple[str, str, str, str, str], list[Request]] = defaultdict(list)
    for r in REQUESTS:
        if r.end <= flushed_at:
            key = key_by_name(r.key)
            user = key.user_id if key else ""
            groups[(user, r.start.date().isoformat(), token(r.key), r.model, r.provider)].append(r)
    rows = []
    for number, ((user, date, api_key, model, provider), members) in enumerate(groups.items()):
        failed = sum(r.failed for r in members)
        rows.append((
            f"daily-{number}", user, date, api_key, model, model, provider,
            sum(r.prompt_tokens for r in members), sum(r.completion_tokens for r in members),
            sum(r.spend for r in members), len(members), len(members) - failed, failed,
            flush_after(min(r.end for r in members)), flush_after(max(r.end for r in members)),
        ))
    conn.cursor().executemany(
        'INSERT INTO "LiteLLM_DailyUserSpend" (id, user_id, date, api_key, model, model_group,'
        " custom_llm_provider, mcp_namespaced_tool_name, endpoint, prompt_tokens,"
        " completion_tokens, spend, api_requests, successful_requests, failed_requests,"
        " created_at, updated_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, '', '/chat/completions', %s, %s, %s, %s, %s, %s,"
        " %s, %s)",
        rows)


def seed(conn: psycopg.Connection) -> None:
    """Fill a freshly migrated LiteLLM database with the whole scenario."""
    insert_catalog(conn)
    insert_spend_logs(conn)
    insert_daily_rows(conn)
