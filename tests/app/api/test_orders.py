"""Checkout: one transaction, stock decremented, idempotent, private; the order state machine."""

import uuid

import pytest

SHIPPING = {
    "name": "Rahim Uddin",
    "phone": "01712345678",
    "address": "House 12, Road 5, Dhanmondi",
    "city": "Dhaka",
    "postal_code": "1209",
}


def add(client, headers, product_id, quantity):
    response = client.put(f"/api/v1/cart/items/{product_id}", json={"quantity": quantity}, headers=headers)
    assert response.status_code == 200, response.get_json()


def checkout(client, headers, key=None, shipping=SHIPPING, **body):
    return client.post(
        "/api/v1/orders",
        json={"shipping": shipping, "payment_method": "cod", **body},
        headers={**headers, "Idempotency-Key": key or str(uuid.uuid4())},
    )


def stock(client, slug):
    return client.get(f"/api/v1/products/{slug}").get_json()["stock"]


@pytest.fixture
def placed(client, seeded, customer):
    add(client, customer, seeded["padma-hilsa-1kg"], 2)
    add(client, customer, seeded["sylhet-black-tea-500g"], 1)
    response = checkout(client, customer)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_checkout_creates_the_order_decrements_stock_and_empties_the_cart(client, seeded, customer):
    before = stock(client, "padma-hilsa-1kg")
    add(client, customer, seeded["padma-hilsa-1kg"], 2)
    add(client, customer, seeded["sylhet-black-tea-500g"], 1)
    response = checkout(client, customer)
    assert response.status_code == 201
    order = response.get_json()
    assert order["status"] == "pending"
    assert order["total"] == "4820.00" and order["currency"] == "BDT"
    assert order["payment_method"] == "cod"
    assert order["shipping"]["phone"] == "+8801712345678"
    assert [(i["product_slug"], i["quantity"], i["unit_price"], i["line_total"]) for i in order["items"]] == [
        ("padma-hilsa-1kg", 2, "2200.00", "4400.00"),
        ("sylhet-black-tea-500g", 1, "420.00", "420.00"),
    ]
    assert stock(client, "padma-hilsa-1kg") == before - 2
    assert client.get("/api/v1/cart", headers=customer).get_json()["count"] == 0


def test_prices_are_snapshotted_on_the_order(client, seeded, customer, admin, placed):
    client.patch(
        f"/api/v1/admin/products/{seeded['padma-hilsa-1kg']}", json={"price": "9999.00"}, headers=admin
    )
    order = client.get(f"/api/v1/orders/{placed['id']}", headers=customer).get_json()
    assert order["items"][0]["unit_price"] == "2200.00"
    assert order["total"] == "4820.00"


def test_same_idempotency_key_returns_the_same_order_and_creates_nothing(client, seeded, customer):
    add(client, customer, seeded["padma-hilsa-1kg"], 1)
    key = str(uuid.uuid4())
    first = checkout(client, customer, key=key)
    after_first = stock(client, "padma-hilsa-1kg")
    add(client, customer, seeded["padma-hilsa-1kg"], 1)  # a full cart must not be bought twice
    replay = checkout(client, customer, key=key)
    assert first.status_code == 201
    assert replay.status_code == 200
    assert replay.headers["Idempotency-Replayed"] == "true"
    assert replay.get_json() == first.get_json()
    assert stock(client, "padma-hilsa-1kg") == after_first
    assert client.get("/api/v1/orders", headers=customer).get_json()["total"] == 1


def test_same_key_with_a_different_request_is_409(client, seeded, customer):
    add(client, customer, seeded["padma-hilsa-1kg"], 1)
    key = str(uuid.uuid4())
    checkout(client, customer, key=key)
    response = checkout(client, customer, key=key, shipping={**SHIPPING, "city": "Chattogram"})
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "idempotency_key_reused"


def test_idempotency_keys_are_per_customer(client, seeded, customer, make_customer):
    other = make_customer()
    key = str(uuid.uuid4())
    add(client, customer, seeded["padma-hilsa-1kg"], 1)
    add(client, other, seeded["padma-hilsa-1kg"], 1)
    first, second = checkout(client, customer, key=key), checkout(client, other, key=key)
    assert first.status_code == second.status_code == 201
    assert first.get_json()["id"] != second.get_json()["id"]


def test_missing_idempotency_key_is_400(client, seeded, customer):
    add(client, customer, seeded["padma-hilsa-1kg"], 1)
    response = client.post("/api/v1/orders", json={"shipping": SHIPPING}, headers=customer)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "idempotency_key_required"


def test_empty_cart_is_409(client, customer):
    response = checkout(client, customer)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "cart_empty"


def test_stock_that_ran_out_after_adding_to_cart_is_409_with_short_items(client, seeded, customer, admin):
    product = seeded["dhakai-jamdani-saree-red"]
    add(client, customer, product, 5)
    client.post(f"/api/v1/admin/products/{product}/stock", json={"delta": -3}, headers=admin)  # 6 -> 3
    response = checkout(client, customer)
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "insufficient_stock"
    assert error["details"] == [{"product_id": product, "requested": 5, "available": 3}]
    assert stock(client, "dhakai-jamdani-saree-red") == 3  # nothing was taken
    assert client.get("/api/v1/orders", headers=customer).get_json()["total"] == 0


