"""The shop's and Grafana's names in a Route 53 hosted zone, owned by Pulumi (given `hostedZoneId`).

Alias A records to the network load balancer: they follow the balancer's addresses by themselves,
cost nothing per query, and answer only while the balancer has a healthy target (evaluate target
health). A record that already exists is not taken over (`allow_overwrite` off): `pulumi up` stops
with Route 53's error instead, and docs/DEPLOYMENT_GUIDE.md ("DNS and TLS") says how to import it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass
class DnsRecordsArgs:
    zone_id: str
    names: dict[str, str]
    """What each record is for ("shop", "grafana") -> its DNS name, inside the zone."""
    target_dns_name: pulumi.Input[str]
    """The load balancer's DNS name (ClusterEntryPoints.dns_name)."""
    target_zone_id: pulumi.Input[str]
    """The load balancer's own hosted zone (ClusterEntryPoints.zone_id)."""


class DnsRecords(pulumi.ComponentResource):
    hosts: dict[str, pulumi.Output[str]]
    """Each name, known once its record exists: an Ingress given it waits for its record, so
    cert-manager's HTTP-01 challenge never asks Let's Encrypt about a name that does not resolve."""

    def __init__(self, name: str, args: DnsRecordsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("dhakacart:aws:DnsRecords", name, None, opts)
        self.hosts = {}
        for purpose, host in sorted(args.names.items()):
            record = aws.route53.Record(
                f"{name}-{purpose}",
                zone_id=args.zone_id,
                name=host,
                type="A",
                aliases=[
                    aws.route53.RecordAliasArgs(
                        name=args.target_dns_name,
                        zone_id=args.target_zone_id,
                        evaluate_target_health=True,
                    )
                ],
                allow_overwrite=False,
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.hosts[purpose] = record.name.apply(lambda _, host=host: host)
        self.register_outputs({"hosts": self.hosts})
