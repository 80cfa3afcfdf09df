"""Rules over several keys, and the rules that hold in production only, beside the key table.

Each rule reads the parsed values (None where a key was missing or refused, so rules never judge
a value twice) and returns the problems it finds. `environment` is the stack's `environment` key.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .kinds import IPV6_REASON


@dataclass(frozen=True)
class Finding:
    """One problem a rule found: the key (or `key.field`), its value, why, and the value to suggest."""

    key: str
    value: Any
    reason: str
    example: str


Values = Mapping[str, Any]
Rule = Callable[[Values, str], list[Finding]]

ADMIN_EXAMPLE = "adminCidrs[0] 203.0.113.7/32"


def admin_api_not_world_open(values: Values, environment: str) -> list[Finding]:
    """`adminCidrs` never holds an IPv6 range (the VPC is IPv4-only), nor 0.0.0.0/0 in prod."""
    found = []
    for cidr in values.get("adminCidrs") or ():
        network = ipaddress.ip_network(cidr)
        if network.prefixlen == 0 and environment == "prod":
            found.append(
                Finding(
                    "adminCidrs",
                    cidr,
                    "opens the Kubernetes API to the whole internet, which prod "
                    "forbids; list your office or VPN egress addresses",
                    ADMIN_EXAMPLE,
                )
            )
        elif network.version == 6:
            found.append(Finding("adminCidrs", cidr, IPV6_REASON, ADMIN_EXAMPLE))
    return found


# Protections prod may not switch off: key -> why.
PRODUCTION_TRUE = {
    "dbMultiAz": "must be true in prod: a single-AZ database is an outage when its zone fails",
    "dbDeletionProtection": "must be true in prod so a stray `pulumi destroy` cannot delete the database",
    "dbFinalSnapshot": "must be true in prod: a database deleted without a final snapshot takes every order "
    "with it",
    "k3sTerminationProtection": "must be true in prod so a stray `pulumi destroy` or console click cannot "
    "terminate the cluster's server",
    "k3sDedicatedServers": "must be true in prod: a busy shop on the servers could starve etcd and the "
    "Kubernetes API",
}


def production_protections(values: Values, environment: str) -> list[Finding]:
    """In prod, every protection in PRODUCTION_TRUE is on:"""
    if environment != "prod":
        return []
    return [
        Finding(key, False, reason, "true")
        for key, reason in PRODUCTION_TRUE.items()
        if values.get(key) is False
    ]


def production_certificates(values: Values, environment: str) -> list[Finding]:
    """In prod, `tlsIssuer` is letsencrypt-production."""
    issuer = values.get("tlsIssuer")
    if environment == "prod" and issuer == "letsencrypt-staging":
        return [
            Finding(
                "tlsIssuer",
                issuer,
                "must be letsencrypt-production in prod: browsers do not trust "
                "Let's Encrypt staging certificates",
                "letsencrypt-production",
            )
        ]
    return []


def production_replicas(values: Values, environment: str) -> list[Finding]:
    """In prod, `web.minReplicas` and `api.minReplicas` are at least 2."""
    if environment != "prod":
        return []
    found = []
    for key in ("web", "api"):
        size = values.get(key)
        if size is not None and size["minReplicas"] < 2:
            found.append(
                Finding(
                    f"{key}.minReplicas",
                    size["minReplicas"],
                    "must be at least 2 in prod so one pod "
                    "can be disrupted (PodDisruptionBudget) without an outage",
                    f"{key}.minReplicas 3",
                )
            )
    return found


def storage_ceiling_above_start(values: Values, environment: str) -> list[Finding]:
    """`dbMaxAllocatedStorageGb` is larger than `dbAllocatedStorageGb`."""
    start, ceiling = values.get("dbAllocatedStorageGb"), values.get("dbMaxAllocatedStorageGb")
    if start is not None and ceiling is not None and ceiling <= start:
        return [
            Finding(
                "dbMaxAllocatedStorageGb",
                ceiling,
                f"must be larger than dbAllocatedStorageGb ({start}) for storage autoscaling to have room",
                str(start * 2),
            )
        ]
    return []


def email_alerts_complete(values: Values, environment: str) -> list[Finding]:
    """`alertEmailTo` needs `alertSmtpSmarthost` and `alertSmtpFrom`; any SMTP key needs `alertEmailTo`."""
    if values.get("alertEmailTo"):
        return [
            Finding(
                key,
                None,
                "is required when alertEmailTo is set (Alertmanager needs a mail server and a sender)",
                example,
            )
            for key, example in (
                ("alertSmtpSmarthost", "email-smtp.ap-south-1.amazonaws.com:587"),
                ("alertSmtpFrom", "alerts@dhakacart.example"),
            )
            if not values.get(key)
        ]
    smtp_keys = ("alertSmtpSmarthost", "alertSmtpFrom", "alertSmtpUsername", "alertSmtpPassword")
    if any(values.get(k) for k in smtp_keys):
        return [
            Finding(
                "alertEmailTo",
                None,
                "is required when alertSmtpSmarthost, alertSmtpFrom, "
                "alertSmtpUsername or alertSmtpPassword is set",
                "oncall@dhakacart.example",
            )
        ]
    return []


def etcd_quorum(values: Values, environment: str) -> list[Finding]:
    """`k3sServers` is odd, and at least 3 in prod."""
    servers = values.get("k3sServers")
    if servers is None:
        return []
    if servers % 2 == 0:
        return [
            Finding(
                "k3sServers",
                servers,
                "must be odd: etcd needs a majority, and an even number of "
                "servers survives no more failures than one fewer",
                str(servers + 1),
            )
        ]
    if environment == "prod" and servers < 3:
        return [
            Finding(
                "k3sServers",
                servers,
                "must be at least 3 in prod: only with three does etcd keep "
                "its quorum when a server or a zone is lost",
                "3",
            )
        ]
    return []


def agent_group_bounds(values: Values, environment: str) -> list[Finding]:
    """`k3sAgentMaxSize` is at least `k3sAgentMinSize`."""
    low, high = values.get("k3sAgentMinSize"), values.get("k3sAgentMaxSize")
    if low is not None and high is not None and high < low:
        return [Finding("k3sAgentMaxSize", high, f"must be at least k3sAgentMinSize ({low})", str(low))]
    return []


def strict_spread_is_satisfiable(values: Values, environment: str) -> list[Finding]:
    """With `zoneSpread` strict, a node that may run the shop stands in every zone, and `web` and `api`
    keep two pods per zone, so a drain (one pod at a time) leaves one in every zone."""
    if values.get("zoneSpread") != "strict" or values.get("availabilityZones") is None:
        return []
    zones = values["availabilityZones"]
    found = []
    agents, servers = values.get("k3sAgentMinSize"), values.get("k3sServers")
    shop_on_servers = values.get("k3sDedicatedServers") is False and servers is not None and servers >= zones
    if agents is not None and agents < zones and not shop_on_servers:
        found.append(
            Finding(
                "k3sAgentMinSize",
                agents,
                f"must be at least availabilityZones ({zones}) with "
                "zoneSpread strict: a zone without a node would leave the shop's pods pending",
                str(zones),
            )
        )
    for key in ("web", "api"):
        size = values.get(key)
        if size is not None and size["minReplicas"] < 2 * zones:
            found.append(
                Finding(
                    f"{key}.minReplicas",
                    size["minReplicas"],
                    f"must be at least {2 * zones} "
                    f"(two per zone) with zoneSpread strict, so a drain always leaves a pod in "
                    "every zone",
                    f"{key}.minReplicas {2 * zones}",
                )
            )
    return found


def maintenance_window_is_a_window(values: Values, environment: str) -> list[Finding]:
    """`maintenanceEnd` comes after `maintenanceStart` on the same day."""
    start, end = values.get("maintenanceStart"), values.get("maintenanceEnd")
    if start is not None and end is not None and end <= start:
        reason = f"must be after maintenanceStart ({start}) on the same day"
        return [Finding("maintenanceEnd", end, reason, "05:00")]
    return []


def production_drill_alarms(values: Values, environment: str) -> list[Finding]:
    """In prod, `drillMaxAgeDays` is at least 1: an untested backup must not go unnoticed."""
    days = values.get("drillMaxAgeDays")
    if environment == "prod" and days == 0:
        return [
            Finding(
                "drillMaxAgeDays",
                days,
                "must be at least 1 in prod: without the drill alarms nobody notices that the backups "
                "stopped being proven restorable",
                "7",
            )
        ]
    return []


RULES: tuple[Rule, ...] = (
    admin_api_not_world_open,
    production_protections,
    production_certificates,
    production_replicas,
    storage_ceiling_above_start,
    email_alerts_complete,
    etcd_quorum,
    agent_group_bounds,
    strict_spread_is_satisfiable,
    maintenance_window_is_a_window,
    production_drill_alarms,
)
