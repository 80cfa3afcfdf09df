"""Helpers that drive the storefront's HTML forms through Flask's test client, like a browser would:
fetch the page, take its CSRF token (and idempotency key), post the form."""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask.testing import FlaskClient

PASSWORD = "correct-horse-battery"
CSRF_INPUT = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|type="hidden" name="csrf_token" value="([^"]+)"'
)


def csrf_token(html: str) -> str:
    match = CSRF_INPUT.search(html)
    assert match, "the page has no CSRF token field"
    return match.group(1) or match.group(2)


@dataclass
class Customer:
    email: str
    password: str
    name: str


def register(
    client: FlaskClient,
    email: str = "rahim@example.com",
    name: str = "Rahim Uddin",
    phone: str = "01712345678",
    password: str = PASSWORD,
) -> Customer:
    page = client.get("/register")
    response = client.post(
        "/register",
        data={
            "csrf_token": csrf_token(page.text),
            "name": name,
            "email": email,
            "phone": phone,
            "password": password,
            "confirm": password,
        },
    )
    assert response.status_code == 302, response.text
    return Customer(email=email, password=password, name=name)


def log_in(client: FlaskClient, customer: Customer, next_url: str | None = None):
    page = client.get("/login")
    data = {"csrf_token": csrf_token(page.text), "email": customer.email, "password": customer.password}
    if next_url is not None:
        data["next"] = next_url
    return client.post("/login", data=data)


def log_out(client: FlaskClient) -> None:
    page = client.get("/")
    assert client.post("/logout", data={"csrf_token": csrf_token(page.text)}).status_code == 302


def add_to_cart(client: FlaskClient, slug: str, quantity: int = 1):
    page = client.get(f"/products/{slug}")
    return client.post(
        f"/products/{slug}/add-to-cart", data={"csrf_token": csrf_token(page.text), "quantity": str(quantity)}
    )


def checkout_form(client: FlaskClient, **fields: str) -> dict[str, str]:
    """The checkout form's fields as the browser would submit them, filled with a valid address."""
    page = client.get("/checkout")
    assert page.status_code == 200, page.status_code
    key = re.search(r'name="idempotency_key" type="hidden" value="([^"]+)"', page.text)
    assert key, "the checkout form has no idempotency key"
    data = {
        "csrf_token": csrf_token(page.text),
        "idempotency_key": key.group(1),
        "name": "Rahim Uddin",
        "phone": "01712-345678",
        "address": "House 12, Road 5, Dhanmondi",
        "city": "Dhaka",
        "postal_code": "1205",
        "payment_method": "cod",
    }
    data.update(fields)
    return data
