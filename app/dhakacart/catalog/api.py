"""Catalog JSON API: products and categories (public, cacheable with ETag).

Responses are rendered as plain dicts (the shape of ProductPage/ProductOut/CategoryList, which the
OpenAPI document still describes and tests/app/api/test_catalog_cache.py compares against) and
served through this worker's short-lived response cache (cache.py).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app

from ..apispec import api_route
from ..errors import ValidationFailed
from ..money import CURRENCY, parse_amount, to_amount_string
from ..schemas import CategoryList, ProductOut, ProductPage, ProductQuery
from . import service
from .cache import cached_json

bp = Blueprint("catalog_api", __name__, url_prefix="/api/v1")


def product_dict(product: Any) -> dict[str, Any]:
    """ProductOut.model_dump(mode="json") without building a pydantic model per item."""
    category = product.category
    return {
        "id": product.id, "slug": product.slug, "name": product.name, "description": product.description,
        "price": to_amount_string(product.price_paisa), "currency": CURRENCY, "stock": product.stock,
        "category": {"id": category.id, "slug": category.slug, "name": category.name},
        "image_url": product.image_url,
    }


def _json_body(data: Any) -> bytes:
    # Byte for byte what jsonify() sends (the app's JSON provider: compact, sorted keys, newline).
    return current_app.json.response(data).get_data()


@api_route(bp, "/products", "GET", summary="Search and list products", query=ProductQuery,
           response=ProductPage, cacheable=True, tag="catalog")
def list_products(query: ProductQuery):
    """Active products, filtered by words, category and price range, sorted and paginated.

    The cost of a page does not depend on the catalog's size: every sort and category filter is
    read from an index, search (`q`, any part of the name or description, Bangla or English)
    uses a trigram index on PostgreSQL, the total is counted up to 1000 (`total_exact`), offset
    pages go 10000 products deep and `cursor` (from `next_cursor`) continues at any depth."""
    min_price = parse_amount(query.min_price) if query.min_price else None
    max_price = parse_amount(query.max_price) if query.max_price else None
    if min_price is not None and max_price is not None and min_price > max_price:
        # An empty 200 would read as "nothing in that range"; the range itself is the mistake.
        message = f"min_price ({query.min_price}) is above max_price ({query.max_price}); swap them"
        raise ValidationFailed("invalid query", details=[
            {"field": "query.min_price", "message": message},
            {"field": "query.max_price", "message": message},
        ])

    def render() -> bytes:
        page = service.search_products(
            q=query.q, category=query.category, min_price_paisa=min_price, max_price_paisa=max_price,
            sort=query.sort, page=query.page, per_page=query.per_page, cursor=query.cursor,
        )
        return _json_body({"items": [product_dict(p) for p in page.items], "page": page.page,
                           "per_page": page.per_page, "total": page.total,
                           "total_exact": page.total_exact, "next_cursor": page.next_cursor})

    key = ("products", *sorted(query.model_dump().items()))
    return cached_json(key, render)


@api_route(bp, "/products/<slug>", "GET", summary="One product by slug", response=ProductOut,
           errors=(404,), cacheable=True, tag="catalog")
def get_product(slug: str):
    return cached_json(("product", slug), lambda: _json_body(product_dict(service.get_product(slug))))


@api_route(bp, "/categories", "GET", summary="All categories", response=CategoryList, cacheable=True,
           tag="catalog")
def list_categories():
    def render() -> bytes:
        categories = service.list_categories()
        return _json_body({"items": [{"id": c.id, "slug": c.slug, "name": c.name,
                                      "description": c.description} for c in categories]})

    return cached_json(("categories",), render, max_age=300)
