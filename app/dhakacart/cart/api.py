"""Cart JSON API (signed in): quantities are checked against stock."""

from __future__ import annotations

from flask import Blueprint, g

from ..apispec import api_route
from ..schemas import CartItemIn, CartOut, cart_out
from . import service

bp = Blueprint("cart_api", __name__, url_prefix="/api/v1")


@api_route(bp, "/cart", "GET", summary="The cart", response=CartOut, auth="customer", tag="cart")
def get_cart():
    return cart_out(service.get_cart(g.current_user.id))


@api_route(bp, "/cart/items/<int:product_id>", "PUT", summary="Set a product's quantity in the cart",
           body=CartItemIn, response=CartOut, auth="customer", errors=(404, 409), tag="cart")
def put_item(product_id: int, body: CartItemIn):
    """409 insufficient_stock (details: product_id, requested, available) when stock is short."""
    return cart_out(service.set_item(g.current_user.id, product_id, body.quantity))


@api_route(bp, "/cart/items/<int:product_id>", "DELETE", summary="Remove a product from the cart",
           response=CartOut, auth="customer", tag="cart")
def delete_item(product_id: int):
    return cart_out(service.remove_item(g.current_user.id, product_id))
