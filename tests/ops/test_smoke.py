"""smoke against the real shop under gunicorn, and the TLS check against a real TLS server."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import threading
from collections.abc import Iterator
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from dhakacart_infra.ops.cli import cli
from dhakacart_infra.ops.smoke import certificate_expiry, check_security_headers, first_product, run_smoke
from tests.support.live_shop import LiveShop, live_shop


@pytest.fixture(scope="module")
def shop() -> Iterator[LiveShop]:
    with live_shop() as running:
        yield running


@pytest.mark.slow
def test_smoke_passes_against_the_live_shop_and_reports_the_tls_skip(shop: LiveShop) -> None:
    result = CliRunner().invoke(cli, ["smoke", "--url", shop.base_url])
    lines = result.output.splitlines()
    assert result.exit_code == 0, result.output
    by_name = {line[6:24].strip(): line for line in lines if line[:4] in ("PASS", "FAIL", "SKIP")}
    assert set(by_name) == {
        "health",
        "readiness",
        "catalog",
        "product page",
        "openapi",
        "security headers",
        "tls certificate",
    }
    assert (
        by_name["tls certificate"].startswith("SKIP") and "skipped: not https" in by_name["tls certificate"]
    )
    assert all(by_name[name].startswith("PASS") for name in by_name if name != "tls certificate")
    assert "GET /products/" in by_name["product page"]
    assert lines[-1] == "all 7 smoke checks passed"


@pytest.mark.slow
def test_smoke_fails_with_one_line_per_broken_check(shop: LiveShop) -> None:
    result = CliRunner().invoke(cli, ["smoke", "--url", shop.base_url + "/no-such-prefix"])
    assert result.exit_code == 1
    assert "FAIL  health" in result.output and "FAIL  catalog" in result.output
    assert "smoke checks failed" in result.output


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


# ---- TLS: a real handshake against a local server with a certificate from a private CA


NOT_AFTER = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(NOT_AFTER)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )

    class NotFound(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), NotFound)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], cert_file
    finally:
        server.shutdown()
        server.server_close()


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


def test_smoke_trusts_a_given_ca_bundle_for_requests_and_the_tls_check(tls_server: tuple[int, Path]) -> None:
    """Dev's certificates come from Let's Encrypt staging, whose roots no system trusts."""
    port, ca = tls_server
    url = f"https://127.0.0.1:{port}"
    untrusted = CliRunner().invoke(cli, ["smoke", "--url", url, "--timeout", "5"])
    assert untrusted.exit_code == 1
    assert "SSLError" in next(line for line in untrusted.output.splitlines() if "health" in line)
    trusted = CliRunner().invoke(cli, ["smoke", "--url", url, "--timeout", "5", "--ca-bundle", str(ca)])
    lines = trusted.output.splitlines()
    # This server answers 404 to everything: the handshake succeeded, the shop checks fail on content.
    assert next(line for line in lines if " health " in f" {line} ").split()[0] == "FAIL"
    assert "GET /healthz -> 404" in trusted.output
    tls = next(line for line in lines if "tls certificate" in line)
    assert tls.startswith("PASS") and "2030-01-02" in tls


def test_a_missing_ca_bundle_is_refused_before_any_request(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["smoke", "--url", "https://127.0.0.1:9", "--ca-bundle", str(tmp_path / "nope.pem")]
    )
    assert result.exit_code == 1 and "is not a file; give a PEM file" in result.output
    assert "health" not in result.output
