"""The SQL of the spend dashboard: usage over a range of whole UTC days, two ways.

Every range panel is a body that reads a `usage` relation of spend per key, model and UTC
day (columns day, api_key, model, spend, prompt_tokens, completion_tokens, requests,
failures); bodies aggregate before they turn `day` into Grafana's time column, so the
conversion runs once per day rather than once per row. The dashboard feeds `usage` from
LiteLLM's daily table plus the requests LiteLLM has not flushed into it yet; the
straightforward twin, which the tests and the benchmark compare against, feeds the same
body from a scan of LiteLLM_SpendLogs.

Ranges are widened to whole UTC days because LiteLLM keeps its daily rows per UTC day;
summing the part of a day inside the range would mean scanning that day's raw logs, whose
cost grows with request volume. Both twins widen the same way, so they agree exactly.
"""

from __future__ import annotations

from spend_dashboards.filters import (
    END_DAY,
    FAILED,
    FIRST_DATE,
    FIRST_DAY,
    LAST_DATE,
    LAST_DAY,
    NOW_OR_RANGE_END,
    key_filter,
    key_label,
    model_filter,
    model_label,
    team_label,
)

UNFLUSHED_WINDOW = "3 hours"
"""How long before the range's end (or now) a request LiteLLM has not flushed may start.

Covers LiteLLM's default request timeout (6,000 s) and over an hour of a writer that is
behind. It is a constant, so the planner can estimate the SpendLogs rows it reads: with
only the watermark (a subquery) as bound it assumes a third of the range's rows, and its
cost estimate at ten million requests passes `jit_above_cost`, which grafana_ro cannot
raise; compiling then takes longer than the query.
"""

LONGEST_REQUEST = "10 minutes"
"""How long before the watermark an unflushed request is looked for.

SpendLogs has no index on endTime, so the top-up reads every request that started in
its window; this bound keeps that window to minutes while the writer keeps up. A longer
request that ended after the last flush is missing only until the next flush (LiteLLM
flushes every 10 s), like any request logged just after a flush.
"""

USAGE_FROM_DAILY_TABLE = f"""watermark AS (
  -- The newest flush into the daily rows of the days the top-up can date requests on.
  SELECT coalesce(max(w.updated_at), '-infinity') AS flushed_at
  FROM "LiteLLM_DailyUserSpend" w
  WHERE w.date IN (to_char({NOW_OR_RANGE_END}, 'YYYY-MM-DD'),
                   to_char({NOW_OR_RANGE_END} - interval '1 day', 'YYYY-MM-DD'))
),
usage AS (
  -- Whole UTC days, as LiteLLM's writer aggregated them per key, model and day.
  SELECT d.date AS day, d.api_key, d.model, d.spend,
         d.prompt_tokens, d.completion_tokens,
         d.api_requests AS requests, d.failed_requests AS failures
  FROM "LiteLLM_DailyUserSpend" d
  WHERE d.date BETWEEN {FIRST_DATE} AND {LAST_DATE}
    AND {model_filter('d.model')}
    AND {key_filter('d.api_key')}
  UNION ALL
  -- Requests that ended after the newest flush are not in the daily table yet; they
  -- count on the day they started, as there. Both startTime lower bounds use the
  -- ("startTime") index: the planner estimates the constant one, the scan stops at the
  -- tighter one.
  SELECT to_char(l."startTime", 'YYYY-MM-DD'), l.api_key, l.model, l.spend,
         l.prompt_tokens, l.completion_tokens,
         1, CASE WHEN l.status = {FAILED} THEN 1 ELSE 0 END
  FROM "LiteLLM_SpendLogs" l
  WHERE l."startTime" >= greatest({FIRST_DAY},
                                  {NOW_OR_RANGE_END} - interval '{UNFLUSHED_WINDOW}')
    AND l."startTime" >= (SELECT flushed_at FROM watermark)
                         - interval '{LONGEST_REQUEST}'
    AND l."startTime" < {END_DAY}
    AND l."endTime" > (SELECT flushed_at FROM watermark)
    AND {model_filter('l.model')}
    AND {key_filter('l.api_key')}
)"""
"""Usage from LiteLLM_DailyUserSpend, topped up from LiteLLM_SpendLogs for unflushed requests.

LiteLLM adds a request to its daily rows when the request is logged, at its end, and
the upsert stamps `updated_at`. The watermark is the newest `updated_at` among the daily
rows of the day the top-up window ends on and the day before (every request it may
hold started on one of them): a request that ended before that flush was in it, one
that ended later was not, whenever it started. With no daily rows for either day, the
whole window comes from SpendLogs.
"""

