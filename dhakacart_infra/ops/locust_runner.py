"""The Locust side of `load`: run as `python -m dhakacart_infra.ops.locust_runner` (a child process).

Importing locust monkey-patches the process with gevent, which is why this module is only ever
run on its own. It writes one JSON report; `load.py` judges it.
"""

from __future__ import annotations

import argparse
import json
import random
import uuid
from pathlib import Path
from typing import Any

import gevent
import locust
from locust import HttpUser, between, task
from locust.env import Environment

SEARCH_WORDS = ("rice", "tea", "saree", "mango", "phone", "shirt", "oil", "book", "lungi", "honey")


class Shopper(HttpUser):
    """One visitor: arrives, registers and logs in, then browses, searches, buys now and then.

    Weights follow a shop's funnel: many catalog and product views, fewer cart adds, few orders.
    """

    wait_time = between(0.5, 2.0)

    def on_start(self) -> None:
        self.products: list[dict[str, Any]] = []
        self.token = ""
        email = f"load-{uuid.uuid4().hex[:12]}@example.com"
        password = f"Load-{uuid.uuid4().hex}"
        self.client.post(
            "/api/v1/auth/register",
            name="/api/v1/auth/register",
            json={
                "email": email,
                "password": password,
                "name": "Load Test Shopper",
                "phone": "017" + "".join(random.choices("0123456789", k=8)),  # noqa: S311 - test data
            },
        )
        with self.client.post(
            "/api/v1/auth/login",
            json={"email": email, "password": password},
            name="/api/v1/auth/login",
            catch_response=True,
        ) as response:
            if response.status_code == 200 and response.json().get("access_token"):
                self.token = response.json()["access_token"]
                response.success()
            else:
                response.failure(f"login answered {response.status_code}")
        self._load_catalog()

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def _load_catalog(self) -> None:
        response = self.client.get("/api/v1/products?per_page=50", name="/api/v1/products")
        if response.status_code == 200:
            self.products = [p for p in response.json().get("items", []) if p.get("slug")]

    def _pick(self, in_stock: bool = False) -> dict[str, Any] | None:
        choices = [p for p in self.products if not in_stock or int(p.get("stock") or 0) > 0]
        return random.choice(choices) if choices else None  # noqa: S311 - load mix, not security

    @task(10)
    def browse_catalog(self) -> None:
        page = random.randint(1, 3)  # noqa: S311
        self.client.get(f"/api/v1/products?page={page}&per_page=20", name="/api/v1/products")

    @task(5)
    def search(self) -> None:
        self.client.get(
            f"/api/v1/products?q={random.choice(SEARCH_WORDS)}",  # noqa: S311
            name="/api/v1/products?q=",
        )

    @task(8)
    def product_page(self) -> None:
        product = self._pick()
        if product:
            self.client.get(f"/products/{product['slug']}", name="/products/<slug>")

    @task(4)
    def product_api(self) -> None:
        product = self._pick()
        if product:
            self.client.get(f"/api/v1/products/{product['slug']}", name="/api/v1/products/<slug>")

    @task(3)
    def add_to_cart(self) -> None:
        product = self._pick(in_stock=True)
        if product and self.token:
            self.client.put(
                f"/api/v1/cart/items/{product['id']}",
                json={"quantity": 1},
                headers=self._auth(),
                name="/api/v1/cart/items/<id>",
            )

    @task(1)
    def checkout(self) -> None:
        product = self._pick(in_stock=True)
        if not product or not self.token:
            return
        self.client.put(
            f"/api/v1/cart/items/{product['id']}",
            json={"quantity": 1},
            headers=self._auth(),
            name="/api/v1/cart/items/<id>",
        )
        headers = {**self._auth(), "Idempotency-Key": str(uuid.uuid4())}
        order = {
            "shipping": {
                "name": "Load Test Shopper",
                "phone": "01711000000",
                "address": "House 1, Road 2",
                "city": "Dhaka",
                "postal_code": "1207",
            },
            "payment_method": "cod",
        }
        with self.client.post(
            "/api/v1/orders", json=order, headers=headers, name="/api/v1/orders", catch_response=True
        ) as response:
            if response.status_code in (200, 201):
                response.success()
            elif response.status_code == 409 and "stock" in response.text.lower():
                # Correct behaviour when stock runs out under load: not an error of the shop.
                response.success()
                self._load_catalog()
            else:
                response.failure(f"order answered {response.status_code}")


def _percentile_ms(entry: Any, fraction: float) -> float:
    return float(entry.get_response_time_percentile(fraction) or 0)


def run(url: str, users: int, spawn_rate: float, duration: int) -> dict[str, Any]:
    Shopper.host = url.rstrip("/")
    env = Environment(user_classes=[Shopper], events=locust.events)
    rate_limited = 0

    def count_429(response: Any = None, **_: Any) -> None:
        nonlocal rate_limited
        if getattr(response, "status_code", None) == 429:
            rate_limited += 1

    env.events.request.add_listener(count_429)
    runner = env.create_local_runner()
    runner.start(users, spawn_rate=spawn_rate)
    gevent.sleep(duration)
    runner.quit()
    runner.greenlet.join(timeout=30)
    total = env.stats.total
    endpoints = [
        {
            "method": e.method,
            "name": e.name,
            "requests": e.num_requests,
            "failures": e.num_failures,
            "p95_ms": _percentile_ms(e, 0.95),
        }
        for e in sorted(env.stats.entries.values(), key=lambda e: (e.name, e.method))
    ]
    errors = [
        {"method": e.method, "name": e.name, "error": str(e.error), "occurrences": e.occurrences}
        for e in sorted(env.stats.errors.values(), key=lambda e: -e.occurrences)
    ]
    elapsed = (
        max(total.last_request_timestamp - total.start_time, 1e-9) if total.num_requests else float(duration)
    )
    return {
        "requests": total.num_requests,
        "failures": total.num_failures,
        "rps": total.num_requests / elapsed if total.num_requests else 0.0,
        "p50_ms": _percentile_ms(total, 0.50),
        "p95_ms": _percentile_ms(total, 0.95),
        "p99_ms": _percentile_ms(total, 0.99),
        "duration_s": float(duration),
        "users": users,
        "rate_limited": rate_limited,
        "endpoints": endpoints,
        "errors": errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--users", type=int, required=True)
    parser.add_argument("--spawn-rate", type=float, required=True)
    parser.add_argument("--duration", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    report = run(args.url, args.users, args.spawn_rate, args.duration)
    args.out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
