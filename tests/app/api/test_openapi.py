"""The OpenAPI document: valid OpenAPI 3.1, complete, and generated from the code's own models."""

import pytest
from dhakacart.apidocs.openapi import openapi_path
from openapi_spec_validator import validate


@pytest.fixture
def document(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def test_is_a_valid_openapi_3_document(document):
    assert document["openapi"].startswith("3.")
    validate(document)  # raises on any violation of the OpenAPI 3.1 schema


def test_every_api_route_is_documented(app, document):
    routes = {
        (openapi_path(rule.rule)[0], method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/") or rule.endpoint.startswith("ops.")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    documented = {(path, method) for path, item in document["paths"].items() for method in item}
    assert routes == documented
    assert {("/healthz", "get"), ("/readyz", "get"), ("/metrics", "get")} <= documented


def test_ops_endpoints_answer_what_the_document_says(client, document):
    from jsonschema import Draft202012Validator

    for path in ("/healthz", "/readyz"):
        response = client.get(path)
        schema = _documented_schema(document, path, "get", response.status_code)
        Draft202012Validator(schema).validate(response.get_json())
    assert set(document["paths"]["/readyz"]["get"]["responses"]) == {"200", "503"}
    metrics = document["paths"]["/metrics"]["get"]["responses"]
    assert client.get("/metrics").content_type.startswith(next(iter(metrics["200"]["content"])))


def test_every_json_operation_has_request_response_and_error_schemas(document):
    error_ref = {"$ref": "#/components/schemas/ErrorResponse"}
    for path, item in document["paths"].items():
        if not path.startswith("/api/v1/"):
            continue
        for method, operation in item.items():
            responses = operation["responses"]
            success = [s for s in responses if s.startswith("2")]
            assert success, (path, method)
            for status in success:
                if status != "204":
                    assert "application/json" in responses[status]["content"], (path, method, status)
            for status in ("429", "503"):
                assert responses[status]["content"]["application/json"]["schema"] == error_ref
            if method in ("post", "put", "patch"):
                assert "requestBody" in operation or path.endswith("/logout"), (path, method)
                assert {"400", "413", "422"} <= set(responses), (path, method)


def test_security_schemes_and_protected_operations(document):
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "Access token from POST /api/v1/auth/login (15 minutes)",
    }
    me = document["paths"]["/api/v1/me"]["get"]
    assert me["security"] == [{"bearerAuth": []}] and "401" in me["responses"]
    assert "403" in document["paths"]["/api/v1/admin/products"]["post"]["responses"]
    assert document["paths"]["/api/v1/products"]["get"]["security"] == []


def test_money_is_documented_as_a_string_never_a_number(document):
    product = document["components"]["schemas"]["ProductOut"]["properties"]
    assert product["price"]["type"] == "string"
    assert product["currency"] == {"const": "BDT", "default": "BDT", "title": "Currency", "type": "string"}


def test_query_path_and_header_parameters(document):
    listing = {p["name"]: p for p in document["paths"]["/api/v1/products"]["get"]["parameters"]}
    assert {"q", "category", "min_price", "max_price", "sort", "page", "per_page", "If-None-Match"} <= set(
        listing
    )
    assert listing["per_page"]["schema"]["maximum"] == 100
    put = document["paths"]["/api/v1/cart/items/{product_id}"]["put"]
    assert put["parameters"][0] == {
        "name": "product_id",
        "in": "path",
        "required": True,
        "schema": {"type": "integer"},
    }
    checkout = document["paths"]["/api/v1/orders"]["post"]
    assert any(p["name"] == "Idempotency-Key" and p["required"] for p in checkout["parameters"])
    assert {"200", "201", "409"} <= set(checkout["responses"])


def test_the_document_matches_what_the_api_validates(client, document):
    # A field the schema forbids is refused by the API too (both come from the same model).
    register = document["components"]["schemas"]["RegisterIn"]
    assert register["additionalProperties"] is False
    assert set(register["required"]) == {"email", "password", "name", "phone"}
    response = client.post("/api/v1/auth/register", json={"email": "a@example.com"})
    assert {d["field"] for d in response.get_json()["error"]["details"]} == {
        "body.password",
        "body.name",
        "body.phone",
    }


def test_docs_page_uses_bundled_assets_and_no_inline_script(client):
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "cdn" not in html.lower() and "https://" not in html
    assert "<script>" not in html  # every script has a src (CSP: no unsafe-inline)
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "swagger-ui-standalone-preset.js"):
        assert client.get(f"/api/docs/assets/{asset}").status_code == 200
    assert client.get("/static/apidocs/init.js").status_code == 200
    assert client.get("/api/docs/assets/../../settings.py").status_code == 404
    assert client.get("/api/docs/assets/index.html").status_code == 404


def _documented_schema(document, path, method, status):
    content = document["paths"][path][method]["responses"][str(status)]["content"]["application/json"]
    # Root the reference in the document so "#/components/schemas/..." resolves.
    return {**content["schema"], "components": document["components"]}


def test_real_responses_match_their_documented_schemas(client, seeded, customer, admin, document):
    from jsonschema import Draft202012Validator

    def check(response, path, method):
        schema = _documented_schema(document, path, method, response.status_code)
        Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER).validate(
            response.get_json()
        )

    product_id = seeded["padma-hilsa-1kg"]
    check(client.get("/api/v1/products?q=mango"), "/api/v1/products", "get")
    check(client.get("/api/v1/products/padma-hilsa-1kg"), "/api/v1/products/{slug}", "get")
    check(client.get("/api/v1/categories"), "/api/v1/categories", "get")
    check(client.get("/api/v1/me", headers=customer), "/api/v1/me", "get")
    check(
        client.put(f"/api/v1/cart/items/{product_id}", json={"quantity": 1}, headers=customer),
        "/api/v1/cart/items/{product_id}",
        "put",
    )
    order = client.post(
        "/api/v1/orders",
        headers={**customer, "Idempotency-Key": "doc-check"},
        json={
            "shipping": {
                "name": "A",
                "phone": "01712345678",
                "address": "B",
                "city": "Dhaka",
                "postal_code": "1000",
            }
        },
    )
    check(order, "/api/v1/orders", "post")
    check(client.get("/api/v1/orders", headers=customer), "/api/v1/orders", "get")
    check(
        client.put(
            f"/api/v1/admin/orders/{order.get_json()['id']}/status",
            json={"status": "confirmed"},
            headers=admin,
        ),
        "/api/v1/admin/orders/{order_id}/status",
        "put",
    )
    check(
        client.post(f"/api/v1/admin/products/{product_id}/stock", json={"delta": 1}, headers=admin),
        "/api/v1/admin/products/{product_id}/stock",
        "post",
    )
    # Errors match the documented error shape too.
    check(client.get("/api/v1/products/nope"), "/api/v1/products/{slug}", "get")
    check(
        client.put(f"/api/v1/cart/items/{product_id}", json={"quantity": 999}, headers=customer),
        "/api/v1/cart/items/{product_id}",
        "put",
    )
