"""Catalog queries shared by the JSON API and the storefront pages."""

from __future__ import annotations

from sqlalchemy import func, or_, select

from ..errors import NotFound, ValidationFailed
from ..extensions import db
from ..models import Category, Product
from ..pagination import Page, clamp_page

SORTS = {
    "name": (Product.name.asc(), Product.id.asc()),
    "price": (Product.price_paisa.asc(), Product.id.asc()),
    "-price": (Product.price_paisa.desc(), Product.id.asc()),
    "-created": (Product.created_at.desc(), Product.id.desc()),
}


def list_categories() -> list[Category]:
    return list(db.session.scalars(select(Category).order_by(Category.name)))


def get_category(slug: str) -> Category:
    category = db.session.scalar(select(Category).where(Category.slug == slug))
    if category is None:
        raise NotFound(f"no category {slug!r}")
    return category


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_products(
    q: str | None = None,
    category: str | None = None,
    min_price_paisa: int | None = None,
    max_price_paisa: int | None = None,
    sort: str = "name",
    page: int = 1,
    per_page: int = 20,
) -> Page[Product]:
    """Active products matching the filters. An unknown category matches nothing (empty page)."""
    if sort not in SORTS:
        raise ValidationFailed(
            f"unknown sort {sort!r}", details=[{"field": "sort", "message": f"one of {', '.join(SORTS)}"}]
        )
    page, per_page = clamp_page(page, per_page)
    query = select(Product).where(Product.is_active.is_(True))
    if q and q.strip():
        pattern = f"%{_escape_like(q.strip().lower())}%"
        query = query.where(
            or_(
                func.lower(Product.name).like(pattern, escape="\\"),
                func.lower(Product.description).like(pattern, escape="\\"),
            )
        )
    if category:
        query = query.join(Category).where(Category.slug == category)
    if min_price_paisa is not None:
        query = query.where(Product.price_paisa >= min_price_paisa)
    if max_price_paisa is not None:
        query = query.where(Product.price_paisa <= max_price_paisa)

    # One round trip for the page and the total: count(*) OVER () is computed over every matching
    # row before LIMIT/OFFSET. The category is a many-to-one inner join, so it adds no rows.
    rows = db.session.execute(
        query.add_columns(func.count().over().label("total"))
        .order_by(*SORTS[sort]).offset((page - 1) * per_page).limit(per_page)
    ).all()
    items = [row[0] for row in rows]
    if rows:
        total = rows[0].total
    else:
        # A page past the end (or no match) carries no window value: count separately.
        total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    return Page(items=items, page=page, per_page=per_page, total=total)


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
