"""A view that fails on a connection that died in the pool runs once more on a fresh one, where safe.

On PostgreSQL the pooled connections are really killed (pg_terminate_backend, what a failover does
to them); the decision rules (nothing committed, or a checkout under its Idempotency-Key; only
once; only for an invalidated connection) are checked with a view that raises the same error
SQLAlchemy raises, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import uuid

import psycopg
import pytest
from dhakacart import stale_connections
from dhakacart.extensions import db
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

SHIPPING = {"name": "Rahim", "phone": "01712345678", "address": "House 12, Road 5", "city": "Dhaka",
            "postal_code": "1209"}


def kill_pooled_connections(db_url: str) -> int:
    """Terminate the app's sessions on its database, as a failover does; return how many.

    From a connection of its own (psycopg, outside the app's pool), so that none of the app's
    pooled connections is the one asking.
    """
    with psycopg.connect(db_url.replace("postgresql+psycopg://", "postgresql://", 1),
                         autocommit=True) as connection:
        return connection.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()").fetchone()[0]


def dead_connection_error(invalidated: bool = True) -> OperationalError:
    return OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"),
                            connection_invalidated=invalidated)


@pytest.fixture
def flaky_app(make_app):
    """An app with /api/flaky/<mode>: fails like a dead connection the first time, then answers."""
    app = make_app()
    calls: list[str] = []

    @app.get("/api/flaky/<mode>")
    def flaky(mode: str):
        calls.append(mode)
        if mode == "commit-first":
            db.session.commit()
        if len(calls) == 1 or mode == "always":
            raise dead_connection_error(invalidated=mode != "not-invalidated")
        return {"calls": len(calls)}

    app.flaky_calls = calls
    return app


def test_reads_survive_connections_killed_under_the_pool(postgresql_url, app, client, seeded):
    assert client.get("/api/v1/products").status_code == 200  # a pooled connection now exists
    assert kill_pooled_connections(postgresql_url) >= 1
    response = client.get("/api/v1/products", query_string={"q": "mango"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["items"]
    assert client.get("/readyz").status_code == 200


def test_a_checkout_survives_connections_killed_under_the_pool(postgresql_url, app, client, seeded, customer):
    product_id = seeded["padma-hilsa-1kg"]
    assert client.put(f"/api/v1/cart/items/{product_id}", json={"quantity": 1},
                      headers=customer).status_code == 200
    assert kill_pooled_connections(postgresql_url) >= 1
    order = client.post("/api/v1/orders", json={"shipping": SHIPPING, "payment_method": "cod"},
                        headers={**customer, "Idempotency-Key": str(uuid.uuid4())})
    assert order.status_code == 201, order.get_json()
    with app.app_context():
        assert db.session.execute(text("SELECT count(*) FROM orders")).scalar_one() == 1


def test_readyz_is_ready_at_once_when_only_the_pooled_connection_died(postgresql_url, app, client):
    assert client.get("/readyz").status_code == 200
    assert kill_pooled_connections(postgresql_url) >= 1
    assert client.get("/readyz").status_code == 200


def test_a_view_that_met_a_dead_connection_runs_once_more(flaky_app):
    response = flaky_app.test_client().get("/api/flaky/read")
    assert response.status_code == 200
    assert response.get_json() == {"calls": 2}


def test_never_more_than_once(flaky_app):
    response = flaky_app.test_client().get("/api/flaky/always")
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "service_unavailable"
    assert flaky_app.flaky_calls == ["always", "always"]


def test_not_after_a_commit_was_attempted(flaky_app):
    response = flaky_app.test_client().get("/api/flaky/commit-first")
    assert response.status_code == 503
    assert flaky_app.flaky_calls == ["commit-first"]


def test_idempotent_checkouts_run_again_even_after_a_commit(flaky_app, monkeypatch):
    monkeypatch.setattr(stale_connections, "RETRY_AFTER_COMMIT_ENDPOINTS", frozenset({"flaky"}))
    response = flaky_app.test_client().get("/api/flaky/commit-first")
    assert response.status_code == 200
    assert flaky_app.flaky_calls == ["commit-first", "commit-first"]


def test_other_database_errors_are_not_retried(flaky_app):
    response = flaky_app.test_client().get("/api/flaky/not-invalidated")
    assert response.status_code == 503
    assert flaky_app.flaky_calls == ["not-invalidated"]


def test_checkout_endpoints_named_for_retry_exist(app):
    assert set(app.view_functions) >= stale_connections.RETRY_AFTER_COMMIT_ENDPOINTS
