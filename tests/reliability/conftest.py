"""Fixtures for the reliability tests: the shop under gunicorn on 127.0.0.1 with real PostgreSQL.

Every module gets its own freshly migrated and seeded database (and its own shop), so a module's
load, attacks or fuzzing never shows up in another's assertions. The database-outage module starts
a PostgreSQL server of its own, since it stops it.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.gunicorn_process import GunicornProcess
from tests.support.postgres import PostgresServer
from tests.support.shop_api import ShopApi, client_ip
from tests.support.shop_server import ADMIN_EMAIL, ShopDatabase, make_shop_database, start_shop

_client_numbers = itertools.count(1)


@pytest.fixture(scope="module")
def shop_database(postgres_server: PostgresServer, tmp_path_factory: pytest.TempPathFactory,
                  request: pytest.FixtureRequest) -> ShopDatabase:
    name = Path(request.module.__file__).stem.removeprefix("test_")
    return make_shop_database(postgres_server, tmp_path_factory.mktemp(name), name)


@pytest.fixture(scope="module")
def shop(shop_database: ShopDatabase) -> Iterator[GunicornProcess]:
    server = start_shop(shop_database.env)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def new_client_ip() -> callable:
    """A fresh client address per call: each simulated shopper has their own rate-limit bucket."""
    return lambda: client_ip(next(_client_numbers))


@pytest.fixture
def customer(shop: GunicornProcess, new_client_ip) -> callable:
    """A factory of signed-in customers (ShopApi with a Bearer token), each with its own address."""

    def make(label: str = "customer") -> ShopApi:
        api = ShopApi(shop.base_url, ip=new_client_ip(), keep_alive=True)
        return api.sign_up(f"{label}-{secrets.token_hex(4)}@example.com")

    return make


@pytest.fixture
def admin(shop: GunicornProcess, new_client_ip) -> ShopApi:
    api = ShopApi(shop.base_url, ip=new_client_ip(), keep_alive=True)
    response = api.login(ADMIN_EMAIL)
    assert response.status_code == 200, response.text
    return api
