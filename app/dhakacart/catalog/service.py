"""Catalog queries shared by the JSON API and the storefront pages."""

from __future__ import annotations

from sqlalchemy import select

from ..errors import NotFound, ValidationFailed, field_error
from ..extensions import db
from ..models import Category, Product
from ..pagination import Page, clamp_page
from . import listing


def list_categories() -> list[Category]:
    return list(db.session.scalars(select(Category).order_by(Category.name)))


def search_products(
    q: str | None = None,
    category: str | None = None,
    min_price_paisa: int | None = None,
    max_price_paisa: int | None = None,
    sort: str = "name",
    page: int = 1,
    per_page: int = 20,
    cursor: str | None = None,
) -> Page[Product]:
    """Active products matching the filters. An unknown category matches nothing (empty page).

    `page` pages by offset, at most listing.MAX_OFFSET deep; `cursor` (a previous page's
    next_cursor) continues after that page at any depth, and then `page` must be 1. The total is
    exact up to listing.COUNT_LIMIT (see listing.py for the cost of each part).
    """
    if sort not in listing.SORTS:
        raise ValidationFailed(f"unknown sort {sort!r}",
                               details=[{"field": "sort", "message": f"one of {', '.join(listing.SORTS)}"}])
    page, per_page = clamp_page(page, per_page)
    if cursor is not None and page != 1:
        raise ValidationFailed("page and cursor together", details=field_error(
            "query.page", "a cursor continues where the last page ended; leave page out"))
    offset = (page - 1) * per_page
    if offset > listing.MAX_OFFSET:
        raise ValidationFailed("page too deep", details=field_error(
            "query.page", f"(page - 1) x per_page may be at most {listing.MAX_OFFSET}; to go further, "
                          "follow next_cursor from page to page"))
    # One row more than the page: whether another page follows, without counting.
    items, total, count_query = listing.fetch_page(
        q=q, category=category, min_price_paisa=min_price_paisa, max_price_paisa=max_price_paisa,
        sort=sort, offset=offset, limit=per_page + 1, cursor=cursor)
    more = len(items) > per_page
    items = items[:per_page]
    if total is None:
        # No row carried the total: nothing matches at all, or the page is past the end.
        total = 0 if offset == 0 and cursor is None else db.session.scalar(count_query) or 0
    exact = total <= listing.COUNT_LIMIT
    return Page(items=items, page=page, per_page=per_page, total=min(total, listing.COUNT_LIMIT),
                total_exact=exact, next_cursor=listing.encode_cursor(items[-1], sort) if more else None)


def get_product(slug: str) -> Product:
    product = db.session.scalar(select(Product).where(Product.slug == slug, Product.is_active.is_(True)))
    if product is None:
        raise NotFound(f"no product {slug!r}")
    return product


def get_product_by_id(product_id: int, *, include_inactive: bool = False) -> Product:
    product = db.session.get(Product, product_id)
    if product is None or (not product.is_active and not include_inactive):
        raise NotFound(f"no product with id {product_id}")
    return product


def featured_products(limit: int = 8) -> list[Product]:
    """The newest in-stock products: what the home page shows."""
    return list(
        db.session.scalars(
            select(Product)
            .where(Product.is_active.is_(True), Product.stock > 0)
            .order_by(Product.created_at.desc(), Product.id.desc())
            .limit(limit)
        )
    )
