"""Database fixtures: one throwaway PostgreSQL per session, LiteLLM's schema, grafana_ro.

Session fixtures start only when a test asks for them, so the mocks tests start no server.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from manifests.role import managed_role
from pgsandbox import ThrowawayPostgres
from pgsandbox.litellm_schema import (
    LiteLLMDatabase,
    RoleLogin,
    clone_database,
    create_app_owner,
    create_migrated_template,
    create_role_like_cnpg,
    drop_database,
)
from settings import load_settings

APP = RoleLogin("litellm", "litellm-app-password")
"""LiteLLM's own role: owner of its database, as CloudNativePG's bootstrap creates it."""

GRAFANA_PASSWORD = "gr'af\"ana ro $$pw\\ ü"
"""grafana_ro's password; quotes, backslash, `$$` and non-ASCII exercise the quoting."""

TEMPLATE_NAME = "litellm_template"

_database_numbers = itertools.count(1)


@dataclass(frozen=True)
class MigratedTemplate:
    """The database LiteLLM's migrations built once, which every test database copies."""

    name: str
    applied: list[str]


@pytest.fixture(scope="session")
def pg_server() -> Iterator[ThrowawayPostgres]:
    """A private PostgreSQL server for the whole test session."""
    with ThrowawayPostgres() as server:
        yield server


@pytest.fixture(scope="session")
def grafana_role() -> dict[str, Any]:
    """The managed-role entry the stack gives CloudNativePG, from default settings."""
    return managed_role(load_settings({}, gcp_project="pgsandbox-tests"))


@pytest.fixture(scope="session")
def grafana_ro(pg_server: ThrowawayPostgres, grafana_role: dict[str, Any]) -> RoleLogin:
    """grafana_ro created on the server exactly as CloudNativePG creates it from the entry."""
    create_role_like_cnpg(pg_server.superuser_dsn(), grafana_role, GRAFANA_PASSWORD)
    return RoleLogin(grafana_role["name"], GRAFANA_PASSWORD)


@pytest.fixture(scope="session")
def litellm_template(pg_server: ThrowawayPostgres) -> MigratedTemplate:
    """LiteLLM's database, owned by and migrated as LiteLLM's role, made once."""
    create_app_owner(pg_server.superuser_dsn(), APP.name, APP.password)
    applied = create_migrated_template(pg_server, TEMPLATE_NAME, APP.name, APP.password)
    return MigratedTemplate(name=TEMPLATE_NAME, applied=applied)


@pytest.fixture
def litellm_db(
    pg_server: ThrowawayPostgres, litellm_template: MigratedTemplate, grafana_ro: RoleLogin
) -> Iterator[LiteLLMDatabase]:
    """A fresh migrated database per test, dropped afterwards (sessions included)."""
    name = f"litellm_test_{next(_database_numbers)}"
    clone_database(pg_server.superuser_dsn(), litellm_template.name, name, owner=APP.name)
    try:
        yield LiteLLMDatabase(server=pg_server, name=name, app=APP, grafana=grafana_ro)
    finally:
        drop_database(pg_server.superuser_dsn(), name)
