"""Admin API: product create/update/soft-delete, stock adjustments, all orders; role checks."""

import pytest

NEW = {
    "name": "Jamalpur Nakshi Kantha Shawl",
    "price": "3250.50",
    "stock": 4,
    "category": "handicrafts",
    "description": "Hand-stitched shawl.",
}


def test_admin_creates_a_product_that_the_catalog_shows(client, seeded, admin):
    response = client.post("/api/v1/admin/products", json=NEW, headers=admin)
    assert response.status_code == 201
    product = response.get_json()
    assert product["slug"] == "jamalpur-nakshi-kantha-shawl"
    assert product["price"] == "3250.50" and product["is_active"] is True
    assert product["image_url"] == "/static/img/categories/handicrafts.svg"
    assert client.get("/api/v1/products/jamalpur-nakshi-kantha-shawl").get_json()["stock"] == 4


def test_duplicate_slug_is_409(client, seeded, admin):
    response = client.post("/api/v1/admin/products", json={**NEW, "slug": "padma-hilsa-1kg"}, headers=admin)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "slug_taken"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"price": 3250.5}, "body.price"),
        ({"price": "12.345"}, "body.price"),
        ({"stock": -1}, "body.stock"),
        ({"category": "weapons"}, "category"),
        ({"slug": "Not A Slug"}, "body.slug"),
    ],
)
def test_invalid_products_are_422(client, seeded, admin, changes, field):
    response = client.post("/api/v1/admin/products", json={**NEW, **changes}, headers=admin)
    assert response.status_code == 422
    assert [d["field"] for d in response.get_json()["error"]["details"]] == [field]


def test_admin_updates_fields(client, seeded, admin):
    product_id = seeded["padma-hilsa-1kg"]
    response = client.patch(
        f"/api/v1/admin/products/{product_id}",
        json={"price": "2350", "name": "Padma Hilsa (1 kg, large)", "category": "fruits"},
        headers=admin,
    )
    assert response.status_code == 200
    body = response.get_json()
    assert (body["price"], body["name"], body["category"]["slug"]) == (
        "2350.00",
        "Padma Hilsa (1 kg, large)",
        "fruits",
    )
    assert client.patch("/api/v1/admin/products/999999", json={"name": "x"}, headers=admin).status_code == 404


def test_fields_sent_as_null_are_left_unchanged(client, seeded, admin):
    # Found by the schemathesis fuzzing: null reached the NOT NULL columns and answered 500.
    product_id = seeded["padma-hilsa-1kg"]
    original = client.get("/api/v1/products/padma-hilsa-1kg").get_json()
    response = client.patch(f"/api/v1/admin/products/{product_id}", headers=admin, json={
        "image_url": None, "name": None, "description": "", "is_active": None, "price": None})
    assert response.status_code == 200
    body = response.get_json()
    assert (body["image_url"], body["name"], body["price"], body["description"]) == (
        original["image_url"], original["name"], original["price"], "")


def test_soft_delete_keeps_the_row_and_can_be_undone(client, seeded, admin):
    product_id = seeded["padma-hilsa-1kg"]
    assert client.delete(f"/api/v1/admin/products/{product_id}", headers=admin).status_code == 204
    assert client.get("/api/v1/products/padma-hilsa-1kg").status_code == 404
    restored = client.patch(f"/api/v1/admin/products/{product_id}", json={"is_active": True}, headers=admin)
    assert restored.get_json()["is_active"] is True
    assert client.get("/api/v1/products/padma-hilsa-1kg").status_code == 200
    assert client.delete("/api/v1/admin/products/999999", headers=admin).status_code == 404


def test_stock_adjustments_never_go_negative(client, seeded, admin):
    product_id = seeded["dhakai-jamdani-saree-red"]  # 6 in stock
    url = f"/api/v1/admin/products/{product_id}/stock"
    assert client.post(url, json={"delta": 10}, headers=admin).get_json()["stock"] == 16
    assert client.post(url, json={"delta": -16}, headers=admin).get_json()["stock"] == 0
    refused = client.post(url, json={"delta": -1}, headers=admin)
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "stock_negative"
    assert client.post(url, json={"delta": 0}, headers=admin).status_code == 422
    assert (
        client.post("/api/v1/admin/products/999999/stock", json={"delta": 1}, headers=admin).status_code
        == 404
    )


def test_admin_lists_every_customers_orders(client, seeded, admin, make_customer):
    for _ in range(2):
        buyer = make_customer()
        client.put(
            f"/api/v1/cart/items/{seeded['gamcha-chequered-pair']}", json={"quantity": 1}, headers=buyer
        )
        client.post(
            "/api/v1/orders",
            headers={**buyer, "Idempotency-Key": f"k-{buyer.user_id}"},
            json={
                "shipping": {
                    "name": "A",
                    "phone": "01912345678",
                    "address": "Road 1",
                    "city": "Sylhet",
                    "postal_code": "3100",
                }
            },
        )
    assert client.get("/api/v1/admin/orders", headers=admin).get_json()["total"] == 2


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/v1/admin/products", NEW),
        ("PATCH", "/api/v1/admin/products/1", {"name": "x"}),
        ("DELETE", "/api/v1/admin/products/1", None),
        ("POST", "/api/v1/admin/products/1/stock", {"delta": 1}),
        ("GET", "/api/v1/admin/orders", None),
        ("PUT", "/api/v1/admin/orders/1/status", {"status": "confirmed"}),
    ],
)
def test_admin_routes_are_403_for_customers_and_401_anonymously(client, seeded, customer, method, path, body):
    as_customer = client.open(path, method=method, json=body, headers=customer)
    assert as_customer.status_code == 403
    assert as_customer.get_json()["error"]["code"] == "forbidden"
    assert client.open(path, method=method, json=body).status_code == 401


def test_the_largest_price_round_trips_exactly(client, seeded, admin):
    response = client.post("/api/v1/admin/products", json={**NEW, "price": "9999999999.99"}, headers=admin)
    assert response.status_code == 201
    assert (
        client.get(f"/api/v1/products/{response.get_json()['slug']}").get_json()["price"] == "9999999999.99"
    )


def test_stock_cannot_overflow(app, client, seeded, admin):
    from dhakacart.admin.service import MAX_STOCK
    from dhakacart.extensions import db
    from dhakacart.models import Product

    product_id = seeded["padma-hilsa-1kg"]
    with app.app_context():
        db.session.get(Product, product_id).stock = MAX_STOCK - 5
        db.session.commit()
    url = f"/api/v1/admin/products/{product_id}/stock"
    assert client.post(url, json={"delta": 5}, headers=admin).get_json()["stock"] == MAX_STOCK
    refused = client.post(url, json={"delta": 1}, headers=admin)
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "stock_out_of_range"
