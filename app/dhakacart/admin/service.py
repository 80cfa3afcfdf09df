"""Admin tasks on the catalog: create, update, soft-delete products and adjust stock."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ..catalog.service import get_product_by_id
from ..errors import Conflict, ValidationFailed, field_error
from ..extensions import db
from ..models import Category, Product
from ..money import parse_amount
from ..seed_data import category_image_url

MAX_STOCK = 1_000_000_000  # well inside the 32-bit stock column


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:120] or "product"


def _category(slug: str) -> Category:
    category = db.session.scalar(select(Category).where(Category.slug == slug))
    if category is None:
        raise ValidationFailed("unknown category", details=field_error("category", f"no category {slug!r}"))
    return category


def create_product(*, name: str, price: str, category: str, stock: int = 0, description: str = "",
                   slug: str | None = None, image_url: str | None = None) -> Product:
    cat = _category(category)
    slug = slug or slugify(name)
    if db.session.scalar(select(Product.id).where(Product.slug == slug)) is not None:
        raise Conflict(f"a product with slug {slug!r} already exists", code="slug_taken")
    product = Product(name=name, slug=slug, description=description, price_paisa=parse_amount(price),
                      stock=stock, category=cat, image_url=image_url or category_image_url(cat.slug))
    db.session.add(product)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(f"a product with slug {slug!r} already exists", code="slug_taken") from None
    return product


def update_product(product_id: int, changes: dict[str, Any]) -> Product:
    product = get_product_by_id(product_id, include_inactive=True)
    if "category" in changes:
        product.category = _category(changes.pop("category"))
    if "price" in changes:
        product.price_paisa = parse_amount(changes.pop("price"))
    for field in ("name", "description", "image_url", "is_active"):
        if field in changes:
            setattr(product, field, changes.pop(field))
    db.session.commit()
    return product


def deactivate_product(product_id: int) -> None:
    """Soft delete: the product leaves the catalog and carts, but past orders keep referring to it."""
    product = get_product_by_id(product_id, include_inactive=True)
    product.is_active = False
    db.session.commit()


def adjust_stock(product_id: int, delta: int) -> Product:
    """Add delta to the stock atomically; Conflict if that would take it below zero."""
    product = get_product_by_id(product_id, include_inactive=True)
    if product.stock + delta > MAX_STOCK:
        raise Conflict(f"stock is {product.stock}; adding {delta} would exceed {MAX_STOCK}",
                       code="stock_out_of_range", details={"stock": product.stock, "delta": delta})
    result = db.session.execute(
        update(Product)
        .where(Product.id == product_id, Product.stock + delta >= 0, Product.stock + delta <= MAX_STOCK)
        .values(stock=Product.stock + delta)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        raise Conflict(
            f"stock is {product.stock}; removing {-delta} would make it negative",
            code="stock_negative", details={"stock": product.stock, "delta": delta},
        )
    db.session.commit()
    db.session.refresh(product)
    return product
