"""Routes of the storefront blueprint: thin views over the shared services.

Longer than a screen and a half on purpose: one short view per page of the shop (catalog, cart,
checkout, account, orders), read in the order a shopper meets them; the logic lives in the services.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import SQLAlchemyError

from ..accounts import service as accounts
from ..cart import service as carts
from ..catalog import service as catalog
from ..catalog.listing import MAX_OFFSET
from ..errors import Conflict, InsufficientStock, NotFound, ValidationFailed
from ..extensions import db, limiter
from ..models import User
from ..money import format_taka
from ..orders import service as orders
from . import bp
from .forms import (
    PAYMENT_LABELS,
    CheckoutForm,
    LoginForm,
    LogoutForm,
    QuantityForm,
    RegisterForm,
    RemoveFromCartForm,
)

log = logging.getLogger("dhakacart.storefront")

PRODUCTS_PER_PAGE = 12
FEATURED_COUNT = 8
FEATURED_POOL = 48  # newest products considered for the home page
ORDERS_PER_PAGE = 20
MAX_QUERY_LENGTH = 100
SORT_OPTIONS = [
    ("name", "Name"),
    ("price", "Price: low to high"),
    ("-price", "Price: high to low"),
    ("-created", "Newest first"),
]

F = TypeVar("F", bound=Callable[..., Any])


# --- session, current user and template helpers ---------------------------------------------------


def current_user() -> User | None:
    """The signed-in customer (from the session cookie), loaded at most once per request."""
    if "current_user" not in g:
        user = None
        user_id = session.get("user_id")
        if isinstance(user_id, int):
            try:
                user = accounts.get_user(user_id)
            except NotFound:
                session.pop("user_id", None)  # the account no longer exists
        g.current_user = user
    return g.current_user


def login_required(view: F) -> F:
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any):
        if current_user() is None:
            flash("Please log in first.", "info")
            # After logging in, come back to the page (a POST's page is its Referer within this site).
            target = (
                request.full_path.rstrip("?") if request.method == "GET" else _safe_next(request.referrer)
            )
            return redirect(url_for("storefront.login", next=target or None))
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _safe_next(target: str | None) -> str | None:
    """Only paths on this site: no scheme, no host, no protocol-relative //evil.example."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.netloc and parts.netloc != request.host:
        return None
    if parts.scheme and parts.scheme not in ("http", "https"):
        return None
    path = parts.path or "/"
    if not path.startswith("/") or path.startswith("//") or "\\" in target:
        return None
    return path + (f"?{parts.query}" if parts.query else "")


def _log_in(user: User) -> None:
    # A fresh session on log-in: nothing planted before it (session fixation) survives.
    session.clear()
    session["user_id"] = user.id
    g.current_user = user


@bp.app_context_processor
def _layout_context() -> dict[str, Any]:
    user = current_user_safely()
    count = 0
    if user is not None:
        try:
            count = carts.get_cart(user.id).count
        except SQLAlchemyError:
            # The header must not turn an error page into a second error (e.g. database down).
            db.session.rollback()
            log.warning("cart count unavailable while rendering the layout")
    return {"current_user": user, "cart_count": count}


def current_user_safely() -> User | None:
    try:
        return current_user()
    except SQLAlchemyError:
        db.session.rollback()
        g.current_user = None
        return None


@bp.app_template_filter("taka")
def _taka(paisa: int) -> str:
    return format_taka(paisa)


@bp.errorhandler(CSRFError)
def _csrf_failed(exc: CSRFError):
    log.info("rejected a storefront form with a bad CSRF token: %s", exc.description)
    message = (
        "This form has expired or did not come from this site. Please go back, reload the page and try again."
    )
    return render_template("errors/error.html", status=400, title="Form expired", message=message), 400


# --- catalog ---------------------------------------------------------------------------------------


@bp.get("/")
def home():
    # The newest products, taken round-robin across categories so the shop window shows its range.
    pool = catalog.featured_products(limit=FEATURED_POOL)
    return render_template(
        "storefront/home.html",
        categories=catalog.list_categories(),
        featured=_across_categories(pool, FEATURED_COUNT),
    )


def _across_categories(products: list, limit: int) -> list:
    by_category: dict[int, list] = {}
    for item in products:
        by_category.setdefault(item.category_id, []).append(item)
    queues = list(by_category.values())
    picked: list = []
    while queues and len(picked) < limit:
        for queue in list(queues):
            if len(picked) == limit:
                break
            picked.append(queue.pop(0))
            if not queue:
                queues.remove(queue)
    return picked


