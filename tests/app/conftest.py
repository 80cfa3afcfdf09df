"""Fixtures for the shop's tests (API, unit, storefront).

- `db_url`: parametrised over "sqlite" and "postgresql" (a real server started by this test session,
  tests/support/postgres.py); one fresh database per test module, migrated with Alembic once.
- `app` / `client`: a new app per test on that database; every table is emptied after each test.
- `make_app(**config)`: another app on the same database with extra config (e.g. rate limits on).
- `seeded`: the demo catalog loaded; returns {product slug: product id}.
- `customer` / `admin`: auth headers ({"Authorization": "Bearer ..."}) for a fresh account, with
  `.user_id` and `.email`; `make_customer()` makes more (ownership tests).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from tests.support.postgres import PostgresServer

TEST_SECRET = "test-secret-key-that-is-long-enough-for-hs256-signing"
PASSWORD = "correct horse battery"
_MIGRATED: set[str] = set()
_emails = itertools.count(1)


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    module = request.module.__name__.rsplit(".", 1)[-1]
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('sqlite') / (module + '.sqlite3')}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.database_url(module)


@pytest.fixture
def postgresql_url(db_url: str) -> str:
    """`db_url`, for a test of what only PostgreSQL does (query plans, pg_trgm, concurrent index
    builds, server connections to lose): the module's SQLite run skips it."""
    if not db_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: SQLite has no such behaviour")
    return db_url


def build_app(url: str, **config: Any) -> Flask:
    from dhakacart import create_app

    environ = {
        "DHAKACART_ENV": "test",
        "SECRET_KEY": TEST_SECRET,
        "DATABASE_URL": url,
        "LOG_LEVEL": "WARNING",
    }
    environ.update(config.pop("ENVIRON", {}))
    overrides = {"ENVIRON": environ, "RATELIMIT_ENABLED": False}
    overrides.update(config)
    return create_app(overrides)


def migrate(app: Flask) -> None:
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()


def empty_tables(app: Flask) -> None:
    from dhakacart.extensions import db

    with app.app_context():
        db.session.remove()
        tables = [t.name for t in reversed(db.metadata.sorted_tables)]
        with db.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
            else:
                for table in tables:
                    connection.execute(text(f"DELETE FROM {table}"))
        db.engine.dispose()


@pytest.fixture
def make_app(db_url: str) -> Iterator[Callable[..., Flask]]:
    apps: list[Flask] = []

    def factory(**config: Any) -> Flask:
        app = build_app(db_url, **config)
        if db_url not in _MIGRATED:
            migrate(app)
            _MIGRATED.add(db_url)
        apps.append(app)
        return app

    yield factory
    if apps:
        empty_tables(apps[0])
        from dhakacart.extensions import db

        for app in apps[1:]:
            with app.app_context():
                db.engine.dispose()


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def seeded(app: Flask) -> dict[str, int]:
    from dhakacart.cli import seed_catalog
    from dhakacart.extensions import db
    from dhakacart.models import Product
    from sqlalchemy import select

    with app.app_context():
        seed_catalog()
        return dict(db.session.execute(select(Product.slug, Product.id)).tuples().all())


class AuthHeaders(dict):
    """{"Authorization": "Bearer <access>"} plus who it is and the refresh token."""

    user_id: int
    email: str
    refresh_token: str


def login_headers(client: FlaskClient, email: str, password: str = PASSWORD) -> AuthHeaders:
    response = client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.get_json()
    tokens = response.get_json()
    headers = AuthHeaders(Authorization=f"Bearer {tokens['access_token']}")
    headers.email = email
    headers.refresh_token = tokens["refresh_token"]
    me = client.get("/api/v1/me", headers=headers).get_json()
    headers.user_id = me["id"]
    return headers


@pytest.fixture
def make_customer(app: Flask, client: FlaskClient) -> Callable[..., AuthHeaders]:
    def factory(role: str = "customer") -> AuthHeaders:
        from dhakacart.accounts.service import register_user

        email = f"{role}{next(_emails)}@example.com"
        with app.app_context():
            register_user(email, PASSWORD, f"Test {role.title()}", "01712345678", role=role)
        return login_headers(client, email)

    return factory


@pytest.fixture
def customer(make_customer: Callable[..., AuthHeaders]) -> AuthHeaders:
    return make_customer()


@pytest.fixture
def admin(make_customer: Callable[..., AuthHeaders]) -> AuthHeaders:
    return make_customer("admin")
