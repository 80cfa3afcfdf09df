"""Admin JSON API (role admin): catalog maintenance and the order state machine."""

from __future__ import annotations

from flask import Blueprint, g

from ..apispec import api_route
from ..orders import service as orders
from ..schemas import (
    AdminProductOut,
    OrderOut,
    OrderPage,
    OrderStatusIn,
    PageQuery,
    ProductCreateIn,
    ProductUpdateIn,
    StockAdjustIn,
    admin_product_out,
    order_out,
)
from . import service

bp = Blueprint("admin_api", __name__, url_prefix="/api/v1/admin")


@api_route(bp, "/products", "POST", summary="Create a product", body=ProductCreateIn,
           response=AdminProductOut, status=201, auth="admin", errors=(409,), tag="admin")
def create_product(body: ProductCreateIn):
    return admin_product_out(service.create_product(**body.model_dump()))


@api_route(bp, "/products/<int:product_id>", "PATCH", summary="Update a product's fields",
           body=ProductUpdateIn, response=AdminProductOut, auth="admin", errors=(404,), tag="admin")
def update_product(product_id: int, body: ProductUpdateIn):
    # A field sent as null is left unchanged, like one left out: every column is NOT NULL, so
    # passing the null on would be an IntegrityError (a 500) instead of an update.
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    return admin_product_out(service.update_product(product_id, changes))


@api_route(bp, "/products/<int:product_id>", "DELETE", summary="Withdraw a product (soft delete)",
           response=None, status=204, auth="admin", errors=(404,), tag="admin")
def delete_product(product_id: int):
    service.deactivate_product(product_id)
    return None


@api_route(bp, "/products/<int:product_id>/stock", "POST", summary="Adjust stock by a delta",
           body=StockAdjustIn, response=AdminProductOut, auth="admin", errors=(404, 409), tag="admin")
def adjust_stock(product_id: int, body: StockAdjustIn):
    """409 stock_negative when the delta would take the stock below zero."""
    return admin_product_out(service.adjust_stock(product_id, body.delta))


@api_route(bp, "/orders", "GET", summary="Every customer's orders, newest first", query=PageQuery,
           response=OrderPage, auth="admin", tag="admin")
def list_all_orders(query: PageQuery):
    page = orders.list_orders(g.current_user, page=query.page, per_page=query.per_page, all_users=True)
    return OrderPage(items=[order_out(o) for o in page.items], page=page.page, per_page=page.per_page,
                     total=page.total)


@api_route(bp, "/orders/<int:order_id>/status", "PUT", summary="Move an order along its state machine",
           body=OrderStatusIn, response=OrderOut, auth="admin", errors=(404, 409), tag="admin")
def change_order_status(order_id: int, body: OrderStatusIn):
    """pending → confirmed → shipped → delivered; cancel from pending or confirmed restores the
    stock. Any other transition is 409 illegal_transition."""
    return order_out(orders.change_status(order_id, body.status))