@bp.get("/products")
def products():
    q = (request.args.get("q") or "").strip()[:MAX_QUERY_LENGTH]
    category_slug = (request.args.get("category") or "").strip()
    sort = request.args.get("sort", "name")
    if sort not in dict(SORT_OPTIONS):
        sort = "name"
    page = request.args.get("page", 1, type=int) or 1
    # The listing pages by offset at most MAX_OFFSET deep: a deeper page (a hand-edited URL) is
    # shown as the deepest one, empty past the end like any page beyond the last.
    page = min(max(page, 1), MAX_OFFSET // PRODUCTS_PER_PAGE + 1)
    categories = catalog.list_categories()
    current_category = next((c for c in categories if c.slug == category_slug), None)
    results = catalog.search_products(
        q=q or None,
        category=category_slug or None,
        sort=sort,
        page=max(page, 1),
        per_page=PRODUCTS_PER_PAGE,
    )
    page_args = {k: v for k, v in {"q": q, "category": category_slug, "sort": sort}.items() if v}
    return render_template(
        "storefront/products.html",
        results=results,
        q=q,
        categories=categories,
        current_category=current_category,
        sort=sort,
        sort_options=SORT_OPTIONS,
        page_args=page_args,
    )


@bp.get("/products/<slug>")
def product(slug: str):
    return render_template("storefront/product.html", product=catalog.get_product(slug), form=QuantityForm())


# --- cart ------------------------------------------------------------------------------------------


@bp.post("/products/<slug>/add-to-cart")
@login_required
def add_to_cart(slug: str):
    item = catalog.get_product(slug)
    form = QuantityForm()
    if not form.validate_on_submit():
        return render_template("storefront/product.html", product=item, form=form), 422
    try:
        carts.add_item(current_user().id, item.id, form.quantity.data)
    except InsufficientStock:
        flash(
            f"Sorry, only {item.stock} of {item.name} in stock (including what is already in your cart).",
            "error",
        )
        return redirect(url_for("storefront.product", slug=slug))
    except ValidationFailed as exc:
        flash(_first_detail(exc), "error")
        return redirect(url_for("storefront.product", slug=slug))
    flash(f"Added {form.quantity.data} × {item.name} to your cart.", "success")  # noqa: RUF001
    return redirect(url_for("storefront.cart"))


@bp.get("/cart")
@login_required
def cart():
    return render_template("storefront/cart.html", cart=carts.get_cart(current_user().id))


@bp.post("/cart/items/<int:product_id>")
@login_required
def update_cart_item(product_id: int):
    form = QuantityForm()
    if not form.validate_on_submit():
        flash(" ".join(form.quantity.errors) or "Enter a quantity.", "error")
        return redirect(url_for("storefront.cart"))
    try:
        carts.set_item(current_user().id, product_id, form.quantity.data)
    except InsufficientStock as exc:
        available = exc.details[0]["available"] if exc.details else 0
        flash(f"Sorry, only {available} in stock.", "error")
    except ValidationFailed as exc:
        flash(_first_detail(exc), "error")
    else:
        flash("Cart updated.", "success")
    return redirect(url_for("storefront.cart"))


@bp.post("/cart/items/<int:product_id>/remove")
@login_required
def remove_cart_item(product_id: int):
    RemoveFromCartForm().validate_on_submit()  # the CSRF token was already checked by CSRFProtect
    carts.remove_item(current_user().id, product_id)
    flash("Removed from your cart.", "success")
    return redirect(url_for("storefront.cart"))


# --- checkout and orders ---------------------------------------------------------------------------


@bp.route("/checkout", methods=["GET", "POST"])
@login_required
def checkout():
    user = current_user()
    cart_view = carts.get_cart(user.id)
    form = CheckoutForm()
    if request.method == "GET":
        if not cart_view.lines:
            flash("Your cart is empty.", "info")
            return redirect(url_for("storefront.cart"))
        form.name.data = user.name
        form.phone.data = user.phone
        form.idempotency_key.data = str(uuid.uuid4())
        return render_template("storefront/checkout.html", form=form, cart=cart_view)

    if not form.validate_on_submit():
        if form.idempotency_key.errors:
            form.idempotency_key.data = str(uuid.uuid4())
            flash(" ".join(form.idempotency_key.errors), "error")
        return render_template("storefront/checkout.html", form=form, cart=cart_view), 422

    shipping = {
        "name": form.name.data,
        "phone": form.phone.data,
        "address": form.address.data,
        "city": form.city.data,
        "postal_code": form.postal_code.data,
    }
    try:
        order, created = orders.place_order(
            user.id,
            shipping,
            payment_method=form.payment_method.data,
            idempotency_key=form.idempotency_key.data,
        )
    except InsufficientStock as exc:
        names = {line.product.id: line.product.name for line in cart_view.lines}
        short = ", ".join(
            f"{names.get(d['product_id'], 'a product')} (only {d['available']} left)"
            for d in exc.details or []
        )
        flash(f"Some items sold out while you were shopping: {short}. Please adjust your cart.", "error")
        return redirect(url_for("storefront.cart"))
    except Conflict as exc:
        if exc.code == "cart_empty":
            flash("Your cart is empty.", "info")
            return redirect(url_for("storefront.cart"))
        # The same form was submitted earlier with different details: start a fresh checkout.
        flash(
            "This checkout form was already used. Please check the details and place the order again.",
            "error",
        )
        return redirect(url_for("storefront.checkout"))
    except ValidationFailed as exc:
        flash(_first_detail(exc), "error")
        return render_template("storefront/checkout.html", form=form, cart=cart_view), 422

    if created:
        session["placed_order_id"] = order.id
    return redirect(url_for("storefront.order", order_id=order.id))


@bp.get("/orders/<int:order_id>")
@login_required
def order(order_id: int):
    placed = orders.get_order(current_user(), order_id)  # NotFound (404) unless the owner or an admin
    just_placed = session.pop("placed_order_id", None) == placed.id
    return render_template(
        "storefront/order.html", order=placed, just_placed=just_placed, payment_labels=PAYMENT_LABELS
    )


@bp.get("/account/orders")
@login_required
def account_orders():
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    return render_template(
        "storefront/account_orders.html",
        orders=orders.list_orders(current_user(), page=page, per_page=ORDERS_PER_PAGE),
    )


# --- accounts --------------------------------------------------------------------------------------


def _auth_rate_limit() -> str:
    # The same brute-force limit as the API's log-in and registration (one setting in create_app).
    return current_app.config["AUTH_RATE_LIMIT"]


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(_auth_rate_limit, methods=["POST"])
def register():
    form = RegisterForm()
    if request.method == "GET":
        form.next.data = _safe_next(request.args.get("next"))
    elif form.validate_on_submit():
        try:
            user = accounts.register_user(
                form.email.data, form.password.data, form.name.data, form.phone.data
            )
        except Conflict:
            form.email.errors.append("An account with this e-mail already exists. Log in instead?")
        except ValidationFailed as exc:
            _attach_errors(form, exc)
        else:
            _log_in(user)
            flash(f"Welcome to DhakaCart, {user.name}!", "success")
            return redirect(_safe_next(form.next.data) or url_for("storefront.home"))
    status = 422 if form.errors else 200
    return render_template(
        "storefront/register.html", form=form, min_password_length=accounts.MIN_PASSWORD_LENGTH
    ), status


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_auth_rate_limit, methods=["POST"])
def login():
    form = LoginForm()
    if request.method == "GET":
        form.next.data = _safe_next(request.args.get("next"))
    elif form.validate_on_submit():
        user = accounts.authenticate(form.email.data, form.password.data)
        if user is None:
            # One message for a wrong e-mail or a wrong password: never reveal which accounts exist.
            form.password.errors.append("The e-mail or password is not right.")
        else:
            _log_in(user)
            flash(f"Welcome back, {user.name}.", "success")
            return redirect(_safe_next(form.next.data) or url_for("storefront.home"))
    status = 422 if form.errors else 200
    return render_template("storefront/login.html", form=form), status


@bp.post("/logout")
def logout():
    LogoutForm().validate_on_submit()  # the CSRF token was already checked by CSRFProtect
    session.clear()
    g.pop("current_user", None)
    flash("You are logged out.", "info")
    return redirect(url_for("storefront.home"))


# --- helpers ---------------------------------------------------------------------------------------


def _first_detail(exc: ValidationFailed) -> str:
    details = exc.details if isinstance(exc.details, list) else []
    return str(details[0].get("message", exc.message)) if details else exc.message


def _attach_errors(form, exc: ValidationFailed) -> None:
    """Service-level field errors (e.g. an e-mail the validator refuses) shown next to the field."""
    attached = False
    for detail in exc.details if isinstance(exc.details, list) else []:
        field = getattr(form, str(detail.get("field", "")).split(".")[-1], None)
        if field is not None:
            field.errors.append(str(detail.get("message", exc.message)))
            attached = True
    if not attached:
        flash(exc.message, "error")
