"""Checkout throughput: concurrent buyers empty one product's stock through the real API.

Each buyer is a registered customer with their own token and client address; in a loop it puts
one unit in its cart and places an order with a fresh Idempotency-Key, until the shop answers
409 insufficient_stock. Orders per second count only acknowledged (201) orders. At the end the
database must show exactly the initial stock sold, nothing negative, and order totals that add up.
"""

from __future__ import annotations

import http.client
import json
import os
import resource
import statistics
import threading
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

import psycopg

from tests.support.shop_api import SHIPPING, ShopApi, client_ip
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


CART_BODY = json.dumps({"quantity": 1}).encode()
ORDER_BODY = json.dumps({"shipping": SHIPPING, "payment_method": "cod"}).encode()


class _Buyer(threading.Thread):
    """One customer on one keep-alive connection (http.client with prebuilt headers and bodies):
    `requests` cost the load generator ~1 ms of CPU per request on the same two cores as the
    shop, which capped the very throughput this measures."""

    def __init__(self, base_url: str, token: str, ip: str, product_id: int, start: threading.Event,
                 max_orders: int) -> None:
        super().__init__(daemon=True)
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.headers = {"Authorization": f"Bearer {token}", "X-Forwarded-For": ip,
                        "Content-Type": "application/json"}
        self.cart_path = f"/api/v1/cart/items/{product_id}"
        self.start_event, self.max_orders = start, max_orders
        self.acknowledged: list[int] = []
        self.latencies_ms: list[float] = []
        self.failures: list[str] = []
        self.sold_out = False

    def _send(self, connection: http.client.HTTPConnection, method: str, path: str, body: bytes,
              extra: dict[str, str] | None = None) -> tuple[int, bytes]:
        connection.request(method, path, body=body, headers={**self.headers, **(extra or {})})
        response = connection.getresponse()
        return response.status, response.read()

    def run(self) -> None:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        self.start_event.wait()
        try:
            for _ in range(self.max_orders):
                status, body = self._send(connection, "PUT", self.cart_path, CART_BODY)
                if status == 409:
                    self.sold_out = True
                    return
                if status != 200:
                    self.failures.append(f"PUT cart {status} {body[:200]!r}")
                    return
                started = time.perf_counter()
                status, body = self._send(connection, "POST", "/api/v1/orders", ORDER_BODY,
                                          {"Idempotency-Key": str(uuid.uuid4())})
                self.latencies_ms.append((time.perf_counter() - started) * 1000)
                if status == 201:
                    self.acknowledged.append(json.loads(body)["id"])
                elif status == 409 and json.loads(body)["error"]["code"] == "insufficient_stock":
                    self.sold_out = True
                    return
                else:
                    self.failures.append(f"POST order {status} {body[:200]!r}")
                    return
        except (OSError, http.client.HTTPException) as exc:
            self.failures.append(f"connection: {exc!r}")
        finally:
            connection.close()


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
    threads = [_Buyer(base_url, api.token or "", api.ip, product_id, go, max_orders=stock + 1)
               for api in shoppers]
    for thread in threads:
        thread.start()
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    go.set()
    for thread in threads:
        thread.join(600)
    elapsed = time.perf_counter() - started
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    # The buyers' threads are all this process does meanwhile: its CPU is the load generator's.
    generator_cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)

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
        "load_generator_cpu_share": round(generator_cpu / elapsed / (os.cpu_count() or 1), 3),
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
