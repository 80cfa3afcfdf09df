"""The customer-facing HTML pages (server-rendered, no JavaScript needed).

Views only translate between HTTP and the services in catalog/, accounts/, cart/ and orders/; the
business rules live in those services and are shared with the JSON API.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("storefront", __name__)

from . import views  # noqa: E402,F401  (registers the routes on bp)
