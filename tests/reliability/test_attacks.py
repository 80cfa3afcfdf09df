"""Hostile requests against the running shop: each is refused with the right status AND changes nothing.

The shop runs under gunicorn with production settings on PostgreSQL; "changes nothing" is checked
in the database itself, not only in the answer.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import jwt
import pytest
import requests

from tests.support.shop_api import SHIPPING, ShopApi, is_json_error
from tests.support.shop_server import query

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(300)]

SQL_INJECTIONS = [
    "' OR '1'='1",
    "'; DROP TABLE products; --",
    "1; DELETE FROM users WHERE 1=1; --",
    "\" OR \"\"=\"",
    "' UNION SELECT id, email, password_hash, name, phone, role, NULL, NULL FROM users --",
    "%' AND 1=0 UNION SELECT NULL--",
    "1) OR (1=1",
    "\\'; SELECT pg_sleep(0); --",
    "admin'--",
    "%_%",
]
TABLES = ("users", "products", "categories", "orders", "order_items", "cart_items", "refresh_tokens")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unverified_claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def table_counts(database_url: str) -> dict[str, int]:
    return {table: query(database_url, f"SELECT count(*) FROM {table}")[0][0] for table in TABLES}


def users_with_email(database_url: str, email: str) -> int:
    return query(database_url, "SELECT count(*) FROM users WHERE email = %s", (email,))[0][0]


def describe(response: requests.Response) -> str:
    return f"{response.request.method} {response.url}: {response.status_code} {response.text[:300]}"


def order_count(database_url: str) -> int:
    return query(database_url, "SELECT count(*) FROM orders")[0][0]


def some_product(shop_url: str) -> dict:
    return requests.get(shop_url + "/api/v1/products", params={"per_page": 1, "sort": "-price"},
                        timeout=30).json()["items"][0]


def with_token(api: ShopApi, token: str) -> ShopApi:
    return ShopApi(api.base_url, ip=api.ip, token=token, keep_alive=True)


# ------------------------------------------------------------------- forged and stale tokens
def test_alg_none_token_is_rejected_and_places_no_order(shop, shop_database, customer):
    victim = customer("victim")
    victim.set_cart_item(some_product(shop.base_url)["id"], 1)
    claims = unverified_claims(victim.token)
    forged = ".".join([b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode()),
                       b64url(json.dumps(claims).encode()), ""])
    attacker = with_token(victim, forged)
    before = order_count(shop_database.database_url)

    me = attacker.get("/api/v1/me")
    order = attacker.place_order()

    assert is_json_error(me, 401), me.text
    assert is_json_error(order, 401), order.text
    assert order_count(shop_database.database_url) == before
    assert victim.get("/api/v1/me").status_code == 200  # the genuine token still works


def test_token_with_tampered_claims_or_signature_is_rejected(shop, shop_database, customer):
    victim, attacker = customer("victim"), customer("attacker")
    header, payload, signature = attacker.token.split(".")
    claims = unverified_claims(attacker.token)
    claims["sub"] = str(unverified_claims(victim.token)["sub"])  # claim to be the victim...
    claims["role"] = "admin"
    tampered_payload = ".".join([header, b64url(json.dumps(claims).encode()), signature])
    flipped = signature[:-2] + ("AA" if not signature.endswith("AA") else "BB")
    tampered_signature = ".".join([header, payload, flipped])
    before = table_counts(shop_database.database_url)

    for token in (tampered_payload, tampered_signature):
        forged = with_token(attacker, token)
        assert is_json_error(forged.get("/api/v1/me"), 401)
        assert is_json_error(forged.get("/api/v1/orders"), 401)
        assert is_json_error(forged.post("/api/v1/admin/products", json={
            "name": "Forged", "price": "1.00", "stock": 1, "category": "fruits"}), 401)
    assert table_counts(shop_database.database_url) == before


def test_expired_token_is_rejected(shop, shop_database, customer):
    buyer = customer("expired")
    claims = unverified_claims(buyer.token)
    past = datetime.now(UTC) - timedelta(hours=1)
    claims.update(iat=past - timedelta(minutes=15), exp=past, jti=uuid.uuid4().hex)
    # Correctly signed with the shop's own key: only the expiry can make the shop refuse it.
    expired = jwt.encode(claims, shop_database.secret_key, algorithm="HS256")
    fresh = jwt.encode({**claims, "exp": datetime.now(UTC) + timedelta(minutes=5)},
                       shop_database.secret_key, algorithm="HS256")
    before = order_count(shop_database.database_url)

    response = with_token(buyer, expired).get("/api/v1/me")
    order = with_token(buyer, expired).place_order()

    assert is_json_error(response, 401) and response.json()["error"]["code"] == "token_expired", response.text
    assert is_json_error(order, 401)
    assert with_token(buyer, fresh).get("/api/v1/me").status_code == 200  # same claims, not expired: valid
    assert order_count(shop_database.database_url) == before


def test_refresh_token_reused_after_rotation_revokes_the_whole_login(shop, shop_database, customer):
    buyer = customer("refresh")
    first_refresh = buyer.refresh_token
    rotated = buyer.post("/api/v1/auth/refresh", auth=False, json={"refresh_token": first_refresh})
    assert rotated.status_code == 200, rotated.text
    second_refresh = rotated.json()["refresh_token"]
    tokens_before = query(shop_database.database_url, "SELECT count(*) FROM refresh_tokens")[0][0]

    replay = buyer.post("/api/v1/auth/refresh", auth=False, json={"refresh_token": first_refresh})
    after_theft = buyer.post("/api/v1/auth/refresh", auth=False, json={"refresh_token": second_refresh})

    assert is_json_error(replay, 401), replay.text
    assert "access_token" not in replay.text
    # The reuse means the token leaked: the rotated (possibly stolen) descendant is dead too.
    assert is_json_error(after_theft, 401), after_theft.text
    assert query(shop_database.database_url, "SELECT count(*) FROM refresh_tokens")[0][0] == tokens_before


# ------------------------------------------------------------------- other people's data
def test_customer_cannot_read_or_change_another_customers_order_or_cart(shop, shop_database, customer, admin):
    owner, intruder = customer("owner"), customer("intruder")
    product = some_product(shop.base_url)
    assert owner.set_cart_item(product["id"], 1).status_code == 200
    placed = owner.place_order()
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["id"]
    assert owner.set_cart_item(product["id"], 2).status_code == 200  # something in the owner's cart again
    owner_cart_before = owner.cart().json()
    status_before = query(shop_database.database_url, "SELECT status FROM orders WHERE id = %s", (order_id,))

    read = intruder.order(order_id)
    listed = intruder.get("/api/v1/orders").json()
    change = intruder.request("PUT", f"/api/v1/admin/orders/{order_id}/status", json={"status": "cancelled"})
    intruder.set_cart_item(product["id"], 1)  # only ever the intruder's own cart

    assert is_json_error(read, 404), read.text  # indistinguishable from an order that does not exist
    assert order_id not in [o["id"] for o in listed["items"]]
    assert is_json_error(change, 403), change.text
    assert owner.cart().json() == owner_cart_before
    status_after = query(shop_database.database_url, "SELECT status FROM orders WHERE id = %s", (order_id,))
    assert status_after == status_before
    assert admin.order(order_id).status_code == 200  # the admin can: the 404 above was about ownership


def test_customer_calling_admin_routes_is_forbidden_and_changes_nothing(shop, shop_database, customer):
    buyer = customer("not-admin")
    product = some_product(shop.base_url)
    placed = (buyer.set_cart_item(product["id"], 1), buyer.place_order())[1]
    assert placed.status_code == 201, placed.text
    before = table_counts(shop_database.database_url)
    products_before = query(shop_database.database_url,
                            "SELECT id, name, price_paisa, stock, is_active FROM products ORDER BY id")

    attempts = [
        buyer.post("/api/v1/admin/products", json={"name": "Pwned", "price": "1.00", "stock": 5,
                                                  "category": "fruits"}),
        buyer.request("PATCH", f"/api/v1/admin/products/{product['id']}", json={"price": "0.01"}),
        buyer.request("DELETE", f"/api/v1/admin/products/{product['id']}"),
        buyer.post(f"/api/v1/admin/products/{product['id']}/stock", json={"delta": 1000}),
        buyer.get("/api/v1/admin/orders"),
        buyer.request("PUT", f"/api/v1/admin/orders/{placed.json()['id']}/status",
                      json={"status": "shipped"}),
    ]

    for response in attempts:
        assert is_json_error(response, 403), describe(response)
    assert table_counts(shop_database.database_url) == before
    products_after = query(shop_database.database_url,
                           "SELECT id, name, price_paisa, stock, is_active FROM products ORDER BY id")
    assert products_after == products_before


# ------------------------------------------------------------------- injection
@pytest.mark.parametrize("payload", SQL_INJECTIONS)
def test_sql_injection_in_every_search_and_filter_parameter_is_inert(shop, shop_database, payload,
                                                                     new_client_ip):
    visitor = requests.Session()
    visitor.headers["X-Forwarded-For"] = new_client_ip()
    counts_before = table_counts(shop_database.database_url)
    catalog = visitor.get(shop.base_url + "/api/v1/products", params={"per_page": 100}, timeout=30).json()
    catalog_ids = {p["id"] for p in catalog["items"]}
    user_emails = {row[0] for row in query(shop_database.database_url, "SELECT email FROM users")}

    for parameter in ("q", "category", "min_price", "max_price", "sort", "page", "per_page"):
        response = visitor.get(shop.base_url + "/api/v1/products", params={parameter: payload}, timeout=30)
        # A filter that is not a number or a known sort is a validation error; words just match nothing.
        assert response.status_code in (200, 422), f"{parameter}={payload!r}: {response.status_code}"
        if response.status_code == 200:
            body = response.json()
            assert {p["id"] for p in body["items"]} <= catalog_ids, f"{parameter}={payload!r} leaked rows"
            assert body["total"] <= catalog["total"]
            assert not any(email in response.text for email in user_emails)
        else:
            assert is_json_error(response, 422)
    by_slug = visitor.get(shop.base_url + "/api/v1/products/" + quote(payload, safe=""), timeout=30)
    assert is_json_error(by_slug, 404), by_slug.text[:300]

    for parameter in ("q", "category", "sort", "page"):
        page = visitor.get(shop.base_url + "/products", params={parameter: payload}, timeout=30)
        assert page.status_code == 200, f"storefront {parameter}={payload!r}: {page.status_code}"
        assert not any(email in page.text for email in user_emails)

    assert table_counts(shop_database.database_url) == counts_before


def test_injected_words_find_nothing_but_real_words_still_match(shop, new_client_ip):
    visitor = {"X-Forwarded-For": new_client_ip()}
    hit = requests.get(shop.base_url + "/api/v1/products", params={"q": "saree"}, headers=visitor,
                       timeout=30).json()
    miss = requests.get(shop.base_url + "/api/v1/products", params={"q": "' OR '1'='1"}, headers=visitor,
                        timeout=30).json()
    assert hit["total"] > 0  # the search works, so the empty answer below is not a broken search
    assert miss["total"] == 0 and miss["items"] == []


# ------------------------------------------------------------------- malformed and oversized input
def test_oversized_body_is_413_and_creates_nothing(shop, shop_database, new_client_ip):
    email = f"huge-{secrets.token_hex(4)}@example.com"
    body = json.dumps({"email": email, "password": "x" * 2_000_000, "name": "Huge", "phone": "01712345678"})
    response = requests.post(shop.base_url + "/api/v1/auth/register", data=body, timeout=60,
                             headers={"Content-Type": "application/json",
                                      "X-Forwarded-For": new_client_ip()})
    assert is_json_error(response, 413), response.text[:500]
    assert users_with_email(shop_database.database_url, email) == 0


def test_malformed_json_is_400_and_wrong_types_are_422_with_no_side_effect(shop, shop_database, customer):
    buyer = customer("sloppy")
    product = some_product(shop.base_url)
    before = table_counts(shop_database.database_url)
    raw = {"Content-Type": "application/json"}

    malformed = [
        buyer.request("PUT", f"/api/v1/cart/items/{product['id']}", data='{"quantity": ', headers=raw),
        buyer.request("POST", "/api/v1/orders", data="{shipping: nope}",
                      headers={**raw, "Idempotency-Key": str(uuid.uuid4())}),
        buyer.request("POST", "/api/v1/auth/register", auth=False, data="\x00\xff not json", headers=raw),
    ]
    wrong_types = [
        buyer.set_cart_item(product["id"], "lots"),  # type: ignore[arg-type]
        buyer.request("PUT", f"/api/v1/cart/items/{product['id']}", json={"quantity": 2.5}),
        buyer.request("PUT", f"/api/v1/cart/items/{product['id']}", json=[1, 2, 3]),
        buyer.post("/api/v1/orders", json={"shipping": ["not", "an", "object"]},
                   headers={"Idempotency-Key": str(uuid.uuid4())}),
        buyer.post("/api/v1/orders", json={"shipping": {**SHIPPING, "postal_code": 1205}},
                   headers={"Idempotency-Key": str(uuid.uuid4())}),
        buyer.post("/api/v1/auth/register", auth=False, json={"email": 42, "password": True, "name": None,
                                                              "phone": []}),
    ]

    for response in malformed:
        assert is_json_error(response, 400), describe(response)
    for response in wrong_types:
        assert is_json_error(response, 422), describe(response)
    assert table_counts(shop_database.database_url) == before
    assert buyer.cart().json()["count"] == 0


# ------------------------------------------------------------------- brute force and CSRF
def test_too_many_logins_are_429_with_retry_after_and_issue_no_token(shop, shop_database, customer):
    target = customer("brute")
    attacker = ShopApi(shop.base_url, ip=target.ip, keep_alive=True)  # same client address
    tokens_before = query(shop_database.database_url, "SELECT count(*) FROM refresh_tokens")[0][0]

    limited = None
    # The limit is 10 a minute per client and per worker process (memory storage): a bounded number
    # of tries must meet it, however gunicorn spreads them over its workers.
    for _ in range(60):
        response = attacker.post("/api/v1/auth/login", auth=False,
                                 json={"email": target_email(target), "password": "wrong-password"})
        if response.status_code == 429:
            limited = response
            break
        assert is_json_error(response, 401), response.text
    assert limited is not None, "60 wrong passwords in a row from one client were never rate limited"
    assert is_json_error(limited, 429)
    assert int(limited.headers["Retry-After"]) > 0

    # Even the right password is refused while limited, and no token is issued.
    right = attacker.post("/api/v1/auth/login", auth=False,
                          json={"email": target_email(target), "password": "correct-horse-battery-staple"})
    assert is_json_error(right, 429), right.text
    assert "access_token" not in right.text
    assert query(shop_database.database_url, "SELECT count(*) FROM refresh_tokens")[0][0] == tokens_before


def target_email(api: ShopApi) -> str:
    return api.get("/api/v1/me").json()["email"]


CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def test_forged_csrf_token_on_a_storefront_form_is_400_and_creates_nothing(shop, shop_database,
                                                                           new_client_ip):
    def register(email: str, forge: bool) -> requests.Response:
        browser = requests.Session()
        browser.headers["X-Forwarded-For"] = new_client_ip()
        page = browser.get(shop.base_url + "/register", timeout=30)
        match = CSRF_FIELD.search(page.text)
        assert match, "the registration page has no CSRF token"
        token = match.group(1) or match.group(2)
        # The session cookie is Secure (production); this test talks plain HTTP to 127.0.0.1, so
        # send it back by hand as the browser would over HTTPS.
        cookie = "; ".join(f"{c.name}={c.value}" for c in browser.cookies)
        forged = token[:-6] + ("abcdef" if not token.endswith("abcdef") else "ghijkl")
        return requests.post(shop.base_url + "/register", allow_redirects=False, timeout=30, data={
            "csrf_token": forged if forge else token, "name": "Karim", "email": email,
            "phone": "01712345678", "password": "correct-horse-battery", "confirm": "correct-horse-battery",
        }, headers={"Cookie": cookie, "X-Forwarded-For": browser.headers["X-Forwarded-For"]})

    forged_email = f"forged-{secrets.token_hex(4)}@example.com"
    honest_email = f"honest-{secrets.token_hex(4)}@example.com"

    forged = register(forged_email, forge=True)
    honest = register(honest_email, forge=False)

    assert forged.status_code == 400, forged.text[:500]
    assert users_with_email(shop_database.database_url, forged_email) == 0
    # The same form with the genuine token works: the 400 above was the forged token, nothing else.
    assert honest.status_code == 302, honest.text[:500]
    assert users_with_email(shop_database.database_url, honest_email) == 1
