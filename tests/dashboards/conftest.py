"""Fixtures: the database tests' server, schema and grafana_ro, plus the seeded scenario."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# The throwaway server, LiteLLM's migrated template and grafana_ro are defined once, in
# tests/db/conftest.py; loading that file here shares its fixtures instead of copying them.
_DB_CONFTEST = Path(__file__).resolve().parents[1] / "db" / "conftest.py"
_spec = importlib.util.spec_from_file_location("litellm_db_fixtures", _DB_CONFTEST)
assert _spec is not None and _spec.loader is not None
_db_fixtures = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = _db_fixtures
_spec.loader.exec_module(_db_fixtures)

pg_server = _db_fixtures.pg_server
grafana_role = _db_fixtures.grafana_role
grafana_ro = _db_fixtures.grafana_ro
litellm_template = _db_fixtures.litellm_template
litellm_db = _db_fixtures.litellm_db

sys.path.insert(0, str(Path(__file__).resolve().parent))
import litellm_seed  # noqa: E402


@pytest.fixture
def seeded_db(litellm_db):  # type: ignore[no-untyped-def]
    """A fresh migrated LiteLLM database holding the seed scenario."""
    with litellm_db.connect_app() as conn:
        litellm_seed.seed(conn)
    return litellm_db


@pytest.fixture
def grafana(seeded_db) -> Iterator:  # type: ignore[no-untyped-def]
    """A connection to the seeded database as grafana_ro, as Grafana connects."""
    with seeded_db.connect_grafana() as conn:
        yield conn
