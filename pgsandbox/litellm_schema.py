"""LiteLLM's migrated schema and CloudNativePG-style roles on a throwaway server.

`create_role_like_cnpg` issues the statements CloudNativePG's managed-role
reconciler issues when a role in `spec.managed.roles` does not exist yet
(cloudnative-pg, internal/management/controller/roles/postgres.go `Create` and
roles.go `DatabaseRoleFromConfiguration`):

1. `CREATE ROLE "<name>"` with every attribute spelled out (`BYPASSRLS`/`NOBYPASSRLS`,
   `CREATEDB`, `CREATEROLE`, `INHERIT`, `LOGIN`, `REPLICATION`, `SUPERUSER`, each with
   its `NO` form), `CONNECTION LIMIT <n>` always (the CRD defaults it to -1),
   `IN ROLE "<r>",...` for `inRoles`, then `PASSWORD '<SCRAM-SHA-256 verifier>'`
   (CloudNativePG hashes a cleartext password client-side so the statement never
   carries it), `PASSWORD NULL` for `disablePassword`, no password clause when the
   role has neither, and `VALID UNTIL '<validUntil>'` when set; with a password,
   the statement runs in a transaction that first sets `log_statement` to none
   and `log_min_error_statement` to PANIC.
2. `COMMENT ON ROLE "<name>" IS '<comment>'` when the comment is not empty.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Protocol

import psycopg
from psycopg import sql

CNPG_ROLE_FIELDS = frozenset(
    {
        "name", "comment", "ensure", "passwordSecret", "disablePassword", "validUntil",
        "connectionLimit", "inRoles", "inherit", "superuser", "createdb", "createrole",
        "login", "replication", "bypassrls",
    }
)  # fmt: skip
"""The fields of CloudNativePG's `RoleConfiguration` (api/v1 cluster_types.go)."""

_BOOLEAN_ATTRIBUTES = ("bypassrls", "createdb", "createrole", "inherit", "login",
                       "replication", "superuser")  # fmt: skip
# CloudNativePG writes the attributes in this order; keeping it makes the SQL
# comparable with the operator's debug log line.
_KEYWORDS = {
    "bypassrls": "BYPASSRLS",
    "createdb": "CREATEDB",
    "createrole": "CREATEROLE",
    "inherit": "INHERIT",
    "login": "LOGIN",
    "replication": "REPLICATION",
    "superuser": "SUPERUSER",
}


class SupportsSuperuserDsn(Protocol):
    """Anything that can hand out superuser and password DSNs, like ThrowawayPostgres."""

    def superuser_dsn(self, dbname: str = "postgres") -> str: ...

    def dsn(self, user: str, password: str, dbname: str = "postgres") -> str: ...


@dataclass(frozen=True)
class RoleLogin:
    """A role's name and the password it logs in with over TCP."""

    name: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class LiteLLMDatabase:
    """A migrated LiteLLM database on a server, with LiteLLM's role and Grafana's."""

    server: SupportsSuperuserDsn
    name: str
    app: RoleLogin
    """LiteLLM's own role, owner of the database and its tables."""
    grafana: RoleLogin
    """The read-only role Grafana logs in as."""

    @property
    def superuser_dsn(self) -> str:
        """DSN of the superuser, over the Unix socket."""
        return self.server.superuser_dsn(self.name)

    @property
    def app_dsn(self) -> str:
        """DSN of LiteLLM's role, over TCP with its password."""
        return self.server.dsn(self.app.name, self.app.password, self.name)

    @property
    def grafana_dsn(self) -> str:
        """DSN of Grafana's role, over TCP with its password, as Grafana connects."""
        return self.server.dsn(self.grafana.name, self.grafana.password, self.name)

    def connect_superuser(self, autocommit: bool = True) -> psycopg.Connection:
        """Connect as the superuser, e.g. to seed rows or inspect catalogs."""
        return psycopg.connect(self.superuser_dsn, autocommit=autocommit)

    def connect_app(self, autocommit: bool = True) -> psycopg.Connection:
        """Connect as LiteLLM's role."""
        return psycopg.connect(self.app_dsn, autocommit=autocommit)

    def connect_grafana(self, autocommit: bool = True) -> psycopg.Connection:
        """Connect as Grafana's role."""
        return psycopg.connect(self.grafana_dsn, autocommit=autocommit)


class MigrationFailed(RuntimeError):
    """A LiteLLM migration raised an error; the message names the migration."""


def migration_dirs() -> list[Path]:
    """Return LiteLLM's migration directories from litellm_proxy_extras, oldest first."""
    root = Path(str(resources.files("litellm_proxy_extras") / "migrations"))
    found = sorted(p for p in root.iterdir() if (p / "migration.sql").is_file())
    if not found:
        raise FileNotFoundError(f"no */migration.sql under {root}; is litellm-proxy-extras intact?")
    return found


