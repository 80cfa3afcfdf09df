"""smoke as a command: against the real shop under gunicorn and a TLS server with a private CA."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from dhakacart_infra.ops.cli import cli
from tests.support.live_shop import LiveShop


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
