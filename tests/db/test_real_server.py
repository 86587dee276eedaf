"""The database tests run against a real PostgreSQL server, never a mock."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

from pgsandbox import ThrowawayPostgres
from pgsandbox.litellm_schema import LiteLLMDatabase

DB_TESTS = Path(__file__).resolve().parent

# Tests that touch no database at all: they render SQL or read the test suite itself.
NO_DATABASE_TESTS = {
    "test_role_sql_is_what_cloudnativepg_issues",
    "test_role_sql_applies_the_crd_defaults_to_omitted_fields",
    "test_a_misspelt_role_field_is_refused_not_ignored",
    "test_every_db_test_uses_the_session_server",
    "test_db_test_modules_import_no_mocking",
}

MOCKING_MODULES = {"unittest.mock", "mock", "pytest_mock", "pulumi.runtime"}
MOCKING_NAMES = {"monkeypatch", "mocker", "Mock", "MagicMock", "patch", "Mocks"}


def test_sessions_are_served_by_the_postgres_process_pgsandbox_started(
    pg_server: ThrowawayPostgres, litellm_db: LiteLLMDatabase
) -> None:
    postmaster = int((pg_server.data_dir / "postmaster.pid").read_text().splitlines()[0])

    with litellm_db.connect_grafana() as conn:
        backend, address, port, version = conn.execute(
            "SELECT pg_backend_pid(), host(inet_server_addr()), inet_server_port(),"
            " current_setting('server_version_num')::int / 10000"
        ).fetchone()
        backend_parent = _parent_pid(backend)

    executable = Path(os.readlink(f"/proc/{postmaster}/exe"))
    assert executable == (pg_server.bin_dir / "postgres").resolve()
    assert backend_parent == postmaster
    assert (address, port) == ("127.0.0.1", pg_server.port)
    assert version == pg_server.major_version


def test_every_db_test_uses_the_session_server(request: pytest.FixtureRequest) -> None:
    db_items = [
        item for item in request.session.items
        if Path(str(item.path)).resolve().parent == DB_TESTS
    ]  # fmt: skip
    without_server = {
        item.originalname for item in db_items  # type: ignore[attr-defined]
        if "pg_server" not in item.fixturenames  # type: ignore[attr-defined]
    }

    assert without_server <= NO_DATABASE_TESTS


def test_db_test_modules_import_no_mocking() -> None:
    found = []
    for module in sorted(DB_TESTS.glob("*.py")):
        for node in ast.walk(ast.parse(module.read_text(), filename=str(module))):
            if isinstance(node, ast.Import):
                found += [(module.name, a.name) for a in node.names if _mocking(a.name)]
            elif isinstance(node, ast.ImportFrom) and node.module and _mocking(node.module):
                found.append((module.name, node.module))
            elif isinstance(node, ast.arg) and node.arg in MOCKING_NAMES:
                found.append((module.name, node.arg))
            elif isinstance(node, ast.Name) and node.id in MOCKING_NAMES:
                found.append((module.name, node.id))

    assert found == []


def _mocking(module: str) -> bool:
    return any(module == m or module.startswith(m + ".") for m in MOCKING_MODULES)


def _parent_pid(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("PPid:")).split()[1])
