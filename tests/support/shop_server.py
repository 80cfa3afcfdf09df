"""The shop as the reliability tests and the benchmarks run it: PostgreSQL, gunicorn, production settings.

`shop_env` is the container's environment (tests/support/live_shop.py's, the one source of it) plus
TRUSTED_PROXY_HOPS=1, so the simulated shoppers' X-Forwarded-For addresses count as theirs, as
behind the Ingress. `prepare_database` migrates, seeds and creates an admin with the shop's own
CLI, exactly as an operator does. `start_shop` runs gunicorn with app/gunicorn.conf.py and returns
a GunicornProcess the test can SIGTERM and replace.
"""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from tests.support.gunicorn_process import APP_DIR, GunicornProcess
from tests.support.live_shop import VENV_BIN, shop_environment
from tests.support.postgres import PostgresServer
from tests.support.shop_api import PASSWORD

ADMIN_EMAIL = "ops-admin@example.com"


def shop_env(database_url: str, workdir: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = shop_environment(database_url, workdir, {"TRUSTED_PROXY_HOPS": "1", **(extra or {})})
    env["PYTHONPATH"] = str(APP_DIR)
    return env


def flask_cli(env: Mapping[str, str], *args: str) -> str:
    completed = subprocess.run(
        [str(VENV_BIN / "flask"), "--app", "dhakacart", *args],
        cwd=APP_DIR, env=dict(env), capture_output=True, text=True, timeout=300, check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"`flask {' '.join(args)}` failed ({completed.returncode}):\n"
                           f"{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}")
    return completed.stdout


def prepare_database(env: Mapping[str, str], *, admin_email: str = ADMIN_EMAIL) -> None:
    flask_cli(env, "db", "upgrade")
    flask_cli(env, "seed")
    flask_cli({**env, "ADMIN_PASSWORD": PASSWORD}, "create-admin", admin_email)


def start_shop(env: Mapping[str, str], *, name: str = "shop", port: int | None = None,
               extra_args: tuple[str, ...] = ()) -> GunicornProcess:
    return GunicornProcess("wsgi:app", env=env, name=name, port=port, extra_args=extra_args).start()


@dataclass
class ShopDatabase:
    database_url: str
    env: dict[str, str]

    @property
    def secret_key(self) -> str:
        return self.env["SECRET_KEY"]


def make_shop_database(server: PostgresServer, workdir: Path, name: str) -> ShopDatabase:
    """A fresh database on `server`, migrated and seeded, with the environment to serve it."""
    database_url = server.database_url(name)
    env = shop_env(database_url, workdir, {"SECRET_KEY": secrets.token_urlsafe(48)})
    prepare_database(env)
    return ShopDatabase(database_url=database_url, env=env)


def plain_postgres_url(database_url: str) -> str:
    """psycopg wants postgresql://; the shop's URL names the SQLAlchemy driver."""
    return database_url.replace("postgresql+psycopg://", "postgresql://", 1)


def query(database_url: str, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Read the database directly, to check what the API's answers claim."""
    with psycopg.connect(plain_postgres_url(database_url), connect_timeout=10) as conn:
        return conn.execute(sql, params).fetchall()  # type: ignore[arg-type]
