"""/healthz, /readyz (database + migrations at head), /metrics (Prometheus text)."""

import uuid

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, text

from tests.app.conftest import build_app, migrate


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_readyz_when_migrated(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ready", "checks": {"database": "ok", "migrations": "current"}}


@pytest.fixture
def fresh_url(db_url, tmp_path, request):
    if db_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    return request.getfixturevalue("postgres_server").database_url("fresh")


def test_readyz_is_503_before_migrations(fresh_url):
    response = build_app(fresh_url).test_client().get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "not_ready" and body["checks"]["database"] == "ok"
    assert "db upgrade" in body["checks"]["migrations"]


def test_readyz_is_503_when_the_schema_is_at_another_revision(fresh_url):
    app = build_app(fresh_url)
    migrate(app)
    assert app.test_client().get("/readyz").status_code == 200
    engine = create_engine(fresh_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0000_older'"))
    engine.dispose()
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert "0000_older" in response.get_json()["checks"]["migrations"]


def _samples(client):
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for s in family.samples
    }


def _value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_count_requests_by_route_template_and_status(client, seeded):
    before = _samples(client)
    for slug in ("padma-hilsa-1kg", "monipuri-shawl", "no-such-product"):
        client.get(f"/api/v1/products/{slug}")
    after = _samples(client)
    route = "/api/v1/products/<slug>"
    name = "dhakacart_http_requests_total"
    assert (
        _value(after, name, method="GET", route=route, status="200")
        - _value(before, name, method="GET", route=route, status="200")
        == 2
    )
    assert (
        _value(after, name, method="GET", route=route, status="404")
        - _value(before, name, method="GET", route=route, status="404")
        == 1
    )
    count = "dhakacart_http_request_duration_seconds_count"
    assert (
        _value(after, count, method="GET", route=route) - _value(before, count, method="GET", route=route)
        == 3
    )
    assert ("dhakacart_http_requests_in_flight", ()) in after
    # Raw paths never become labels (unbounded cardinality).
    assert not any("padma" in str(labels) for (_name, labels) in after)


def test_metrics_count_orders_created_but_not_replays(client, seeded, customer):
    name = "dhakacart_orders_created_total"
    before = _value(_samples(client), name, payment_method="cod")
    client.put(f"/api/v1/cart/items/{seeded['padma-hilsa-1kg']}", json={"quantity": 1}, headers=customer)
    key = str(uuid.uuid4())
    body = {
        "shipping": {
            "name": "R",
            "phone": "01712345678",
            "address": "Road 2",
            "city": "Khulna",
            "postal_code": "9100",
        }
    }
    for _ in range(2):
        client.post("/api/v1/orders", json=body, headers={**customer, "Idempotency-Key": key})
    assert _value(_samples(client), name, payment_method="cod") - before == 1


def test_metrics_path_is_hidden_when_the_master_serves_a_metrics_port(db_url):
    app = build_app(db_url, ENVIRON={"METRICS_PORT": "9102"})
    assert app.test_client().get("/metrics").status_code == 404


def test_migrations_create_exactly_the_models_schema(app):
    # A model change without a migration would show up here as a difference.
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from dhakacart.extensions import db

    with app.app_context(), db.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), db.metadata) == []
