"""Fixtures for the storefront pages: a seeded shop on SQLite with CSRF on, as in production.

The catalog is migrated and seeded once per session into a template database file that each test
copies, so every test starts from the same seeded shop without paying for migrations again.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from dhakacart import create_app
from dhakacart.cli import seed_catalog
from dhakacart.extensions import db
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade

from tests.support.storefront_forms import Customer, register


def make_app(database: Path, **overrides) -> Flask:
    config = {
        "ENVIRON": {"DHAKACART_ENV": "test"},
        "DATABASE_URL": f"sqlite:///{database}",
        "WTF_CSRF_ENABLED": True,  # the storefront's CSRF protection is under test, never switched off
        "RATELIMIT_ENABLED": False,
    }
    config.update(overrides)
    return create_app(config)


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    database = tmp_path_factory.mktemp("storefront-template") / "template.sqlite3"
    app = make_app(database)
    with app.app_context():
        upgrade()
        seed_catalog()
        db.session.remove()
        db.engine.dispose()
    return database


@pytest.fixture
def app_factory(seeded_template: Path, tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """Makes a shop on its own copy of the seeded database, with config overrides."""
    apps: list[Flask] = []

    def make(**overrides) -> Flask:
        database = tmp_path / f"shop-{len(apps)}.sqlite3"
        shutil.copyfile(seeded_template, database)
        apps.append(make_app(database, **overrides))
        return apps[-1]

    yield make
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


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
