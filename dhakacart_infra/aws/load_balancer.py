"""The cluster's entry points: one network load balancer across the zones, with a fixed address in each.

  :6443 -> the servers' Kubernetes API (health: K3s's unauthenticated /ping over HTTPS)
  :80   -> Traefik's HTTP NodePort on every ingress node
  :443  -> Traefik's HTTPS NodePort on every ingress node (TLS ends in Traefik: cert-manager's certs)

An Elastic IP per zone makes the addresses stable for the life of the stack (the sslip.io host name
and the API certificate name them); cross-zone balancing lets any address reach any healthy node.
Ingress targets keep the client's address (Traefik, the shop's logs and rate limits see it); the
API's target group does not, so a server that registers through the load balancer is never
routed back to itself (an NLB drops such hairpinned connections).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from ..names import HTTP_NODE_PORT, HTTPS_NODE_PORT, KUBERNETES_API_PORT
from ..tags import with_name

HEALTH_CHECK_SECONDS = 10
DEREGISTRATION_DELAY_SECONDS = 30  # in-flight connections get this long when a target leaves


@dataclass
class ClusterEntryPointsArgs:
    name_prefix: str
    vpc_id: pulumi.Input[str]
    subnet_ids: pulumi.Input[list[str]]
    """One public subnet per zone."""
    zone_count: int
    security_group_id: pulumi.Input[str]
    deletion_protection: bool


class ClusterEntryPoints(pulumi.ComponentResource):
    dns_name: pulumi.Output[str]
    zone_id: pulumi.Output[str]
    """The load balancer's Route 53 hosted zone (for an alias record)."""
    addresses: pulumi.Output[list[str]]
    api_target_group_arn: pulumi.Output[str]
    ingress_target_group_arns: pulumi.Output[list[str]]

    def __init__(
        self, name: str, args: ClusterEntryPointsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("dhakacart:aws:ClusterEntryPoints", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        prefix = args.name_prefix
        subnets = pulumi.Output.from_input(args.subnet_ids)
        addresses = [
            aws.ec2.Eip(f"{name}-address-{i}", domain="vpc", tags=with_name(f"{prefix}-k3s-{i}"), opts=child)
            for i in range(args.zone_count)
        ]
        balancer = aws.lb.LoadBalancer(
            f"{name}-nlb",
            name=f"{prefix}-k3s",
            load_balancer_type="network",
            internal=False,
            ip_address_type="ipv4",
            security_groups=[args.security_group_id],
            subnet_mappings=[
                aws.lb.LoadBalancerSubnetMappingArgs(
                    subnet_id=subnets.apply(lambda ids, i=i: ids[i]), allocation_id=address.allocation_id
                )
                for i, address in enumerate(addresses)
            ],
            enable_cross_zone_load_balancing=True,
            enable_deletion_protection=args.deletion_protection,
            tags=with_name(f"{prefix}-k3s"),
            opts=child,
        )

        def target_group(
            suffix: str, port: int, health: aws.lb.TargetGroupHealthCheckArgs, keep_client_address: bool
        ) -> aws.lb.TargetGroup:
            return aws.lb.TargetGroup(
                f"{name}-{suffix}",
                name=f"{prefix}-{suffix}",
                port=port,
                protocol="TCP",
                target_type="instance",
                vpc_id=args.vpc_id,
                preserve_client_ip="true" if keep_client_address else "false",
                deregistration_delay=DEREGISTRATION_DELAY_SECONDS,
                health_check=health,
                tags=with_name(f"{prefix}-{suffix}"),
                opts=child,
            )

        def tcp_health() -> aws.lb.TargetGroupHealthCheckArgs:
            # Traefik's NodePorts use externalTrafficPolicy Local: a node without a ready Traefik
            # drops the connection, so the node leaves before it could receive traffic.
            return aws.lb.TargetGroupHealthCheckArgs(
                protocol="TCP",
                port="traffic-port",
                interval=HEALTH_CHECK_SECONDS,
                healthy_threshold=2,
                unhealthy_threshold=2,
            )

        api = target_group(
            "api",
            KUBERNETES_API_PORT,
            aws.lb.TargetGroupHealthCheckArgs(
                protocol="HTTPS",
                path="/ping",
                port="traffic-port",
                matcher="200",
                interval=HEALTH_CHECK_SECONDS,
                healthy_threshold=2,
                unhealthy_threshold=2,
            ),
            keep_client_address=False,
        )
        http = target_group("http", HTTP_NODE_PORT, tcp_health(), keep_client_address=True)
        https = target_group("https", HTTPS_NODE_PORT, tcp_health(), keep_client_address=True)
        for port, group in ((KUBERNETES_API_PORT, api), (80, http), (443, https)):
            aws.lb.Listener(
                f"{name}-listener-{port}",
                load_balancer_arn=balancer.arn,
                port=port,
                protocol="TCP",
                default_actions=[
                    aws.lb.ListenerDefaultActionArgs(type="forward", target_group_arn=group.arn)
                ],
                tags=with_name(f"{prefix}-k3s-{port}"),
                opts=child,
            )

        self.dns_name = balancer.dns_name
        self.zone_id = balancer.zone_id
        self.addresses = pulumi.Output.all(*[a.public_ip for a in addresses])
        self.api_target_group_arn = api.arn
        self.ingress_target_group_arns = pulumi.Output.all(http.arn, https.arn)
        self.register_outputs(
            {
                "dns_name": self.dns_name,
                "zone_id": self.zone_id,
                "addresses": self.addresses,
                "api_target_group_arn": self.api_target_group_arn,
                "ingress_target_group_arns": self.ingress_target_group_arns,
            }
        )
