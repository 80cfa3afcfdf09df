"""`smoke --url URL`: one line per check of the deployed shop (the checks are in smoke.py)."""

from __future__ import annotations

import os

import click

from .errors import OpsError, ValidationError


@click.command("smoke")
@click.option("--url", required=True, help="The shop's base URL, e.g. https://shop.example.com")
@click.option(
    "--timeout", type=click.FloatRange(min=0.1), default=10, show_default=True, help="Seconds per request."
)
@click.option(
    "--min-cert-days",
    type=int,
    default=14,
    show_default=True,
    help="Fail when the TLS certificate expires in fewer days.",
)
@click.option(
    "--ca-bundle",
    type=click.Path(dir_okay=False),
    help="PEM file of root certificates to trust instead of the system's (dev: Let's Encrypt staging roots).",
)
def smoke(url: str, timeout: float, min_cert_days: int, ca_bundle: str | None) -> None:
    """Health, readiness, catalog, a product page, OpenAPI, security headers, TLS: one line each."""
    from .smoke import run_smoke

    if ca_bundle and not os.path.isfile(ca_bundle):
        raise ValidationError(
            f"--ca-bundle {ca_bundle!r} is not a file; give a PEM file of root certificates"
        )
    results = run_smoke(url, timeout=timeout, min_cert_days=min_cert_days, ca_bundle=ca_bundle)
    for result in results:
        click.echo(result.line())
    failed = [r for r in results if r.status == "FAIL"]
    if failed:
        raise OpsError(
            f"{len(failed)} of {len(results)} smoke checks failed: " + ", ".join(r.name for r in failed)
        )
    click.echo(f"all {len(results)} smoke checks passed")
