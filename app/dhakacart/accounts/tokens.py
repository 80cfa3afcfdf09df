"""JWT access and refresh tokens for the JSON API.

HS256 only (the algorithm is pinned on decode, so "none" or RS/HS confusion is impossible), with
exp, iat, iss and aud checked. Refresh tokens rotate: each use marks the stored token used and
issues a new one in the same family; presenting a used token again means it leaked, so the whole
family is revoked and the holder must log in again.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from flask import current_app
from sqlalchemy import select, update

from ..errors import Unauthorized
from ..extensions import db
from ..models import RefreshToken, User

ALGORITHM = "HS256"
ISSUER = "dhakacart"
AUDIENCE = "dhakacart-api"
ACCESS_TTL = timedelta(minutes=15)
REFRESH_TTL = timedelta(days=14)


def _now() -> datetime:
    return datetime.now(UTC)


def _encode(claims: dict[str, Any]) -> str:
    return jwt.encode(claims, current_app.config["SECRET_KEY"], algorithm=ALGORITHM)


def _decode(token: str, expected_type: str) -> dict[str, Any]:
    try:
        claims = jwt.decode(
            token,
            current_app.config["SECRET_KEY"],
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            audience=AUDIENCE,
            options={"require": ["exp", "iat", "iss", "aud", "sub", "typ", "jti"]},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized(f"{expected_type} token expired", code="token_expired") from None
    except jwt.InvalidTokenError:
        raise Unauthorized(f"invalid {expected_type} token", code="invalid_token") from None
    if claims.get("typ") != expected_type:
        raise Unauthorized(f"not a {expected_type} token", code="invalid_token")
    return claims


def _claims(user_id: int, token_type: str, ttl: timedelta, **extra: Any) -> dict[str, Any]:
    now = _now()
    return {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": str(user_id),
        "iat": now,
        "exp": now + ttl,
        "typ": token_type,
        "jti": uuid.uuid4().hex,
        **extra,
    }


def _issue_pair(user: User, family: str) -> dict[str, Any]:
    access = _claims(user.id, "access", ACCESS_TTL, role=user.role)
    refresh = _claims(user.id, "refresh", REFRESH_TTL, fam=family)
    db.session.add(
        RefreshToken(jti=refresh["jti"], family=family, user_id=user.id, issued_at=refresh["iat"],
                     expires_at=refresh["exp"])
    )
    db.session.commit()
    return {
        "access_token": _encode(access),
        "refresh_token": _encode(refresh),
        "token_type": "Bearer",
        "expires_in": int(ACCESS_TTL.total_seconds()),
    }


def issue_tokens(user: User) -> dict[str, Any]:
    """A new login: a new refresh-token family."""
    return _issue_pair(user, family=uuid.uuid4().hex)


def user_from_access_token(token: str) -> User:
    claims = _decode(token, "access")
    user = db.session.get(User, int(claims["sub"]))
    if user is None:
        raise Unauthorized("the account no longer exists", code="invalid_token")
    return user


def _revoke_family(family: str) -> None:
    db.session.execute(
        update(RefreshToken)
        .where(RefreshToken.family == family, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=_now())
    )
    db.session.commit()


def rotate_refresh_token(token: str) -> dict[str, Any]:
    claims = _decode(token, "refresh")
    # Mark this token used atomically: of two concurrent uses only one can win the update.
    marked = db.session.execute(
        update(RefreshToken)
        .where(RefreshToken.jti == claims["jti"], RefreshToken.used_at.is_(None),
               RefreshToken.revoked_at.is_(None))
        .values(used_at=_now())
    )
    if marked.rowcount != 1:
        db.session.rollback()
        stored = db.session.scalar(select(RefreshToken).where(RefreshToken.jti == claims["jti"]))
        if stored is not None and stored.used_at is not None:
            _revoke_family(stored.family)
            raise Unauthorized(
                "refresh token already used; every session from this login was signed out",
                code="refresh_token_reused",
            )
        raise Unauthorized("refresh token revoked or unknown", code="invalid_token")
    user = db.session.get(User, int(claims["sub"]))
    if user is None:
        db.session.rollback()
        raise Unauthorized("the account no longer exists", code="invalid_token")
    return _issue_pair(user, family=claims["fam"])


def revoke_refresh_token(token: str) -> None:
    """Log out: revoke the presented refresh token's whole family."""
    claims = _decode(token, "refresh")
    _revoke_family(claims["fam"])
