"""The cart: authenticated, quantities checked against stock, money exact."""


def put(client, headers, product_id, quantity):
    return client.put(f"/api/v1/cart/items/{product_id}", json={"quantity": quantity}, headers=headers)


def test_cart_needs_a_token(client, seeded):
    assert client.get("/api/v1/cart").status_code == 401
    assert (
        client.put(f"/api/v1/cart/items/{seeded['padma-hilsa-1kg']}", json={"quantity": 1}).status_code == 401
    )
    assert client.delete(f"/api/v1/cart/items/{seeded['padma-hilsa-1kg']}").status_code == 401


def test_empty_cart(client, customer):
    assert client.get("/api/v1/cart", headers=customer).get_json() == {
        "items": [],
        "total": "0.00",
        "currency": "BDT",
        "count": 0,
    }


def test_set_quantities_and_totals_are_exact(client, seeded, customer):
    put(client, customer, seeded["padma-hilsa-1kg"], 2)  # 2200.00 each
    cart = put(client, customer, seeded["gamcha-chequered-pair"], 3).get_json()  # 450.00 each
    assert cart["total"] == "5750.00"
    assert cart["count"] == 5
    lines = {line["product"]["slug"]: line for line in cart["items"]}
    assert lines["padma-hilsa-1kg"]["line_total"] == "4400.00"
    assert put(client, customer, seeded["padma-hilsa-1kg"], 1).get_json()["total"] == "3550.00"


def test_quantity_above_stock_is_409_with_the_shortage(client, seeded, customer):
    response = put(client, customer, seeded["dhakai-jamdani-saree-red"], 7)  # 6 in stock
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "insufficient_stock"
    assert error["details"] == [
        {"product_id": seeded["dhakai-jamdani-saree-red"], "requested": 7, "available": 6}
    ]


def test_unknown_product_is_404(client, seeded, customer):
    response = put(client, customer, 999999, 1)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_bad_quantities_are_422(client, seeded, customer):
    for quantity in (-1, 101, "two", 1.5):
        response = put(client, customer, seeded["padma-hilsa-1kg"], quantity)
        assert response.status_code == 422, quantity
        assert response.get_json()["error"]["details"][0]["field"] == "body.quantity"


def test_quantity_zero_and_delete_remove_the_line(client, seeded, customer):
    put(client, customer, seeded["padma-hilsa-1kg"], 1)
    put(client, customer, seeded["gamcha-chequered-pair"], 1)
    assert put(client, customer, seeded["padma-hilsa-1kg"], 0).get_json()["count"] == 1
    response = client.delete(f"/api/v1/cart/items/{seeded['gamcha-chequered-pair']}", headers=customer)
    assert response.status_code == 200
    assert response.get_json()["items"] == []


def test_carts_are_private(client, seeded, customer, make_customer):
    put(client, customer, seeded["padma-hilsa-1kg"], 1)
    other = make_customer()
    assert client.get("/api/v1/cart", headers=other).get_json()["count"] == 0


def test_withdrawn_products_drop_out_of_the_cart(client, seeded, customer, admin):
    put(client, customer, seeded["padma-hilsa-1kg"], 1)
    client.delete(f"/api/v1/admin/products/{seeded['padma-hilsa-1kg']}", headers=admin)
    assert client.get("/api/v1/cart", headers=customer).get_json()["items"] == []
