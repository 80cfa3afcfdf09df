"""A real redis-server (Debian's `redis-server` package) for tests, as a plain child process.

It listens on a free 127.0.0.1 port, keeps nothing on disk (no RDB snapshots, no AOF) and is
stopped and deleted by `stop()`. `stop()` followed by `start()` brings it back on the same port,
empty, which is what a restarted Redis without persistence looks like to its clients.

    with RedisServer() as redis:
        url = redis.url()          # redis://127.0.0.1:PORT/0
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.support.gunicorn_process import free_port

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


class RedisUnavailable(RuntimeError):
    """redis-server is missing or did not start; the message says how to install or why."""


class RedisServer:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self._dir = tempfile.TemporaryDirectory(prefix="dhakacart-redis-")
        self.log_path = Path(self._dir.name) / "redis.log"
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self, timeout: float = 20.0) -> RedisServer:
        if not Path(REDIS_SERVER).exists():
            raise RedisUnavailable("redis-server not found: `apt-get install redis-server` "
                                   "(scripts/bootstrap.sh installs it)")
        if self.process is not None and self.process.poll() is None:
            raise RedisUnavailable(f"redis-server is already running on port {self.port}")
        command = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
                   "--save", "", "--appendonly", "no", "--dir", self._dir.name,
                   "--logfile", str(self.log_path), "--daemonize", "no"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RedisUnavailable(
                    f"redis-server exited with {self.process.returncode}:\n{self.log_tail()}")
            if self.ping():
                return self
            time.sleep(0.05)
        self.stop()
        raise RedisUnavailable(f"redis-server did not answer PING within {timeout:.0f} s:\n{self.log_tail()}")

    def ping(self) -> bool:
        """True when the server answers PING (raw RESP, so this needs no client library)."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM and wait: every client connection is closed, the port is free again."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def close(self) -> None:
        self.stop()
        self._dir.cleanup()

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
