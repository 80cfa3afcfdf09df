"""Where every shop process counts its rate limits: one Redis-compatible server (Valkey) in the
shop's namespace, so "10 logins a minute per address" means ten at any number of pods and workers.

The counters are worth little on their own: no persistence, a memory ceiling with eviction of the
least recently used keys, one replica. If it is away (a drain, a node loss), the shop fails open
to per-process counting (app/dhakacart/__init__.py) until it is back; its PDB lets a drain move
it, and only the shop's serving pods may reach it, with the password in a Secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from ...names import SHOP_APP_NAME
from ..labels import recommended_labels, selector_labels
from .pods import container_security_context, pod_security_context

RATE_LIMITS_COMPONENT = "rate-limits"
VALKEY_IMAGE = "valkey/valkey:9.0.8-alpine3.24"
VALKEY_PORT = 6379
# Not the image's own valkey user (999): a high UID that no host account can share. Valkey needs
# nothing of its own on disk here (no persistence; its one writable path is an emptyDir).
VALKEY_USER = 10999
MAX_MEMORY = "48mb"  # under the container's 96Mi limit, with room for the server itself
CONFIG_FILE = "valkey.conf"
CONFIG_DIR = "/etc/valkey"


@dataclass(frozen=True)
class RateLimitStore:
    service: k8s.core.v1.Service
    storage_uri: pulumi.Output[str]
    """Secret: redis://:<password>@<service>:6379/0, the shop's RATELIMIT_STORAGE_URI."""
    pod_labels: dict[str, str]


def valkey_config(password: str) -> str:
    return "\n".join(
        [
            f"port {VALKEY_PORT}",
            f"requirepass {password}",
            'save ""',  # counters only: nothing on disk
            "appendonly no",
            f"maxmemory {MAX_MEMORY}",
            "maxmemory-policy allkeys-lru",
            "protected-mode no",  # the password and the NetworkPolicy guard it
            "",
        ]
    )


def rate_limit_store(name: str, namespace: pulumi.Input[str], parent: pulumi.Resource) -> RateLimitStore:
    child = pulumi.ResourceOptions(parent=parent)
    service_name = f"{SHOP_APP_NAME}-{RATE_LIMITS_COMPONENT}"
    labels = recommended_labels(SHOP_APP_NAME, RATE_LIMITS_COMPONENT)
    selector = selector_labels(SHOP_APP_NAME, RATE_LIMITS_COMPONENT)
    password = random.RandomPassword(f"{name}-rate-limits-password", length=32, special=False, opts=child)
    config = k8s.core.v1.Secret(
        f"{name}-rate-limits-config",
        metadata={"namespace": namespace, "labels": labels},
        type="Opaque",
        immutable=True,  # a new password is a new Secret, which rolls the server
        string_data=pulumi.Output.secret({CONFIG_FILE: password.result.apply(valkey_config)}),
        opts=child,
    )
    k8s.apps.v1.Deployment(
        f"{name}-rate-limits",
        metadata={"name": service_name, "namespace": namespace, "labels": labels},
        spec={
            "replicas": 1,
            "strategy": {"type": "Recreate"},  # one set of counters at a time
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "securityContext": pod_security_context(VALKEY_USER),
                    "containers": [
                        {
                            "name": "valkey",
                            "image": VALKEY_IMAGE,
                            "imagePullPolicy": "IfNotPresent",
                            "command": ["valkey-server", f"{CONFIG_DIR}/{CONFIG_FILE}"],
                            "ports": [{"name": "valkey", "containerPort": VALKEY_PORT, "protocol": "TCP"}],
                            "readinessProbe": {"tcpSocket": {"port": "valkey"}, "periodSeconds": 5},
                            "livenessProbe": {"tcpSocket": {"port": "valkey"}, "periodSeconds": 10},
                            "resources": {
                                "requests": {"cpu": "20m", "memory": "32Mi"},
                                "limits": {"cpu": "250m", "memory": "96Mi"},
                            },
                            "securityContext": container_security_context(VALKEY_USER),
                            "volumeMounts": [
                                {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
                                {"name": "data", "mountPath": "/data"},
                            ],
                        }
                    ],
                    "volumes": [
                        {
                            "name": "config",
                            "secret": {"secretName": config.metadata["name"], "defaultMode": 0o400},
                        },
                        {"name": "data", "emptyDir": {"sizeLimit": "16Mi"}},
                    ],
                },
            },
        },
        opts=child,
    )
    service = k8s.core.v1.Service(
        f"{name}-rate-limits-service",
        metadata={"name": service_name, "namespace": namespace, "labels": labels},
        spec={
            "selector": selector,
            "ports": [{"name": "valkey", "port": VALKEY_PORT, "targetPort": "valkey", "protocol": "TCP"}],
        },
        opts=child,
    )
    # One replica: the budget lets a drain move it (the shop fails open meanwhile) rather than
    # blocking every node drain and upgrade forever.
    k8s.policy.v1.PodDisruptionBudget(
        f"{name}-rate-limits-pdb",
        metadata={"name": service_name, "namespace": namespace, "labels": labels},
        spec={"maxUnavailable": 1, "selector": {"matchLabels": selector}},
        opts=child,
    )
    storage_uri = pulumi.Output.secret(
        pulumi.Output.all(password.result, namespace).apply(
            lambda v: f"redis://:{quote(v[0], safe='')}@{service_name}.{v[1]}.svc:{VALKEY_PORT}/0"
        )
    )
    return RateLimitStore(service=service, storage_uri=storage_uri, pod_labels=selector)
