"""Fixtures for the storefront pages: the shared `make_app` (tests/app/conftest.py), so every page
test runs on SQLite and on the real PostgreSQL server, with the demo catalog seeded and CSRF
protection on, as in production.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from dhakacart.cli import seed_catalog
from flask import Flask
from flask.testing import FlaskClient

from tests.support.storefront_forms import Customer, register


@pytest.fixture
def app_factory(make_app: Callable[..., Flask]) -> Callable[..., Flask]:
    """Apps on this test's seeded database; keyword arguments are config overrides."""
    seeded: list[bool] = []

    def make(**overrides: Any) -> Flask:
        # The storefront's CSRF protection is under test: never switched off here.
        app = make_app(**{"WTF_CSRF_ENABLED": True, **overrides})
        if not seeded:
            with app.app_context():
                seed_catalog()
            seeded.append(True)
        return app

    return make


@pytest.fixture
def shop_app(app_factory: Callable[..., Flask]) -> Flask:
    return app_factory()


@pytest.fixture
def client(shop_app: Flask) -> FlaskClient:
    return shop_app.test_client()


@pytest.fixture
def customer(client: FlaskClient) -> Customer:
    """A registered customer, logged in on `client`."""
    return register(client)
