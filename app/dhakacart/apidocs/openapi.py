"""Builds the OpenAPI 3.1 document from the routes declared with apispec.api_route.

Paths come from Flask's URL map, schemas from the same pydantic models that validate requests and
shape responses, so the document always describes what the running code does.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from ..apispec import OPERATIONS, Operation
from ..schemas import ErrorResponse

_PATH_ARG = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")
_REF = "#/components/schemas/{model}"

ERROR_DESCRIPTIONS = {
    400: "Malformed request (bad JSON, missing header)",
    401: "Missing, invalid or expired token",
    403: "Signed in but not allowed (needs an admin)",
    404: "Not found (or not yours)",
    409: "Conflicts with the current state (stock, duplicates, state machine)",
    413: "Request body larger than 1 MiB",
    415: "Body is not JSON",
    422: "Validation failed; details lists each field and what is wrong",
    429: "Rate limit exceeded; retry after the Retry-After header's seconds",
    503: "Database unavailable; retry shortly",
}

# Routes under /api that serve the documentation itself rather than JSON data.
DOC_ROUTES: dict[str, dict[str, Any]] = {
    "apidocs.openapi_json": {
        "summary": "This OpenAPI document",
        "media_type": "application/json",
        "schema": {"type": "object"},
    },
    "apidocs.docs": {"summary": "Interactive API documentation (Swagger UI)", "media_type": "text/html",
                     "schema": {"type": "string"}},
    "apidocs.docs_asset": {"summary": "Bundled Swagger UI assets (no CDN)",
                           "media_type": "application/octet-stream",
                           "schema": {"type": "string", "format": "binary"}},
}


# The operations endpoints (ops/views.py) live outside /api but belong to the same contract:
# probes, the smoke test and Prometheus call them.
_READINESS = {
    "type": "object",
    "required": ["status", "checks"],
    "properties": {
        "status": {"enum": ["ready", "not_ready"]},
        "checks": {
            "type": "object",
            "required": ["database", "migrations"],
            "properties": {"database": {"type": "string"}, "migrations": {"type": "string"}},
            "description": 'Each check\'s verdict: "ok" / "current" when ready, else what is wrong.',
        },
    },
}
OPS_ROUTES: dict[str, dict[str, Any]] = {
    "ops.healthz": {
        "summary": "Liveness: the process answers (no database call, so an outage restarts no pod)",
        "responses": {
            "200": ("Alive", "application/json",
                    {"type": "object", "required": ["status"], "properties": {"status": {"const": "ok"}}}),
        },
    },
    "ops.readyz": {
        "summary": "Readiness: the database answers and its schema is at the migrations' head",
        "responses": {
            "200": ("Ready to serve", "application/json", _READINESS),
            "503": ("Not ready: database unreachable or migrations not current", "application/json",
                    _READINESS),
        },
    },
    "ops.prometheus_metrics": {
        "summary": "Prometheus metrics of every worker (text exposition format)",
        "responses": {
            "200": ("Metrics", "text/plain", {"type": "string"}),
            "404": ("METRICS_PORT is set: the metrics are served on that port only", "application/json",
                    {"$ref": _REF.format(model="ErrorResponse")}),
        },
    },
}


def openapi_path(rule: str) -> tuple[str, list[dict[str, Any]]]:
    params = []
    for match in _PATH_ARG.finditer(rule):
        schema: dict[str, Any] = {"type": "integer"} if match["converter"] == "int" else {"type": "string"}
        params.append({"name": match["name"], "in": "path", "required": True, "schema": schema})
    return _PATH_ARG.sub(lambda m: "{" + m["name"] + "}", rule), params


def _json(ref: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": ref}}


def _operation_errors(op: Operation, has_path_params: bool = False) -> set[int]:
    errors = set(op.errors) | {429, 503}
    if has_path_params:
        # An id or slug that matches nothing, or one the URL converter refuses (/cart/items/abc).
        errors.add(404)
    if op.auth:
        errors.add(401)
    if op.auth == "admin":
        errors.add(403)
    if op.query or op.body:
        errors.add(422)
    if op.body:
        errors |= {400, 413, 415}
    return errors


def build_openapi(app: Flask) -> dict[str, Any]:
    models: set[tuple[type[BaseModel], str]] = {(ErrorResponse, "serialization")}
    for op in OPERATIONS.values():
        declared = ((op.query, "validation"), (op.body, "validation"), (op.response, "serialization"))
        for model, mode in declared:
            if model is not None:
                models.add((model, mode))
        for _description, model in op.extra_responses.values():
            if model is not None:
                models.add((model, "serialization"))
    refs, definitions = models_json_schema(sorted(models, key=lambda m: (m[0].__name__, m[1])),
                                           ref_template=_REF)
    schemas = definitions.get("$defs", {})
    query_schemas = {model: schemas[model.__name__] for (model, mode) in models if mode == "validation"
                     and model.__name__ in schemas}

    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint in OPS_ROUTES:
            ops = OPS_ROUTES[rule.endpoint]
            paths.setdefault(rule.rule, {})["get"] = {
                "operationId": rule.endpoint.replace(".", "_"),
                "tags": ["ops"],
                "summary": ops["summary"],
                "security": [],
                "responses": {
                    status: {"description": description, "content": {media_type: {"schema": schema}}}
                    for status, (description, media_type, schema) in ops["responses"].items()
                },
            }
            continue
        if not rule.rule.startswith("/api/"):
            continue
        path, path_params = openapi_path(rule.rule)
        op = OPERATIONS.get(rule.endpoint)
        if op is None:
            doc = DOC_ROUTES.get(rule.endpoint)
            if doc is None:
                raise RuntimeError(f"route {rule.rule} ({rule.endpoint}) is not declared with api_route")
            paths.setdefault(path, {})["get"] = {
                "operationId": rule.endpoint.replace(".", "_"),
                "tags": ["docs"],
                "summary": doc["summary"],
                "parameters": path_params,
                "responses": {"200": {"description": "OK",
                                      "content": {doc["media_type"]: {"schema": doc["schema"]}}},
                              **({"404": {"description": ERROR_DESCRIPTIONS[404],
                                          "content": _json({"$ref": _REF.format(model="ErrorResponse")})}}
                                 if path_params else {})},
            }
            continue
        operation: dict[str, Any] = {
            "operationId": rule.endpoint.replace(".", "_"),
            "tags": [op.tag],
            "summary": op.summary,
            "parameters": list(path_params),
            "responses": {},
        }
        if op.description:
            operation["description"] = op.description
        if op.auth:
            operation["security"] = [{"bearerAuth": []}]
        else:
            operation["security"] = []
        for header in op.headers:
            operation["parameters"].append({"name": header.name, "in": "header", "required": header.required,
                                            "description": header.description,
                                            # The server trims the value: it needs a visible character.
                                            "schema": {"type": "string", "minLength": 1, "maxLength": 128,
                                                       "pattern": r"\S"}})
        if op.query is not None:
            schema = query_schemas[op.query]
            required = set(schema.get("required", []))
            for name, prop in schema.get("properties", {}).items():
                operation["parameters"].append({"name": name, "in": "query", "required": name in required,
                                                "schema": prop})
        if op.cacheable:
            operation["parameters"].append({"name": "If-None-Match", "in": "header", "required": False,
                                            "schema": {"type": "string"},
                                            "description": "An ETag from an earlier response; 304 if same"})
        if op.body is not None:
            operation["requestBody"] = {"required": True,
                                        "content": _json(refs[(op.body, "validation")])}
        success: dict[str, Any] = {"description": op.summary}
        if op.response is not None:
            success["content"] = _json(refs[(op.response, "serialization")])
        if op.cacheable:
            success["headers"] = {"ETag": {"schema": {"type": "string"}},
                                  "Cache-Control": {"schema": {"type": "string"}}}
            operation["responses"]["304"] = {"description": "Not modified (matching If-None-Match)"}
        operation["responses"][str(op.status)] = success
        for status, (description, model) in op.extra_responses.items():
            extra: dict[str, Any] = {"description": description}
            if model is not None:
                extra["content"] = _json(refs[(model, "serialization")])
            operation["responses"][str(status)] = extra
        for status in sorted(_operation_errors(op, bool(path_params))):
            response: dict[str, Any] = {"description": ERROR_DESCRIPTIONS[status],
                                        "content": _json({"$ref": _REF.format(model="ErrorResponse")})}
            if status == 429:
                response["headers"] = {"Retry-After": {"schema": {"type": "integer"},
                                                       "description": "Seconds to wait"}}
            operation["responses"][str(status)] = response
        paths.setdefault(path, {})[op.method.lower()] = operation

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "DhakaCart API",
            "version": "1.0.0",
            "description": (
                "The DhakaCart shop's JSON API. Money is a string with two decimals plus "
                '"currency": "BDT". Every error is {"error": {"code", "message", "details"}}.'
            ),
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                               "description": "Access token from POST /api/v1/auth/login (15 minutes)"}
            },
        },
        "tags": [{"name": n} for n in ("catalog", "auth", "cart", "orders", "admin", "docs", "ops")],
    }