def apply_migrations(dsn: str) -> list[str]:
    """Apply every LiteLLM migration in order, each file as one autocommit execute.

    Autocommit matters: some migrations use CREATE INDEX CONCURRENTLY, which
    cannot run inside a transaction block. Returns the applied migration names.
    """
    applied = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        for directory in migration_dirs():
            text = (directory / "migration.sql").read_text()
            try:
                conn.execute(text)
            except psycopg.Error as error:
                raise MigrationFailed(
                    f"LiteLLM migration {directory.name} failed: "
                    f"{type(error).__name__} (SQLSTATE {error.sqlstate}): {error}"
                ) from error
            applied.append(directory.name)
    return applied


@dataclass(frozen=True)
class CnpgRole:
    """A managed role with CloudNativePG's CRD defaults applied."""

    name: str
    comment: str
    connection_limit: int
    in_roles: tuple[str, ...]
    attributes: Mapping[str, bool]
    password_mode: str
    """`secret` (passwordSecret set), `null` (disablePassword) or `ignore` (neither)."""
    valid_until: str | None


def parse_cnpg_role(role: Mapping[str, object]) -> CnpgRole:
    """Validate a managed-role dict and apply the CRD's defaults to it."""
    unknown = sorted(set(role) - CNPG_ROLE_FIELDS)
    if unknown:
        raise ValueError(
            f"managed role has unknown field(s) {unknown}; CloudNativePG's RoleConfiguration "
            f"allows {sorted(CNPG_ROLE_FIELDS)}"
        )
    name = role.get("name")
    if not isinstance(name, str) or not name:
        raise ValueError(f"managed role field 'name' is {name!r}; a non-empty string is required")

    def typed(field: str, kind: type, default: object) -> object:
        value = role.get(field, default)
        # bool is an int subclass; a limit of True must not pass as 1.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ValueError(
                f"managed role {name!r} field {field!r} is {value!r}; a {kind.__name__} is required"
            )
        return value

    ensure = typed("ensure", str, "present")
    if ensure != "present":
        raise ValueError(
            f"managed role {name!r} has ensure={ensure!r}; only 'present' roles can be created"
        )
    in_roles = typed("inRoles", list, [])
    if not all(isinstance(r, str) and r for r in in_roles):  # type: ignore[union-attr]
        raise ValueError(f"managed role {name!r} field 'inRoles' is {in_roles!r}; "
                         "a list of role names is required")  # fmt: skip
    has_secret = role.get("passwordSecret") is not None
    disabled = typed("disablePassword", bool, False)
    if has_secret and disabled:
        raise ValueError(f"managed role {name!r} sets both passwordSecret and disablePassword")
    valid_until = role.get("validUntil")
    if valid_until is not None and not isinstance(valid_until, str):
        raise ValueError(f"managed role {name!r} field 'validUntil' is {valid_until!r}; "
                         "an RFC 3339 timestamp string is required")  # fmt: skip

    return CnpgRole(
        name=name,
        comment=typed("comment", str, ""),  # type: ignore[arg-type]
        connection_limit=typed("connectionLimit", int, -1),  # type: ignore[arg-type]
        in_roles=tuple(in_roles),  # type: ignore[arg-type]
        attributes={
            attr: typed(attr, bool, attr == "inherit")  # type: ignore[misc]
            for attr in _BOOLEAN_ATTRIBUTES
        },
        password_mode="secret" if has_secret else ("null" if disabled else "ignore"),
        valid_until=valid_until,
    )


def cnpg_create_role_sql(role: CnpgRole, password_verifier: str | None) -> sql.Composed:
    """Return the CREATE ROLE statement CloudNativePG issues for a role it must create."""
    parts: list[sql.Composable] = [sql.SQL("CREATE ROLE "), sql.Identifier(role.name)]
    for attr in _BOOLEAN_ATTRIBUTES:
        keyword = _KEYWORDS[attr]
        parts.append(sql.SQL(" " + (keyword if role.attributes[attr] else "NO" + keyword)))
    # A validated int, written bare: sql.Literal pads negatives with a space.
    parts.append(sql.SQL(f" CONNECTION LIMIT {role.connection_limit:d}"))
    if role.in_roles:
        parts += [sql.SQL(" IN ROLE "), sql.SQL(",").join(map(sql.Identifier, role.in_roles))]
    if role.password_mode == "secret":
        if password_verifier is None:
            raise ValueError(f"role {role.name!r} has a passwordSecret; a password is required")
        parts += [sql.SQL(" PASSWORD "), sql.Literal(password_verifier)]
    elif role.password_mode == "null":
        parts.append(sql.SQL(" PASSWORD NULL"))
    if role.valid_until is not None:
        parts += [sql.SQL(" VALID UNTIL "), sql.Literal(role.valid_until)]
    return sql.Composed(parts)


