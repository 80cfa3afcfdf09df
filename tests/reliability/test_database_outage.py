"""PostgreSQL stops mid-traffic and comes back: the shop degrades to clean 503s and recovers by itself.

Requirements (issue 8): within 5 seconds of the database going away, /readyz answers 503 (so the
Service stops routing to the pod) and the API answers 503 with the JSON error shape: no 500, no
traceback, no HTML. Within 5 seconds of it coming back, the same gunicorn processes serve again,
without a restart. Every order acknowledged with 201, before or after, is in the database.

The 5-second windows are checked by polling, starting when `pg_ctl` has finished stopping or
starting the server; this module runs its own PostgreSQL, since it stops it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
import requests

from tests.support.gunicorn_process import GunicornProcess
from tests.support.load import BoundedLoad, Outcome
from tests.support.postgres import PostgresServer
from tests.support.postgres_outage import PostgresOutage
from tests.support.shop_api import ShopApi, client_ip, is_json_error, sign_up_many
from tests.support.shop_server import ADMIN_EMAIL, make_shop_database, query

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(300)]

REQUIREMENT_SECONDS = 5.0
LOAD_THREADS = 4


@pytest.fixture(scope="module")
def private_postgres() -> Iterator[PostgresServer]:
    server = PostgresServer.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def shop_database(private_postgres, tmp_path_factory):
    return make_shop_database(private_postgres, tmp_path_factory.mktemp("outage"), "outage")


def poll_until(condition: Callable[[], tuple[bool, str]], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    last = "never checked"
    while True:
        try:
            done, last = condition()
        except requests.RequestException as exc:  # the shop itself must stay up: keep the reason
            done, last = False, repr(exc)
        if done:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not within {seconds:.0f} s; last answer: {last[:500]}")
        time.sleep(0.1)


def acceptable(response: requests.Response, success: int) -> bool:
    """Served normally, or refused cleanly as an outage; anything else (500, HTML) is a failure."""
    return response.status_code == success or is_json_error(response, 503)


def test_database_outage_gives_clean_503s_and_recovers_without_restart(shop_database, shop: GunicornProcess,
                                                                        private_postgres):
    admin = ShopApi(shop.base_url, ip=client_ip(8000))
    assert admin.login(ADMIN_EMAIL).status_code == 200
    product = admin.post("/api/v1/admin/products", json={
        "name": "Outage Jamdani", "price": "4200.00", "stock": 1_000_000, "category": "sarees-textiles"})
    assert product.status_code == 201, product.text
    product_id = product.json()["id"]
    customers = sign_up_many(shop.base_url, [client_ip(8100 + i) for i in range(LOAD_THREADS + 1)], "outage")
    probe = customers.pop()

    def step(thread: int, iteration: int) -> list[Outcome]:
        api = customers[thread]
        if iteration % 2 == 0:
            read = api.get("/api/v1/products", params={"per_page": 20})
            return [Outcome("read", read.status_code, acceptable(read, 200), read.text[:300])]
        cart = api.set_cart_item(product_id, 1)
        outcomes = [Outcome("cart", cart.status_code, acceptable(cart, 200), cart.text[:300])]
        if cart.status_code == 200:
            order = api.place_order()
            data = {"order_id": order.json()["id"]} if order.status_code == 201 else {}
            outcomes.append(Outcome("order", order.status_code, acceptable(order, 201), order.text[:300],
                                    data))
        time.sleep(0.02)  # a shopper, not a flood: keeps the 2-core machine responsive for the probes
        return outcomes

    outage = PostgresOutage(private_postgres)
    load = BoundedLoad(step, threads=LOAD_THREADS, max_iterations=3000, max_seconds=180).start()
    try:
        load.wait_for(20, timeout=90)

        outage.stop()

        def readyz_refuses() -> tuple[bool, str]:
            response = requests.get(shop.base_url + "/readyz", timeout=4)
            json_503 = response.status_code == 503 and response.json()["status"] == "not_ready"
            return json_503, f"{response.status_code} {response.text}"

        def api_refuses_cleanly() -> tuple[bool, str]:
            listing = probe.get("/api/v1/products", params={"per_page": 20})
            checkout = probe.place_order()
            ok = is_json_error(listing, 503) and is_json_error(checkout, 503)
            return ok, f"{listing.status_code} {listing.text} | {checkout.status_code} {checkout.text}"

        poll_until(readyz_refuses, REQUIREMENT_SECONDS, "/readyz answering 503 after the database stopped")
        poll_until(api_refuses_cleanly, REQUIREMENT_SECONDS, "the API answering JSON 503s during the outage")
        load.wait_for(load.count() + 20, timeout=60)  # traffic goes on during the outage

        outage.start()

        def serving_again() -> tuple[bool, str]:
            ready = requests.get(shop.base_url + "/readyz", timeout=4)
            listing = probe.get("/api/v1/products", params={"per_page": 20})
            return (ready.status_code == 200 and listing.status_code == 200,
                    f"{ready.status_code} {ready.text} | {listing.status_code} {listing.text[:200]}")

        poll_until(serving_again, REQUIREMENT_SECONDS, "the shop serving again after the database returned")
        assert probe.set_cart_item(product_id, 1).status_code == 200
        recovered_order = probe.place_order()
        assert recovered_order.status_code == 201, recovered_order.text
        load.wait_for(load.count() + 20, timeout=60)
    finally:
        if outage._options is not None and not (private_postgres.data_dir / "postmaster.pid").exists():
            outage.start()  # leave the server running for the teardown, whatever failed
        outcomes = load.stop(timeout=120)

    failures = [o for o in outcomes if not o.ok]
    log = shop.log_tail(5000)
    server_errors = log[log.find("[ERROR]"):][:4000].splitlines() if "[ERROR]" in log else []
    assert not failures, "\n".join([*(str(f) for f in failures[:20]), "server log:", *server_errors])
    assert any(o.status == 503 for o in outcomes), "the load never met the outage"
    assert shop.process.poll() is None, "the same gunicorn master must have served throughout"
    acknowledged = {o.data["order_id"] for o in outcomes if o.action == "order" and o.status == 201}
    acknowledged.add(recovered_order.json()["id"])
    assert len(acknowledged) > 5
    stored = {row[0] for row in query(shop_database.database_url, "SELECT id FROM orders WHERE id = ANY(%s)",
                                      (list(acknowledged),))}
    assert stored == acknowledged
