"""Request and response models of the JSON API (pydantic): validation and the OpenAPI document.

Money is always a string with two decimals ("1250.00") next to "currency": "BDT", never a float.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, field_validator

from .models import ORDER_STATUSES
from .money import CURRENCY, parse_amount, to_amount_string
from .phone import PHONE_PATTERN, normalize_bd_mobile

Amount = Annotated[str, Field(pattern=r"^\d+\.\d{2}$", examples=["1250.00"],
                              description="Taka with exactly two decimals, as a string")]
AmountIn = Annotated[str, Field(pattern=r"^\d{1,10}(\.\d{1,2})?$", examples=["1250.00"],
                                description="Taka as a string, at most two decimals (never a JSON number)")]
Currency = Literal["BDT"]
Slug = Annotated[str, Field(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", min_length=1, max_length=120)]
# A password is taken exactly as typed: trimming it would shorten what the published maxLength
# measures, and the storefront's form never trims, so both doors must hash the same string.
Password = Annotated[str, StringConstraints(strip_whitespace=False)]
OrderStatus = Literal[ORDER_STATUSES]  # the one list, in models.py (its check constraint too)


def _document_stripping(schema: dict[str, Any]) -> None:
    """Inputs are trimmed before their length is checked, so "  " is too short for a required
    name. Say so in the published schema: a string with minLength n must hold n characters
    between its first and last visible one (fields with a pattern of their own already say more)."""
    for prop in schema.get("properties", {}).values():
        minimum = prop.get("minLength")
        if prop.get("type") != "string" or not minimum or "pattern" in prop:
            continue
        middle = "" if minimum == 1 else rf"[\s\S]{{{minimum - 2},}}\S"
        prop["pattern"] = rf"^\s*\S{middle}\s*$" if minimum > 1 else r"\S"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True,
                              json_schema_extra=_document_stripping)


# ---------------------------------------------------------------- errors
class ErrorBody(BaseModel):
    code: str = Field(examples=["not_found"])
    message: str
    details: Any = Field(default=None, description="Field errors, short items, or null")


class ErrorResponse(BaseModel):
    error: ErrorBody


# ---------------------------------------------------------------- catalog
class CategoryOut(BaseModel):
    id: int
    slug: str
    name: str
    description: str


class CategoryList(BaseModel):
    items: list[CategoryOut]


class CategoryRef(BaseModel):
    id: int
    slug: str
    name: str


class ProductOut(BaseModel):
    id: int
    slug: str
    name: str
    description: str
    price: Amount
    currency: Currency = CURRENCY
    stock: int
    category: CategoryRef
    image_url: str


class ProductPage(BaseModel):
    items: list[ProductOut]
    page: int
    per_page: int
    total: int = Field(description="Matching products, counted up to 1000: exact when total_exact is "
                                   "true, otherwise 1000 means '1000 or more'")
    total_exact: bool = Field(description="False when more products match than were counted (total)")
    next_cursor: str | None = Field(description="Pass as `cursor` (same filters and sort) for the page "
                                                "after this one; null on the last page")


class ProductQuery(Strict):
    q: str | None = Field(default=None, max_length=100, description="Words in the name or description")
    category: str | None = Field(default=None, max_length=80, description="Category slug")
    min_price: AmountIn | None = None
    max_price: AmountIn | None = None
    sort: Literal["name", "price", "-price", "-created"] = "name"
    page: int = Field(default=1, ge=1, le=100_000,
                      description="Offset paging: (page - 1) x per_page may be at most 10000 (422 "
                                  "beyond); follow next_cursor to go deeper")
    per_page: int = Field(default=20, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=1024,
                               description="next_cursor of the previous page: continues after it at "
                                           "any depth for the same cost (keyset); not with page > 1")


# ---------------------------------------------------------------- accounts
class RegisterIn(Strict):
    email: EmailStr
    password: Password = Field(min_length=8, max_length=128)
    name: str = Field(min_length=1, max_length=120)
    phone: str = Field(examples=["01712345678"], description="Bangladeshi mobile; stored as +8801XXXXXXXXX",
                       json_schema_extra={"pattern": PHONE_PATTERN})

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        return normalize_bd_mobile(value)


class LoginIn(Strict):
    email: str = Field(max_length=254)
    password: Password = Field(max_length=128)


class RefreshIn(Strict):
    refresh_token: str = Field(min_length=1, max_length=2048)


class TokenOut(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 (a scheme name, not a secret)
    expires_in: int = Field(description="Seconds until the access token expires")


class UserOut(BaseModel):
    id: int
    email: str
    name: str
    phone: str
    role: Literal["customer", "admin"]
    created_at: datetime


# ---------------------------------------------------------------- cart
class CartItemIn(Strict):
    quantity: int = Field(ge=0, le=100, description="0 removes the line")


class CartLineOut(BaseModel):
    product: ProductOut
    quantity: int
    line_total: Amount


class CartOut(BaseModel):
    items: list[CartLineOut]
    total: Amount
    currency: Currency = CURRENCY
    count: int


# ---------------------------------------------------------------- orders
class ShippingIn(Strict):
    name: str = Field(min_length=1, max_length=120)
    phone: str = Field(examples=["01712345678"], json_schema_extra={"pattern": PHONE_PATTERN})
    address: str = Field(min_length=1, max_length=500)
    city: str = Field(min_length=1, max_length=80)
    postal_code: str = Field(pattern=r"^\d{4}$", examples=["1207"])

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        return normalize_bd_mobile(value)


class OrderIn(Strict):
    shipping: ShippingIn
    payment_method: Literal["cod"] = "cod"


class ShippingOut(BaseModel):
    name: str
    phone: str
    address: str
    city: str
    postal_code: str


class OrderItemOut(BaseModel):
    product_id: int
    product_slug: str
    name: str
    unit_price: Amount
    quantity: int
    line_total: Amount


class OrderOut(BaseModel):
    id: int
    status: OrderStatus
    total: Amount
    currency: Currency = CURRENCY
    payment_method: str
    shipping: ShippingOut
    items: list[OrderItemOut]
    created_at: datetime
    updated_at: datetime


class OrderPage(BaseModel):
    items: list[OrderOut]
    page: int
    per_page: int
    total: int


class PageQuery(Strict):
    page: int = Field(default=1, ge=1, le=100_000)
    per_page: int = Field(default=20, ge=1, le=100)


# ---------------------------------------------------------------- admin
class ProductCreateIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    slug: Slug | None = Field(default=None, description="Derived from the name when omitted")
    description: str = Field(default="", max_length=5000)
    price: AmountIn
    stock: int = Field(default=0, ge=0, le=1_000_000)
    category: str = Field(min_length=1, max_length=80, description="Category slug")
    image_url: str | None = Field(default=None, max_length=500)

    @field_validator("price")
    @classmethod
    def _price(cls, value: str) -> str:
        parse_amount(value)
        return value


class ProductUpdateIn(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    price: AmountIn | None = None
    category: str | None = Field(default=None, min_length=1, max_length=80)
    image_url: str | None = Field(default=None, max_length=500)
    is_active: bool | None = None


class StockAdjustIn(Strict):
    # The document says what the validator enforces, so clients (and fuzzers) know 0 is refused.
    delta: int = Field(ge=-1_000_000, le=1_000_000, description="Added to the stock; negative removes; not 0",
                       json_schema_extra={"not": {"const": 0}})

    @field_validator("delta")
    @classmethod
    def _nonzero(cls, value: int) -> int:
        if value == 0:
            raise ValueError("must not be 0")
        return value


class OrderStatusIn(Strict):
    status: OrderStatus


class AdminProductOut(ProductOut):
    is_active: bool


# ---------------------------------------------------------------- converters
def product_out(product: Any) -> ProductOut:
    return ProductOut(
        id=product.id, slug=product.slug, name=product.name, description=product.description,
        price=to_amount_string(product.price_paisa), stock=product.stock,
        category=CategoryRef(id=product.category.id, slug=product.category.slug, name=product.category.name),
        image_url=product.image_url,
    )


def admin_product_out(product: Any) -> AdminProductOut:
    return AdminProductOut(**product_out(product).model_dump(), is_active=product.is_active)


def cart_out(view: Any) -> CartOut:
    return CartOut(
        items=[CartLineOut(product=product_out(line.product), quantity=line.quantity,
                           line_total=to_amount_string(line.line_total_paisa)) for line in view.lines],
        total=to_amount_string(view.total_paisa),
        count=view.count,
    )


def order_out(order: Any) -> OrderOut:
    return OrderOut(
        id=order.id, status=order.status, total=to_amount_string(order.total_paisa),
        payment_method=order.payment_method,
        shipping=ShippingOut(name=order.shipping_name, phone=order.shipping_phone,
                             address=order.shipping_address, city=order.shipping_city,
                             postal_code=order.shipping_postal_code),
        items=[OrderItemOut(product_id=i.product_id, product_slug=i.product_slug, name=i.product_name,
                            unit_price=to_amount_string(i.unit_price_paisa), quantity=i.quantity,
                            line_total=to_amount_string(i.line_total_paisa)) for i in order.items],
        created_at=order.created_at, updated_at=order.updated_at,
    )


def user_out(user: Any) -> UserOut:
    return UserOut(id=user.id, email=user.email, name=user.name, phone=user.phone, role=user.role,
                   created_at=user.created_at)
