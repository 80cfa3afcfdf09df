"""Many simultaneous checkouts on a real PostgreSQL: stock is sold exactly, never oversold.

Each buyer is a separate thread with its own test client (so its own app context, database
session and connection), all released at once by a barrier.
"""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import select

from tests.app.conftest import PASSWORD, build_app, empty_tables, login_headers, migrate

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

SHIPPING = {
    "name": "Karim",
    "phone": "01512345678",
    "address": "Agrabad",
    "city": "Chattogram",
    "postal_code": "4100",
}


@pytest.fixture(scope="module")
def pg_app(postgres_server):
    app = build_app(postgres_server.database_url("concurrency"))
    migrate(app)
    yield app
    empty_tables(app)


@pytest.fixture
def shop(pg_app):
    from dhakacart.accounts.service import register_user
    from dhakacart.extensions import db
    from dhakacart.models import Category, Product

    def make_product(slug: str, stock: int) -> int:
        with pg_app.app_context():
            category = db.session.scalar(select(Category).where(Category.slug == "fish-seafood"))
            if category is None:
                category = Category(slug="fish-seafood", name="Fish & Seafood", description="")
            product = Product(slug=slug, name=slug, price_paisa=220000, stock=stock, category=category)
            db.session.add(product)
            db.session.commit()
            return product.id

    def make_buyers(count: int) -> list[dict]:
        client = pg_app.test_client()
        buyers = []
        with pg_app.app_context():
            for _ in range(count):
                email = f"buyer-{uuid.uuid4().hex[:10]}@example.com"
                register_user(email, PASSWORD, "Buyer", "01712345678")
                buyers.append(email)
        return [login_headers(client, email) for email in buyers]

    yield make_product, make_buyers
    empty_tables(pg_app)


def stock_of(app, product_id: int) -> int:
    from dhakacart.extensions import db
    from dhakacart.models import Product

    with app.app_context():
        return db.session.scalar(select(Product.stock).where(Product.id == product_id))


def race(app, buyers, carts) -> list[tuple[int, dict]]:
    """Fill every buyer's cart, then release all checkouts at the same moment."""
    client = app.test_client()
    for headers, cart in zip(buyers, carts, strict=True):
        for product_id, quantity in cart:
            response = client.put(
                f"/api/v1/cart/items/{product_id}", json={"quantity": quantity}, headers=headers
            )
            assert response.status_code == 200, response.get_json()
    barrier = threading.Barrier(len(buyers))
    results: list[tuple[int, dict]] = []
    lock = threading.Lock()

    def checkout(headers):
        own_client = app.test_client()
        barrier.wait()
        response = own_client.post(
            "/api/v1/orders",
            json={"shipping": SHIPPING},
            headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
        )
        with lock:
            results.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=checkout, args=(headers,)) for headers in buyers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(results) == len(buyers)
    return results


def test_twenty_buyers_for_five_units_sell_exactly_five(pg_app, shop):
    make_product, make_buyers = shop
    hilsa = make_product("last-hilsa", stock=5)
    buyers = make_buyers(20)
    results = race(pg_app, buyers, [[(hilsa, 1)]] * 20)
    statuses = sorted(status for status, _ in results)
    assert statuses == [201] * 5 + [409] * 15
    for status, body in results:
        if status == 409:
            assert body["error"]["code"] == "insufficient_stock"
            assert body["error"]["details"][0]["available"] == 0
    assert stock_of(pg_app, hilsa) == 0


def test_multi_unit_orders_never_take_stock_below_zero(pg_app, shop):
    make_product, make_buyers = shop
    saree = make_product("last-sarees", stock=7)
    buyers = make_buyers(12)
    results = race(pg_app, buyers, [[(saree, 2)]] * 12)
    sold = sum(2 for status, _ in results if status == 201)
    assert sold == 6  # three orders of two; the seventh unit cannot make a pair
    assert [status for status, _ in results].count(409) == 9
    assert stock_of(pg_app, saree) == 1


def test_carts_locking_products_in_opposite_orders_do_not_deadlock(pg_app, shop):
    make_product, make_buyers = shop
    mango, lychee = make_product("race-mango", stock=4), make_product("race-lychee", stock=4)
    buyers = make_buyers(10)
    carts = [[(mango, 1), (lychee, 1)] if i % 2 else [(lychee, 1), (mango, 1)] for i in range(10)]
    results = race(pg_app, buyers, carts)
    statuses = sorted(status for status, _ in results)
    assert statuses == [201] * 4 + [409] * 6  # no 500 or 503 from a deadlock
    assert stock_of(pg_app, mango) == stock_of(pg_app, lychee) == 0


def test_one_key_sent_many_times_at_once_creates_one_order(pg_app, shop):
    make_product, make_buyers = shop
    tea = make_product("race-tea", stock=50)
    (buyer,) = make_buyers(1)
    client = pg_app.test_client()
    client.put(f"/api/v1/cart/items/{tea}", json={"quantity": 3}, headers=buyer)
    key = str(uuid.uuid4())
    barrier = threading.Barrier(8)
    results: list[tuple[int, dict]] = []

    def retry():
        own_client = pg_app.test_client()
        barrier.wait()
        response = own_client.post(
            "/api/v1/orders", json={"shipping": SHIPPING}, headers={**buyer, "Idempotency-Key": key}
        )
        results.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=retry) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(status for status, _ in results) == [200] * 7 + [201]
    assert len({body["id"] for _, body in results}) == 1
    assert stock_of(pg_app, tea) == 47
