"""Who may talk to whom: the load balancer, the cluster's nodes and the database.

  internet        -> load balancer: 80 and 443
  adminCidrs      -> load balancer: 6443 (the Kubernetes API)
  load balancer   -> nodes: Traefik's NodePorts and 6443 (traffic and health checks)
  nodes           -> nodes: everything (flannel, kubelet, etcd among servers)
  nodes           -> load balancer: 6443 (agents and joining servers register there)
  nodes           -> database: 5432
  nodes           -> anywhere: out (images, K3s, ACME, AWS APIs)
Nothing else reaches a node: no SSH, and the NodePorts only through the load balancer, whose
security group the nodes' rules name (it works with the client's address preserved).
Every rule is a resource of its own, since the groups refer to each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from ..names import HTTP_NODE_PORT, HTTPS_NODE_PORT, KUBERNETES_API_PORT, POSTGRES_PORT
from ..tags import with_name

ANYWHERE = "0.0.0.0/0"


@dataclass(frozen=True)
class SecurityGroups:
    load_balancer: aws.ec2.SecurityGroup
    nodes: aws.ec2.SecurityGroup
    database: aws.ec2.SecurityGroup


def security_groups(
    name: str, prefix: str, vpc_id: pulumi.Input[str], admin_cidrs: Sequence[str], parent: pulumi.Resource
) -> SecurityGroups:
    child = pulumi.ResourceOptions(parent=parent)

    def group(suffix: str, physical: str, description: str) -> aws.ec2.SecurityGroup:
        return aws.ec2.SecurityGroup(
            f"{name}-{suffix}-sg",
            vpc_id=vpc_id,
            name=f"{prefix}-{physical}",
            description=description,
            tags=with_name(f"{prefix}-{physical}"),
            opts=child,
        )

    lb = group(
        "load-balancer", "k3s-lb", "Cluster entry: HTTP(S) from anywhere, Kubernetes API from admin CIDRs"
    )
    nodes = group("cluster", "k3s", "K3s nodes: only from the load balancer and from each other, no SSH")
    database = group("database", "database", "PostgreSQL from the K3s nodes only")

    def rule(
        kind: type[aws.vpc.SecurityGroupIngressRule] | type[aws.vpc.SecurityGroupEgressRule],
        suffix: str,
        group_: aws.ec2.SecurityGroup,
        port: int | None,
        description: str,
        cidr: str | None,
        peer: aws.ec2.SecurityGroup | None,
    ) -> None:
        kind(
            f"{name}-{suffix}",
            security_group_id=group_.id,
            description=description,
            ip_protocol="tcp" if port is not None else "-1",
            from_port=port,
            to_port=port,
            cidr_ipv4=cidr,
            referenced_security_group_id=peer.id if peer is not None else None,
            tags=with_name(f"{prefix}-{suffix}"),
            opts=child,
        )

    def ingress(
        suffix: str,
        target: aws.ec2.SecurityGroup,
        port: int | None,
        description: str,
        *,
        cidr: str | None = None,
        source: aws.ec2.SecurityGroup | None = None,
    ) -> None:
        rule(aws.vpc.SecurityGroupIngressRule, suffix, target, port, description, cidr, source)

    def egress(
        suffix: str,
        origin: aws.ec2.SecurityGroup,
        port: int | None,
        description: str,
        *,
        cidr: str | None = None,
        target: aws.ec2.SecurityGroup | None = None,
    ) -> None:
        rule(aws.vpc.SecurityGroupEgressRule, suffix, origin, port, description, cidr, target)

    ingress("lb-http", lb, 80, "HTTP (ACME challenges, redirect to HTTPS)", cidr=ANYWHERE)
    ingress("lb-https", lb, 443, "HTTPS (the shop, Grafana)", cidr=ANYWHERE)
    for index, cidr in enumerate(admin_cidrs):
        ingress(
            f"lb-api-admin-{index}", lb, KUBERNETES_API_PORT, "Kubernetes API from an admin CIDR", cidr=cidr
        )
    ingress("lb-api-nodes", lb, KUBERNETES_API_PORT, "Nodes register with the cluster", source=nodes)
    for port, what in ((HTTP_NODE_PORT, "HTTP"), (HTTPS_NODE_PORT, "HTTPS"), (KUBERNETES_API_PORT, "API")):
        egress(
            f"lb-to-nodes-{port}", lb, port, f"{what} traffic and health checks to the nodes", target=nodes
        )
        ingress(f"nodes-from-lb-{port}", nodes, port, f"{what} from the load balancer", source=lb)
    ingress("nodes-from-nodes", nodes, None, "Everything between the cluster's nodes", source=nodes)
    egress("nodes-out", nodes, None, "Images, K3s install, ACME, AWS APIs, the database", cidr=ANYWHERE)
    ingress("database-from-nodes", database, POSTGRES_PORT, "PostgreSQL from the K3s nodes", source=nodes)
    return SecurityGroups(load_balancer=lb, nodes=nodes, database=database)
