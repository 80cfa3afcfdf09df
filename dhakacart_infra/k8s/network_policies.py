"""Network policies for the shop's namespace: deny everything, then allow exactly what it needs.

K3s enforces NetworkPolicy with its embedded kube-router controller. Kubelet probes come from the
node itself, which kube-router always lets through, so the probes need no rule here.

Allowed, and nothing else:
  * Traefik (kube-system, app.kubernetes.io/name=traefik) -> web and api on the app port;
  * Traefik -> cert-manager's HTTP-01 solver pods (they run in this namespace during issuance);
  * web, api -> the database subnets on the database port; the migration Job -> the same;
  * every pod -> cluster DNS (kube-system, k8s-app=kube-dns) on 53 UDP and TCP;
  * the monitoring namespace -> web and api on the metrics port.

Also here, for the other namespaces: `deny_instance_metadata`, the one egress policy that keeps
their pods away from the EC2 instance metadata service (see its docstring).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from ..names import KUBE_SYSTEM_NAMESPACE, MONITORING_NAMESPACE
from .labels import recommended_labels

KUBE_SYSTEM = KUBE_SYSTEM_NAMESPACE
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"  # set by Kubernetes on every namespace
TRAEFIK_POD_LABELS = {"app.kubernetes.io/name": "traefik"}
DNS_POD_LABELS = {"k8s-app": "kube-dns"}
ACME_SOLVER_POD_LABELS = {"acme.cert-manager.io/http01-solver": "true"}
ACME_SOLVER_PORT = 8089  # cert-manager's acmesolver listens here
# The EC2 instance metadata service: it hands out the node's instance-role credentials.
INSTANCE_METADATA_CIDR = "169.254.169.254/32"
ANY_IPV4 = "0.0.0.0/0"
DENY_INSTANCE_METADATA = "deny-instance-metadata"


@dataclass
class ShopNetworkPoliciesArgs:
    namespace: pulumi.Input[str]
    app_name: str
    """Value of app.kubernetes.io/name on the shop's pods."""
    serving_components: Sequence[str]
    """app.kubernetes.io/component values of the pods that serve HTTP (web, api)."""
    migration_component: str
    database_cidrs: pulumi.Input[Sequence[pulumi.Input[str]]]
    database_port: pulumi.Input[int]
    app_port: int
    metrics_port: int
    monitoring_namespace: str = MONITORING_NAMESPACE
    rate_limit_store_labels: dict[str, str] | None = None
    """The shared rate-limit store's pod labels: only the serving pods may talk to it."""
    rate_limit_store_port: int = 6379


