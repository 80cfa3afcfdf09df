"""A gunicorn server in a child process that a test or a benchmark can start, SIGTERM and replace.

Used by the reliability tests (rolling restart, database outage, attacks, fuzzing, concurrency)
and by the benchmarks in bench/, so both run the shop exactly as the container does: gunicorn with
app/gunicorn.conf.py, bound to 127.0.0.1 on a free port. The server's output goes to a log file
whose tail is included in every error, so a failed start says why.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
APP_DIR = REPO_ROOT / "app"
GUNICORN_CONFIG = APP_DIR / "gunicorn.conf.py"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerFailed(RuntimeError):
    """The server did not start, or did not stop, as asked."""


class GunicornProcess:
    """One gunicorn master (and its workers) serving `wsgi_app` on 127.0.0.1:`port`.

    `config_file` defaults to the shop's app/gunicorn.conf.py so every server in the tests and the
    benchmarks runs with the production settings; command-line options (`--bind`, `extra_args`)
    override the file, as gunicorn documents.
    """

    def __init__(
        self,
        wsgi_app: str,
        *,
        cwd: Path = APP_DIR,
        env: Mapping[str, str] | None = None,
        port: int | None = None,
        config_file: Path | None = GUNICORN_CONFIG,
        extra_args: tuple[str, ...] = (),
        name: str = "gunicorn",
    ) -> None:
        self.wsgi_app = wsgi_app
        self.cwd = cwd
        self.env = dict(env or {})
        self.port = port or free_port()
        self.config_file = config_file
        self.extra_args = extra_args
        self.name = name
        self.process: subprocess.Popen[bytes] | None = None
        self._log_dir = tempfile.TemporaryDirectory(prefix=f"{name}-")
        self.log_path = Path(self._log_dir.name) / "server.log"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        args = [sys.executable, "-m", "gunicorn"]
        if self.config_file is not None:
            args += ["--config", str(self.config_file)]
        # Each server its own control socket: two side by side (a rolling restart) must not share one.
        control_socket = Path(self._log_dir.name) / "gunicorn.ctl"
        args += ["--bind", f"127.0.0.1:{self.port}", "--control-socket", str(control_socket),
                 *self.extra_args, self.wsgi_app]
        return args

    def start(self, ready_path: str = "/healthz", timeout: float = 60.0) -> GunicornProcess:
        if self.process is not None:
            raise ServerFailed(f"{self.name} is already started")
        # A given environment is the whole environment (tests pass exactly what the container has).
        env = dict(self.env) if self.env else dict(os.environ)
        # The shop and the tests import `dhakacart` from app/; the minimal bench app lives in bench/.
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(APP_DIR), str(REPO_ROOT), env.get("PYTHONPATH", "")) if p
        )
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.command(), cwd=self.cwd, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        self.wait_until_ready(ready_path, timeout)
        return self

    def wait_until_ready(self, path: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last_error = "no answer yet"
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise ServerFailed(
                    f"{self.name} exited with {self.process.returncode} while starting:\n{self.log_tail()}"
                )
            try:
                response = requests.get(self.base_url + path, timeout=2)
                if response.status_code == 200:
                    return
                last_error = f"{path} answered {response.status_code}"
            except requests.RequestException as exc:
                last_error = str(exc)
            time.sleep(0.1)
        self.kill()
        raise ServerFailed(
            f"{self.name} was not ready on {self.base_url}{path} within {timeout:.0f} s "
            f"({last_error}):\n{self.log_tail()}"
        )

    @property
    def pid(self) -> int:
        if self.process is None:
            raise ServerFailed(f"{self.name} is not started")
        return self.process.pid

    def worker_pids(self) -> list[int]:
        """The master's children (its workers), from /proc, for profiling or signalling."""
        children = Path(f"/proc/{self.pid}/task/{self.pid}/children")
        try:
            return [int(p) for p in children.read_text().split()]
        except OSError:
            return []

    def terminate(self) -> None:
        """Send SIGTERM to the master, as the kubelet does: a graceful shutdown."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def wait(self, timeout: float) -> int:
        if self.process is None:
            raise ServerFailed(f"{self.name} is not started")
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired as exc:
            raise ServerFailed(
                f"{self.name} did not exit within {timeout:.0f} s of SIGTERM:\n{self.log_tail()}"
            ) from exc

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def stop(self, timeout: float = 30.0) -> None:
        """Graceful stop; SIGKILL if the server does not exit in time (teardown must not hang)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def close(self) -> None:
        self.stop()
        self._log_dir.cleanup()

    def __enter__(self) -> GunicornProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
