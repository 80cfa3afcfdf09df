"""Cross-cutting HTTP behaviour: the error shape for every status, body limits, rate limits,
database outages, security headers, CORS, request ids and the JSON access log."""

import json
import logging

import pytest

from tests.app.conftest import TEST_SECRET, build_app


def assert_error(response, status, code):
    assert response.status_code == status, response.data[:500]
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert "Traceback" not in response.get_data(as_text=True)
    return body["error"]


def test_malformed_json_is_400(client):
    response = client.post("/api/v1/auth/login", data="{not json", content_type="application/json")
    assert_error(response, 400, "invalid_json")


def test_non_json_body_is_415(client):
    assert_error(
        client.post("/api/v1/auth/login", data="email=a", content_type="application/x-www-form-urlencoded"),
        415,
        "unsupported_media_type",
    )


def test_unknown_api_route_is_a_json_404(client):
    assert_error(client.get("/api/v1/nothing-here"), 404, "not_found")


def test_wrong_method_is_a_json_405_with_allow(client):
    response = client.delete("/api/v1/categories")
    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]


def test_bodies_over_one_mebibyte_are_413(client, customer):
    big = json.dumps({"email": "a@example.com", "password": "x" * (1024 * 1024 + 10)})
    response = client.post("/api/v1/auth/login", data=big, content_type="application/json")
    error = assert_error(response, 413, "payload_too_large")
    assert "1048576" in error["message"]


def test_bodies_just_under_the_limit_are_accepted(client):
    body = json.dumps({"email": "a@example.com", "password": "x" * 100, "pad": "y" * (1024 * 1000)})
    # Reaches validation (422 for the unknown field), so the size limit did not trigger.
    assert client.post("/api/v1/auth/login", data=body, content_type="application/json").status_code == 422


def test_login_is_rate_limited_with_retry_after(make_app):
    app = make_app(RATELIMIT_ENABLED=True, AUTH_RATE_LIMIT="3 per minute")
    client = app.test_client()
    statuses = [
        client.post(
            "/api/v1/auth/login", json={"email": "a@example.com", "password": "wrong-pass"}
        ).status_code
        for _ in range(3)
    ]
    assert statuses == [401, 401, 401]
    limited = client.post("/api/v1/auth/login", json={"email": "a@example.com", "password": "wrong-pass"})
    assert_error(limited, 429, "rate_limited")
    assert 0 < int(limited.headers["Retry-After"]) <= 60


def test_register_shares_the_strict_limit_and_reads_stay_open(make_app):
    app = make_app(RATELIMIT_ENABLED=True, AUTH_RATE_LIMIT="1 per minute")
    client = app.test_client()
    body = {"email": "x@example.com", "password": "long-enough-1", "name": "X", "phone": "01712345678"}
    assert client.post("/api/v1/auth/register", json=body).status_code == 201
    assert client.post("/api/v1/auth/register", json=body).status_code == 429
    assert all(client.get("/api/v1/categories").status_code == 200 for _ in range(5))


def test_default_limit_applies_to_every_api_route(make_app):
    app = make_app(RATELIMIT_ENABLED=True, DEFAULT_RATE_LIMIT="2 per minute")
    client = app.test_client()
    assert [client.get("/api/v1/categories").status_code for _ in range(3)] == [200, 200, 429]
    assert client.get("/healthz").status_code == 200  # probes are never throttled


def test_rate_limits_are_read_from_the_environment(make_app):
    app = make_app(RATELIMIT_ENABLED=True,
                   ENVIRON={"RATELIMIT_DEFAULT": "2 per minute", "RATELIMIT_AUTH": "1 per minute"})
    client = app.test_client()
    assert [client.get("/api/v1/categories").status_code for _ in range(3)] == [200, 200, 429]
    login = {"email": "a@example.com", "password": "wrong-pass"}
    assert [client.post("/api/v1/auth/login", json=login).status_code for _ in range(2)] == [401, 429]


@pytest.fixture
def dead_database_app(db_url, tmp_path, postgres_server_port_if_any):
    # SQLite: a directory cannot be opened as a database; PostgreSQL: nothing listens on the port.
    if db_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path}"
    else:
        url = f"postgresql+psycopg://postgres@127.0.0.1:{postgres_server_port_if_any}/nothing"
    return build_app(url)


@pytest.fixture
def postgres_server_port_if_any(db_url):
    import socket

    with socket.socket() as sock:  # a port nobody listens on once the socket is closed
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_database_outage_is_a_json_503_never_a_500(dead_database_app):
    client = dead_database_app.test_client()
    for response in (
        client.get("/api/v1/products"),
        client.get("/api/v1/products/x"),
        client.post("/api/v1/auth/login", json={"email": "a@example.com", "password": "whatever1"}),
    ):
        error = assert_error(response, 503, "service_unavailable")
        assert "psycopg" not in error["message"] and "sqlite" not in error["message"].lower()
    assert client.get("/healthz").status_code == 200  # liveness does not depend on the database
    assert client.get("/readyz").status_code == 503


