"""Readiness: the database answers and its schema is at the migrations' head revision."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db
from ..stale_connections import is_stale_connection

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


@cache
def expected_heads() -> frozenset[str]:
    return frozenset(ScriptDirectory(str(MIGRATIONS_DIR)).get_heads())


def _ask_current_heads() -> frozenset[str]:
    with db.engine.connect() as connection:
        connection.execute(text("SELECT 1"))
        return frozenset(MigrationContext.configure(connection).get_current_heads())


def _current_heads() -> frozenset[str]:
    # A pooled connection that died with the old server fails first and invalidates the pool;
    # the question is whether the database answers now, so ask once more on a fresh connection.
    try:
        return _ask_current_heads()
    except SQLAlchemyError as exc:
        if not is_stale_connection(exc):
            raise
    return _ask_current_heads()


def check() -> tuple[bool, dict[str, object]]:
    """(ready, report). Never raises: a broken database is a 'not ready', not an error."""
    report: dict[str, object] = {"database": "unknown", "migrations": "unknown"}
    try:
        current = _current_heads()
    except SQLAlchemyError as exc:
        report["database"] = f"unreachable ({type(exc).__name__})"
        return False, report
    report["database"] = "ok"
    expected = expected_heads()
    if current == expected:
        report["migrations"] = "current"
        return True, report
    report["migrations"] = (
        f"behind: database at {sorted(current) or 'no revision'}, code expects {sorted(expected)}; "
        "run `flask --app dhakacart db upgrade`"
    )
    return False, report
