"""A read-only Role for the people who operate the shop.

It lets a person see what is running and why it misbehaves (pods, their logs, events, the
workloads and autoscalers that own them) in the shop's namespace, and nothing else: no Secrets,
no exec, no port-forward, no writes. It is declared here and bound by whoever grants access (see
docs/ARCHITECTURE.md, "The shop on Kubernetes"), so granting a person access never needs a `pulumi up`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from .labels import recommended_labels

READ = ["get", "list", "watch"]

OPERATOR_RULES = [
    {"apiGroups": [""], "resources": ["pods", "pods/log", "events", "services", "endpoints", "configmaps"],
     "verbs": READ},
    {"apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": READ},
    {"apiGroups": ["apps"], "resources": ["deployments", "replicasets"], "verbs": READ},
    {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": READ},
    {"apiGroups": ["autoscaling"], "resources": ["horizontalpodautoscalers"], "verbs": READ},
    {"apiGroups": ["policy"], "resources": ["poddisruptionbudgets"], "verbs": READ},
    {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses", "networkpolicies"], "verbs": READ},
    {"apiGroups": ["metrics.k8s.io"], "resources": ["pods"], "verbs": READ},
]


@dataclass
class OperatorRoleArgs:
    namespace: pulumi.Input[str]
    app_name: str


class OperatorRole(pulumi.ComponentResource):
    role_name: pulumi.Output[str]

    def __init__(self, name: str, args: OperatorRoleArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("dhakacart:k8s:OperatorRole", name, None, opts)
        self.role = k8s.rbac.v1.Role(
            f"{name}-role",
            metadata={"name": f"{args.app_name}-operator", "namespace": args.namespace,
                      "labels": recommended_labels(args.app_name, "rbac")},
            rules=OPERATOR_RULES,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.role_name = self.role.metadata["name"]
        self.register_outputs({"role_name": self.role_name})
