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
"""

from __future__ import annotations

from spend_dashboards.filters import all_selected, key_name, team_label, token_filter

_KEY_BUDGET = "coalesce(k.max_budget, b.max_budget)"
# A budget of 0 blocks every request, so it counts as fully used rather than undefined.
_KEY_UTILISATION = (f"CASE WHEN {_KEY_BUDGET} > 0 THEN k.spend / {_KEY_BUDGET} "
                    f"WHEN {_KEY_BUDGET} IS NOT NULL THEN 1.0 END")
_TEAM_UTILISATION = ("CASE WHEN t.max_budget > 0 THEN t.spend / t.max_budget "
                     "WHEN t.max_budget IS NOT NULL THEN 1.0 END")

_LIVE_KEYS = f"""FROM "LiteLLM_VerificationToken" k
LEFT JOIN "LiteLLM_BudgetTable" b ON b.budget_id = k.budget_id
LEFT JOIN "LiteLLM_TeamTable" t ON t.team_id = k.team_id
WHERE (k.expires IS NULL OR k.expires > now() AT TIME ZONE 'UTC')
  AND {token_filter('k')}"""

_TEAMS = f"""FROM "LiteLLM_TeamTable" t
WHERE ({all_selected('team')} OR t.team_id IN ($team))"""

KEY_BUDGETS = f"""SELECT {key_name('k')} AS "Key",
       {team_label('t', 'k')} AS "Team",
       CASE WHEN k.max_budget IS NOT NULL THEN 'key'
            WHEN b.max_budget IS NOT NULL THEN 'budget ' || b.budget_id END
         AS "Budget from",
       {_KEY_BUDGET} AS "Budget",
       k.spend AS "Spend this period",
       {_KEY_BUDGET} - k.spend AS "Remaining",
       {_KEY_UTILISATION} AS "Utilisation",
       CASE WHEN k.budget_duration IS NOT NULL THEN k.budget_duration
            WHEN k.budget_id IS NOT NULL THEN b.budget_duration END AS "Resets every",
       CASE WHEN k.budget_duration IS NOT NULL THEN k.budget_reset_at
            WHEN k.budget_id IS NOT NULL THEN b.budget_reset_at END AS "Next reset"
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