USAGE_FROM_SPEND_LOGS = f"""usage AS (
  SELECT date_trunc('day', l."startTime") AS day, l.api_key, l.model, l.spend,
         l.prompt_tokens, l.completion_tokens,
         1 AS requests, CASE WHEN l.status = {FAILED} THEN 1 ELSE 0 END AS failures
  FROM "LiteLLM_SpendLogs" l
  WHERE l."startTime" >= {FIRST_DAY} AND l."startTime" < {END_DAY}
    AND {model_filter('l.model')}
    AND {key_filter('l.api_key')}
)"""
"""The same usage read from every request in the range: the straightforward scan."""

_KEY_AND_TEAM = """LEFT JOIN "LiteLLM_VerificationToken" k ON k.token = u.api_key
LEFT JOIN "LiteLLM_TeamTable" t ON t.team_id = k.team_id"""

TOTALS = """SELECT coalesce(sum(u.spend), 0) AS "Spend",
       coalesce(sum(u.requests), 0) AS "Requests",
       sum(u.failures)::float8 / nullif(sum(u.requests), 0) AS "Failure rate",
       coalesce(sum(u.prompt_tokens + u.completion_tokens), 0) AS "Tokens"
FROM usage u"""
"""The range's spend, requests, failure rate and tokens, from one pass over `usage`."""

_BREAKDOWN_SOURCE = (
    "coalesce(CASE WHEN '$breakdown' = 'model' THEN u.model ELSE u.api_key END, '')")
"""The model or key a usage row is split by, per the "Split spend by" choice."""


def _series_name(source: str) -> str:
    """The series a model or key (`source`) is drawn as: model, key or team label."""
    return f"""CASE '$breakdown'
           WHEN 'key' THEN {key_label('k')}
           WHEN 'team' THEN {team_label('t', 'k')}
           ELSE {model_label(source)}
         END"""


SPEND_PER_DAY = f"""sourced AS NOT MATERIALIZED (
  -- Each usage row with the model or key it is split by. Rows are not summed per day
  -- and key first: thirty days of a thousand keys make tens of thousands of such pairs,
  -- which cost more to group than mapping each row to one of eleven series below.
  -- Reading the daily rows twice (for the leaders, then per day) is cheaper than
  -- keeping them in between.
  SELECT u.day,
         {_BREAKDOWN_SOURCE}
           AS source,
         u.spend
  FROM usage u
),
named AS (
  -- Each model or key once, with its series name and its spend over the range.
  SELECT s.source,
         {_series_name('s.source')} AS name,
         s.spend
  FROM (SELECT source, sum(spend) AS spend FROM sourced GROUP BY source) s
  LEFT JOIN "LiteLLM_VerificationToken" k ON '$breakdown' <> 'model' AND k.token = s.source
  LEFT JOIN "LiteLLM_TeamTable" t ON t.team_id = k.team_id
),
leaders AS (
  -- The ten largest get a series each; the rest share one, so the legend stays legible.
  SELECT name FROM named GROUP BY name ORDER BY sum(spend) DESC, name LIMIT 10
),
series AS MATERIALIZED (
  -- Materialized so the choice is made once per model or key, not once per row.
  SELECT n.source,
         CASE WHEN n.name IN (SELECT name FROM leaders) THEN n.name ELSE '(others)' END
           AS metric
  FROM named n
)
SELECT $__timeGroupAlias(p.day::timestamp, 1d), s.metric, sum(p.spend) AS "Spend"
FROM sourced p
JOIN series s ON s.source = p.source
GROUP BY p.day, s.metric
ORDER BY p.day, s.metric"""

