"""Orders JSON API (signed in): idempotent checkout from the cart, and the customer's orders."""

from __future__ import annotations

from flask import Blueprint, g, jsonify, request

from ..apispec import HeaderParam, api_route
from ..errors import AppError
from ..schemas import OrderIn, OrderOut, OrderPage, PageQuery, order_out
from . import service

bp = Blueprint("orders_api", __name__, url_prefix="/api/v1")

IDEMPOTENCY_KEY = HeaderParam(
    "Idempotency-Key",
    "A unique value per checkout (e.g. a UUID). Repeating it returns the first order and creates nothing.",
    required=True,
)


@api_route(bp, "/orders", "POST", summary="Place an order from the cart (cash on delivery)", body=OrderIn,
           response=OrderOut, status=201, auth="customer", errors=(400, 409), headers=(IDEMPOTENCY_KEY,),
           extra_responses={200: ("The order this Idempotency-Key already created (replay)", OrderOut)},
           tag="orders")
def create_order(body: OrderIn):
    """Creates the order in one transaction and decrements stock under row locks. 409
    insufficient_stock lists the short items; 409 cart_empty when there is nothing to buy."""
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key or len(key) > 128:
        raise AppError("send an Idempotency-Key header (1-128 characters, e.g. a UUID)",
                       code="idempotency_key_required", status=400)
    order, created = service.place_order(
        g.current_user.id, body.shipping.model_dump(), payment_method=body.payment_method, idempotency_key=key
    )
    if created:
        return order_out(order), 201
    replay = jsonify(order_out(order).model_dump(mode="json"))
    replay.headers["Idempotency-Replayed"] = "true"
    return replay


@api_route(bp, "/orders", "GET", summary="My orders, newest first", query=PageQuery, response=OrderPage,
           auth="customer", tag="orders")
def list_orders(query: PageQuery):
    page = service.list_orders(g.current_user, page=query.page, per_page=query.per_page)
    return OrderPage(items=[order_out(o) for o in page.items], page=page.page, per_page=page.per_page,
                     total=page.total)


@api_route(bp, "/orders/<int:order_id>", "GET", summary="One of my orders (any order for an admin)",
           response=OrderOut, auth="customer", errors=(404,), tag="orders")
def get_order(order_id: int):
    """Someone else's order answers 404, exactly like an order that does not exist."""
    return order_out(service.get_order(g.current_user, order_id))
