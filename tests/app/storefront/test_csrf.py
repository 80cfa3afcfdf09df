"""Every state-changing storefront form refuses a missing or forged CSRF token (400), changing nothing."""

from __future__ import annotations

import pytest
from dhakacart.extensions import db
from dhakacart.models import CartItem, Order, User
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests.support.storefront_forms import add_to_cart, checkout_form, csrf_token

FORGED = "IjEyMzQ1Njc4OTAi.ZZZZZZ.forged-signature-aaaaaaaaaaaaaaaaaaaa"


def count(app: Flask, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture(params=["missing", "forged"])
def bad_token(request) -> dict[str, str]:
    return {} if request.param == "missing" else {"csrf_token": FORGED}


def assert_rejected(response) -> None:
    assert response.status_code == 400
    assert "Form expired" in response.text


def test_add_to_cart_without_a_valid_token_is_rejected(client, customer, shop_app, bad_token) -> None:
    response = client.post("/products/padma-hilsa-1kg/add-to-cart", data={"quantity": "1", **bad_token})
    assert_rejected(response)
    assert count(shop_app, CartItem) == 0


def test_checkout_without_a_valid_token_places_no_order(client, customer, shop_app, bad_token) -> None:
    add_to_cart(client, "padma-hilsa-1kg", 1)
    form = checkout_form(client)
    form.pop("csrf_token")
    assert_rejected(client.post("/checkout", data={**form, **bad_token}))
    assert count(shop_app, Order) == 0
    assert count(shop_app, CartItem) == 1


def test_cart_changes_without_a_valid_token_are_rejected(client, customer, shop_app, bad_token) -> None:
    add_to_cart(client, "padma-hilsa-1kg", 1)
    with shop_app.app_context():
        product_id = db.session.scalar(select(CartItem.product_id))
    assert_rejected(client.post(f"/cart/items/{product_id}", data={"quantity": "5", **bad_token}))
    assert_rejected(client.post(f"/cart/items/{product_id}/remove", data=bad_token))
    with shop_app.app_context():
        assert db.session.scalar(select(CartItem.quantity)) == 1


def test_register_without_a_valid_token_creates_no_account(client: FlaskClient, shop_app, bad_token) -> None:
    response = client.post(
        "/register",
        data={
            "name": "Karim",
            "email": "karim@example.com",
            "phone": "01812345678",
            "password": "long-enough-1",
            "confirm": "long-enough-1",
            **bad_token,
        },
    )
    assert_rejected(response)
    assert count(shop_app, User) == 0


def test_logout_without_a_valid_token_keeps_you_logged_in(client, customer, bad_token) -> None:
    assert_rejected(client.post("/logout", data=bad_token))
    assert client.get("/account/orders").status_code == 200


def test_a_token_from_another_session_is_rejected(client, customer, shop_app) -> None:
    stranger = shop_app.test_client()
    foreign_token = csrf_token(stranger.get("/products/padma-hilsa-1kg").text)
    response = client.post(
        "/products/padma-hilsa-1kg/add-to-cart", data={"quantity": "1", "csrf_token": foreign_token}
    )
    assert_rejected(response)
    assert count(shop_app, CartItem) == 0
