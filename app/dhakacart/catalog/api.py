"""Catalog JSON API: products and categories (public, cacheable with ETag)."""

from __future__ import annotations

from flask import Blueprint

from ..apispec import api_route, conditional_json
from ..money import parse_amount
from ..schemas import CategoryList, CategoryOut, ProductOut, ProductPage, ProductQuery, product_out
from . import service

bp = Blueprint("catalog_api", __name__, url_prefix="/api/v1")


@api_route(bp, "/products", "GET", summary="Search and list products", query=ProductQuery,
           response=ProductPage, cacheable=True, tag="catalog")
def list_products(query: ProductQuery):
    """Active products, filtered by words, category and price range, sorted and paginated."""
    page = service.search_products(
        q=query.q, category=query.category,
        min_price_paisa=parse_amount(query.min_price) if query.min_price else None,
        max_price_paisa=parse_amount(query.max_price) if query.max_price else None,
        sort=query.sort, page=query.page, per_page=query.per_page,
    )
    payload = ProductPage(items=[product_out(p) for p in page.items], page=page.page,
                          per_page=page.per_page, total=page.total)
    return conditional_json(payload)


@api_route(bp, "/products/<slug>", "GET", summary="One product by slug", response=ProductOut,
           errors=(404,), cacheable=True, tag="catalog")
def get_product(slug: str):
    return conditional_json(product_out(service.get_product(slug)))


@api_route(bp, "/categories", "GET", summary="All categories", response=CategoryList, cacheable=True,
           tag="catalog")
def list_categories():
    payload = CategoryList(items=[CategoryOut(id=c.id, slug=c.slug, name=c.name, description=c.description)
                                  for c in service.list_categories()])
    return conditional_json(payload, max_age=300)
