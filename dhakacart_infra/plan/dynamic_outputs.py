"""What each dynamic provider of the program would return, for the mocks (which cannot run provider code).

The plan layer depends on the program, never the reverse: these fakes live here, keyed by the type
token the program's dynamic resource declares, so a real `pulumi up` never loads any of them.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import yaml

from ..aws.kubeconfig import ORIGIN_MARKER
from ..aws.kubeconfig import TYPE_TOKEN as K3S_KUBECONFIG

DynamicOutputs = Callable[[str, dict[str, Any]], dict[str, Any]]


def fake_pem(kind: str, label: str) -> str:
    body = base64.b64encode(f"offline-plan {label} {kind}".encode() * 3).decode()
    return f"-----BEGIN {kind}-----\n{body}\n-----END {kind}-----\n"


def k3s_kubeconfig_outputs(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """What the real provider returns, shaped like K3s's kubeconfig (server = https://<EIP>:6443)."""
    b64 = lambda text: base64.b64encode(text.encode()).decode()  # noqa: E731
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "default",
        "preferences": {},
        "clusters": [
            {
                "name": "default",
                "cluster": {
                    "server": inputs.get("server_url", "https://127.0.0.1:6443"),
                    "certificate-authority-data": b64(fake_pem("CERTIFICATE", "k3s-server-ca")),
                },
            }
        ],
        "contexts": [{"name": "default", "context": {"cluster": "default", "user": "default"}}],
        "users": [
            {
                "name": "default",
                "user": {
                    "client-certificate-data": b64(fake_pem("CERTIFICATE", "k3s-admin")),
                    "client-key-data": b64(fake_pem("EC PRIVATE KEY", "k3s-admin")),
                },
            }
        ],
    }
    servers = inputs.get("server_instance_ids") or [""]
    marker = f"{ORIGIN_MARKER}cluster={inputs.get('cluster_fingerprint', '')} server={servers[0]}\n"
    return {"kubeconfig": marker + yaml.safe_dump(doc, sort_keys=False)}


# Type token (`pulumi-python:dynamic/<module>:<Name>`) -> its fake outputs.
DYNAMIC_RESOURCE_OUTPUTS: dict[str, DynamicOutputs] = {K3S_KUBECONFIG: k3s_kubeconfig_outputs}
