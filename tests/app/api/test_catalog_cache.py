"""The catalog's per-process response cache (CATALOG_CACHE_SECONDS) and its dict serialisation.

The other catalog tests run with the cache off (the test environment's default); these turn it on
and check what it promises: repeats are answered from memory (the database is not asked), the
answer is byte-identical to an uncached one, an admin write empties the cache at once, entries
expire after the TTL, and the cache stays bounded.
"""

from __future__ import annotations

import pytest
from dhakacart.catalog.api import product_dict
from dhakacart.catalog.cache import ResponseCache, catalog_cache
from dhakacart.extensions import db
from dhakacart.models import Product
from dhakacart.schemas import product_out
from sqlalchemy import event

CACHED = {"ENVIRON": {"CATALOG_CACHE_SECONDS": "30"}}
URLS = ("/api/v1/products?per_page=5", "/api/v1/products/padma-hilsa-1kg", "/api/v1/categories")


class StatementCounter:
    def __init__(self, app):
        with app.app_context():
            self.engine = db.engine
        self.count = 0
        event.listen(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, *args):
        self.count += 1

    def close(self):
        event.remove(self.engine, "before_cursor_execute", self._seen)


@pytest.fixture
def cached_client(make_app, seeded):
    app = make_app(**CACHED)
    counter = StatementCounter(app)
    yield app.test_client(), counter, app
    counter.close()


def test_off_by_default_in_tests_and_on_in_production(app):
    from dhakacart.settings import PRODUCTION_CATALOG_CACHE_SECONDS, load_settings

    assert app.extensions["dhakacart_catalog_cache"].enabled is False
    production = load_settings({"DHAKACART_ENV": "production", "SECRET_KEY": "x" * 40,
                                "DATABASE_URL": "sqlite:///x.db"})
    assert production.catalog_cache_seconds == PRODUCTION_CATALOG_CACHE_SECONDS > 0


def test_repeats_are_served_without_the_database_and_identical(cached_client, client):
    cached, counter, _ = cached_client
    for url in URLS:
        uncached = client.get(url)
        first = cached.get(url)
        before = counter.count
        second = cached.get(url)
        assert counter.count == before, f"{url} asked the database again"
        assert first.data == second.data == uncached.data
        assert first.headers["ETag"] == second.headers["ETag"] == uncached.headers["ETag"]
        assert second.headers["Cache-Control"] == uncached.headers["Cache-Control"]
        assert cached.get(url, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304


def test_equivalent_queries_share_one_entry(cached_client):
    cached, counter, _ = cached_client
    cached.get("/api/v1/products?per_page=20")
    before = counter.count
    assert cached.get("/api/v1/products?page=1&per_page=20&sort=name").status_code == 200
    assert counter.count == before


def test_admin_write_invalidates_this_process_at_once(cached_client, seeded, make_customer):
    cached, _, _ = cached_client
    admin = make_customer("admin")
    url = "/api/v1/products/padma-hilsa-1kg"
    listing = "/api/v1/products?q=hilsa"

    def listed_stock() -> int:
        items = cached.get(listing).get_json()["items"]
        return next(item["stock"] for item in items if item["slug"] == "padma-hilsa-1kg")

    stock = cached.get(url).get_json()["stock"]
    assert listed_stock() == stock
    response = cached.post(f"/api/v1/admin/products/{seeded['padma-hilsa-1kg']}/stock", json={"delta": 7},
                           headers=admin)
    assert response.status_code == 200
    assert cached.get(url).get_json()["stock"] == stock + 7
    assert listed_stock() == stock + 7


def test_failed_admin_write_and_other_writes_keep_the_cache(cached_client, seeded, make_customer):
    cached, _, app = cached_client
    admin = make_customer("admin")
    stock = cached.get("/api/v1/products/padma-hilsa-1kg").get_json()["stock"]
    cache = app.extensions["dhakacart_catalog_cache"]
    assert len(cache) == 1
    refused = cached.post(f"/api/v1/admin/products/{seeded['padma-hilsa-1kg']}/stock",
                          json={"delta": -(stock + 1)}, headers=admin)
    assert refused.status_code == 409
    assert len(cache) == 1
    # A shopper's write (a cart line) is not an admin write: the cached catalog stays.
    customer = make_customer()
    added = cached.put(f"/api/v1/cart/items/{seeded['padma-hilsa-1kg']}", json={"quantity": 1},
                       headers=customer)
    assert added.status_code == 200, added.get_json()
    assert len(cache) == 1


def test_entries_expire_after_the_ttl():
    now = [100.0]
    cache = ResponseCache(5, clock=lambda: now[0])
    cache.put("k", b"{}", '"e"', 60, cache.generation)
    now[0] = 104.9
    assert cache.get("k") is not None
    now[0] = 105.0
    assert cache.get("k") is None
    assert len(cache) == 0


def test_bounded_least_recently_used_first():
    cache = ResponseCache(60, max_entries=2)
    cache.put("a", b"a", '"a"', 60, cache.generation)
    cache.put("b", b"b", '"b"', 60, cache.generation)
    assert cache.get("a") is not None  # "b" is now the least recently used
    cache.put("c", b"c", '"c"', 60, cache.generation)
    assert len(cache) == 2
    assert cache.get("b") is None
    assert cache.get("a") is not None and cache.get("c") is not None


def test_a_response_rendered_before_a_write_is_not_stored():
    cache = ResponseCache(60)
    generation = cache.generation  # a reader starts rendering...
    cache.clear()  # ...an admin write commits meanwhile
    cache.put("k", b"old", '"old"', 60, generation)
    assert cache.get("k") is None


def test_off_stores_nothing():
    cache = ResponseCache(0)
    cache.put("k", b"{}", '"e"', 60, cache.generation)
    assert cache.get("k") is None and len(cache) == 0


@pytest.mark.parametrize("ttl, entries", [(-1, 10), (5, 0)])
def test_rejects_nonsense_limits(ttl, entries):
    with pytest.raises(ValueError):
        ResponseCache(ttl, max_entries=entries)


def test_product_dict_is_exactly_the_documented_shape(app, seeded):
    with app.app_context():
        products = db.session.query(Product).all()
        assert products
        for product in products:
            assert product_dict(product) == product_out(product).model_dump(mode="json")


def test_cache_is_per_app(make_app, seeded):
    first, second = make_app(**CACHED), make_app(**CACHED)
    with first.app_context():
        one = catalog_cache()
    with second.app_context():
        assert catalog_cache() is not one
