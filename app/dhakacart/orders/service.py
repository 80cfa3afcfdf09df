"""Orders: checkout from the cart in one transaction, and the order state machine.

Stock is decremented under row locks (SELECT ... FOR UPDATE on PostgreSQL, in product-id order so
two checkouts can never deadlock) and with a guarded UPDATE (stock >= quantity), so concurrent
buyers can never oversell, on PostgreSQL or SQLite.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from ..cart.service import clear_cart
from ..errors import Conflict, InsufficientStock, NotFound, ValidationFailed, field_error
from ..extensions import db
from ..models import PAYMENT_METHODS, CartItem, Order, OrderItem, Product, User
from ..pagination import Page, clamp_page
from ..phone import normalize_bd_mobile
from ..probes.metrics import ORDERS_CREATED

SHIPPING_FIELDS = ("name", "phone", "address", "city", "postal_code")

# The order state machine: status -> statuses it may move to.
TRANSITIONS: dict[str, frozenset[str]] = {
    "pending": frozenset({"confirmed", "cancelled"}),
    "confirmed": frozenset({"shipped", "cancelled"}),
    "shipped": frozenset({"delivered"}),
    "delivered": frozenset(),
    "cancelled": frozenset(),
}


def _clean_shipping(shipping: dict[str, Any]) -> dict[str, str]:
    missing = [f for f in SHIPPING_FIELDS if not str(shipping.get(f) or "").strip()]
    if missing:
        raise ValidationFailed(
            "shipping address incomplete",
            details=[{"field": f"shipping.{f}", "message": "is required"} for f in missing],
        )
    cleaned = {f: str(shipping[f]).strip() for f in SHIPPING_FIELDS}
    try:
        cleaned["phone"] = normalize_bd_mobile(cleaned["phone"])
    except ValueError as exc:
        raise ValidationFailed(
            "invalid phone number", details=[{"field": "shipping.phone", "message": str(exc)}]
        ) from None
    if not (cleaned["postal_code"].isdigit() and len(cleaned["postal_code"]) == 4):
        raise ValidationFailed(
            "invalid postal code",
            details=field_error("shipping.postal_code", "a Bangladeshi postcode is 4 digits, e.g. 1207"),
        )
    return cleaned


def _fingerprint(shipping: dict[str, str], payment_method: str) -> str:
    payload = json.dumps({"shipping": shipping, "payment_method": payment_method}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def _existing(user_id: int, idempotency_key: str, fingerprint: str) -> Order | None:
    order = db.session.scalar(
        select(Order).where(Order.user_id == user_id, Order.idempotency_key == idempotency_key)
    )
    if order is not None and order.request_fingerprint != fingerprint:
        raise Conflict(
            "this Idempotency-Key was already used for a different order request; use a new key",
            code="idempotency_key_reused",
        )
    return order


def _lock_products(product_ids: list[int]) -> dict[int, Product]:
    rows = db.session.scalars(
        select(Product).where(Product.id.in_(product_ids)).order_by(Product.id).with_for_update(of=Product)
    ).all()
    return {p.id: p for p in rows}


def place_order(
    user_id: int,
    shipping: dict[str, Any],
    payment_method: str = "cod",
    idempotency_key: str = "",
) -> tuple[Order, bool]:
    """Turn the cart into an order. Returns (order, created); a repeated key returns the first order."""
    key = (idempotency_key or "").strip()
    if not key or len(key) > 128:
        raise ValidationFailed(
            "an idempotency key is required",
            details=[{"field": "Idempotency-Key", "message": "send 1 to 128 characters, e.g. a UUID"}],
        )
    if payment_method not in PAYMENT_METHODS:
        raise ValidationFailed(
            "unsupported payment method",
            details=[{"field": "payment_method", "message": f"one of {', '.join(PAYMENT_METHODS)}"}],
        )
    cleaned = _clean_shipping(shipping)
    fingerprint = _fingerprint(cleaned, payment_method)

    existing = _existing(user_id, key, fingerprint)
    if existing is not None:
        return existing, False

    cart = db.session.scalars(
        select(CartItem).where(CartItem.user_id == user_id).order_by(CartItem.product_id)
    ).all()
    wanted = {item.product_id: item.quantity for item in cart}
    if not wanted:
        db.session.rollback()
        # A concurrent request with the same key may have just committed the order (and emptied
        # the cart) after our first look: that is a replay, not an empty cart.
        winner = _existing(user_id, key, fingerprint)
        if winner is not None:
            return winner, False
        raise Conflict("the cart is empty; add products before checking out", code="cart_empty")

    products = _lock_products(sorted(wanted))
    # Withdrawn products are not shown in the cart, so they are not bought either.
    wanted = {pid: qty for pid, qty in wanted.items() if pid in products and products[pid].is_active}
    if not wanted:
        db.session.rollback()
        raise Conflict("nothing in the cart is on sale any more", code="cart_empty")
    shortages = []
    for product_id, quantity in wanted.items():
        available = products[product_id].stock
        if quantity > available:
            shortages.append({"product_id": product_id, "requested": quantity, "available": available})
    if shortages:
        db.session.rollback()
        raise InsufficientStock(shortages)

    order = Order(
        user_id=user_id,
        status="pending",
        payment_method=payment_method,
        idempotency_key=key,
        request_fingerprint=fingerprint,
        total_paisa=0,
        shipping_name=cleaned["name"],
        shipping_phone=cleaned["phone"],
        shipping_address=cleaned["address"],
        shipping_city=cleaned["city"],
        shipping_postal_code=cleaned["postal_code"],
    )
    for product_id in sorted(wanted):
        product, quantity = products[product_id], wanted[product_id]
        # Guarded decrement: even without row locks (SQLite) it cannot take stock below zero.
        result = db.session.execute(
            update(Product)
            .where(Product.id == product_id, Product.stock >= quantity)
            .values(stock=Product.stock - quantity)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            db.session.rollback()
            current = db.session.scalar(select(Product.stock).where(Product.id == product_id)) or 0
            raise InsufficientStock([{"product_id": product_id, "requested": quantity, "available": current}])
        order.items.append(
            OrderItem(product_id=product_id, product_name=product.name, product_slug=product.slug,
                      unit_price_paisa=product.price_paisa, quantity=quantity)
        )
        order.total_paisa += product.price_paisa * quantity
    try:
        # Inside the try: clearing the cart autoflushes the order, which is where a racing
        # duplicate Idempotency-Key first hits the unique constraint.
        db.session.add(order)
        clear_cart(user_id)
        _commit_keeping_loaded_state()
    except IntegrityError:
        # The same key raced us and won: everything above is rolled back, return the winner's order.
        db.session.rollback()
        winner = _existing(user_id, key, fingerprint)
        if winner is None:
            raise
        return winner, False
    # Stock changed in SQL, behind the ORM's back: it reloads on next access (the bulk DELETE of
    # the cart already removed its lines from the session). The order itself is exactly what was
    # just written, so its answer needs no reload.
    for product in products.values():
        db.session.expire(product)
    ORDERS_CREATED.labels(payment_method=payment_method).inc()
    return order, True


def _commit_keeping_loaded_state() -> None:
    """Commit without expiring what the session holds: the order, its items and their ids are
    all known after the flush, and expiring them cost the answer two more round trips (SELECT
    the order, SELECT its items) on every checkout."""
    session = db.session()
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True


def list_orders(user: User, page: int = 1, per_page: int = 20, *, all_users: bool = False) -> Page[Order]:
    """The user's orders, newest first; all_users (admins only) lists everyone's."""
    page, per_page = clamp_page(page, per_page)
    query = select(Order)
    if not (all_users and user.is_admin):
        query = query.where(Order.user_id == user.id)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = db.session.scalars(
        query.order_by(Order.created_at.desc(), Order.id.desc()).offset((page - 1) * per_page).limit(per_page)
    ).all()
    return Page(items=list(items), page=page, per_page=per_page, total=total)


def get_order(user: User, order_id: int) -> Order:
    """The order if the user owns it or is an admin; otherwise NotFound (never reveal it exists)."""
    order = db.session.get(Order, order_id)
    if order is None or (order.user_id != user.id and not user.is_admin):
        raise NotFound(f"no order with id {order_id}")
    return order


def change_status(order_id: int, new_status: str) -> Order:
    """Move an order along the state machine; cancelling restores the stock it held."""
    order = db.session.scalar(select(Order).where(Order.id == order_id).with_for_update())
    if order is None:
        raise NotFound(f"no order with id {order_id}")
    if new_status not in TRANSITIONS:
        raise ValidationFailed(
            "unknown status", details=[{"field": "status", "message": f"one of {', '.join(TRANSITIONS)}"}]
        )
    if new_status not in TRANSITIONS[order.status]:
        db.session.rollback()
        allowed = ", ".join(sorted(TRANSITIONS[order.status])) or "none"
        raise Conflict(
            f"an order that is {order.status} cannot become {new_status} (allowed: {allowed})",
            code="illegal_transition",
            details={"from": order.status, "to": new_status, "allowed": sorted(TRANSITIONS[order.status])},
        )
    if new_status == "cancelled":
        for item in sorted(order.items, key=lambda i: i.product_id):
            db.session.execute(
                update(Product)
                .where(Product.id == item.product_id)
                .values(stock=Product.stock + item.quantity)
                .execution_options(synchronize_session=False)
            )
    order.status = new_status
    db.session.commit()
    db.session.expire_all()
    return order
