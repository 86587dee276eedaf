"""Fixtures: one throwaway PostgreSQL per session, LiteLLM's schema, and the Grafana role."""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest

# pytest puts only this directory on sys.path; the program's modules live at the
# repository root.
REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from manifests.role import managed_role  # noqa: E402
from pgsandbox import ThrowawayPostgres  # noqa: E402
from pgsandbox.litellm_schema import (  # noqa: E402
    clone_database,
    create_app_owner,
    create_migrated_template,
    create_role_like_cnpg,
    drop_database,
)
from settings import load_settings  # noqa: E402

APP_OWNER = "litellm"
"""LiteLLM's own role: owner of its database, as CloudNativePG's bootstrap creates it."""

APP_OWNER_PASSWORD = "litellm-app-password"

GRAFANA_PASSWORD = "gr'af\"ana ro $$pw\\ ü"
"""grafana_ro's password; quotes, backslash, `$$` and non-ASCII exercise the quoting."""

TEMPLATE_NAME = "litellm_template"

_database_numbers = itertools.count(1)


@dataclass(frozen=True)
class MigratedTemplate:
    """The database LiteLLM's migrations built once, which every test database copies."""

    name: str
    applied: list[str]


@dataclass(frozen=True)
class LiteLLMDatabase:
    """A fresh copy of LiteLLM's migrated database and the roles that use it."""

    server: ThrowawayPostgres
    name: str
    grafana_role: dict[str, Any] = field(repr=False)

    @property
    def grafana_user(self) -> str:
        """The Grafana role's name, as the stack's managed role names it."""
        return self.grafana_role["name"]

    def connect_superuser(self, autocommit: bool = True) -> psycopg.Connection:
        """Connect as the superuser over the socket, e.g. to seed rows."""
        return psycopg.connect(self.server.superuser_dsn(self.name), autocommit=autocommit)

    def connect_app(self, autocommit: bool = True) -> psycopg.Connection:
        """Connect as LiteLLM's owner role over TCP with its password."""
        return psycopg.connect(self.app_dsn, autocommit=autocommit)

    def connect_grafana(self, autocommit: bool = True) -> psycopg.Connection:
        """Connect as grafana_ro over TCP with its password, as Grafana does."""
        return psycopg.connect(self.grafana_dsn, autocommit=autocommit)

    @property
    def app_dsn(self) -> str:
        """DSN of LiteLLM's owner role for this database."""
        return self.server.dsn(APP_OWNER, APP_OWNER_PASSWORD, self.name)

    @property
    def grafana_dsn(self) -> str:
        """DSN of grafana_ro for this database."""
        return self.server.dsn(self.grafana_user, GRAFANA_PASSWORD, self.name)


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
def grafana_ro(pg_server: ThrowawayPostgres, grafana_role: dict[str, Any]) -> dict[str, Any]:
    """grafana_ro created on the server exactly as CloudNativePG creates it from the entry."""
    create_role_like_cnpg(pg_server.superuser_dsn(), grafana_role, GRAFANA_PASSWORD)
    return grafana_role


@pytest.fixture(scope="session")
def litellm_template(pg_server: ThrowawayPostgres) -> MigratedTemplate:
    """LiteLLM's database, owned by and migrated as LiteLLM's role, made once."""
    create_app_owner(pg_server.superuser_dsn(), APP_OWNER, APP_OWNER_PASSWORD)
    applied = create_migrated_template(pg_server, TEMPLATE_NAME, APP_OWNER, APP_OWNER_PASSWORD)
    return MigratedTemplate(name=TEMPLATE_NAME, applied=applied)


@pytest.fixture
def litellm_db(
    pg_server: ThrowawayPostgres,
    litellm_template: MigratedTemplate,
    grafana_ro: dict[str, Any],
) -> Iterator[LiteLLMDatabase]:
    """A fresh migrated database per test, dropped afterwards (sessions included)."""
    name = f"litellm_test_{next(_database_numbers)}"
    clone_database(pg_server.superuser_dsn(), litellm_template.name, name, owner=APP_OWNER)
    try:
        yield LiteLLMDatabase(server=pg_server, name=name, grafana_role=grafana_ro)
    finally:
        drop_database(pg_server.superuser_dsn(), name)