def cnpg_comment_sql(role: CnpgRole) -> sql.Composed | None:
    """Return the COMMENT ON ROLE statement CloudNativePG issues, or None without a comment."""
    if not role.comment:
        return None
    return sql.SQL("COMMENT ON ROLE {} IS {}").format(
        sql.Identifier(role.name), sql.Literal(role.comment)
    )


def create_role_like_cnpg(
    superuser_dsn: str, role: Mapping[str, object], password: str | None
) -> None:
    """Create `role` (a CloudNativePG managed-role dict) as CloudNativePG's reconciler would.

    `password` stands for the `password` key of the role's passwordSecret; it must be
    given exactly when the role has a passwordSecret.
    """
    parsed = parse_cnpg_role(role)
    if parsed.password_mode != "secret" and password is not None:
        raise ValueError(f"role {parsed.name!r} has no passwordSecret, so no password is used")

    with psycopg.connect(superuser_dsn, autocommit=True) as conn:
        verifier = None
        if parsed.password_mode == "secret":
            if password is None:
                raise ValueError(f"role {parsed.name!r} has a passwordSecret; pass its password")
            # libpq's PQencryptPasswordConn does what CloudNativePG's SCRAM encoder
            # does: SASLprep, a random salt, 4096 iterations.
            verifier = conn.pgconn.encrypt_password(
                password.encode(), parsed.name.encode(), b"scram-sha-256"
            ).decode()
        create = cnpg_create_role_sql(parsed, verifier)

        if parsed.password_mode == "secret":
            with conn.transaction():
                conn.execute("SET LOCAL log_statement = 'none'")
                conn.execute("SET LOCAL log_min_error_statement = 'PANIC'")
                conn.execute(create)
        else:
            conn.execute(create)

        comment = cnpg_comment_sql(parsed)
        if comment is not None:
            conn.execute(comment)


def create_app_owner(superuser_dsn: str, name: str, password: str) -> None:
    """Create the application's owner role the way CloudNativePG's initdb bootstrap does."""
    with psycopg.connect(superuser_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(name)))
        conn.execute(
            sql.SQL("ALTER ROLE {} WITH PASSWORD {}").format(
                sql.Identifier(name), sql.Literal(password)
            )
        )


def create_migrated_database(
    server: SupportsSuperuserDsn, name: str, owner: str, owner_password: str
) -> list[str]:
    """Create database `name` owned by `owner` and apply LiteLLM's migrations as `owner`.

    Migrating as the owner over TCP, not as the superuser, gives LiteLLM's tables
    the owner they have in production, where LiteLLM migrates its own database.
    Returns the applied migration names.
    """
    with psycopg.connect(server.superuser_dsn(), autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(name), sql.Identifier(owner)
            )
        )
    return apply_migrations(server.dsn(owner, owner_password, name))


def create_migrated_template(
    server: SupportsSuperuserDsn, name: str, owner: str, owner_password: str
) -> list[str]:
    """Create and migrate database `name` like `create_migrated_database`, as a template."""
    applied = create_migrated_database(server, name, owner, owner_password)
    with psycopg.connect(server.superuser_dsn(), autocommit=True) as conn:
        conn.execute(sql.SQL("ALTER DATABASE {} IS_TEMPLATE true").format(sql.Identifier(name)))
    return applied


def clone_database(superuser_dsn: str, template: str, name: str, owner: str | None = None) -> None:
    """Create database `name` as a copy of `template`, far faster than migrating again.

    Pass the template's owner as `owner` to keep production's ownership: without it
    the copy belongs to the superuser that creates it.
    """
    statement = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
        sql.Identifier(name), sql.Identifier(template)
    )
    if owner is not None:
        statement += sql.SQL(" OWNER {}").format(sql.Identifier(owner))
    with psycopg.connect(superuser_dsn, autocommit=True) as conn:
        # PostgreSQL 15 made WAL_LOG the default, which writes every page of the copy
        # to WAL; copying the files is about twice as fast for a test database.
        if conn.info.server_version >= 150000:
            statement += sql.SQL(" STRATEGY FILE_COPY")
        conn.execute(statement)


def drop_database(superuser_dsn: str, name: str) -> None:
    """Drop database `name`, ending any sessions still connected to it."""
    with psycopg.connect(superuser_dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def table_columns(dsn: str, tables: Sequence[str]) -> dict[str, dict[str, str]]:
    """Return {table: {column: data_type}} for the named tables in schema public."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = 'public' AND table_name = ANY(%s)",
            (list(tables),),
        ).fetchall()
    result: dict[str, dict[str, str]] = {}
    for table, column, data_type in rows:
        result.setdefault(table, {})[column] = data_type
    return result
