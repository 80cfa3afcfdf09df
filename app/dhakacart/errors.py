"""One exception type per failure kind, and one JSON error shape for the whole API.

API (/api/...): {"error": {"code": ..., "message": ..., "details": ...}} with the right status,
never HTML or a traceback. Storefront pages: the HTML template errors/error.html (drawn by the
storefront), with a plain fallback if it is missing.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from markupsafe import escape
from pydantic import ValidationError
from sqlalchemy.exc import DataError, DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from werkzeug.exceptions import HTTPException

log = logging.getLogger("dhakacart.errors")


class AppError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None,
                 details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.code
        self.status = status or self.status
        self.details = details


class NotFound(AppError):
    status = 404
    code = "not_found"


class Conflict(AppError):
    status = 409
    code = "conflict"


class InsufficientStock(Conflict):
    code = "insufficient_stock"

    def __init__(self, shortages: list[dict[str, int]], message: str | None = None) -> None:
        # shortages: [{"product_id", "requested", "available"}]
        super().__init__(message or "not enough stock for some items", details=shortages)


class ValidationFailed(AppError):
    status = 422
    code = "validation_failed"


class Unauthorized(AppError):
    status = 401
    code = "unauthorized"


class Forbidden(AppError):
    status = 403
    code = "forbidden"


# Codes for HTTP errors raised by Flask/Werkzeug itself (routing, body size, rate limits).
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "rate_limited",
    503: "service_unavailable",
}


def field_error(field: str, message: str) -> list[dict[str, str]]:
    """The details of a ValidationFailed about one field."""
    return [{"field": field, "message": message}]


def pydantic_details(exc: ValidationError) -> list[dict[str, str]]:
    """Field-level details: [{"field": "shipping.phone", "message": "..."}]."""
    details = []
    for error in exc.errors(include_url=False):
        field = ".".join(str(part) for part in error["loc"]) or "body"
        details.append({"field": field, "message": error["msg"].removeprefix("Value error, ")})
    return details


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path in ("/readyz", "/healthz", "/metrics")


def error_response(status: int, code: str, message: str, details: Any = None) -> Response:
    response = jsonify({"error": {"code": code, "message": message, "details": details}})
    response.status_code = status
    return response


def _html_error(status: int, message: str) -> tuple[str, int]:
    try:
        return render_template("errors/error.html", status=status, message=message), status
    except Exception:  # the error page itself must never fail (e.g. storefront not registered)
        return f"<!doctype html><title>{status}</title><h1>{status}</h1><p>{escape(message)}</p>", status


def register_error_handlers(app: Flask) -> None:
    @app.teardown_appcontext
    def _close_session(exc: BaseException | None) -> None:
        # Runs before Flask-SQLAlchemy's own teardown (registered earlier, so called later). Its
        # session.remove() rolls back on the connection, and when the database has just gone away
        # that ROLLBACK raises after the response was made, which gunicorn turns into an HTML 500
        # (even for an order already committed). Drop a dead connection without the ROLLBACK.
        from .extensions import db

        if not db.session.registry.has():
            return
        session = db.session.registry()
        try:
            session.close()
        except SQLAlchemyError as error:
            log.warning("database connection lost at the end of a request (%s); discarded",
                        type(error).__name__)
            with contextlib.suppress(SQLAlchemyError):
                session.invalidate()
        finally:
            db.session.registry.clear()

    @app.errorhandler(AppError)
    def _app_error(exc: AppError):
        if wants_json():
            return error_response(exc.status, exc.code, exc.message, exc.details)
        return _html_error(exc.status, exc.message)

    @app.errorhandler(ValidationError)
    def _validation_error(exc: ValidationError):
        details = pydantic_details(exc)
        if wants_json():
            return error_response(422, "validation_failed", "the request is not valid", details)
        return _html_error(422, "; ".join(f"{d['field']}: {d['message']}" for d in details))

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        status = exc.code or 500
        if not wants_json():
            if status == 429:
                return _html_error(429, "Too many requests; please wait a moment and try again.")
            return _html_error(status, exc.description or exc.name)
        message = exc.description or exc.name
        if status == 413:
            limit = app.config.get("MAX_CONTENT_LENGTH")
            message = f"request body is larger than the {limit} byte limit"
        elif status == 429:
            message = f"rate limit exceeded ({exc.description}); retry after the Retry-After seconds"
        response = error_response(status, _HTTP_CODES.get(status, "http_error"), message)
        if status == 405 and exc.get_response().headers.get("Allow"):
            response.headers["Allow"] = exc.get_response().headers["Allow"]
        return response

    @app.errorhandler(DataError)
    def _data_error(exc: DataError):
        # A value the database cannot store although it passed validation: a NUL character in a
        # string (PostgreSQL text never holds one) or a number out of the column's range.
        from .extensions import db

        db.session.rollback()
        log.info("value refused by the database: %s", type(exc.orig).__name__)
        if wants_json():
            return error_response(422, "validation_failed",
                                  "a value cannot be stored (e.g. it contains a NUL character)")
        return _html_error(422, "Some of the text you entered cannot be stored; please check it.")

    @app.errorhandler(DBAPIError)
    def _database_error(exc: DBAPIError):
        if not (isinstance(exc, OperationalError | InterfaceError) or exc.connection_invalidated):
            return _unexpected(exc)
        # A lost or unreachable database is an outage, not a bug: 503 so clients and the
        # load balancer retry elsewhere, with no driver message leaked.
        log.error("database unavailable: %s", type(exc).__name__)
        from .extensions import db

        db.session.rollback()
        if wants_json():
            return error_response(503, "service_unavailable", "the database is unavailable; retry shortly")
        return _html_error(503, "The shop is temporarily unavailable. Please try again shortly.")

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error")
        if wants_json():
            return error_response(500, "internal_error", "an unexpected error occurred")
        return _html_error(500, "Something went wrong on our side.")
