"""Registration, log-in and log-out pages, the session cookie, and who may see which order."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.support.storefront_forms import (
    PASSWORD,
    Customer,
    add_to_cart,
    checkout_form,
    csrf_token,
    log_in,
    log_out,
    register,
)


def place_order(client: FlaskClient, slug: str = "padma-hilsa-1kg") -> str:
    add_to_cart(client, slug, 1)
    return client.post("/checkout", data=checkout_form(client)).headers["Location"]


def test_registering_logs_you_in(client: FlaskClient) -> None:
    register(client, name="Nusrat Jahan", email="nusrat@example.com")
    html = client.get("/").text
    assert "Welcome to DhakaCart, Nusrat Jahan!" in html
    assert "Log out" in html and "My orders" in html


def test_register_shows_each_problem_next_to_its_field(client: FlaskClient) -> None:
    page = client.get("/register")
    response = client.post(
        "/register",
        data={
            "csrf_token": csrf_token(page.text),
            "name": "",
            "email": "nusrat@example.com",
            "phone": "555-1234",
            "password": "short",
            "confirm": "different",
        },
    )
    assert response.status_code == 422
    html = response.text
    assert 'id="name-error">Enter your name.' in html
    assert 'id="phone-error">Enter a Bangladeshi mobile number' in html
    assert 'id="password-error">Use 8 to 128 characters.' in html
    assert 'id="confirm-error">The passwords do not match.' in html
    # A summary at the top, read out at once, links to each field.
    assert '<div class="error-summary" role="alert">' in html
    assert "There are 4 problems with this form" in html
    assert '<a href="#phone">Mobile number: Enter a Bangladeshi mobile number' in html


def test_registering_a_taken_email_says_so(client: FlaskClient, customer: Customer) -> None:
    log_out(client)
    page = client.get("/register")
    response = client.post(
        "/register",
        data={
            "csrf_token": csrf_token(page.text),
            "name": "Someone",
            "email": customer.email.upper(),
            "phone": "01912345678",
            "password": PASSWORD,
            "confirm": PASSWORD,
        },
    )
    assert response.status_code == 422
    assert "An account with this e-mail already exists." in response.text


def test_login_with_a_wrong_password_gives_one_vague_message(client: FlaskClient, customer: Customer) -> None:
    log_out(client)
    response = log_in(client, Customer(customer.email, "wrong-password", customer.name))
    assert response.status_code == 422
    assert "The e-mail or password is not right." in response.text
    unknown = log_in(client, Customer("nobody@example.com", "wrong-password", "x"))
    assert "The e-mail or password is not right." in unknown.text


def test_login_returns_to_the_page_you_came_from(client: FlaskClient, customer: Customer) -> None:
    log_out(client)
    response = log_in(client, customer, next_url="/products/padma-hilsa-1kg")
    assert response.headers["Location"] == "/products/padma-hilsa-1kg"


@pytest.mark.parametrize(
    "target", ["https://evil.example/phish", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"]
)
def test_login_never_redirects_off_site(client: FlaskClient, customer: Customer, target: str) -> None:
    log_out(client)
    response = log_in(client, customer, next_url=target)
    assert response.headers["Location"] == "/"


def test_logout_is_a_post_that_ends_the_session(client: FlaskClient, customer: Customer) -> None:
    assert client.get("/logout").status_code == 405  # a link or an <img> cannot log anyone out
    log_out(client)
    assert client.get("/account/orders").status_code == 302


def test_session_cookie_is_http_only_and_same_site_lax(client: FlaskClient, customer: Customer) -> None:
    log_out(client)
    response = log_in(client, customer)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain HTTP on a laptop; production below


def test_session_cookie_is_secure_in_production(app_factory) -> None:
    app = app_factory(ENVIRON={"DHAKACART_ENV": "production", "SECRET_KEY": "s" * 48})
    client = app.test_client()
    customer = register(client)
    log_out(client)
    cookie = log_in(client, customer).headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_logging_in_starts_a_fresh_session(client: FlaskClient, customer: Customer) -> None:
    log_out(client)
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    log_in(client, customer)
    with client.session_transaction() as session:
        assert "planted" not in session
        assert isinstance(session["user_id"], int)


def test_my_orders_lists_my_orders_only(shop_app) -> None:
    rahim, karim = shop_app.test_client(), shop_app.test_client()
    register(rahim, email="rahim@example.com")
    register(karim, email="karim@example.com", name="Karim", phone="01812345678")
    mine = place_order(rahim)
    theirs = place_order(karim, "tangail-cotton-saree")

    html = rahim.get("/account/orders").text
    assert f'href="{mine}"' in html
    assert f'href="{theirs}"' not in html


def test_someone_elses_order_is_not_found(shop_app) -> None:
    rahim, karim = shop_app.test_client(), shop_app.test_client()
    register(rahim, email="rahim@example.com")
    register(karim, email="karim@example.com", name="Karim", phone="01812345678")
    order_url = place_order(rahim)
    assert rahim.get(order_url).status_code == 200
    assert karim.get(order_url).status_code == 404
    assert shop_app.test_client().get(order_url).status_code == 302  # visitors are asked to log in


def test_my_orders_is_empty_at_first(client: FlaskClient, customer: Customer) -> None:
    assert "You have not ordered anything yet." in client.get("/account/orders").text


def test_repeated_log_in_attempts_are_rate_limited(app_factory) -> None:
    app = app_factory(RATELIMIT_ENABLED=True)
    client = app.test_client()
    limit = int(app.config["AUTH_RATE_LIMIT"].split()[0])
    statuses = [
        log_in(client, Customer("victim@example.com", f"guess-{attempt}", "x")).status_code
        for attempt in range(limit + 1)
    ]
    assert statuses[:limit] == [422] * limit
    assert statuses[limit] == 429
    assert client.get("/login").status_code == 200  # only the POSTs are limited
