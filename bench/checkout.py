"""Checkout throughput: concurrent buyers empty one product's stock through the real API.

Each buyer is a registered customer with their own token and client address; in a loop it puts
one unit in its cart and places an order with a fresh Idempotency-Key, until the shop answers
409 insufficient_stock. Orders per second count only acknowledged (201) orders. At the end the
database must show exactly the initial stock sold, nothing negative, and order totals that add up.
"""

from __future__ import annotations

import statistics
import threading
import time
import uuid
from typing import Any

import psycopg

from tests.support.shop_api import ShopApi, client_ip
from tests.support.shop_server import plain_postgres_url


def stock_ledger(database_url: str, product_id: int) -> dict[str, int]:
    """What the database says about one product: stock left, units sold, orders and their totals."""
    with psycopg.connect(plain_postgres_url(database_url)) as conn:
        stock = conn.execute("SELECT stock FROM products WHERE id = %s", (product_id,)).fetchone()[0]
        sold, orders = conn.execute(
            "SELECT coalesce(sum(quantity), 0), count(DISTINCT order_id) FROM order_items "
            "WHERE product_id = %s",
            (product_id,),
        ).fetchone()
        totals, line_sums = conn.execute(
            """
            SELECT coalesce(sum(o.total_paisa), 0),
                   coalesce(sum((SELECT sum(i.unit_price_paisa * i.quantity) FROM order_items i
                                 WHERE i.order_id = o.id)), 0)
            FROM orders o WHERE o.id IN (SELECT order_id FROM order_items WHERE product_id = %s)
            """,
            (product_id,),
        ).fetchone()
        negative = conn.execute("SELECT count(*) FROM products WHERE stock < 0").fetchone()[0]
    return {"stock": stock, "sold": int(sold), "orders": orders, "sum_order_totals_paisa": int(totals),
            "sum_line_totals_paisa": int(line_sums), "products_with_negative_stock": negative}


class _Buyer(threading.Thread):
    def __init__(self, api: ShopApi, product_id: int, start: threading.Event, max_orders: int) -> None:
        super().__init__(daemon=True)
        self.api, self.product_id, self.start_event, self.max_orders = api, product_id, start, max_orders
        self.acknowledged: list[int] = []
        self.latencies_ms: list[float] = []
        self.failures: list[str] = []
        self.sold_out = False

    def run(self) -> None:
        self.start_event.wait()
        for _ in range(self.max_orders):
            cart = self.api.set_cart_item(self.product_id, 1)
            if cart.status_code == 409:
                self.sold_out = True
                return
            if cart.status_code != 200:
                self.failures.append(f"PUT cart {cart.status_code} {cart.text[:200]}")
                return
            started = time.perf_counter()
            order = self.api.place_order(str(uuid.uuid4()))
            self.latencies_ms.append((time.perf_counter() - started) * 1000)
            if order.status_code == 201:
                self.acknowledged.append(order.json()["id"])
            elif order.status_code == 409 and order.json()["error"]["code"] == "insufficient_stock":
                self.sold_out = True
                return
            else:
                self.failures.append(f"POST order {order.status_code} {order.text[:200]}")
                return


def run(base_url: str, database_url: str, admin: ShopApi, *, buyers: int = 16, stock: int = 1000
        ) -> dict[str, Any]:
    created = admin.post("/api/v1/admin/products", json={
        "name": f"Bench Chinigura Rice {uuid.uuid4().hex[:8]}", "price": "1250.00", "stock": stock,
        "category": "rice-grocery",
    })
    if created.status_code != 201:
        raise RuntimeError(
            f"could not create the benchmark product: {created.status_code} {created.text[:500]}"
        )
    product_id = created.json()["id"]

    shoppers = []
    for n in range(buyers):
        api = ShopApi(base_url, ip=client_ip(1000 + n), keep_alive=True)
        api.sign_up(f"bench-buyer-{n}-{uuid.uuid4().hex[:6]}@example.com")
        shoppers.append(api)

    go = threading.Event()
    threads = [_Buyer(api, product_id, go, max_orders=stock + 1) for api in shoppers]
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    go.set()
    for thread in threads:
        thread.join(600)
    elapsed = time.perf_counter() - started

    acknowledged = [order_id for t in threads for order_id in t.acknowledged]
    latencies = sorted(ms for t in threads for ms in t.latencies_ms)
    failures = [f for t in threads for f in t.failures]
    ledger = stock_ledger(database_url, product_id)
    percentiles = (
        statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1 else [0.0] * 99
    )
    return {
        "buyers": buyers,
        "initial_stock": stock,
        "acknowledged_orders": len(acknowledged),
        "duration_s": round(elapsed, 2),
        "orders_per_second": round(len(acknowledged) / elapsed, 1),
        "p50_ms": round(percentiles[49], 1),
        "p99_ms": round(percentiles[98], 1),
        "failed": len(failures),
        "failures": failures[:10],
        "sold": ledger["sold"],
        "stock_left": ledger["stock"],
        "oversold": max(0, ledger["sold"] - stock),
        "ledger": ledger,
        "consistent": (
            ledger["sold"] == stock == len(acknowledged) == ledger["orders"]
            and ledger["stock"] == 0
            and ledger["products_with_negative_stock"] == 0
            and ledger["sum_order_totals_paisa"] == ledger["sum_line_totals_paisa"] == stock * 125000
            and not failures
        ),
    }
