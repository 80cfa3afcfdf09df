"""Stop a test PostgreSQL mid-test and start it again on the same port and data directory.

Wraps tests/support/postgres.py's PostgresServer (the one server manager) rather than starting
servers itself: `stop()` is `pg_ctl stop -m fast` (what a failover or a crash-restart looks like
to clients: every connection is cut), `start()` brings the same cluster back with exactly the
options it ran with, read from the postmaster.opts file PostgreSQL writes at start-up.
"""

from __future__ import annotations

import shlex
import subprocess

from tests.support.postgres import PG_BIN, PostgresServer, _as_service_user


class PostgresOutage:
    def __init__(self, server: PostgresServer) -> None:
        self.server = server
        self._options: str | None = None

    def _pg_ctl(self, *args: str, timeout: float = 120) -> None:
        command = [str(PG_BIN / "pg_ctl"), "-D", str(self.server.data_dir), *args]
        completed = subprocess.run(_as_service_user(command), capture_output=True, text=True,
                                   timeout=timeout, check=False)
        if completed.returncode != 0:
            log = self.server.log_file.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"pg_ctl {' '.join(args)} failed: {completed.stderr.strip()}\n{log}")

    def _saved_options(self) -> str:
        # postmaster.opts: the postgres binary followed by its quoted arguments, "-D" included.
        argv = shlex.split((self.server.data_dir / "postmaster.opts").read_text())[1:]
        options: list[str] = []
        skip = False
        for arg in argv:
            if skip:
                skip = False
            elif arg == "-D":
                skip = True  # pg_ctl passes the data directory itself
            else:
                options.append(arg)
        return shlex.join(options)

    def stop(self) -> None:
        """Fast shutdown: active transactions are rolled back and every client is disconnected."""
        self._options = self._saved_options()
        self._pg_ctl("-m", "fast", "-w", "-t", "60", "stop")

    def start(self) -> None:
        if self._options is None:
            raise RuntimeError("start() after stop(): the server's options are read when it stops")
        self._pg_ctl("-l", str(self.server.log_file), "-w", "-t", "60", "-o", self._options, "start")