def _from_namespace(namespace: str, pod_labels: dict[str, str] | None = None) -> dict:
    peer: dict = {"namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: namespace}}}
    if pod_labels is not None:
        peer["podSelector"] = {"matchLabels": pod_labels}
    return peer


class ShopNetworkPolicies(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: ShopNetworkPoliciesArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("dhakacart:k8s:ShopNetworkPolicies", name, None, opts)
        labels = recommended_labels(args.app_name, "network-policy")
        serving = {
            "matchLabels": {"app.kubernetes.io/name": args.app_name},
            "matchExpressions": [{"key": "app.kubernetes.io/component", "operator": "In",
                                  "values": list(args.serving_components)}],
        }
        migration = {"matchLabels": {"app.kubernetes.io/name": args.app_name,
                                     "app.kubernetes.io/component": args.migration_component}}
        database_egress = pulumi.Output.all(args.database_cidrs, args.database_port).apply(
            lambda v: [{
                "to": [{"ipBlock": {"cidr": cidr}} for cidr in _checked_cidrs(v[0])],
                "ports": [{"protocol": "TCP", "port": int(v[1])}],
            }]
        )

        def policy(suffix: str, spec: dict) -> k8s.networking.v1.NetworkPolicy:
            return k8s.networking.v1.NetworkPolicy(
                f"{name}-{suffix}",
                metadata={"name": suffix, "namespace": args.namespace, "labels": labels},
                spec=spec,
                opts=pulumi.ResourceOptions(parent=self),
            )

        self.policies = [
            # An empty pod selector with both policy types and no rules: nothing in, nothing out.
            policy("default-deny-all", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}),
            policy("allow-dns", {
                "podSelector": {},
                "policyTypes": ["Egress"],
                "egress": [{
                    "to": [_from_namespace(KUBE_SYSTEM, DNS_POD_LABELS)],
                    "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                }],
            }),
            policy("allow-traefik-to-app", {
                "podSelector": serving,
                "policyTypes": ["Ingress"],
                "ingress": [{
                    "from": [_from_namespace(KUBE_SYSTEM, TRAEFIK_POD_LABELS)],
                    "ports": [{"protocol": "TCP", "port": args.app_port}],
                }],
            }),
            policy("allow-traefik-to-acme-solver", {
                "podSelector": {"matchLabels": ACME_SOLVER_POD_LABELS},
                "policyTypes": ["Ingress"],
                "ingress": [{
                    "from": [_from_namespace(KUBE_SYSTEM, TRAEFIK_POD_LABELS)],
                    "ports": [{"protocol": "TCP", "port": ACME_SOLVER_PORT}],
                }],
            }),
            policy("allow-app-to-database", {
                "podSelector": serving,
                "policyTypes": ["Egress"],
                "egress": database_egress,
            }),
            policy("allow-migration-to-database", {
                "podSelector": migration,
                "policyTypes": ["Egress"],
                "egress": database_egress,
            }),
            policy("allow-monitoring-to-metrics", {
                "podSelector": serving,
                "policyTypes": ["Ingress"],
                "ingress": [{
                    "from": [_from_namespace(args.monitoring_namespace)],
                    "ports": [{"protocol": "TCP", "port": args.metrics_port}],
                }],
            }),
        ]
        if args.rate_limit_store_labels:
            store = {"matchLabels": dict(args.rate_limit_store_labels)}
            port = [{"protocol": "TCP", "port": args.rate_limit_store_port}]
            self.policies += [
                policy("allow-app-to-rate-limits", {
                    "podSelector": serving,
                    "policyTypes": ["Egress"],
                    "egress": [{"to": [{"podSelector": store}], "ports": port}],
                }),
                policy("allow-rate-limits-from-app", {
                    "podSelector": store,
                    "policyTypes": ["Ingress"],
                    "ingress": [{"from": [{"podSelector": serving}], "ports": port}],
                }),
            ]
        self.register_outputs({"policy_names": [p.metadata["name"] for p in self.policies]})


def _checked_cidrs(cidrs: Sequence[str]) -> list[str]:
    if not cidrs:
        raise ValueError(
            "the shop's network policies need the database subnets' CIDRs to allow traffic to "
            "PostgreSQL, and got none: pass the network's private_subnet_cidrs"
        )
    return [str(c) for c in cidrs]


def everything_but_instance_metadata() -> list[dict]:
    """Egress rules that allow every destination except the instance metadata service: any address
    outside it (the internet, the VPC, the node and so the API server) and, by pod, every pod in
    the cluster (CoreDNS included): how ipBlock treats pod addresses is left to the network plugin."""
    return [
        {"to": [{"ipBlock": {"cidr": ANY_IPV4, "except": [INSTANCE_METADATA_CIDR]}}]},
        {"to": [{"namespaceSelector": {}}]},
    ]


def deny_instance_metadata(
    name: str,
    namespace: pulumi.Input[str],
    labels: Mapping[str, str],
    opts: pulumi.ResourceOptions,
) -> list[k8s.networking.v1.NetworkPolicy]:
    """The egress policy that keeps every pod of `namespace` from the instance metadata service and
    so from the node's instance role; everything else stays allowed.

    The nodes' IMDSv2 hop limit of 1 already keeps a pod from getting a token back, and the node's
    firewall (aws/node_files/imds-root-only.nft) any non-root process; this is the third wall, in
    each namespace that does not deny egress by default. No pod is excepted: pods that call AWS
    have roles of their own (aws/workload_role.py). `opts` must carry the owning component as
    parent."""
    return [k8s.networking.v1.NetworkPolicy(
        f"{name}-{DENY_INSTANCE_METADATA}",
        metadata={"name": DENY_INSTANCE_METADATA, "namespace": namespace, "labels": dict(labels)},
        spec={"podSelector": {}, "policyTypes": ["Egress"], "egress": everything_but_instance_metadata()},
        opts=opts,
    )]
