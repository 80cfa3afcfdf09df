"""DhakaCart: the shop's Flask application factory."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.exceptions import NotFound
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from .extensions import cors, csrf, db, limiter, migrate
from .settings import load_settings
from .stale_connections import ShopFlask

MAX_DATABASE_ID = 2**31 - 1  # PostgreSQL `integer`, the type of every primary key
MAX_BODY_BYTES = 1024 * 1024  # 1 MiB: larger request bodies are answered 413


# libpq connection parameters. After a failover the old primary's address may stop answering
# instead of resetting the connection: TCP keepalives find an idle connection dead within about
# a minute, and tcp_user_timeout fails a statement whose packets go unacknowledged for 10 s,
# instead of the kernel's ~15 minutes of retransmissions (gunicorn would kill the worker first).
POSTGRES_CONNECT_ARGS = {"connect_timeout": 5, "keepalives": 1, "keepalives_idle": 30,
                         "keepalives_interval": 10, "keepalives_count": 3, "tcp_user_timeout": 10_000}


class DatabaseId(IntegerConverter):
    """Werkzeug's unsigned int converter; an id beyond PostgreSQL's integer is no row: 404."""

    def to_python(self, value: str) -> int:
        number = super().to_python(value)
        if number > MAX_DATABASE_ID:
            raise NotFound()
        return number


def create_app(config_overrides: dict[str, Any] | None = None) -> Flask:
    # DHAKACART_INSTANCE_PATH (absolute): the container image points it under /tmp, because its
    # root filesystem is read-only; unset, Flask's default instance folder next to the package.
    # ShopFlask: a view that fails on a connection that died in the pool (a failover) is run once
    # more on a fresh connection where that is safe (stale_connections.py).
    app = ShopFlask(__name__, instance_path=os.environ.get("DHAKACART_INSTANCE_PATH") or None,
                    instance_relative_config=True)
    # <int:...> path parameters are database ids (PostgreSQL integer): a larger number is no row,
    # so it must be a 404 like any unknown id, not a 500 from an out-of-range query parameter.
    app.url_map.converters["int"] = DatabaseId
    overrides = dict(config_overrides or {})

    # Everyone configures the shop through the environment; tests may pass their own environment
    # as overrides["ENVIRON"] (a dict) so they never depend on the process's variables.
    environ = overrides.pop("ENVIRON", None)
    settings = load_settings(environ, app.instance_path)
    if settings.database_url.startswith("sqlite:///") and ":memory:" not in settings.database_url:
        Path(settings.database_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)

    # No pool_pre_ping: it costs a `SELECT 1` round trip on every checkout of a connection. A
    # connection that died (database restart, failover) fails its first query instead; SQLAlchemy
    # sees the disconnect and invalidates the whole pool, and ShopFlask runs that view once more
    # on a fresh connection where it is safe (stale_connections.py), else errors.py answers 503
    # (tests/reliability/test_database_failover.py, test_database_outage.py). pool_recycle
    # replaces connections before a NAT or the server's idle timeout can silently drop them.
    engine_options: dict[str, Any] = {}
    if settings.database_url.startswith("postgresql"):
        engine_options.update(pool_size=5, max_overflow=5, pool_recycle=1800,
                              connect_args=POSTGRES_CONNECT_ARGS)
    app.config.from_mapping(
        SETTINGS=settings,
        DHAKACART_ENV=settings.environment,
        TESTING=settings.environment == "test",
        SECRET_KEY=settings.secret_key,
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=engine_options,
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.is_production,
        SESSION_COOKIE_NAME="dhakacart_session",
        PERMANENT_SESSION_LIFETIME=60 * 60 * 24 * 7,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        RATELIMIT_STORAGE_URI=settings.ratelimit_storage_uri,
        RATELIMIT_STORAGE_OPTIONS=_ratelimit_storage_options(settings),
        # Namespaces the shop's counters in a Redis that other programs may share.
        RATELIMIT_KEY_PREFIX="dhakacart",
        RATELIMIT_HEADERS_ENABLED=True,
        # Sliding-window counter: no burst at window edges (unlike fixed-window), and two counters
        # per client instead of moving-window's list of every hit, which the in-memory storage's
        # expiry thread re-scans every 10 ms: with ~10k clients that scan alone made each request
        # up to 1.7 ms slower (bench/, README "Measured").
        RATELIMIT_STRATEGY="sliding-window-counter",
        # Fail open, on purpose: if the shared storage (Redis) is unreachable, each process keeps
        # enforcing the same limits in its own memory (so the cluster-wide limit is at most
        # limit x processes until Redis answers again; Flask-Limiter re-checks it with backoff,
        # 2 to 32 s) rather than refusing every request. Flask-Limiter logs the switch as a warning.
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True,
        # ...and a storage error the fallback does not catch is logged, never a 500: a request
        # counted in Redis whose headers are written after another thread found Redis gone reads
        # its window from the dead store (Flask-Limiter's header injection; found by
        # tests/reliability/test_shared_rate_limits.py, 1 request in 120).
        RATELIMIT_SWALLOW_ERRORS=True,
        # RATELIMIT_DEFAULT and RATELIMIT_AUTH in the environment (settings.py).
        DEFAULT_RATE_LIMIT=settings.ratelimit_default,
        AUTH_RATE_LIMIT=settings.ratelimit_auth,
    )
    app.config.update(overrides)

    _configure_logging(settings.log_level)
    if settings.trusted_proxy_hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxy_hops,
                                x_proto=settings.trusted_proxy_hops, x_host=settings.trusted_proxy_hops)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(_migrations_dir()))
    limiter.init_app(app)
    csrf.init_app(app)
    if settings.cors_origins:
        cors.init_app(
            app,
            resources={r"/api/*": {"origins": list(settings.cors_origins)}},
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "If-None-Match",
                           "X-Request-ID"],
            expose_headers=["ETag", "Retry-After", "X-Request-ID", "Idempotency-Replayed"],
            supports_credentials=False,
            max_age=600,
        )

    from . import models  # noqa: F401  (register the tables with the metadata)
    from .catalog.cache import init_catalog_cache
    from .errors import register_error_handlers
    from .observability import register_observability
    from .security import register_security_headers

    register_error_handlers(app)
    init_catalog_cache(app, settings.catalog_cache_seconds)
    register_observability(app)
    register_security_headers(app)
    _register_blueprints(app)

    from .cli import register_cli

    register_cli(app)
    return app


# Seconds a request may wait for the rate-limit store before the limiter falls back to memory:
# Redis answers in well under a millisecond on the cluster network, so anything near this is an
# outage; redis-py's defaults (no timeout, three retries with backoff) would stall requests for
# seconds, or for a TCP timeout when the server's address black-holes.
RATELIMIT_STORAGE_TIMEOUT_SECONDS = 0.25


def _ratelimit_storage_options(settings: Any) -> dict[str, Any]:
    if not settings.shared_rate_limits:
        return {}
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    options: dict[str, Any] = {"socket_connect_timeout": RATELIMIT_STORAGE_TIMEOUT_SECONDS,
                               "socket_timeout": RATELIMIT_STORAGE_TIMEOUT_SECONDS}
    if settings.ratelimit_storage_uri.split("://", 1)[0] in ("redis", "rediss", "redis+unix"):
        # One immediate retry: a pooled connection that a Redis restart closed is replaced at once.
        options["retry"] = Retry(NoBackoff(), 1)
    return options


def _migrations_dir() -> Path:
    return Path(__file__).resolve().parent / "migrations"


def _register_blueprints(app: Flask) -> None:
    from .accounts.api import bp as accounts_api
    from .admin.api import bp as admin_api
    from .apidocs.views import bp as apidocs
    from .cart.api import bp as cart_api
    from .catalog.api import bp as catalog_api
    from .probes.views import bp as ops

    for blueprint in (catalog_api, accounts_api, cart_api, admin_api):
        csrf.exempt(blueprint)  # bearer tokens, no cookies: CSRF cannot apply
        app.register_blueprint(blueprint)
    from .orders.api import bp as orders_api

    csrf.exempt(orders_api)
    app.register_blueprint(orders_api)
    csrf.exempt(apidocs)
    app.register_blueprint(apidocs)
    csrf.exempt(ops)
    limiter.exempt(ops)  # probes and scrapes must never be throttled
    app.register_blueprint(ops)

    # The storefront pages (server-rendered HTML).
    from .storefront import bp as storefront

    app.register_blueprint(storefront)


def _configure_logging(level: str) -> None:
    from .observability import JsonFormatter

    root = logging.getLogger()
    if not any(getattr(h, "_dhakacart", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stdout)  # containers: logs are stdout
        handler.setFormatter(JsonFormatter())
        handler._dhakacart = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level)
