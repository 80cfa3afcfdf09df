"""Many buyers at once over HTTP (gunicorn, PostgreSQL) for scarce stock: nothing oversold, nothing doubled.

Threads are released together by a barrier so their requests really overlap in the server's
workers; the verdict comes from the database, not from the answers alone.
"""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.shop_api import ShopApi, client_ip, sign_up_many
from tests.support.shop_server import query

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(300)]

BUYERS = 8


@pytest.fixture(scope="module")
def buyer_pool(shop) -> list[ShopApi]:
    return sign_up_many(shop.base_url, [client_ip(5000 + i) for i in range(BUYERS)], "buyer")


@pytest.fixture
def buyers(buyer_pool) -> list[ShopApi]:
    for buyer in buyer_pool:
        buyer.empty_cart()
    return buyer_pool


def create_product(admin: ShopApi, stock: int, price: str) -> dict:
    response = admin.post("/api/v1/admin/products", json={
        "name": f"Scarce Langra Mango {uuid.uuid4().hex[:8]}", "price": price, "stock": stock,
        "category": "fruits",
    })
    assert response.status_code == 201, response.text
    return response.json()


def all_at_once(count: int, action) -> list:
    """Run action(i) for i in range(count) in as many threads, all released at the same moment."""
    barrier = threading.Barrier(count, timeout=120)

    def run(index: int):
        barrier.wait()
        return action(index)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count), timeout=240))


def ledger(database_url: str, product_id: int) -> dict:
    stock = query(database_url, "SELECT stock FROM products WHERE id = %s", (product_id,))[0][0]
    sold = query(database_url, "SELECT coalesce(sum(quantity), 0) FROM order_items WHERE product_id = %s",
                 (product_id,))[0][0]
    return {"stock": stock, "sold": int(sold)}


def test_concurrent_checkouts_sell_exactly_the_stock_and_totals_add_up(shop, shop_database, admin, buyers):
    stock = 7
    product = create_product(admin, stock=stock, price="349.50")
    other = create_product(admin, stock=1000, price="120.00")
    # Each wants 1 or 2 of the scarce product (more than the stock in total) and one of the other.
    wanted = [1 + i % 2 for i in range(BUYERS)]
    for buyer, quantity in zip(buyers, wanted, strict=True):
        assert buyer.set_cart_item(product["id"], quantity).status_code == 200
        assert buyer.set_cart_item(other["id"], 1).status_code == 200

    responses = all_at_once(BUYERS, lambda i: buyers[i].place_order())

    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {201, 409}, [r.text[:200] for r in responses if r.status_code not in (201, 409)]
    refused = [r for r in responses if r.status_code == 409]
    assert all(r.json()["error"]["code"] == "insufficient_stock" for r in refused)
    accepted = [r.json() for r in responses if r.status_code == 201]
    sold_acknowledged = sum(
        item["quantity"] for order in accepted for item in order["items"]
        if item["product_id"] == product["id"]
    )
    after = ledger(shop_database.database_url, product["id"])
    assert after["stock"] >= 0
    assert after["sold"] == sold_acknowledged == stock - after["stock"]
    # With demand of 12 for 7 units, the shop sells until no buyer's quantity fits: at most 1 left.
    assert after["stock"] <= 1
    assert query(shop_database.database_url, "SELECT count(*) FROM products WHERE stock < 0")[0][0] == 0

    ids = [order["id"] for order in accepted]
    rows = query(
        shop_database.database_url,
        "SELECT o.id, o.total_paisa, sum(i.unit_price_paisa * i.quantity) FROM orders o "
        "JOIN order_items i ON i.order_id = o.id WHERE o.id = ANY(%s) GROUP BY o.id, o.total_paisa",
        (ids,),
    )
    assert len(rows) == len(accepted)
    assert all(total == line_sum for _, total, line_sum in rows), rows
    expected = {order["id"]: round(float(order["total"]) * 100) for order in accepted}
    assert {order_id: total for order_id, total, _ in rows} == expected
    assert sum(total for _, total, _ in rows) == sum(expected.values())
    # The winners' carts are empty; the losers' still hold exactly what they wanted (nothing half-taken).
    for buyer, quantity, response in zip(buyers, wanted, responses, strict=True):
        expected_count = 0 if response.status_code == 201 else quantity + 1
        assert buyer.cart().json()["count"] == expected_count


def test_concurrent_cart_updates_never_exceed_the_stock_or_go_negative(shop, shop_database, admin, buyers):
    product = create_product(admin, stock=3, price="99.00")

    # Everyone sets 1..4 units at once; the cart refuses more than the stock, never takes stock.
    results = all_at_once(BUYERS, lambda i: buyers[i].set_cart_item(product["id"], 1 + i % 4))
    for index, response in enumerate(results):
        quantity = 1 + index % 4
        assert response.status_code == (200 if quantity <= 3 else 409), response.text
    assert ledger(shop_database.database_url, product["id"])["stock"] == 3

    orders = all_at_once(BUYERS, lambda i: buyers[i].place_order())
    assert {r.status_code for r in orders} <= {201, 409}, [r.text[:200] for r in orders]
    after = ledger(shop_database.database_url, product["id"])
    assert after["stock"] >= 0 and after["sold"] == 3 - after["stock"]
    assert after["sold"] == sum(
        item["quantity"] for r in orders if r.status_code == 201 for item in r.json()["items"]
    )


def test_one_idempotency_key_sent_concurrently_creates_exactly_one_order(shop, shop_database, admin, buyers):
    product = create_product(admin, stock=50, price="500.00")
    buyer = buyers[0]
    assert buyer.set_cart_item(product["id"], 2).status_code == 200
    key = str(uuid.uuid4())
    # Six copies of one checkout (a double-click, a retrying proxy) on six connections at once.
    clones = [ShopApi(buyer.base_url, ip=buyer.ip, token=buyer.token) for _ in range(6)]

    responses = all_at_once(len(clones), lambda i: clones[i].place_order(key))

    answers = [(r.status_code, r.text[:200]) for r in responses]
    assert all(status in (200, 201) for status, _ in answers), answers
    assert sum(r.status_code == 201 for r in responses) == 1
    assert len({r.json()["id"] for r in responses}) == 1
    rows = query(shop_database.database_url,
                 "SELECT count(*) FROM orders WHERE idempotency_key = %s", (key,))
    assert rows[0][0] == 1
    assert ledger(shop_database.database_url, product["id"]) == {"stock": 48, "sold": 2}
