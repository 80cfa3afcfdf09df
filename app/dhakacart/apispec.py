"""The JSON API's route decorator: one declaration validates the request AND documents it.

    @api_route(bp, "/products/<slug>", "GET", summary="...", response=ProductOut, errors=(404,))
    def product(slug): ...

The decorator registers the Flask route, parses the query string and JSON body with the given
pydantic models (422 with field-level details on bad input), enforces authentication, serialises
the returned model, and records the operation so apidocs/openapi.py can build the OpenAPI document
from the same models: the document cannot drift from what the code accepts and returns.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from flask import Blueprint, Response, g, jsonify, request
from pydantic import BaseModel, ValidationError

from .accounts.tokens import user_from_access_token
from .errors import AppError, Forbidden, Unauthorized, ValidationFailed, pydantic_details

Auth = Literal["customer", "admin"] | None


@dataclass(frozen=True)
class HeaderParam:
    name: str
    description: str
    required: bool = False


@dataclass
class Operation:
    method: str
    summary: str
    tag: str
    response: type[BaseModel] | None
    status: int
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    auth: Auth = None
    errors: tuple[int, ...] = ()
    headers: tuple[HeaderParam, ...] = ()
    extra_responses: dict[int, tuple[str, type[BaseModel] | None]] = field(default_factory=dict)
    media_type: str = "application/json"
    description: str = ""
    cacheable: bool = False


# "blueprint.endpoint" -> Operation, filled as the API modules are imported.
OPERATIONS: dict[str, Operation] = {}


class UnsupportedMediaType(AppError):
    status = 415
    code = "unsupported_media_type"


def current_user_from_bearer(required_role: Auth) -> None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send an access token: Authorization: Bearer <access_token>")
    user = user_from_access_token(token.strip())
    g.current_user = user
    if required_role == "admin" and not user.is_admin:
        raise Forbidden("this needs an admin account")


def _validate(model: type[BaseModel], data: Any, location: str) -> BaseModel:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        details = [{"field": f"{location}.{d['field']}" if d["field"] != "body" else location,
                    "message": d["message"]} for d in pydantic_details(exc)]
        raise ValidationFailed(f"invalid {location}", details=details) from None


def _json_body() -> Any:
    if not request.is_json:
        raise UnsupportedMediaType("send the body as JSON with Content-Type: application/json")
    data = request.get_json(silent=True)
    if data is None:
        raise AppError("the body is not valid JSON", code="invalid_json", status=400)
    return data


def _to_response(result: Any, status: int) -> Response:
    if isinstance(result, Response):
        return result
    if isinstance(result, tuple):
        result, status = result
    if result is None:
        return Response(status=204)
    response = jsonify(result.model_dump(mode="json") if isinstance(result, BaseModel) else result)
    response.status_code = status
    return response


def api_route(
    bp: Blueprint,
    rule: str,
    method: str,
    *,
    summary: str,
    response: type[BaseModel] | None,
    status: int = 200,
    query: type[BaseModel] | None = None,
    body: type[BaseModel] | None = None,
    auth: Auth = None,
    errors: tuple[int, ...] = (),
    headers: tuple[HeaderParam, ...] = (),
    extra_responses: dict[int, tuple[str, type[BaseModel] | None]] | None = None,
    media_type: str = "application/json",
    cacheable: bool = False,
    tag: str | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Response]]:
    def decorator(fn: Callable[..., Any]) -> Callable[..., Response]:
        operation = Operation(
            method=method.upper(), summary=summary, tag=tag or bp.name.removesuffix("_api"),
            response=response, status=status, query=query, body=body, auth=auth, errors=errors,
            headers=headers, extra_responses=extra_responses or {}, media_type=media_type,
            description=(fn.__doc__ or "").strip(), cacheable=cacheable,
        )

        @functools.wraps(fn)
        def view(**path_args: Any) -> Response:
            if auth is not None:
                current_user_from_bearer(auth)
            kwargs = dict(path_args)
            if query is not None:
                kwargs["query"] = _validate(query, request.args.to_dict(), "query")
            if body is not None:
                kwargs["body"] = _validate(body, _json_body(), "body")
            return _to_response(fn(**kwargs), status)

        bp.add_url_rule(rule, fn.__name__, view, methods=[operation.method])
        OPERATIONS[f"{bp.name}.{fn.__name__}"] = operation
        return view

    return decorator


