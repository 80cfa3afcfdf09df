"""`smoke --url URL`: is the deployed shop alive, serving its catalog, and served safely?

Each check prints one line; the TLS check is the only one that may be SKIP (for http:// URLs) and
says so. Any FAIL makes the command exit non-zero.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import requests

CATALOG_PATH = "/api/v1/products"
OPENAPI_PATH = "/api/openapi.json"
PRODUCT_PAGE_PATH = "/products/{slug}"


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: str  # PASS | FAIL | SKIP
    detail: str

    def line(self) -> str:
        return f"{self.status:<4}  {self.name:<18} {self.detail}"


def _pass(name: str, detail: str) -> CheckResult:
    return CheckResult(name, "PASS", detail)


def _fail(name: str, detail: str) -> CheckResult:
    return CheckResult(name, "FAIL", detail)


def first_product(catalog: Any) -> dict[str, Any] | None:
    """The first product (a dict with a slug) in the catalog document, whatever its envelope."""
    if isinstance(catalog, list):
        for item in catalog:
            if isinstance(item, dict) and item.get("slug"):
                return item
        return None
    if isinstance(catalog, dict):
        for key in ("items", "data", "products", "results"):
            if key in catalog:
                found = first_product(catalog[key])
                if found:
                    return found
    return None


def check_security_headers(headers: requests.structures.CaseInsensitiveDict, https: bool) -> list[str]:
    """What is missing or wrong; empty when the headers are as the platform requires."""
    problems = []
    csp = headers.get("Content-Security-Policy", "")
    if not csp:
        problems.append("no Content-Security-Policy")
    if headers.get("X-Content-Type-Options", "").lower() != "nosniff":
        problems.append("X-Content-Type-Options is not nosniff")
    if not headers.get("Referrer-Policy"):
        problems.append("no Referrer-Policy")
    if "frame-ancestors" not in csp and headers.get("X-Frame-Options", "").upper() not in (
        "DENY",
        "SAMEORIGIN",
    ):
        problems.append("neither CSP frame-ancestors nor X-Frame-Options DENY/SAMEORIGIN")
    if https:
        hsts = headers.get("Strict-Transport-Security", "")
        if "max-age=" not in hsts or hsts.split("max-age=")[1].split(";")[0].strip() in ("", "0"):
            problems.append("no Strict-Transport-Security with a positive max-age")
    return problems


def certificate_expiry(host: str, port: int, timeout: float, cafile: str | None = None) -> datetime:
    """Connects with full verification (chain and host name) and returns the leaf's notAfter.

    `cafile` replaces the system trust store (tests use a private CA); operators never need it.
    """
    context = ssl.create_default_context(cafile=cafile)
    with (
        socket.create_connection((host, port), timeout=timeout) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        cert = tls.getpeercert()
    return datetime.fromtimestamp(ssl.cert_time_to_seconds(cert["notAfter"]), UTC)


def run_smoke(
    base_url: str,
    *,
    timeout: float = 10,
    min_cert_days: int = 14,
    session: requests.Session | None = None,
    cert_expiry: Callable[[str, int, float], datetime] = certificate_expiry,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ca_bundle: str | None = None,
) -> list[CheckResult]:
    """`ca_bundle`: PEM roots to trust instead of the system's, for every request and the TLS check
    (dev's Let's Encrypt staging certificates chain to roots no system trusts)."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return [
            _fail("url", f"{base_url!r} is not an http(s) URL with a host (e.g. https://shop.example.com)")
        ]
    base = base_url.rstrip("/") + "/"
    http = session or requests.Session()
    # Per request, not on the session: requests lets REQUESTS_CA_BUNDLE override a session's verify.
    verify: str | bool = ca_bundle or True
    if ca_bundle:
        cert_expiry = partial(cert_expiry, cafile=ca_bundle)
    http.headers.setdefault("User-Agent", "dhakacart-ops-smoke/1")
    results: list[CheckResult] = []

    def get(name: str, path: str) -> requests.Response | None:
        try:
            response = http.get(
                urljoin(base, path.lstrip("/")), timeout=timeout, allow_redirects=False, verify=verify
            )
        except requests.RequestException as exc:
            results.append(_fail(name, f"GET {path}: {type(exc).__name__}: {exc}"))
            return None
        return response

    def expect_ok(name: str, path: str, content_type: str | None = None) -> requests.Response | None:
        response = get(name, path)
        if response is None:
            return None
        ms = response.elapsed.total_seconds() * 1000
        if response.status_code != 200:
            results.append(_fail(name, f"GET {path} -> {response.status_code} ({ms:.0f} ms)"))
            return None
        if content_type and content_type not in response.headers.get("Content-Type", ""):
            results.append(
                _fail(
                    name, f"GET {path} -> {response.headers.get('Content-Type')!r}, expected {content_type}"
                )
            )
            return None
        results.append(_pass(name, f"GET {path} -> 200 ({ms:.0f} ms)"))
        return response

    expect_ok("health", "/healthz")
    expect_ok("readiness", "/readyz")
    catalog = expect_ok("catalog", CATALOG_PATH, "application/json")
    product = None
    if catalog is not None:
        try:
            product = first_product(catalog.json())
        except ValueError:
            product = None
    if product is None:
        results.append(_fail("product page", "the catalog answered no product with a slug to open"))
        page = None
    else:
        page = expect_ok(
            "product page", PRODUCT_PAGE_PATH.format(slug=quote(str(product["slug"]))), "text/html"
        )
    openapi = expect_ok("openapi", OPENAPI_PATH, "json")
    if openapi is not None:
        try:
            version = openapi.json().get("openapi", "")
        except ValueError:
            version = ""
        if not str(version).startswith("3."):
            results[-1] = _fail("openapi", f"GET {OPENAPI_PATH} is not an OpenAPI 3 document")

    https = parts.scheme == "https"
    headers_from = page if page is not None else get("security headers", "/")
    if headers_from is not None:
        problems = check_security_headers(headers_from.headers, https)
        where = urlsplit(headers_from.url).path or "/"
        results.append(
            _fail("security headers", f"{where}: " + "; ".join(problems))
            if problems
            else _pass(
                "security headers",
                f"{where}: CSP, nosniff, Referrer-Policy, framing" + (", HSTS" if https else ""),
            )
        )

    if not https:
        results.append(CheckResult("tls certificate", "SKIP", "skipped: not https"))
    else:
        try:
            expires = cert_expiry(parts.hostname, parts.port or 443, timeout)
        except (OSError, ssl.SSLError, KeyError) as exc:
            results.append(_fail("tls certificate", f"{parts.hostname}: {type(exc).__name__}: {exc}"))
        else:
            days = (expires - now()).days
            line = f"valid for {parts.hostname}, expires {expires:%Y-%m-%d} ({days} days)"
            results.append(
                _pass("tls certificate", line)
                if days >= min_cert_days
                else _fail("tls certificate", line + f", fewer than {min_cert_days}")
            )
    return results
