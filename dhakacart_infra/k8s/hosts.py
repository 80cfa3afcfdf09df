"""Host names the shop and Grafana answer on.

With a domain configured, that domain. Without one, a name that resolves to the cluster's public IP
through sslip.io's wildcard DNS ("13-232-1-7.sslip.io" -> 13.232.1.7), so a stack gets real
Let's Encrypt certificates without anyone owning a domain.
"""

from __future__ import annotations

import ipaddress

import pulumi

from ..errors import ComponentInputError

WILDCARD_DNS_SUFFIX = "sslip.io"


def sslip_host(public_ip: str) -> str:
    try:
        address = ipaddress.IPv4Address(public_ip)
    except ValueError as error:
        raise ComponentInputError(
            f"cannot derive a host name from the cluster's public IP {public_ip!r}: it is not an IPv4 "
            "address: give the shop a domain name instead"
        ) from error
    return f"{str(address).replace('.', '-')}.{WILDCARD_DNS_SUFFIX}"


def shop_host(domain_name: str | None, public_ip: pulumi.Input[str]) -> pulumi.Output[str]:
    """The shop's host: the configured domain, else "<ip with dashes>.sslip.io"."""
    if domain_name:
        return pulumi.Output.from_input(domain_name.strip().rstrip(".").lower())
    return pulumi.Output.from_input(public_ip).apply(sslip_host)


def grafana_host(domain_name: str | None, public_ip: pulumi.Input[str]) -> pulumi.Output[str]:
    return shop_host(domain_name, public_ip).apply(lambda host: f"grafana.{host}")
