"""A thin client of the shop's JSON API for the reliability tests and the benchmarks.

It says nothing about what the answers should be (the tests do); it only spares every test the
URLs, the Bearer header, the Idempotency-Key and a valid shipping address. `client_ip` is sent as
X-Forwarded-For so each simulated customer has its own rate-limit bucket, as each shopper does
behind the Ingress (the shop runs with TRUSTED_PROXY_HOPS=1 in these tests).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

SHIPPING = {
    "name": "Rahim Uddin",
    "phone": "01712345678",
    "address": "House 12, Road 5, Dhanmondi",
    "city": "Dhaka",
    "postal_code": "1205",
}
PASSWORD = "correct-horse-battery-staple"


def client_ip(n: int) -> str:
    """A distinct documentation-range address (198.18.0.0/15, RFC 2544) per simulated client."""
    return f"198.18.{(n // 250) % 250}.{n % 250 + 1}"


@dataclass
class ShopApi:
    base_url: str | Callable[[], str]
    ip: str = "198.18.0.1"
    token: str | None = None
    refresh_token: str | None = None
    timeout: float = 30.0
    # One connection per request by default: a pooled keep-alive connection would hide which server
    # a request reached during a rolling restart, and the tests retry nothing.
    keep_alive: bool = False
    session: requests.Session = field(default_factory=requests.Session)

    def url(self, path: str) -> str:
        base = self.base_url() if callable(self.base_url) else self.base_url
        return base + path

    def headers(self, extra: dict[str, str] | None = None, *, auth: bool = True) -> dict[str, str]:
        headers = {"X-Forwarded-For": self.ip}
        if not self.keep_alive:
            headers["Connection"] = "close"
        if auth and self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        headers.update(extra or {})
        return headers

    def request(self, method: str, path: str, *, auth: bool = True, headers: dict[str, str] | None = None,
                **kwargs: Any) -> requests.Response:
        return self.session.request(method, self.url(path), headers=self.headers(headers, auth=auth),
                                    timeout=self.timeout, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    # --------------------------------------------------------------- accounts
    def register(self, email: str, password: str = PASSWORD, name: str = "Test Customer",
                 phone: str = "01812345678") -> requests.Response:
        return self.post("/api/v1/auth/register", auth=False,
                         json={"email": email, "password": password, "name": name, "phone": phone})

    def login(self, email: str, password: str = PASSWORD) -> requests.Response:
        response = self.post("/api/v1/auth/login", auth=False, json={"email": email, "password": password})
        if response.status_code == 200:
            body = response.json()
            self.token, self.refresh_token = body["access_token"], body["refresh_token"]
        return response

    def sign_up(self, email: str, password: str = PASSWORD) -> ShopApi:
        """Register and log in; raise with the answer if either fails (test set-up, not the test)."""
        registered = self.register(email, password)
        if registered.status_code != 201:
            raise AssertionError(f"register {email}: {registered.status_code} {registered.text[:500]}")
        logged_in = self.login(email, password)
        if logged_in.status_code != 200:
            raise AssertionError(f"login {email}: {logged_in.status_code} {logged_in.text[:500]}")
        return self

    # --------------------------------------------------------------- catalog, cart, orders
    def products(self, **params: Any) -> requests.Response:
        return self.get("/api/v1/products", params=params, auth=False)

    def set_cart_item(self, product_id: int, quantity: int) -> requests.Response:
        return self.request("PUT", f"/api/v1/cart/items/{product_id}", json={"quantity": quantity})

    def cart(self) -> requests.Response:
        return self.get("/api/v1/cart")

    def empty_cart(self) -> None:
        for line in self.cart().json()["items"]:
            self.request("DELETE", f"/api/v1/cart/items/{line['product']['id']}")

    def place_order(self, idempotency_key: str | None = None, shipping: dict[str, str] | None = None
                    ) -> requests.Response:
        return self.post("/api/v1/orders", json={"shipping": shipping or SHIPPING, "payment_method": "cod"},
                         headers={"Idempotency-Key": idempotency_key or str(uuid.uuid4())})

    def order(self, order_id: int) -> requests.Response:
        return self.get(f"/api/v1/orders/{order_id}")


def sign_up_many(base_url: str, ips: list[str], label: str) -> list[ShopApi]:
    """Register and log in one customer per address, a few at a time (password hashing is slow)."""
    from concurrent.futures import ThreadPoolExecutor

    def one(ip: str) -> ShopApi:
        api = ShopApi(base_url, ip=ip, keep_alive=True)
        return api.sign_up(f"{label}-{uuid.uuid4().hex[:8]}@example.com")

    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(one, ips))


def is_json_error(response: requests.Response, status: int) -> bool:
    """The shop's one error shape: JSON {"error": {"code", "message", "details"}}, no HTML, no traceback."""
    if response.status_code != status or not response.headers.get("Content-Type", "").startswith(
        "application/json"
    ):
        return False
    body = response.json()
    error = body.get("error") if isinstance(body, dict) else None
    return (
        isinstance(error, dict)
        and isinstance(error.get("code"), str)
        and isinstance(error.get("message"), str)
        and "Traceback" not in response.text
    )
