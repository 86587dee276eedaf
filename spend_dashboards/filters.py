"""SQL fragments shared by every query: the widened range, the variable filters, the labels.

The team, key and model variables use the custom All value `'__all'`, which Grafana
inserts verbatim, so `'__all' IN ($team)` is a constant PostgreSQL folds away: with All
selected a filter costs nothing, and keys missing from LiteLLM_VerificationToken
(deleted ones) still count.
"""

from __future__ import annotations

ALL_VALUE = "'__all'"
"""The custom All value of the team, key and model variables (a SQL literal)."""

FIRST_DATE = "left($__timeFrom(), 10)"
"""The UTC date the range starts on, as LiteLLM writes dates (Grafana's literal is UTC)."""

LAST_DATE = "left($__timeTo(), 10)"
"""The UTC date the range ends on; like $__timeFilter, the range includes its end."""

# Both dates are text functions of literals, which PostgreSQL folds into constants before
# it plans: compared per row, to_char() would cost more than summing the row.

FIRST_DAY = "date_trunc('day', $__timeFrom()::timestamp)"
"""Midnight UTC starting FIRST_DATE."""

LAST_DAY = "date_trunc('day', $__timeTo()::timestamp)"
"""Midnight UTC starting LAST_DATE."""

END_DAY = f"({LAST_DAY} + interval '1 day')"
"""Midnight UTC ending LAST_DATE."""

NOW_OR_RANGE_END = "least($__timeTo()::timestamp, now() AT TIME ZONE 'UTC')"
"""The range's end, or now when the range ends later (Grafana's "Today", "This week")."""

FAILED = "'failure'"
"""LiteLLM's SpendLogs.status of a failed request; anything else, NULL included, is a success.

LiteLLM's daily writer counts a request as failed only when the status in its logged
metadata is 'failure', and anything else or none as a success; it fills SpendLogs.status
from that metadata by the same rule. So this counts failures as failed_requests does, and
a request counts the same before and after LiteLLM flushes it. The column is NULL only on
rows logged before LiteLLM added it (migration 20250508072103_add_status_to_spendlogs).
"""


def all_selected(variable: str) -> str:
    """True when the variable's All option is selected."""
    return f"{ALL_VALUE} IN (${variable})"


def key_name(token_table: str) -> str:
    """A key's display name: its alias, else its masked name; never its hash.

    LiteLLM stores `key_name` already abbreviated (`sk-...abcd`); it is masked again here
    so that a full key written there by hand could not reach a panel either.
    """
    return (f"coalesce(nullif({token_table}.key_alias, ''), "
            f"'sk-...' || right({token_table}.key_name, 4), '(unnamed key)')")


def key_label(token_table: str) -> str:
    """`key_name`, or a placeholder for spend whose key row no longer exists."""
    return (f"CASE WHEN {token_table}.token IS NULL THEN '(deleted or unknown key)' "
            f"ELSE {key_name(token_table)} END")


def team_label(team_table: str, token_table: str) -> str:
    """A key's team by alias, else by id; keys outside any team say so.

    Spend of a key no longer in LiteLLM_VerificationToken has no team to name, so it is
    labelled as the key panels label its key, not as a live key without a team.
    """
    return (f"CASE WHEN {token_table}.token IS NULL THEN '(deleted or unknown key)' "
            f"ELSE coalesce(nullif({team_table}.team_alias, ''), {token_table}.team_id, "
            "'(no team)') END")


def model_label(column: str) -> str:
    """The model LiteLLM logged; calls without one (tool calls) are named as such."""
    return f"coalesce(nullif({column}, ''), '(no model)')"


def model_filter(column: str) -> str:
    """The `$model` selection applied to a model column."""
    return f"({all_selected('model')} OR {column} IN ($model))"


def key_filter(column: str) -> str:
    """The `$team` and `$key` selections applied to a hashed-key column.

    A key belongs to the team LiteLLM_VerificationToken names now, and is picked by its
    display name, which is what the key variable offers.
    """
    return (
        f"({all_selected('team')} AND {all_selected('key')}\n"
        f"      OR {column} IN (\n"
        '        SELECT k.token FROM "LiteLLM_VerificationToken" k\n'
        f"        WHERE ({all_selected('team')} OR k.team_id IN ($team))\n"
        f"          AND ({all_selected('key')} OR {key_name('k')} IN ($key))))"
    )


def token_filter(token_table: str) -> str:
    """The `$team` and `$key` selections applied to LiteLLM_VerificationToken rows."""
    return (f"({all_selected('team')} OR {token_table}.team_id IN ($team))\n"
            f"  AND ({all_selected('key')} OR {key_name(token_table)} IN ($key))")