SPEND_PER_DAY_BY_PAIRS = f"""per_pair AS (
  SELECT u.day,
         {_BREAKDOWN_SOURCE}
           AS source,
         sum(u.spend) AS spend
  FROM usage u
  GROUP BY 1, 2
),
series AS (
  SELECT p.day,
         {_series_name('p.source')} AS name,
         sum(p.spend) AS spend
  FROM per_pair p
  LEFT JOIN "LiteLLM_VerificationToken" k ON '$breakdown' <> 'model' AND k.token = p.source
  LEFT JOIN "LiteLLM_TeamTable" t ON t.team_id = k.team_id
  GROUP BY 1, 2
),
leaders AS (
  SELECT name FROM series GROUP BY name ORDER BY sum(spend) DESC, name LIMIT 10
)
SELECT $__timeGroupAlias(s.day::timestamp, 1d),
       CASE WHEN s.name IN (SELECT name FROM leaders) THEN s.name ELSE '(others)' END
         AS metric,
       sum(s.spend) AS "Spend"
FROM series s
GROUP BY s.day, 2
ORDER BY s.day, 2"""
"""SPEND_PER_DAY summed per day and model or key first, in one pass over `usage`.

The straightforward twin uses this shape: over SpendLogs it reads the log once, where
SPEND_PER_DAY's two passes would read it twice.
"""

SPEND_BY_MODEL = f"""SELECT {model_label('u.model')} AS "Model", sum(u.spend) AS "Spend"
FROM usage u
GROUP BY 1
ORDER BY 2 DESC, 1"""

SPEND_BY_KEY = f"""SELECT {key_label('k')} AS "Key", {team_label('t', 'k')} AS "Team",
       sum(u.spend) AS "Spend", sum(u.requests) AS "Requests",
       sum(u.tokens) AS "Tokens"
FROM (
  SELECT api_key, sum(spend) AS spend, sum(requests) AS requests,
         sum(prompt_tokens + completion_tokens) AS tokens
  FROM usage GROUP BY api_key
) u
{_KEY_AND_TEAM}
GROUP BY 1, 2
ORDER BY 3 DESC, 1, 2"""

SPEND_BY_TEAM = f"""SELECT {team_label('t', 'k')} AS "Team", sum(u.spend) AS "Spend"
FROM (SELECT api_key, sum(spend) AS spend FROM usage GROUP BY api_key) u
{_KEY_AND_TEAM}
GROUP BY 1
ORDER BY 2 DESC, 1"""

TOKENS_PER_DAY = """SELECT $__timeGroupAlias(u.day::timestamp, 1d),
       sum(u.prompt_tokens) AS "Prompt tokens",
       sum(u.completion_tokens) AS "Completion tokens"
FROM usage u
GROUP BY u.day
ORDER BY u.day"""

TOKENS_BY_MODEL = f"""SELECT {model_label('u.model')} AS "Model",
       sum(u.prompt_tokens) AS "Prompt tokens",
       sum(u.completion_tokens) AS "Completion tokens"
FROM usage u
GROUP BY 1
ORDER BY sum(u.prompt_tokens + u.completion_tokens) DESC, 1"""

REQUESTS_PER_DAY = """SELECT $__timeGroupAlias(u.day::timestamp, 1d),
       sum(u.requests) - sum(u.failures) AS "Succeeded",
       sum(u.failures) AS "Failed"
FROM usage u
GROUP BY u.day
ORDER BY u.day"""

FAILURE_RATE_PER_DAY = """SELECT $__timeGroupAlias(u.day::timestamp, 1d),
       sum(u.failures)::float8 / nullif(sum(u.requests), 0) AS "Failure rate"
FROM usage u
GROUP BY u.day
ORDER BY u.day"""

COST_PER_1K_TOKENS = f"""SELECT {model_label('u.model')} AS "Model",
       sum(u.spend) / nullif(sum(u.prompt_tokens + u.completion_tokens), 0) * 1000
         AS "Cost per 1K tokens",
       sum(u.spend) AS "Spend",
       sum(u.prompt_tokens + u.completion_tokens) AS "Tokens"
FROM usage u
GROUP BY 1
ORDER BY 2 DESC NULLS LAST, 1"""


def from_daily_table(body: str) -> str:
    """The dashboard's SQL: `body` over usage from the daily table and unflushed logs."""
    return _with_usage(USAGE_FROM_DAILY_TABLE, body)


def from_spend_logs(body: str) -> str:
    """The straightforward SQL: `body` over usage from scanning LiteLLM_SpendLogs."""
    return _with_usage(USAGE_FROM_SPEND_LOGS, body)


def _with_usage(usage: str, body: str) -> str:
    # A body that starts with more CTEs (`name AS (`) continues the WITH list.
    if body.startswith("SELECT"):
        return f"WITH {usage}\n{body}"
    return f"WITH {usage},\n{body}"
