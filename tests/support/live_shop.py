"""Start the real shop under gunicorn for a test, and stop it afterwards.

    with live_shop(database_url) as shop:
        requests.get(shop.url("/healthz"))

The database is migrated (`flask db upgrade`) and seeded (`flask seed`) first, exactly as an operator
would, and gunicorn runs with the very command the container image runs (GUNICORN_COMMAND, asserted
against app/Dockerfile's CMD); only the bind address and worker count come from GUNICORN_CMD_ARGS,
which gunicorn applies on top of gunicorn.conf.py.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
APP_DIR = REPO_ROOT / "app"
VENV_BIN = Path(sys.executable).parent

# The container's CMD (app/Dockerfile); tests/e2e checks that the two never drift apart.
GUNICORN_COMMAND = ("gunicorn", "-c", "gunicorn.conf.py", "wsgi:app")

STARTUP_TIMEOUT_SECONDS = 60
STOP_TIMEOUT_SECONDS = 30


class LiveShopError(RuntimeError):
    """The shop did not migrate, seed or start; the message carries its output."""


@dataclass
class LiveShop:
    base_url: str
    port: int
    log_path: Path
    process: subprocess.Popen[bytes]

    def url(self, path: str = "/") -> str:
        return self.base_url + path

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def shop_environment(
    database_url: str, workdir: Path, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment the shop runs with: only the documented variables, nothing from the test."""
    env = {key: value for key, value in os.environ.items() if key in ("PATH", "LANG", "LC_ALL", "TZ", "HOME")}
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}"
    multiproc = workdir / "prometheus"
    multiproc.mkdir(exist_ok=True)
    env.update(
        DATABASE_URL=database_url,
        SECRET_KEY=secrets.token_urlsafe(48),
        DHAKACART_ENV="production",
        LOG_LEVEL="WARNING",
        PROMETHEUS_MULTIPROC_DIR=str(multiproc),
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.update(extra or {})
    return env


def _run_cli(args: list[str], env: Mapping[str, str], log) -> None:
    command = [str(VENV_BIN / "flask"), "--app", "dhakacart", *args]
    log.write(f"$ {' '.join(command)}\n".encode())
    log.flush()
    result = subprocess.run(command, cwd=APP_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, timeout=300)
    if result.returncode != 0:
        raise LiveShopError(f"`flask {' '.join(args)}` failed with exit code {result.returncode}")


def _wait_until_healthy(shop: LiveShop) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if shop.process.poll() is not None:
            raise LiveShopError(
                f"gunicorn exited with code {shop.process.returncode}:\n{shop.logs()[-4000:]}"
            )
        try:
            if requests.get(shop.url("/healthz"), timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise LiveShopError(
        f"the shop did not answer /healthz within {STARTUP_TIMEOUT_SECONDS}s:\n{shop.logs()[-4000:]}"
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)  # gunicorn's graceful shutdown
    try:
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT_SECONDS)


@contextmanager
def live_shop(
    database_url: str | None = None,
    *,
    workers: int = 2,
    seed: bool = True,
    extra_env: Mapping[str, str] | None = None,
) -> Iterator[LiveShop]:
    """A migrated, seeded shop under gunicorn on a free 127.0.0.1 port (SQLite in a temp dir by default)."""
    with tempfile.TemporaryDirectory(prefix="dhakacart-live-") as tmp:
        workdir = Path(tmp)
        url = database_url or f"sqlite:///{workdir / 'shop.sqlite3'}"
        env = shop_environment(url, workdir, extra_env)
        log_path = workdir / "shop.log"
        with log_path.open("ab") as log:
            try:
                _run_cli(["db", "upgrade"], env, log)
                if seed:
                    _run_cli(["seed"], env, log)
            except LiveShopError as exc:
                log.flush()
                raise LiveShopError(f"{exc}:\n{log_path.read_text(errors='replace')[-4000:]}") from None

            port = free_port()
            env["GUNICORN_CMD_ARGS"] = f"--bind 127.0.0.1:{port} --workers {workers}"
            command = [str(VENV_BIN / GUNICORN_COMMAND[0]), *GUNICORN_COMMAND[1:]]
            process = subprocess.Popen(command, cwd=APP_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)
            shop = LiveShop(
                base_url=f"http://127.0.0.1:{port}", port=port, log_path=log_path, process=process
            )
            try:
                _wait_until_healthy(shop)
                yield shop
            finally:
                _stop(process)
