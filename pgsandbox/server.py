"""A private, throwaway PostgreSQL server started from the local server binaries."""

from __future__ import annotations

import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

SEARCHED_INSTALL_ROOT = Path("/usr/lib/postgresql")
"""Where Debian and Ubuntu install one `bin/` directory per PostgreSQL major version."""

UNPRIVILEGED_OS_USER = "postgres"
"""The OS user the server runs as when this process is root (PostgreSQL refuses root)."""

SUPERUSER = "postgres"
"""The bootstrap superuser; it can log in only over the Unix socket, without a password."""

FAST_UNSAFE_SETTINGS = {"fsync": False, "synchronous_commit": False, "full_page_writes": False}
"""What `durable=False` sets: no waiting for the disk, which a crash would punish."""

DURABLE_SETTINGS = {"fsync": True, "synchronous_commit": True, "full_page_writes": True}
"""PostgreSQL's defaults for the settings `durable=False` turns off."""
_PORT_ATTEMPTS = 3
_SETTINGS_FILE = "pgsandbox.conf"


class PostgresNotFound(RuntimeError):
    """No PostgreSQL server binaries (initdb, pg_ctl, postgres) could be found."""


class PostgresStartFailed(RuntimeError):
    """The throwaway server did not start; the message carries the end of its log."""


