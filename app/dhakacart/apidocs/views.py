"""/api/openapi.json and /api/docs (Swagger UI from the swagger-ui-bundle-v2 package, no CDN)."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, current_app, jsonify, make_response, render_template, send_from_directory
from swagger_ui_bundle import swagger_ui_path

from ..security import CONTENT_SECURITY_POLICY
from .openapi import build_openapi

bp = Blueprint("apidocs", __name__, url_prefix="/api")

# Only what the page loads is served; the rest of the vendored folder (maps, sample index) is not.
ASSETS = frozenset({"swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js",
                    "favicon-32x32.png", "favicon-16x16.png"})


@bp.get("/openapi.json")
def openapi_json():
    document = current_app.extensions.get("dhakacart_openapi")
    if document is None:
        document = current_app.extensions["dhakacart_openapi"] = build_openapi(current_app)
    return jsonify(document)


# Swagger UI injects one fixed <style> element; allowing exactly that content by its hash keeps
# the CSP free of 'unsafe-inline'. A new bundle version may change it: the browser test then fails.
SWAGGER_UI_STYLE_HASH = "'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='"


@bp.get("/docs")
def docs():
    response = make_response(render_template("api_docs.html"))
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.replace(
        "style-src 'self'", f"style-src 'self' {SWAGGER_UI_STYLE_HASH}"
    )
    return response


@bp.get("/docs/assets/<path:filename>")
def docs_asset(filename: str):
    if filename not in ASSETS:
        abort(404)
    return send_from_directory(Path(swagger_ui_path), filename, max_age=86400)
