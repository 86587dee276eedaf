"""The SQL of the budget dashboard: each key's and team's budget as LiteLLM enforces it.

LiteLLM rejects a key's requests once its `spend` (the current budget period's spend,
set back to 0 at each reset) reaches its budget: the key's own `max_budget`, else the
`max_budget` of the LiteLLM_BudgetTable row its `budget_id` points to. A key with
neither has no budget: it is unlimited, and these queries return NULL for its budget,
remaining and utilisation, never 0. Teams work the same way from LiteLLM_TeamTable.

Where the budget comes from does not decide when it resets. LiteLLM's reset job resets a
key on its own schedule (`budget_duration`, `budget_reset_at`) when the key has a
`budget_duration`; a key with a `budget_id` and no `budget_duration` of its own is reset
with its LiteLLM_BudgetTable row, on that row's schedule. A key with neither never resets.

A key's budget can be raised for a while: LiteLLM's /key/update stores `temp_budget_increase`
and `temp_budget_expiry` in the key's `metadata`, and at each authentication LiteLLM adds
the increase to the budget above while the expiry is later than now. The budget row's
max_budget counts here too, since LiteLLM copies it into the key's max_budget before it
adds the increase; a key without any budget gets none.
"""

from __future__ import annotations

from spend_dashboards.filters import all_selected, key_name, team_label, token_filter

# The increase must be a JSON number. LiteLLM adds nothing for 0 or null, and a value it
# cannot add (a string such as "abc") fails the key's authentication outright; such a
# value, a true (which Python would add as 1) or a number beyond what a double holds adds
# nothing here, so the panels show the budget without it. Each cast runs only once the
# CASE around it has checked the value, so no metadata value can make a query fail.
_INCREASE_AMOUNT = """CASE WHEN jsonb_typeof(m.increase) = 'number' THEN
      CASE WHEN abs(m.increase::numeric) BETWEEN 1e-300 AND 1e300
      THEN m.increase::float8 END END"""

# The expiry must be what both Python's datetime.fromisoformat, which LiteLLM parses it
# with, and PostgreSQL read alike: a date, optionally with a time to the minute, second or
# fraction of a second (which PostgreSQL rounds to the microsecond where Python truncates),
# then optionally a UTC offset (Z, +HH, +HHMM or +HH:MM). A time without an offset is UTC:
# LiteLLM 1.108 reads it so, and earlier releases compared it with the proxy's local
# clock, which is UTC in LiteLLM's container images.
_DATE = "[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
_TIME = r"[Tt ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]+)?)?"
_OFFSET = "(Z|[+-](0[0-9]|1[0-5])(:?[0-5][0-9])?)"

# Any other expiry adds nothing. LiteLLM fails the key's authentication on one it cannot
# parse ("soon", 31 February); the few forms only Python reads (an hour alone, ISO basic
# format, an offset beyond 15:59, which PostgreSQL refuses and no time zone uses) show
# without the increase. Year 0 and a day past its month's end are refused before the cast,
# which they would make fail.
_INCREASE_EXPIRY = f"""CASE WHEN m.expiry ~ '^{_DATE}({_TIME}{_OFFSET}?)?$'
        AND left(m.expiry, 4) <> '0000' THEN
      CASE WHEN substr(m.expiry, 9, 2)::int <= extract(day FROM
          make_date(left(m.expiry, 4)::int, substr(m.expiry, 6, 2)::int, 1)
          + interval '1 month - 1 day') THEN
        CASE WHEN substr(m.expiry, 11) ~ '[Z+-]' THEN m.expiry::timestamptz
             ELSE m.expiry::timestamp AT TIME ZONE 'UTC' END END END"""

_BASE_BUDGET = "coalesce(k.max_budget, b.max_budget)"

_KEY_BUDGET = "e.budget"
# A budget of 0 blocks every request, so it counts as fully used rather than undefined.
_KEY_UTILISATION = (f"CASE WHEN {_KEY_BUDGET} > 0 THEN k.spend / {_KEY_BUDGET} "
                    f"WHEN {_KEY_BUDGET} IS NOT NULL THEN 1.0 END")
_TEAM_UTILISATION = ("CASE WHEN t.max_budget > 0 THEN t.spend / t.max_budget "
                     "WHEN t.max_budget IS NOT NULL THEN 1.0 END")

