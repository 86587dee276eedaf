"""One team, one key and one request in LiteLLM's tables, for tests that run the panels."""

from __future__ import annotations

import psycopg
from psycopg import sql


def seed_one_request(conn: psycopg.Connection, token_hash: str) -> None:
    """One team, one key and one request, logged and aggregated as LiteLLM would."""
    conn.execute(
        'INSERT INTO "LiteLLM_TeamTable" (team_id, team_alias, max_budget, spend)'
        " VALUES ('team-a', 'Team A', 100, 2.5)"
    )
    conn.execute(
        'INSERT INTO "LiteLLM_VerificationToken" (token, key_name, key_alias, team_id, spend,'
        " max_budget) VALUES (%s, 'sk-...abcd', 'team-a-prod', 'team-a', 2.5, 50)",
        (token_hash,),
    )
    conn.execute(
        'INSERT INTO "LiteLLM_SpendLogs" (request_id, call_type, api_key, spend, total_tokens,'
        ' prompt_tokens, completion_tokens, "startTime", "endTime", model, model_group,'
        " custom_llm_provider, team_id, status) VALUES ('req-1', 'acompletion', %s, 2.5,"
        " 300, 200, 100, now() - interval '1 hour', now() - interval '1 hour',"
        " 'gpt-4o-2024-08-06', 'gpt-4o', 'openai', 'team-a', 'success')",
        (token_hash,),
    )
    for table, owner_column, owner in (
        ("LiteLLM_DailyUserSpend", "user_id", "user-1"),
        ("LiteLLM_DailyTeamSpend", "team_id", "team-a"),
        ("LiteLLM_DailyTagSpend", "tag", "prod"),
    ):
        conn.execute(
            sql.SQL(
                "INSERT INTO {} (id, {}, date, api_key, model, model_group, custom_llm_provider,"
                " prompt_tokens, completion_tokens, spend, api_requests, successful_requests,"
                " updated_at) VALUES (gen_random_uuid()::text, %s, to_char(now(), 'YYYY-MM-DD'),"
                " %s, 'gpt-4o-2024-08-06', 'gpt-4o', 'openai', 200, 100, 2.5, 1, 1, now())"
            ).format(sql.Identifier(table), sql.Identifier(owner_column)),
            (owner, token_hash),
        )
