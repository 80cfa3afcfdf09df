"""smoke.py's checks: nothing listening, bad URLs, the catalog envelope, headers, TLS over a handshake."""

from __future__ import annotations

import datetime as dt
from functools import partial
from pathlib import Path

import pytest
import requests

from dhakacart_infra.ops.smoke import certificate_expiry, check_security_headers, first_product, run_smoke

from .conftest import NOT_AFTER


def test_smoke_fails_when_nothing_listens() -> None:
    results = run_smoke("http://127.0.0.1:9", timeout=2)
    assert {r.name for r in results if r.status == "FAIL"} >= {"health", "readiness", "catalog", "openapi"}


def test_smoke_refuses_a_url_that_is_not_http() -> None:
    [result] = run_smoke("ftp://shop.example.com")
    assert result.status == "FAIL" and "not an http(s) URL" in result.detail


def test_first_product_reads_the_catalog_envelope() -> None:
    assert first_product({"items": [{"name": "x"}, {"slug": "tea", "id": 2}], "page": 1}) == {
        "slug": "tea",
        "id": 2,
    }
    assert first_product({"items": []}) is None


def test_security_header_rules() -> None:
    good = requests.structures.CaseInsensitiveDict(
        {
            "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "strict-origin-when-cross-origin",
            "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
        }
    )
    assert check_security_headers(good, https=True) == []
    no_framing = requests.structures.CaseInsensitiveDict(
        {**good, "Content-Security-Policy": "default-src 'self'"}
    )
    assert check_security_headers(no_framing, https=False) == [
        "neither CSP frame-ancestors nor X-Frame-Options DENY/SAMEORIGIN"
    ]
    no_framing["X-Frame-Options"] = "DENY"
    assert check_security_headers(no_framing, https=False) == []
    no_hsts = requests.structures.CaseInsensitiveDict({**good, "Strict-Transport-Security": "max-age=0"})
    assert check_security_headers(no_hsts, https=False) == []
    assert check_security_headers(no_hsts, https=True) == [
        "no Strict-Transport-Security with a positive max-age"
    ]


def tls_line(results: list) -> object:
    return next(r for r in results if r.name == "tls certificate")


def test_certificate_expiry_reads_not_after_over_a_verified_handshake(tls_server: tuple[int, Path]) -> None:
    port, ca = tls_server
    assert certificate_expiry("127.0.0.1", port, 5, cafile=str(ca)) == NOT_AFTER


def test_tls_check_fails_on_an_untrusted_certificate(tls_server: tuple[int, Path]) -> None:
    port, _ = tls_server
    result = tls_line(run_smoke(f"https://127.0.0.1:{port}", timeout=5))
    assert result.status == "FAIL" and "CERTIFICATE_VERIFY_FAILED" in result.detail


@pytest.mark.parametrize(("days_left", "status"), [(60, "PASS"), (5, "FAIL")])
def test_tls_check_judges_days_to_expiry(tls_server: tuple[int, Path], days_left: int, status: str) -> None:
    port, ca = tls_server
    now = NOT_AFTER - dt.timedelta(days=days_left, hours=1)
    results = run_smoke(
        f"https://127.0.0.1:{port}",
        timeout=5,
        min_cert_days=14,
        cert_expiry=partial(certificate_expiry, cafile=str(ca)),
        now=lambda: now,
    )
    result = tls_line(results)
    assert (
        result.status == status and f"({days_left} days)" in result.detail and "2030-01-02" in result.detail
    )
