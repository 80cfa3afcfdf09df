"""Accounts JSON API: register, log in, rotate and revoke tokens, who am I."""

from __future__ import annotations

from flask import Blueprint, current_app, g

from ..apispec import api_route
from ..errors import Unauthorized
from ..extensions import limiter
from ..schemas import LoginIn, RefreshIn, RegisterIn, TokenOut, UserOut, user_out
from . import service, tokens

bp = Blueprint("accounts_api", __name__, url_prefix="/api/v1")


def _auth_limit() -> str:
    return current_app.config["AUTH_RATE_LIMIT"]


@api_route(bp, "/auth/register", "POST", summary="Create a customer account", body=RegisterIn,
           response=UserOut, status=201, errors=(409,), tag="auth")
@limiter.limit(_auth_limit)
def register(body: RegisterIn):
    """Phone numbers are normalised to +8801XXXXXXXXX; an e-mail can register once (409)."""
    user = service.register_user(body.email, body.password, body.name, body.phone)
    return user_out(user)


@api_route(bp, "/auth/login", "POST", summary="Log in: a 15-minute access token and a refresh token",
           body=LoginIn, response=TokenOut, errors=(401,), tag="auth")
@limiter.limit(_auth_limit)
def login(body: LoginIn):
    user = service.authenticate(body.email, body.password)
    if user is None:
        raise Unauthorized("wrong e-mail or password", code="invalid_credentials")
    return TokenOut(**tokens.issue_tokens(user))


@api_route(bp, "/auth/refresh", "POST", summary="Rotate a refresh token (a reused one revokes the login)",
           body=RefreshIn, response=TokenOut, errors=(401,), tag="auth")
@limiter.limit(_auth_limit)
def refresh(body: RefreshIn):
    """Each refresh token works once. Presenting an already-used one signs out every session
    descended from the same login, since it means the token was copied."""
    return TokenOut(**tokens.rotate_refresh_token(body.refresh_token))


@api_route(bp, "/auth/logout", "POST", summary="Log out: revoke the refresh token's login",
           body=RefreshIn, response=None, status=204, errors=(401,), tag="auth")
def logout(body: RefreshIn):
    tokens.revoke_refresh_token(body.refresh_token)
    return None


@api_route(bp, "/me", "GET", summary="The signed-in account", response=UserOut, auth="customer", tag="auth")
def me():
    return user_out(g.current_user)
