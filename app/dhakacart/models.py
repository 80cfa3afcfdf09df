"""Database models (SQLAlchemy 2.0). Money is integer paisa; timestamps are timezone-aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    literal_column,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from .extensions import db

ROLES = ("customer", "admin")
ORDER_STATUSES = ("pending", "confirmed", "shipped", "delivered", "cancelled")
PAYMENT_METHODS = ("cod",)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every database.

    PostgreSQL stores timestamptz; SQLite has no time zones and hands back naive values, which would
    reach the API without an offset. Values are converted to UTC on the way in and marked UTC on the
    way out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use datetime.now(UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class User(db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str] = mapped_column(String(16))
    role: Mapped[str] = mapped_column(String(16), default="customer")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (CheckConstraint(f"role IN {ROLES!r}", name="role"),)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class Category(db.Model):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")

    products: Mapped[list[Product]] = relationship(back_populates="category")


class Product(db.Model):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    # 64-bit paisa: totals of large orders never overflow.
    price_paisa: Mapped[int] = mapped_column(BigInteger)
    stock: Mapped[int] = mapped_column(default=0)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"), index=True)
    image_url: Mapped[str] = mapped_column(String(500), default="")
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    category: Mapped[Category] = relationship(back_populates="products", lazy="joined", innerjoin=True)

    __table_args__ = (
        CheckConstraint("price_paisa >= 0", name="price_not_negative"),
        CheckConstraint("stock >= 0", name="stock_not_negative"),
    )


# The listing's indexes (catalog/listing.py; created by migration 0002 without locking writes).
# Each sort, alone and within a category, is an index on the active products ending in id, the
# tie-breaker, so a page (or a keyset cursor's continuation) is a range of one index.
_ACTIVE = {"postgresql_where": Product.is_active, "sqlite_where": Product.is_active}
LISTING_INDEXES = [
    Index("ix_products_active_name_id", Product.name, Product.id, **_ACTIVE),
    Index("ix_products_active_price_id", Product.price_paisa, Product.id, **_ACTIVE),
    Index("ix_products_active_price_desc_id", Product.price_paisa.desc(), Product.id, **_ACTIVE),
    Index("ix_products_active_created_id", Product.created_at, Product.id, **_ACTIVE),
    Index("ix_products_active_category_name_id", Product.category_id, Product.name, Product.id, **_ACTIVE),
    Index("ix_products_active_category_price_id", Product.category_id, Product.price_paisa, Product.id,
          **_ACTIVE),
    Index("ix_products_active_category_price_desc_id", Product.category_id, Product.price_paisa.desc(),
          Product.id, **_ACTIVE),
    Index("ix_products_active_category_created_id", Product.category_id, Product.created_at, Product.id,
          **_ACTIVE),
]
# Search: a pg_trgm GIN index on the expression catalog/listing.py's search_text() matches with
# LIKE '%q%' (substrings, any script: trigrams need no dictionary, so Bangla works as English
# does). PostgreSQL only; SQLite, for development, scans.
SEARCH_INDEX = Index(
    "ix_products_search_trgm",
    # Spelled as PostgreSQL reflects it, so `alembic check` (tests/app/api/test_ops.py) compares it;
    # the same expression tree as search_text()'s `lower(name || ' ' || description)`.
    literal_column("lower((name || ' ') || description)").label("search_text"),
    postgresql_using="gin", postgresql_ops={"search_text": "gin_trgm_ops"},
    _table=Product.__table__,  # a textual expression names no column to find the table by
).ddl_if(dialect="postgresql")


class CartItem(db.Model):
    __tablename__ = "cart_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    quantity: Mapped[int]
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    product: Mapped[Product] = relationship(lazy="joined")

    __table_args__ = (
        UniqueConstraint("user_id", "product_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )


class Order(db.Model):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    total_paisa: Mapped[int] = mapped_column(BigInteger)
    payment_method: Mapped[str] = mapped_column(String(16), default="cod")
    idempotency_key: Mapped[str] = mapped_column(String(128))
    # Hash of the request that created the order: the same key with a different request is refused.
    request_fingerprint: Mapped[str] = mapped_column(String(64))
    shipping_name: Mapped[str] = mapped_column(String(120))
    shipping_phone: Mapped[str] = mapped_column(String(16))
    shipping_address: Mapped[str] = mapped_column(String(500))
    shipping_city: Mapped[str] = mapped_column(String(80))
    shipping_postal_code: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    items: Mapped[list[OrderItem]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderItem.id", lazy="selectin"
    )

    __table_args__ = (
        UniqueConstraint("user_id", "idempotency_key"),
        CheckConstraint(
            f"status IN {ORDER_STATUSES!r}", name="status"
        ),
        CheckConstraint("total_paisa >= 0", name="total_not_negative"),
    )


class OrderItem(db.Model):
    __tablename__ = "order_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    # Snapshots: the order keeps what the customer saw even if the product changes later.
    product_name: Mapped[str] = mapped_column(String(200))
    product_slug: Mapped[str] = mapped_column(String(120))
    unit_price_paisa: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int]

    order: Mapped[Order] = relationship(back_populates="items")

    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    @property
    def line_total_paisa(self) -> int:
        return self.unit_price_paisa * self.quantity


class RefreshToken(db.Model):
    """One issued refresh token. Rotation marks it used; reusing a used one revokes its family."""

    __tablename__ = "refresh_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    jti: Mapped[str] = mapped_column(String(64), unique=True)
    family: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