def find_bin_dir() -> Path:
    """Return the directory holding initdb, pg_ctl and postgres, preferring PATH."""
    candidates: list[Path] = []
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    versioned = [p for p in SEARCHED_INSTALL_ROOT.glob("*/bin") if p.parent.name.isdigit()]
    candidates += sorted(versioned, key=lambda p: int(p.parent.name), reverse=True)

    for candidate in candidates:
        if all((candidate / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            return candidate
    raise PostgresNotFound(
        "No PostgreSQL server binaries found: initdb, pg_ctl and postgres must sit in one "
        f"directory, either on PATH or under {SEARCHED_INSTALL_ROOT}/<major>/bin "
        f"(searched: {', '.join(map(str, candidates)) or 'nothing matched'}). Install the "
        "server package, e.g. `apt-get install postgresql-15`, or pass bin_dir=."
    )


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _conf_value(value: str | int | bool) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, int):
        return str(value)
    return "'" + value.replace("'", "''") + "'"


class ThrowawayPostgres:
    """A PostgreSQL server in a temporary directory, on loopback, removed on exit.

    The superuser `postgres` connects over the Unix socket without a password; every
    role connecting over TCP to 127.0.0.1 must present a scram-sha-256 password, so
    password checks and per-role connection limits behave as on a real cluster.
    """

    def __init__(
        self,
        *,
        max_connections: int = 50,
        shared_buffers: str = "128MB",
        durable: bool = False,
        settings: Mapping[str, str | int | bool] | None = None,
        bin_dir: str | Path | None = None,
        start_timeout_seconds: int = 30,
    ) -> None:
        """Describe the server; nothing starts before `start()` or `with`.

        Args:
            max_connections: the server's `max_connections`; default 50.
            shared_buffers: the server's `shared_buffers`; default "128MB".
            durable: False (default) turns fsync, synchronous_commit and
                full_page_writes off for speed; benchmarks that measure write
                latency should pass True.
            settings: further postgresql.conf settings, applied last.
            bin_dir: directory with initdb/pg_ctl/postgres; default is found.
            start_timeout_seconds: how long pg_ctl waits for the server; default 30.
        """
        self.bin_dir = Path(bin_dir) if bin_dir is not None else find_bin_dir()
        self._settings: dict[str, str | int | bool] = {
            "max_connections": max_connections,
            "shared_buffers": shared_buffers,
            **({} if durable else FAST_UNSAFE_SETTINGS),
            **(settings or {}),
        }
        self._start_timeout_seconds = start_timeout_seconds
        self._root: Path | None = None
        self.port: int | None = None

    # Paths inside the temporary root; the socket directory is short so the socket
    # path stays under the 107-byte limit of sun_path.
    @property
    def root(self) -> Path:
        """The temporary directory that holds data, socket and log."""
        if self._root is None:
            raise RuntimeError("ThrowawayPostgres is not running; use it in a `with` block")
        return self._root

    @property
    def data_dir(self) -> Path:
        """The cluster's data directory (PGDATA)."""
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        """The directory holding the server's Unix socket."""
        return self.root / "sock"

    @property
    def log_path(self) -> Path:
        """The server log, kept until the server is stopped."""
        return self.root / "server.log"

    def superuser_dsn(self, dbname: str = "postgres") -> str:
        """Return a DSN for the superuser over the Unix socket (trust, no password)."""
        return make_conninfo(
            host=str(self.socket_dir), port=self._require_port(), user=SUPERUSER, dbname=dbname
        )

    def dsn(self, user: str, password: str, dbname: str = "postgres") -> str:
        """Return a DSN for `user` over TCP to 127.0.0.1 with scram-sha-256 password auth."""
        return make_conninfo(
            host="127.0.0.1",
            port=self._require_port(),
            user=user,
            password=password,
            dbname=dbname,
            sslmode="disable",
        )

    def apply_settings(self, settings: Mapping[str, str | int | bool]) -> None:
        """Change settings on the running server (ALTER SYSTEM and a reload).

        Only settings that a reload applies are accepted; e.g. a benchmark loads its
        data fast and then measures with `DURABLE_SETTINGS`.
        """
        with psycopg.connect(self.superuser_dsn(), autocommit=True) as conn:
            loaded_before = conn.execute("SELECT pg_conf_load_time()").fetchone()[0]
            for name, value in settings.items():
                conn.execute(
                    sql.SQL("ALTER SYSTEM SET {} = {}").format(
                        sql.Identifier(name), sql.SQL(_conf_value(value))
                    )
                )
            conn.execute("SELECT pg_reload_conf()")

        # The postmaster reloads asynchronously; a new session reports the load time
        # of the files it started with, so wait (bounded) until that is the new one.
        deadline = time.monotonic() + 10
        while True:
            with psycopg.connect(self.superuser_dsn(), autocommit=True) as conn:
                loaded, pending = conn.execute(
                    "SELECT pg_conf_load_time(), array(SELECT name FROM pg_settings"
                    " WHERE pending_restart AND name = ANY(%s))",
                    (list(settings),),
                ).fetchone()
            if loaded > loaded_before:
                break
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not reload its configuration within 10 s")
            time.sleep(0.02)
        if pending:
            raise ValueError(
                f"settings {pending} need a restart, which apply_settings does not do;"
                " pass them to the ThrowawayPostgres constructor instead"
            )

    def __enter__(self) -> ThrowawayPostgres:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Create the cluster in a new temporary directory and start the server."""
        if self._root is not None:
            raise RuntimeError("ThrowawayPostgres is already running")
        self._root = Path(tempfile.mkdtemp(prefix="pgsandbox-"))
        try:
            self._initdb()
            self._start_on_a_free_port()
        except BaseException:
            self._remove_root()
            raise

    def stop(self) -> None:
        """Stop the server (fast mode) and delete its directory; safe to call twice."""
        if self._root is None:
            return
        try:
            if (self.data_dir / "postmaster.pid").exists():
                stopped = self._pg_ctl("stop", "-m", "fast", "-w", check=False)
                if stopped.returncode != 0:
                    # A fast stop that fails leaves a live postmaster holding the
                    # directory; immediate mode still ends it without waiting on clients.
                    self._pg_ctl("stop", "-m", "immediate", "-w", check=False)
        finally:
            self._remove_root()

    def _initdb(self) -> None:
        self.socket_dir.mkdir()
        if os.geteuid() == 0:
            account = pwd.getpwnam(UNPRIVILEGED_OS_USER)
            for path in (self.root, self.socket_dir):
                os.chown(path, account.pw_uid, account.pw_gid)
        self._run(
            self.bin_dir / "initdb",
            "--pgdata", self.data_dir,
            "--username", SUPERUSER,
            "--encoding", "UTF8",
            "--locale", "C",
            "--auth-local", "trust",
            "--auth-host", "scram-sha-256",
            "--no-sync",
            "--no-instructions",
        )  # fmt: skip

        # Only the superuser may use the socket, and only password logins over
        # IPv4 loopback exist: no ::1, no peer auth for other roles.
        (self.data_dir / "pg_hba.conf").write_text(
            "# Written by pgsandbox.\n"
            f"local all {SUPERUSER} trust\n"
            "host all all 127.0.0.1/32 scram-sha-256\n"
        )

        # An included file keeps initdb's postgresql.conf intact and leaves
        # postgresql.auto.conf to ALTER SYSTEM, so tests can still use it.
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write(f"\ninclude '{_SETTINGS_FILE}'\n")

    def _write_settings(self, port: int) -> None:
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": port,
            "unix_socket_directories": str(self.socket_dir),
            "password_encryption": "scram-sha-256",
            # The SQLSTATE in every log line lets tests assert errors that libpq
            # reports without one, such as a refused connection.
            "log_line_prefix": "%m [%p] %e %u@%d ",
            **self._settings,
        }
        lines = [f"{name} = {_conf_value(value)}" for name, value in settings.items()]
        (self.data_dir / _SETTINGS_FILE).write_text(
            "# Written by pgsandbox.\n" + "\n".join(lines) + "\n"
        )

    def _start_on_a_free_port(self) -> None:
        # The port is free when probed but another process may take it before the
        # postmaster binds, so a bind failure is retried on a fresh port.
        for attempt in range(_PORT_ATTEMPTS):
            port = _free_loopback_port()
            self._write_settings(port)
            started = self._pg_ctl(
                "start", "-w", "-t", str(self._start_timeout_seconds),
                "-l", self.log_path,
                check=False,
            )  # fmt: skip
            if started.returncode == 0:
                self.port = port
                return
            log = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
            if "could not bind" not in log or attempt == _PORT_ATTEMPTS - 1:
                raise PostgresStartFailed(
                    f"PostgreSQL in {self.data_dir} did not start (pg_ctl exit "
                    f"{started.returncode}): {started.stderr.strip()}\n"
                    f"--- end of server log ---\n{log[-3000:]}"
                )
            self.log_path.unlink()

    def _pg_ctl(self, *args: str | Path, check: bool) -> subprocess.CompletedProcess[str]:
        return self._run(self.bin_dir / "pg_ctl", "-D", self.data_dir, *args, check=check)

    def _run(self, *argv: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
        # PG* variables (PGDATA, PGPORT, ...) of the calling shell must not leak into
        # the cluster, and a fixed locale keeps initdb from warning about the caller's.
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(LC_ALL="C", LANG="C")
        as_user: dict[str, object] = {}
        if os.geteuid() == 0:
            account = pwd.getpwnam(UNPRIVILEGED_OS_USER)
            as_user = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
        completed = subprocess.run(
            [str(a) for a in argv],
            cwd=self.root,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
            timeout=self._start_timeout_seconds + 30,
            **as_user,  # type: ignore[arg-type]
        )
        if check and completed.returncode != 0:
            raise PostgresStartFailed(
                f"{Path(argv[0]).name} failed with exit {completed.returncode}: "
                f"{completed.stderr.strip() or completed.stdout.strip()}"
            )
        return completed

    def _require_port(self) -> int:
        if self.port is None:
            raise RuntimeError("ThrowawayPostgres is not running; use it in a `with` block")
        return self.port

    def _remove_root(self) -> None:
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
        self._root = None
        self.port = None

    @property
    def major_version(self) -> int:
        """The major version of the server binaries, e.g. 15."""
        out = subprocess.run(
            [str(self.bin_dir / "postgres"), "--version"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        match = re.search(r"\(PostgreSQL\) (\d+)", out)
        if match is None:
            raise RuntimeError(f"unrecognised `postgres --version` output: {out!r}")
        return int(match.group(1))
