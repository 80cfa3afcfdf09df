"""Flask extensions, created once here and bound to each app in create_app (init_app)."""

from __future__ import annotations

from flask import current_app, request
from flask_cors import CORS
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names so Alembic migrations are identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()


def _default_rate_limit() -> str:
    # Read per request so each app (and each test) can set its own; see RATELIMIT_DEFAULT_LIMIT.
    return current_app.config["DEFAULT_RATE_LIMIT"]


def _exempt_from_default_limit() -> bool:
    return request.endpoint in ("static", "apidocs.docs_asset")


limiter = Limiter(
    key_func=get_remote_address,
    default_limits=[_default_rate_limit],
    default_limits_exempt_when=_exempt_from_default_limit,
)
csrf = CSRFProtect()
cors = CORS()
