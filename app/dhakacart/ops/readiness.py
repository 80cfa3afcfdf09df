"""Readiness: the database answers and its schema is at the migrations' head revision."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


@cache
def expected_heads() -> frozenset[str]:
    return frozenset(ScriptDirectory(str(MIGRATIONS_DIR)).get_heads())


def check() -> tuple[bool, dict[str, object]]:
    """(ready, report). Never raises: a broken database is a 'not ready', not an error."""
    report: dict[str, object] = {"database": "unknown", "migrations": "unknown"}
    try:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            report["database"] = "ok"
            current = frozenset(MigrationContext.configure(connection).get_current_heads())
    except SQLAlchemyError as exc:
        report["database"] = f"unreachable ({type(exc).__name__})"
        return False, report
    expected = expected_heads()
    if current == expected:
        report["migrations"] = "current"
        return True, report
    report["migrations"] = (
        f"behind: database at {sorted(current) or 'no revision'}, code expects {sorted(expected)}; "
        "run `flask --app dhakacart db upgrade`"
    )
    return False, report
