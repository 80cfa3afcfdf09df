"""A real PostgreSQL server for the test session (Debian's postgresql-15 binaries).

The server runs as the `postgres` user (initdb refuses root) on a free 127.0.0.1 port, with its
data directory and Unix socket in a private temporary directory, and is stopped and deleted at the
end of the session. `database_url()` creates a fresh, empty database per caller (one per test
module), so suites never see each other's rows.

    server = PostgresServer.start()
    url = server.database_url("orders_tests")   # postgresql+psycopg://postgres@127.0.0.1:PORT/orders_tests
    server.stop()
"""

from __future__ import annotations

import itertools
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

PG_BIN = Path(os.environ.get("DHAKACART_PG_BIN", "/usr/lib/postgresql/15/bin"))
SERVICE_USER = "postgres"
_counter = itertools.count(1)


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL binaries or the postgres user are missing; the message says how to install."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_service_user(args: list[str]) -> list[str]:
    # Tests run as root in CI; PostgreSQL refuses to run as root, so drop to the postgres user.
    if os.geteuid() == 0:
        return ["runuser", "-u", SERVICE_USER, "--", *args]
    return args


@dataclass
class PostgresServer:
    root: Path
    port: int
    _databases: list[str] = field(default_factory=list)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "socket"

    @property
    def log_file(self) -> Path:
        return self.root / "postgres.log"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{SERVICE_USER}@127.0.0.1:{self.port}/{database}"

    @classmethod
    def start(cls) -> PostgresServer:
        for binary in ("initdb", "pg_ctl"):
            if not (PG_BIN / binary).exists():
                raise PostgresUnavailable(
                    f"{PG_BIN / binary} not found: install Debian's PostgreSQL 15 "
                    "(`apt-get install postgresql`, done by scripts/bootstrap.sh) or set DHAKACART_PG_BIN"
                )
        if os.geteuid() == 0:
            try:
                pwd.getpwnam(SERVICE_USER)
            except KeyError:
                raise PostgresUnavailable("no `postgres` user: install Debian's postgresql package") from None
        root = Path(tempfile.mkdtemp(prefix="dhakacart-pg-"))
        server = cls(root=root, port=_free_port())
        server.socket_dir.mkdir()
        if os.geteuid() == 0:
            for path in (root, server.socket_dir):
                shutil.chown(path, user=SERVICE_USER, group=SERVICE_USER)
        root.chmod(0o700)
        server._run(
            [str(PG_BIN / "initdb"), "-D", str(server.data_dir), "-U", SERVICE_USER, "-A", "trust",
             "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"]
        )
        options = " ".join(
            [
                f"-p {server.port}",
                f"-k {server.socket_dir}",
                "-c listen_addresses=127.0.0.1",
                "-c max_connections=200",
                # Throwaway data: durability only costs time here.
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
            ]
        )
        try:
            server._run([str(PG_BIN / "pg_ctl"), "-D", str(server.data_dir), "-l", str(server.log_file),
                         "-w", "-t", "60", "-o", options, "start"])
        except PostgresUnavailable:
            server.stop()
            raise
        return server

    def _run(self, args: list[str]) -> None:
        result = subprocess.run(_as_service_user(args), capture_output=True, text=True, check=False)
        if result.returncode != 0:
            log = self.log_file.read_text(errors="replace")[-2000:] if self.log_file.exists() else ""
            raise PostgresUnavailable(
                f"{' '.join(args[:2])} failed ({result.returncode}): {result.stderr.strip()}\n{log}"
            )

    def database_url(self, name: str | None = None) -> str:
        """Create an empty database and return its SQLAlchemy URL."""
        import psycopg

        base = re.sub(r"[^a-z0-9_]", "_", (name or "test").lower())[:40]
        database = f"{base}_{next(_counter)}"
        with psycopg.connect(host="127.0.0.1", port=self.port, user=SERVICE_USER, dbname="postgres",
                             autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{database}"')  # name sanitised above
        self._databases.append(database)
        return self.url(database)

    def stop(self) -> None:
        if self.data_dir.exists():
            subprocess.run(
                _as_service_user([str(PG_BIN / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w",
                                  "stop"]),
                capture_output=True, check=False,
            )
        shutil.rmtree(self.root, ignore_errors=True)