# i holds the key's increase and its expiry where they are usable, else NULL; e the budget
# LiteLLM enforces now and the increase it adds, NULL when it adds none. The OFFSET 0s
# keep PostgreSQL from copying m's and i's expressions into every column that uses them,
# which would read the metadata and match the expiry once per use instead of once per key.
_LIVE_KEYS = f"""FROM "LiteLLM_VerificationToken" k
LEFT JOIN "LiteLLM_BudgetTable" b ON b.budget_id = k.budget_id
LEFT JOIN "LiteLLM_TeamTable" t ON t.team_id = k.team_id
CROSS JOIN LATERAL (
  SELECT {_INCREASE_AMOUNT} AS amount,
    {_INCREASE_EXPIRY} AS until
  FROM (SELECT k.metadata -> 'temp_budget_increase' AS increase,
               k.metadata ->> 'temp_budget_expiry' AS expiry OFFSET 0) m
  OFFSET 0) i
CROSS JOIN LATERAL (
  SELECT {_BASE_BUDGET} + coalesce(CASE WHEN i.until > now() THEN i.amount END, 0) AS budget,
         CASE WHEN {_BASE_BUDGET} IS NOT NULL AND i.until > now() THEN i.amount END
           AS increase) e
WHERE (k.expires IS NULL OR k.expires > now() AT TIME ZONE 'UTC')
  AND {token_filter('k')}"""

_TEAMS = f"""FROM "LiteLLM_TeamTable" t
WHERE ({all_selected('team')} OR t.team_id IN ($team))"""

KEY_BUDGETS = f"""SELECT {key_name('k')} AS "Key",
       {team_label('t', 'k')} AS "Team",
       CASE WHEN k.max_budget IS NOT NULL THEN 'key'
            WHEN b.max_budget IS NOT NULL THEN 'budget ' || b.budget_id END
         || CASE WHEN e.increase IS NOT NULL THEN ' + temporary increase' ELSE '' END
         AS "Budget from",
       {_KEY_BUDGET} AS "Budget",
       k.spend AS "Spend this period",
       {_KEY_BUDGET} - k.spend AS "Remaining",
       {_KEY_UTILISATION} AS "Utilisation",
       CASE WHEN k.budget_duration IS NOT NULL THEN k.budget_duration
            WHEN k.budget_id IS NOT NULL THEN b.budget_duration END AS "Resets every",
       CASE WHEN k.budget_duration IS NOT NULL THEN k.budget_reset_at
            WHEN k.budget_id IS NOT NULL THEN b.budget_reset_at END AS "Next reset",
       CASE WHEN e.increase IS NOT NULL THEN i.until AT TIME ZONE 'UTC' END
         AS "Increase until"
{_LIVE_KEYS}
ORDER BY 7 DESC NULLS LAST, 1"""

KEYS_CLOSEST_TO_BUDGET = f"""SELECT {key_name('k')} AS "Key",
       {_KEY_UTILISATION} AS "Utilisation"
{_LIVE_KEYS}
  AND {_KEY_BUDGET} IS NOT NULL
ORDER BY 2 DESC, 1
LIMIT 10"""

KEYS_OVER_BUDGET = f"""SELECT count(*) AS "Keys at or over budget"
{_LIVE_KEYS}
  AND k.spend >= {_KEY_BUDGET}"""

TEAM_BUDGETS = f"""SELECT coalesce(nullif(t.team_alias, ''), t.team_id) AS "Team",
       t.max_budget AS "Budget",
       t.spend AS "Spend this period",
       t.max_budget - t.spend AS "Remaining",
       {_TEAM_UTILISATION} AS "Utilisation",
       t.budget_duration AS "Resets every",
       t.budget_reset_at AS "Next reset"
{_TEAMS}
ORDER BY 5 DESC NULLS LAST, 1"""

TEAMS_CLOSEST_TO_BUDGET = f"""SELECT coalesce(nullif(t.team_alias, ''), t.team_id) AS "Team",
       {_TEAM_UTILISATION} AS "Utilisation"
{_TEAMS}
  AND t.max_budget IS NOT NULL
ORDER BY 2 DESC, 1
LIMIT 10"""

TEAMS_OVER_BUDGET = f"""SELECT count(*) AS "Teams at or over budget"
{_TEAMS}
  AND t.spend >= t.max_budget"""
