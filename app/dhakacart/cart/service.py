"""The signed-in customer's cart, stored in the database (shared by the API and the storefront)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select

from ..catalog.service import get_product_by_id
from ..errors import InsufficientStock, ValidationFailed
from ..extensions import db
from ..models import CartItem, Product

MAX_QUANTITY_PER_LINE = 100


@dataclass(frozen=True)
class CartLine:
    product: Product
    quantity: int
    line_total_paisa: int


@dataclass(frozen=True)
class CartView:
    lines: list[CartLine]
    total_paisa: int
    count: int


def get_cart(user_id: int) -> CartView:
    """The cart's lines for products still on sale (withdrawn products drop out)."""
    items = db.session.scalars(
        select(CartItem).where(CartItem.user_id == user_id).order_by(CartItem.added_at, CartItem.id)
    ).all()
    lines = [
        CartLine(product=item.product, quantity=item.quantity,
                 line_total_paisa=item.product.price_paisa * item.quantity)
        for item in items
        if item.product.is_active
    ]
    return CartView(
        lines=lines,
        total_paisa=sum(line.line_total_paisa for line in lines),
        count=sum(line.quantity for line in lines),
    )


def set_item(user_id: int, product_id: int, quantity: int) -> CartView:
    """Set a line's quantity (0 removes it). NotFound for unknown products; InsufficientStock if short."""
    if quantity < 0 or quantity > MAX_QUANTITY_PER_LINE:
        raise ValidationFailed(
            "quantity out of range",
            details=[{"field": "quantity", "message": f"must be 0 to {MAX_QUANTITY_PER_LINE}"}],
        )
    product = get_product_by_id(product_id)
    if quantity == 0:
        return remove_item(user_id, product_id)
    if quantity > product.stock:
        raise InsufficientStock(
            [{"product_id": product.id, "requested": quantity, "available": product.stock}],
            message=f"only {product.stock} of {product.name} in stock",
        )
    item = db.session.scalar(
        select(CartItem).where(CartItem.user_id == user_id, CartItem.product_id == product_id)
    )
    if item is None:
        db.session.add(CartItem(user_id=user_id, product_id=product_id, quantity=quantity))
    else:
        item.quantity = quantity
    db.session.commit()
    return get_cart(user_id)


def add_item(user_id: int, product_id: int, quantity: int = 1) -> CartView:
    """Add to whatever is already in the cart (the storefront's "Add to cart" button)."""
    current = db.session.scalar(
        select(CartItem.quantity).where(CartItem.user_id == user_id, CartItem.product_id == product_id)
    )
    return set_item(user_id, product_id, (current or 0) + quantity)


def remove_item(user_id: int, product_id: int) -> CartView:
    db.session.execute(delete(CartItem).where(CartItem.user_id == user_id, CartItem.product_id == product_id))
    db.session.commit()
    return get_cart(user_id)


def clear_cart(user_id: int) -> None:
    db.session.execute(delete(CartItem).where(CartItem.user_id == user_id))