@pytest.mark.parametrize(
    ("shipping", "field"),
    [
        ({**SHIPPING, "phone": "555-1234"}, "body.shipping.phone"),
        ({**SHIPPING, "postal_code": "12"}, "body.shipping.postal_code"),
        ({k: v for k, v in SHIPPING.items() if k != "city"}, "body.shipping.city"),
    ],
)
def test_invalid_shipping_is_422_with_the_field(client, seeded, customer, shipping, field):
    add(client, customer, seeded["padma-hilsa-1kg"], 1)
    response = checkout(client, customer, shipping=shipping)
    assert response.status_code == 422
    assert [d["field"] for d in response.get_json()["error"]["details"]] == [field]


def test_only_cash_on_delivery(client, seeded, customer):
    add(client, customer, seeded["padma-hilsa-1kg"], 1)
    response = checkout(client, customer, payment_method="bkash")
    assert response.status_code == 422


def test_lists_and_fetches_my_orders(client, customer, placed):
    listing = client.get("/api/v1/orders", headers=customer).get_json()
    assert listing["total"] == 1 and listing["items"][0]["id"] == placed["id"]
    assert client.get(f"/api/v1/orders/{placed['id']}", headers=customer).get_json() == placed


def test_someone_elses_order_is_404_but_an_admin_sees_it(client, make_customer, admin, placed):
    stranger = make_customer()
    response = client.get(f"/api/v1/orders/{placed['id']}", headers=stranger)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    assert client.get("/api/v1/orders", headers=stranger).get_json()["total"] == 0
    assert client.get(f"/api/v1/orders/{placed['id']}", headers=admin).get_json()["id"] == placed["id"]


def test_unknown_order_is_404_and_orders_need_a_token(client, customer):
    assert client.get("/api/v1/orders/424242", headers=customer).status_code == 404
    assert client.get("/api/v1/orders").status_code == 401
    assert client.post("/api/v1/orders", json={"shipping": SHIPPING}).status_code == 401


def _set_status(client, admin, order_id, status):
    return client.put(f"/api/v1/admin/orders/{order_id}/status", json={"status": status}, headers=admin)


def test_order_moves_along_the_happy_path(client, admin, customer, placed):
    for status in ("confirmed", "shipped", "delivered"):
        response = _set_status(client, admin, placed["id"], status)
        assert response.status_code == 200
        assert response.get_json()["status"] == status
    assert client.get(f"/api/v1/orders/{placed['id']}", headers=customer).get_json()["status"] == "delivered"


@pytest.mark.parametrize("cancel_from", [["pending"], ["pending", "confirmed"]], ids=["pending", "confirmed"])
def test_cancel_from_pending_or_confirmed_restores_stock(client, admin, placed, cancel_from):
    hilsa, tea = stock(client, "padma-hilsa-1kg"), stock(client, "sylhet-black-tea-500g")
    if cancel_from[-1] == "confirmed":
        _set_status(client, admin, placed["id"], "confirmed")
    response = _set_status(client, admin, placed["id"], "cancelled")
    assert response.status_code == 200
    assert response.get_json()["status"] == "cancelled"
    assert stock(client, "padma-hilsa-1kg") == hilsa + 2
    assert stock(client, "sylhet-black-tea-500g") == tea + 1


@pytest.mark.parametrize(
    ("path", "illegal"),
    [
        ([], "shipped"),
        ([], "delivered"),
        (["confirmed"], "pending"),
        (["confirmed", "shipped"], "cancelled"),
        (["confirmed", "shipped", "delivered"], "cancelled"),
        (["cancelled"], "confirmed"),
        (["cancelled"], "cancelled"),
        (["confirmed", "shipped"], "confirmed"),
    ],
)
def test_every_other_transition_is_409_and_changes_nothing(client, admin, placed, path, illegal):
    for status in path:
        assert _set_status(client, admin, placed["id"], status).status_code == 200
    hilsa = stock(client, "padma-hilsa-1kg")
    response = _set_status(client, admin, placed["id"], illegal)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "illegal_transition"
    assert stock(client, "padma-hilsa-1kg") == hilsa
    current = client.get("/api/v1/admin/orders?per_page=100", headers=admin).get_json()["items"][0]["status"]
    assert current == (path[-1] if path else "pending")


def test_status_changes_need_an_admin(client, customer, placed):
    response = _set_status(client, customer, placed["id"], "confirmed")
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"


def test_unknown_status_is_422_and_unknown_order_404(client, admin, placed):
    assert _set_status(client, admin, placed["id"], "lost").status_code == 422
    assert _set_status(client, admin, 987654, "confirmed").status_code == 404


def test_withdrawn_products_in_the_cart_are_not_bought(client, seeded, customer, admin):
    add(client, customer, seeded["padma-hilsa-1kg"], 1)
    add(client, customer, seeded["gamcha-chequered-pair"], 1)
    client.delete(f"/api/v1/admin/products/{seeded['padma-hilsa-1kg']}", headers=admin)
    order = checkout(client, customer).get_json()
    assert [i["product_slug"] for i in order["items"]] == ["gamcha-chequered-pair"]
    assert order["total"] == "450.00"


def test_a_cart_of_only_withdrawn_products_is_empty(client, seeded, customer, admin):
    add(client, customer, seeded["padma-hilsa-1kg"], 1)
    client.delete(f"/api/v1/admin/products/{seeded['padma-hilsa-1kg']}", headers=admin)
    response = checkout(client, customer)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "cart_empty"


def _floats(value):
    if isinstance(value, float):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _floats(item)
    elif isinstance(value, list):
        for item in value:
            yield from _floats(item)


def test_no_json_response_ever_carries_money_as_a_float(client, seeded, customer, placed):
    for url in (
        "/api/v1/products?per_page=100",
        "/api/v1/cart",
        "/api/v1/orders",
        f"/api/v1/orders/{placed['id']}",
    ):
        assert list(_floats(client.get(url, headers=customer).get_json())) == []
