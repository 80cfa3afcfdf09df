"""A rolling restart under load, as Kubernetes does it: no request fails, no acknowledged order is lost.

The sequence mirrors a Deployment rollout with a preStop pause:
1. the old server (A) takes a bounded load of catalog reads and checkouts;
2. the new server (B) starts and becomes ready; the "Service" sends traffic to both;
3. A is taken out of the endpoints (the pod is Terminating), then, after the preStop pause, gets
   SIGTERM. A checkout that is in flight on A at that moment (its body still arriving) must be
   finished and acknowledged by A's graceful shutdown, not cut off;
4. the load carries on against B alone.

Why endpoints and not SO_REUSEPORT on one port: when a reuse_port listener closes, Linux resets the
connections still waiting in its accept queue (unless net.ipv4.tcp_migrate_req is on), so
clients would see resets that no application code can prevent; Kubernetes avoids exactly this by
removing the endpoint before the SIGTERM, which is what this test does.
"""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
import uuid
from pathlib import Path

import pytest

from tests.support.gunicorn_process import GunicornProcess
from tests.support.load import BoundedLoad, Outcome
from tests.support.shop_api import SHIPPING, ShopApi, client_ip, sign_up_many
from tests.support.shop_server import ADMIN_EMAIL, query, start_shop

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(300)]

LOAD_THREADS = 6
PRE_STOP_PAUSE_SECONDS = 2.0  # the pod's preStop sleep: endpoint removal reaches every client first


class Endpoints:
    """The Service's ready endpoints; every request picks one, as kube-proxy does per connection."""

    def __init__(self, *urls: str) -> None:
        self._urls = list(urls)
        self._lock = threading.Lock()

    def set(self, *urls: str) -> None:
        with self._lock:
            self._urls = list(urls)

    def pick(self) -> str:
        with self._lock:
            return random.choice(self._urls)


class SlowCheckout:
    """A checkout whose body arrives in two halves, so it is in flight when SIGTERM lands."""

    def __init__(self, port: int, api: ShopApi) -> None:
        self.body = json.dumps({"shipping": SHIPPING, "payment_method": "cod"}).encode()
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.conn.putrequest("POST", "/api/v1/orders")
        for name, value in {
            "Authorization": f"Bearer {api.token}", "Content-Type": "application/json",
            "Content-Length": str(len(self.body)), "Idempotency-Key": str(uuid.uuid4()),
            "X-Forwarded-For": api.ip,
        }.items():
            self.conn.putheader(name, value)
        self.conn.endheaders()
        self.conn.send(self.body[:10])

    def finish(self) -> tuple[int, dict]:
        self.conn.send(self.body[10:])
        response = self.conn.getresponse()
        return response.status, json.loads(response.read())


@pytest.fixture(scope="module")
def product_id(shop_database, shop) -> int:
    admin = ShopApi(shop.base_url, ip=client_ip(7000))
    assert admin.login(ADMIN_EMAIL).status_code == 200
    created = admin.post("/api/v1/admin/products", json={
        "name": "Rolling Restart Tea", "price": "250.00", "stock": 1_000_000, "category": "tea-spices"})
    assert created.status_code == 201, created.text
    return created.json()["id"]


def test_sigterm_during_load_fails_no_request_and_loses_no_order(shop_database, shop, product_id,
                                                                  tmp_path: Path):
    # The module's `shop` fixture is server A; B gets its own metrics directory, as its own pod would.
    old: GunicornProcess = shop
    endpoints = Endpoints(old.base_url)
    customers = sign_up_many(old.base_url, [client_ip(7100 + i) for i in range(LOAD_THREADS + 1)], "rolling")
    for api in customers:
        api.keep_alive = False  # a new connection per request: each one is routed afresh
    in_flight_buyer = customers.pop()

    def step(thread: int, iteration: int) -> list[Outcome]:
        api = customers[thread]
        base = endpoints.pick()
        api.base_url = base
        if iteration % 3 != 2:
            response = api.get("/api/v1/products", params={"per_page": 20, "page": 1 + iteration % 2})
            return [Outcome("read", response.status_code, response.status_code == 200, response.text[:200],
                            {"server": base})]
        cart = api.set_cart_item(product_id, 1)
        if cart.status_code != 200:
            return [Outcome("cart", cart.status_code, False, cart.text[:200], {"server": base})]
        order = api.place_order()
        data = {"server": base}
        if order.status_code == 201:
            data["order_id"] = order.json()["id"]
        return [Outcome("cart", 200, True, "", {"server": base}),
                Outcome("order", order.status_code, order.status_code == 201, order.text[:200], data)]

    load = BoundedLoad(step, threads=LOAD_THREADS, max_iterations=5000, max_seconds=200).start()
    new: GunicornProcess | None = None
    try:
        load.wait_for(24, timeout=90)
        new_env = {**shop_database.env, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus-b")}
        new = start_shop(new_env, name="shop-b")
        endpoints.set(old.base_url, new.base_url)  # B is ready: the Service adds it
        load.wait_for(load.count() + 24, timeout=90)

        assert in_flight_buyer.set_cart_item(product_id, 2).status_code == 200
        slow = SlowCheckout(old.port, in_flight_buyer)
        endpoints.set(new.base_url)  # A is Terminating: out of the endpoints
        time.sleep(PRE_STOP_PAUSE_SECONDS)
        old.terminate()  # the kubelet's SIGTERM after the preStop pause
        time.sleep(0.5)  # A is now draining, with the checkout still half sent
        status, in_flight_order = slow.finish()
        assert old.wait(60) == 0, old.log_tail()
        load.wait_for(load.count() + 24, timeout=90)
    finally:
        outcomes = load.stop(timeout=120)
        if new is not None:
            new.close()

    failures = [o for o in outcomes if not o.ok]
    assert not failures, "\n".join(str(f) for f in failures[:20])
    servers = {o.data["server"] for o in outcomes}
    assert servers == {old.base_url, new.base_url}, "the load must have reached both servers"
    assert status == 201, in_flight_order
    acknowledged = {o.data["order_id"] for o in outcomes if o.action == "order"} | {in_flight_order["id"]}
    assert len(acknowledged) > 10
    stored = {row[0] for row in query(shop_database.database_url, "SELECT id FROM orders WHERE id = ANY(%s)",
                                      (list(acknowledged),))}
    assert stored == acknowledged
    items = query(shop_database.database_url, "SELECT quantity FROM order_items WHERE order_id = %s",
                  (in_flight_order["id"],))
    assert items == [(2,)]
