"""GET /api/v1/products, /products/<slug>, /categories: filters, sorting, paging, money, ETags."""

import re

AMOUNT = re.compile(r"^\d+\.\d{2}$")


def test_lists_active_products_with_exact_money(client, seeded):
    body = client.get("/api/v1/products").get_json()
    assert body["total"] == len(seeded) >= 40
    assert body["page"] == 1 and body["per_page"] == 20 and len(body["items"]) == 20
    product = body["items"][0]
    assert set(product) == {
        "id",
        "slug",
        "name",
        "description",
        "price",
        "currency",
        "stock",
        "category",
        "image_url",
    }
    for item in body["items"]:
        assert isinstance(item["price"], str) and AMOUNT.match(item["price"])
        assert item["currency"] == "BDT"
        assert item["image_url"].startswith("/static/img/categories/")


def test_search_matches_name_and_description_case_insensitively(client, seeded):
    names = [p["name"] for p in client.get("/api/v1/products?q=HILSA").get_json()["items"]]
    assert names and all("hilsa" in n.lower() for n in names)
    assert client.get("/api/v1/products?q=zzzz-nothing").get_json() == {
        "items": [],
        "page": 1,
        "per_page": 20,
        "total": 0,
        "total_exact": True,
        "next_cursor": None,
    }


def test_search_treats_like_wildcards_literally(client, seeded):
    assert client.get("/api/v1/products?q=%25").get_json()["total"] == 0


def test_filters_by_category_and_price_range(client, seeded):
    body = client.get(
        "/api/v1/products?category=fruits&min_price=500&max_price=1000.00&per_page=100"
    ).get_json()
    assert body["total"] > 0
    for item in body["items"]:
        assert item["category"]["slug"] == "fruits"
        assert 500 <= float(item["price"]) <= 1000  # float only to compare in the test


def test_sorts_by_price_both_ways_and_by_name(client, seeded):
    def prices(sort):
        items = client.get(f"/api/v1/products?sort={sort}&per_page=100").get_json()["items"]
        return [int(p["price"].replace(".", "")) for p in items]

    assert prices("price") == sorted(prices("price"))
    assert prices("-price") == sorted(prices("-price"), reverse=True)
    names = [p["name"] for p in client.get("/api/v1/products?sort=name&per_page=100").get_json()["items"]]
    assert names == sorted(names)
    assert client.get("/api/v1/products?sort=-created").status_code == 200


def test_paginates_without_overlap(client, seeded):
    first = client.get("/api/v1/products?per_page=10&page=1").get_json()["items"]
    second = client.get("/api/v1/products?per_page=10&page=2").get_json()["items"]
    assert len(first) == len(second) == 10
    assert not {p["id"] for p in first} & {p["id"] for p in second}


def test_rejects_bad_query_parameters_with_field_details(client, seeded):
    for query, field in [
        ("per_page=101", "query.per_page"),
        ("page=0", "query.page"),
        ("sort=cheapest", "query.sort"),
        ("min_price=12.345", "query.min_price"),
        ("min_price=1e3", "query.min_price"),
        ("colour=red", "query.colour"),
    ]:
        response = client.get(f"/api/v1/products?{query}")
        assert response.status_code == 422, query
        error = response.get_json()["error"]
        assert error["code"] == "validation_failed"
        assert any(d["field"] == field for d in error["details"]), (query, error)


def test_product_by_slug_and_unknown_slug_is_404(client, seeded):
    response = client.get("/api/v1/products/padma-hilsa-1kg")
    assert response.status_code == 200
    assert response.get_json()["price"] == "2200.00"
    missing = client.get("/api/v1/products/no-such-thing")
    assert missing.status_code == 404
    assert missing.get_json()["error"]["code"] == "not_found"


def test_categories_list(client, seeded):
    items = client.get("/api/v1/categories").get_json()["items"]
    assert len(items) >= 6
    assert {"fish-seafood", "fruits", "handicrafts", "tea-spices"} <= {c["slug"] for c in items}


def test_catalog_responses_carry_etag_and_answer_304(client, seeded):
    for url in ("/api/v1/products?q=mango", "/api/v1/products/padma-hilsa-1kg", "/api/v1/categories"):
        first = client.get(url)
        assert first.headers["ETag"]
        assert "max-age" in first.headers["Cache-Control"]
        again = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
        assert again.status_code == 304
        assert again.data == b""
        assert client.get(url, headers={"If-None-Match": '"stale"'}).status_code == 200


def test_etag_changes_when_the_product_changes(client, seeded, admin):
    url = "/api/v1/products/padma-hilsa-1kg"
    etag = client.get(url).headers["ETag"]
    client.post(f"/api/v1/admin/products/{seeded['padma-hilsa-1kg']}/stock", json={"delta": 5}, headers=admin)
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 200


def test_withdrawn_products_disappear_from_the_catalog(client, seeded, admin):
    client.delete(f"/api/v1/admin/products/{seeded['padma-hilsa-1kg']}", headers=admin)
    assert client.get("/api/v1/products/padma-hilsa-1kg").status_code == 404
    assert client.get("/api/v1/products").get_json()["total"] == len(seeded) - 1


def test_a_price_range_upside_down_is_a_422_naming_both_fields(client, seeded):
    response = client.get("/api/v1/products?min_price=1000&max_price=500.00")
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "validation_failed"
    assert [d["field"] for d in error["details"]] == ["query.min_price", "query.max_price"]
    assert "min_price (1000) is above max_price (500.00)" in error["details"][0]["message"]


def test_a_price_range_of_one_price_is_allowed(client, seeded):
    price = client.get("/api/v1/products?per_page=1").get_json()["items"][0]["price"]
    body = client.get(f"/api/v1/products?min_price={price}&max_price={price}").get_json()
    assert body["total"] >= 1 and all(item["price"] == price for item in body["items"])
