"""Throwaway PostgreSQL servers with LiteLLM's schema, for tests and benchmarks."""

from pgsandbox.litellm_schema import (
    apply_migrations,
    clone_database,
    create_migrated_template,
    create_role_like_cnpg,
    migration_dirs,
)
from pgsandbox.server import PostgresNotFound, ThrowawayPostgres

__all__ = [
    "PostgresNotFound",
    "ThrowawayPostgres",
    "apply_migrations",
    "clone_database",
    "create_migrated_template",
    "create_role_like_cnpg",
    "migration_dirs",
]