def test_storefront_pages_show_html_on_database_outage(dead_database_app):
    response = dead_database_app.test_client().get("/")
    assert response.status_code == 503
    assert response.mimetype == "text/html"


def test_security_headers_on_api_and_pages(client):
    for url in ("/api/v1/categories", "/healthz", "/api/docs"):
        headers = client.get(url).headers
        csp = headers["Content-Security-Policy"]
        assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
        assert "Strict-Transport-Security" not in headers  # only in production


def test_hsts_and_secure_cookies_in_production(db_url):
    app = build_app(db_url, ENVIRON={"DHAKACART_ENV": "production", "SECRET_KEY": TEST_SECRET})
    response = app.test_client().get("/healthz")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=63072000")
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True


def test_cors_only_for_configured_origins(db_url):
    app = build_app(db_url, ENVIRON={"CORS_ORIGINS": "https://partner.example.com"})
    client = app.test_client()
    allowed = client.get("/api/v1/categories", headers={"Origin": "https://partner.example.com"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://partner.example.com"
    denied = client.get("/api/v1/categories", headers={"Origin": "https://evil.example.com"})
    assert "Access-Control-Allow-Origin" not in denied.headers
    preflight = client.options(
        "/api/v1/orders",
        headers={
            "Origin": "https://partner.example.com",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Authorization, Idempotency-Key",
        },
    )
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "idempotency-key" in preflight.headers["Access-Control-Allow-Headers"].lower()


def test_no_cors_headers_when_no_origins_are_configured(client):
    response = client.get("/api/v1/categories", headers={"Origin": "https://partner.example.com"})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_request_id_is_propagated_or_generated(client):
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"
    generated = client.get("/healthz").headers["X-Request-ID"]
    assert len(generated) == 32
    for hostile in ("<script>alert(1)</script>", "a" * 129, "spaces are not allowed"):
        replaced = client.get("/healthz", headers={"X-Request-ID": hostile}).headers["X-Request-ID"]
        assert replaced != hostile and len(replaced) == 32


def test_one_json_access_log_line_per_request(client, customer, caplog):
    from dhakacart.observability import JsonFormatter

    with caplog.at_level(logging.INFO, logger="dhakacart.access"):
        client.get("/api/v1/me", headers={**customer, "X-Request-ID": "req-42"})
    records = [r for r in caplog.records if r.name == "dhakacart.access"]
    assert len(records) == 1
    line = json.loads(JsonFormatter().format(records[0]))
    assert line["request_id"] == "req-42"
    assert line["method"] == "GET" and line["route"] == "/api/v1/me" and line["status"] == 200
    assert line["user_id"] == customer.user_id
    assert line["duration_ms"] >= 0
    assert "Authorization" not in json.dumps(line) and "Bearer" not in json.dumps(line)


def test_unexpected_errors_are_a_json_500_without_details(make_app):
    app = make_app(PROPAGATE_EXCEPTIONS=False)

    def explode():
        raise RuntimeError("secret internals")

    app.add_url_rule("/api/v1/explode", "explode", explode)
    error = assert_error(app.test_client().get("/api/v1/explode"), 500, "internal_error")
    assert "secret internals" not in error["message"]


def test_page_errors_are_html_not_json(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"


def test_rate_limits_are_per_client_behind_a_trusted_proxy(make_app):
    app = make_app(
        RATELIMIT_ENABLED=True, AUTH_RATE_LIMIT="1 per minute", ENVIRON={"TRUSTED_PROXY_HOPS": "1"}
    )
    client = app.test_client()
    body = {"email": "a@example.com", "password": "wrong-pass"}

    def login_from(address):
        return client.post("/api/v1/auth/login", json=body, headers={"X-Forwarded-For": address}).status_code

    assert [login_from("203.0.113.7"), login_from("203.0.113.7")] == [401, 429]
    assert login_from("198.51.100.9") == 401  # another customer behind the same Ingress is not blocked


def test_forwarded_for_is_ignored_without_trusted_proxies(make_app):
    app = make_app(RATELIMIT_ENABLED=True, AUTH_RATE_LIMIT="1 per minute")
    client = app.test_client()
    body = {"email": "a@example.com", "password": "wrong-pass"}
    first = client.post("/api/v1/auth/login", json=body, headers={"X-Forwarded-For": "203.0.113.7"})
    spoofed = client.post("/api/v1/auth/login", json=body, headers={"X-Forwarded-For": "198.51.100.9"})
    assert (first.status_code, spoofed.status_code) == (401, 429)
