"""Fixtures: the seeded spend scenario, on the database fixtures of tests/conftest.py."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

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
