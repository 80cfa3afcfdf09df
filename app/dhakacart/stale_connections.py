"""A request that meets a dead pooled connection is answered on a fresh one, not with a 503.

After a database failover or restart every connection a gunicorn worker keeps in its pool is
dead, but the worker only learns it when a request uses one: that first query fails, SQLAlchemy
recognises the disconnect and invalidates the whole pool. /readyz, answered by one worker, cannot
clean the pools of the others, so without this the first request each other worker served after
a failover failed although the database was back (issue 16).

`pool_pre_ping` would find the dead connection before use, at the price of a `SELECT 1` round
trip on every request. This costs nothing while connections are healthy: when a view fails on a
connection SQLAlchemy has just invalidated, the request is dispatched once more, on a fresh
connection, provided that is safe:

- nothing was committed (no commit was even attempted) in the failed attempt: PostgreSQL rolls
  back the open transaction of a connection that died, so no write of it exists; this covers every
  read and every write that failed before its commit;
- or the endpoint is a checkout under an Idempotency-Key (RETRY_AFTER_COMMIT_ENDPOINTS): if the
  commit did reach the database, the second attempt finds that order and returns it as a replay.

Only once: if the fresh connection fails too, the database really is away and errors.py answers
the JSON 503. Only the view is run again (before_request handlers such as the rate limiter are
not), and only for a connection SQLAlchemy marked invalidated, never for other database errors.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, g, has_request_context, request
from flask_sqlalchemy.session import Session
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError

from .extensions import db

log = logging.getLogger("dhakacart.database")

# Checkouts carry an Idempotency-Key (API header, storefront form field): repeating one returns the
# order it already created, so even a commit whose outcome is unknown may be sent again.
RETRY_AFTER_COMMIT_ENDPOINTS = frozenset({"orders_api.create_order", "storefront.checkout"})

_COMMIT_ATTEMPTED = "_dhakacart_commit_attempted"
_RETRIED = "_dhakacart_stale_connection_retried"


@event.listens_for(Session, "before_commit")
def _note_commit(session: Session) -> None:
    if has_request_context():
        setattr(g, _COMMIT_ATTEMPTED, True)


def is_stale_connection(exc: BaseException) -> bool:
    """The connection died under this statement (SQLAlchemy has invalidated it and its pool)."""
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def _may_retry(exc: DBAPIError) -> bool:
    if not is_stale_connection(exc) or g.get(_RETRIED):
        return False
    return not g.get(_COMMIT_ATTEMPTED) or request.endpoint in RETRY_AFTER_COMMIT_ENDPOINTS


class ShopFlask(Flask):
    """Flask, with each view dispatched once more when a dead pooled connection failed it."""

    def dispatch_request(self) -> Any:
        try:
            return super().dispatch_request()
        except DBAPIError as exc:
            if not _may_retry(exc):
                raise
            setattr(g, _RETRIED, True)
            setattr(g, _COMMIT_ATTEMPTED, False)
            log.warning("database connection was dead (%s); retrying %s %s on a fresh connection",
                        type(exc.orig).__name__, request.method, request.endpoint)
            db.session.rollback()
            return super().dispatch_request()

