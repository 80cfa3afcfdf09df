"""Cart and checkout through the HTML forms: what the customer sees and what the database holds."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from dhakacart.extensions import db
from dhakacart.models import CartItem, Order, Product
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests.support.storefront_forms import add_to_cart, checkout_form, csrf_token


def stock_of(app: Flask, slug: str) -> int:
    with app.app_context():
        return db.session.scalar(select(Product.stock).where(Product.slug == slug))


def product_id(app: Flask, slug: str) -> int:
    with app.app_context():
        return db.session.scalar(select(Product.id).where(Product.slug == slug))


def order_count(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Order))


def test_adding_to_cart_logged_out_sends_you_to_log_in_and_back(client: FlaskClient) -> None:
    page = client.get("/products/padma-hilsa-1kg")
    response = client.post(
        "/products/padma-hilsa-1kg/add-to-cart",
        data={"csrf_token": csrf_token(page.text), "quantity": "1"},
        headers={"Referer": "http://localhost/products/padma-hilsa-1kg"},
    )
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/login"
    assert parse_qs(location.query)["next"] == ["/products/padma-hilsa-1kg"]


def test_cart_page_requires_log_in(client: FlaskClient) -> None:
    response = client.get("/cart")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/cart"


def test_add_to_cart_shows_line_total_and_header_count(client: FlaskClient, customer) -> None:
    response = add_to_cart(client, "padma-hilsa-1kg", 2)
    assert response.headers["Location"] == "/cart"
    html = client.get("/cart").text
    assert "Padma Hilsa (1 kg)" in html
    assert "৳4,400.00" in html  # 2 x 2200.00
    assert '<span class="cart-count" data-testid="cart-count">2</span>' in html
    assert "Added 2 × Padma Hilsa (1 kg) to your cart." in html  # noqa: RUF001


def test_adding_the_same_product_again_adds_to_the_quantity(client: FlaskClient, customer, shop_app) -> None:
    add_to_cart(client, "padma-hilsa-1kg", 1)
    add_to_cart(client, "padma-hilsa-1kg", 3)
    with shop_app.app_context():
        assert db.session.scalar(select(CartItem.quantity)) == 4


def test_adding_more_than_the_stock_is_refused_with_a_message(
    client: FlaskClient, customer, shop_app
) -> None:
    stock = stock_of(shop_app, "dhakai-jamdani-saree-red")
    response = add_to_cart(client, "dhakai-jamdani-saree-red", stock + 1)
    assert response.headers["Location"] == "/products/dhakai-jamdani-saree-red"
    html = client.get(response.headers["Location"]).text
    assert f"only {stock} of Dhakai Jamdani Saree (Red) in stock" in html
    with shop_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(CartItem)) == 0


def test_invalid_quantity_is_shown_next_to_the_field(client: FlaskClient, customer) -> None:
    page = client.get("/products/padma-hilsa-1kg")
    response = client.post(
        "/products/padma-hilsa-1kg/add-to-cart", data={"csrf_token": csrf_token(page.text), "quantity": "0"}
    )
    assert response.status_code == 422
    assert 'aria-describedby="quantity-error"' in response.text
    assert '<p class="field-error" id="quantity-error">Choose between 1 and 100.</p>' in response.text


def test_update_quantity_and_remove_from_cart(client: FlaskClient, customer, shop_app) -> None:
    add_to_cart(client, "padma-hilsa-1kg", 1)
    add_to_cart(client, "tangail-cotton-saree", 1)
    hilsa = product_id(shop_app, "padma-hilsa-1kg")
    token = csrf_token(client.get("/cart").text)

    client.post(f"/cart/items/{hilsa}", data={"csrf_token": token, "quantity": "3"})
    html = client.get("/cart").text
    assert "৳6,600.00" in html  # 3 x 2200.00
    assert 'data-testid="cart-total">৳9,050.00<' in html  # + 2450.00

    client.post(f"/cart/items/{hilsa}/remove", data={"csrf_token": token})
    html = client.get("/cart").text
    assert "Padma Hilsa" not in html
    assert 'data-testid="cart-total">৳2,450.00<' in html


def test_checkout_places_one_order_takes_stock_and_empties_the_cart(
    client: FlaskClient, customer, shop_app
) -> None:
    before = stock_of(shop_app, "padma-hilsa-1kg")
    add_to_cart(client, "padma-hilsa-1kg", 2)
    response = client.post("/checkout", data=checkout_form(client))
    assert response.status_code == 302
    order_url = response.headers["Location"]
    assert order_url.startswith("/orders/")

    html = client.get(order_url).text
    assert "Thank you! Order #" in html
    assert "+8801712345678" in html  # the phone, normalised
    assert 'data-testid="order-total">৳4,400.00<' in html
    assert "Cash on delivery" in html
    assert stock_of(shop_app, "padma-hilsa-1kg") == before - 2
    assert '<span class="cart-count" data-testid="cart-count">0</span>' in html
    # The thank-you banner is for the moment of ordering, not for every later visit.
    assert "Thank you!" not in client.get(order_url).text


def test_submitting_the_checkout_form_twice_places_one_order(client: FlaskClient, customer, shop_app) -> None:
    add_to_cart(client, "padma-hilsa-1kg", 1)
    form = checkout_form(client)
    first = client.post("/checkout", data=form)
    second = client.post("/checkout", data=form)  # double click, or the browser re-posting
    assert first.headers["Location"] == second.headers["Location"]
    assert order_count(shop_app) == 1


def test_invalid_address_is_shown_next_to_each_field_and_places_nothing(
    client: FlaskClient, customer, shop_app
) -> None:
    add_to_cart(client, "padma-hilsa-1kg", 1)
    response = client.post("/checkout", data=checkout_form(client, phone="12345", postal_code="12"))
    assert response.status_code == 422
    html = response.text
    assert 'aria-describedby="phone-hint phone-error"' in html
    assert 'id="phone-error">Enter a Bangladeshi mobile number' in html
    assert 'aria-describedby="postal_code-hint postal_code-error"' in html
    assert 'aria-invalid="true"' in html
    assert order_count(shop_app) == 0


def test_checkout_with_an_empty_cart_goes_back_to_the_cart(client: FlaskClient, customer) -> None:
    response = client.get("/checkout")
    assert response.status_code == 302
    assert response.headers["Location"] == "/cart"


def test_stock_sold_out_during_checkout_is_explained(client: FlaskClient, customer, shop_app) -> None:
    add_to_cart(client, "padma-hilsa-1kg", 2)
    form = checkout_form(client)
    with shop_app.app_context():  # someone else buys the rest meanwhile
        db.session.execute(
            Product.__table__.update().where(Product.slug == "padma-hilsa-1kg").values(stock=1)
        )
        db.session.commit()
    response = client.post("/checkout", data=form)
    assert response.headers["Location"] == "/cart"
    html = client.get("/cart").text
    assert "Padma Hilsa (1 kg) (only 1 left)" in html
    assert order_count(shop_app) == 0
