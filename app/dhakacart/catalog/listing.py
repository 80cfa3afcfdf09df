"""The product listing query: its cost depends on the page asked for, not on the catalog's size.

- Every sort has a partial B-tree index on the active products, (sort key, id) and
  (category_id, sort key, id) (models.py, migration 0002), so a page is read off an index in order.
- Search (`q`, a substring of the name or description, any case, Bangla or English) is
  `lower(name || ' ' || description) LIKE '%q%'`, which on PostgreSQL a pg_trgm GIN index on that
  very expression answers (SQLite, for development, scans).
- The total is counted up to COUNT_LIMIT matches only: `total` is exact when `total_exact` is
  true, else "COUNT_LIMIT or more".
- Offset pages read only the index: the page's ids come from an index-only scan (deferred join),
  and the offset is bounded by MAX_OFFSET. Beyond it, and for scrolling any depth at a constant
  cost, `cursor` continues after the last item of the previous page (keyset pagination: next_cursor
  in each response), an index range scan from that position.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, literal_column, or_, select, text, tuple_
from sqlalchemy.orm import aliased

from ..errors import ValidationFailed, field_error
from ..extensions import db
from ..models import Category, Product

COUNT_LIMIT = 1000
MAX_OFFSET = 10_000
SORTS = ("name", "price", "-price", "-created")


def search_text(entity: Any) -> ColumnElement[str]:
    """The expression the trigram index is built on (migration 0002 spells it the same way)."""
    return func.lower(entity.name + literal_column("' '") + entity.description)


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _sort_columns(entity: Any, sort: str) -> list[ColumnElement[Any]]:
    return {
        "name": [entity.name.asc(), entity.id.asc()],
        "price": [entity.price_paisa.asc(), entity.id.asc()],
        "-price": [entity.price_paisa.desc(), entity.id.asc()],
        "-created": [entity.created_at.desc(), entity.id.desc()],
    }[sort]


def _sort_key(product: Product, sort: str) -> Any:
    if sort == "name":
        return product.name
    if sort in ("price", "-price"):
        return product.price_paisa
    return product.created_at.isoformat()


def encode_cursor(product: Product, sort: str) -> str:
    payload = json.dumps([sort, _sort_key(product, sort), product.id], ensure_ascii=False,
                         separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> tuple[Any, int]:
    """(sort key, id) of the item a cursor points after; 422 if it is not one of ours for `sort`."""
    invalid = ValidationFailed("invalid cursor", details=field_error(
        "query.cursor", "pass next_cursor from a previous response with the same sort, unchanged"))
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        cursor_sort, key, last_id = json.loads(raw.decode())
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise invalid from None
    if cursor_sort != sort or not isinstance(last_id, int) or isinstance(last_id, bool):
        raise invalid
    try:
        if sort == "name" and isinstance(key, str):
            return key, last_id
        if sort in ("price", "-price") and isinstance(key, int) and not isinstance(key, bool):
            return key, last_id
        if sort == "-created" and isinstance(key, str):
            return datetime.fromisoformat(key), last_id
    except ValueError:
        raise invalid from None
    raise invalid


def _after(entity: Any, sort: str, key: Any, last_id: int) -> ColumnElement[bool]:
    """Rows strictly after (key, last_id) in `sort` order: an index range condition."""
    if sort == "name":
        return tuple_(entity.name, entity.id) > tuple_(key, last_id)
    if sort == "price":
        return tuple_(entity.price_paisa, entity.id) > tuple_(key, last_id)
    if sort == "-price":  # price descending, id ascending among equal prices; `price <= key`
        # first so it is the index condition where the scan starts, the rest a filter.
        return and_(entity.price_paisa <= key, or_(entity.price_paisa < key, entity.id > last_id))
    return tuple_(entity.created_at, entity.id) < tuple_(key, last_id)


def _conditions(entity: Any, q: str | None, category: str | None, min_price_paisa: int | None,
                max_price_paisa: int | None) -> list[ColumnElement[bool]]:
    # `is_active` itself, not `is_active IS true`: only the former matches the partial indexes'
    # predicate (WHERE is_active), so that PostgreSQL may use them.
    conditions: list[ColumnElement[bool]] = [entity.is_active]
    if q and q.strip():
        conditions.append(search_text(entity).like(f"%{escape_like(q.strip().lower())}%", escape="\\"))
    if category:
        # A scalar subquery, not a join: PostgreSQL then plans category_id = $id on the
        # (category_id, sort key, id) index. An unknown slug is NULL: nothing matches.
        conditions.append(entity.category_id == select(Category.id).where(Category.slug == category)
                          .scalar_subquery())
    if min_price_paisa is not None:
        conditions.append(entity.price_paisa >= min_price_paisa)
    if max_price_paisa is not None:
        conditions.append(entity.price_paisa <= max_price_paisa)
    return conditions


def bounded_count(conditions_for) -> Select[Any]:
    """count(*) of at most COUNT_LIMIT + 1 matches: stops reading there, whatever the catalog holds."""
    counted = aliased(Product, name="counted")
    capped = select(counted.id).where(*conditions_for(counted)).limit(COUNT_LIMIT + 1).subquery()
    return select(func.count()).select_from(capped)


def page_query(*, q: str | None, category: str | None, min_price_paisa: int | None,
               max_price_paisa: int | None, sort: str, offset: int, limit: int,
               cursor: str | None) -> tuple[Select[Any], Select[Any]]:
    """(the page's rows with the bounded total as a column, the bounded count alone)."""
    def conditions_for(entity: Any) -> list[ColumnElement[bool]]:
        return _conditions(entity, q, category, min_price_paisa, max_price_paisa)

    listed = aliased(Product, name="listed")
    ids = select(listed.id).where(*conditions_for(listed))
    if cursor is not None:
        key, last_id = decode_cursor(cursor, sort)
        ids = ids.where(_after(listed, sort, key, last_id))
    ids = ids.order_by(*_sort_columns(listed, sort)).offset(offset).limit(limit)
    count = bounded_count(conditions_for)
    rows = (select(Product, count.scalar_subquery().label("total"))
            .where(Product.id.in_(ids)).order_by(*_sort_columns(Product, sort)))
    return rows, count


def fetch_page(**kwargs: Any) -> tuple[list[Product], int | None, Select[Any]]:
    """(items, total from the same round trip or None if no row came back, the count query)."""
    rows_query, count_query = page_query(**kwargs)
    if db.session.get_bind().dialect.name == "postgresql":
        # psycopg prepares a statement after 5 runs, and PostgreSQL then may switch to a generic
        # plan that knows neither the search pattern nor the LIMIT: it sorted every match of
        # '%rice%' (27 ms at 100,000 products) instead of walking the name index (0.7 ms). Plan
        # the listing for its actual values; SET LOCAL ends with this request's transaction.
        db.session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    rows = db.session.execute(rows_query).all()
    return [row[0] for row in rows], (rows[0].total if rows else None), count_query
