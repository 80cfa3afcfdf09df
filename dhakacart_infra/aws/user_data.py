"""The cloud-init user data of the cluster's nodes: a server (the first, or one that joins) and an agent.

Built as data and dumped as `#cloud-config`: K3s's own settings go to /etc/rancher/k3s/config.yaml
(mode 0600: it holds the tokens), the values the node's scripts need to /etc/dhakacart/node.env,
and the scripts and units are the static files in node_files/ (shellchecked as they are). Nothing
is templated into shell, so no value can change what a script does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..names import HTTP_NODE_PORT, HTTPS_NODE_PORT, KUBE_SYSTEM_NAMESPACE, KUBERNETES_API_PORT

NODE_FILES = Path(__file__).with_name("node_files")

# What the kubelet keeps for the OS and for K3s itself, and the eviction floor. The capacity check
# of the offline plan (plan/capacity.py) subtracts exactly these from each node.
SYSTEM_RESERVED = {"cpu": "100m", "memory": "256Mi"}
KUBE_RESERVED = {"cpu": "100m", "memory": "256Mi"}
EVICTION_HARD_MEMORY = "100Mi"
# K3s's documented taint for servers that run only the control plane: its packaged components
# (CoreDNS, metrics-server) tolerate it, workloads do not.
DEDICATED_SERVER_TAINT = "CriticalAddonsOnly=true:NoExecute"
# Traefik, K3s's packaged ingress controller, as a DaemonSet behind the load balancer's NodePorts.
INGRESS_NODE_PORTS = {"web": HTTP_NODE_PORT, "websecure": HTTPS_NODE_PORT}


class _LiteralBlocks(yaml.SafeDumper):
    """Multi-line strings (the files) as `|` blocks, so the user data reads like the files it writes."""


_LiteralBlocks.add_representer(
    str,
    lambda dumper, text: dumper.represent_scalar(
        "tag:yaml.org,2002:str", text, style="|" if "\n" in text else None
    ),
)


def token_fingerprint(token: str) -> str:
    """Names the cluster a token belongs to without revealing the token."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


def _quantities(reserved: Mapping[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in reserved.items())


# When EC2 shuts a node down (an instance refresh, a scale-in, a reboot), the kubelet holds the
# shutdown this long and stops the pods gracefully: ordinary pods first, with all but the last
# CRITICAL seconds (more than the shop's own termination grace), then critical ones.
NODE_SHUTDOWN_GRACE_SECONDS = 75
NODE_SHUTDOWN_GRACE_CRITICAL_SECONDS = 15


def kubelet_args() -> list[str]:
    return [
        f"system-reserved={_quantities(SYSTEM_RESERVED)}",
        f"kube-reserved={_quantities(KUBE_RESERVED)}",
        f"eviction-hard=memory.available<{EVICTION_HARD_MEMORY},nodefs.available<10%",
        f"shutdown-grace-period={NODE_SHUTDOWN_GRACE_SECONDS}s",
        f"shutdown-grace-period-critical-pods={NODE_SHUTDOWN_GRACE_CRITICAL_SECONDS}s",
    ]


@dataclass(frozen=True)
class EtcdSnapshots:
    bucket: str
    region: str
    folder: str
    schedule: str
    retention: int


# Where the servers keep the stack's ServiceAccount signing key (aws/service_account_issuer.py): the
# private half comes from SSM at boot (dhakacart-k3s-install.sh), the public half with the user data.
SERVICE_ACCOUNT_SIGNING_KEY = "/etc/dhakacart/service-account-signing.key"
SERVICE_ACCOUNT_PUBLIC_KEY = "/etc/dhakacart/service-account-signing.pub"


@dataclass(frozen=True)
class ServiceAccountIssuerSettings:
    issuer_url: str
    """The tokens' `iss`, where STS finds the discovery document and the JWKS."""
    signing_key_parameter: str
    """The SSM SecureString holding the private key."""
    public_key_pem: str


def service_account_apiserver_args(issuer: ServiceAccountIssuerSettings) -> list[str]:
    """The API server signs with the stack's key under the published issuer. K3s's own issuer and
    key stay accepted (`-`: prepended to K3s's default, `+`: appended), so tokens minted before keep
    working; only the first issuer signs new ones."""
    return [
        f"service-account-issuer-={issuer.issuer_url}",
        f"service-account-jwks-uri={issuer.issuer_url}/keys.json",
        f"service-account-signing-key-file={SERVICE_ACCOUNT_SIGNING_KEY}",
        f"service-account-key-file+={SERVICE_ACCOUNT_PUBLIC_KEY}",
    ]


@dataclass(frozen=True)
class ServerSettings:
    k3s_version: str
    region: str
    token: str
    agent_token: str
    api_host: str
    """The load balancer's DNS name: the registration address and the API's stable endpoint."""
    extra_sans: Sequence[str]
    """More names in the API certificate (the load balancer's addresses)."""
    kubeconfig_parameter: str
    etcd: EtcdSnapshots
    dedicated: bool
    """Taint the server so it keeps the control plane and nothing else."""
    may_initialise: bool
    """The first server: starts a new cluster when no server answers (see dhakacart-k3s-install.sh)."""
    service_accounts: ServiceAccountIssuerSettings


@dataclass(frozen=True)
class AgentSettings:
    k3s_version: str
    region: str
    agent_token: str
    api_host: str


def _file(path: str, content: str, permissions: str = "0644") -> dict[str, Any]:
    return {"path": path, "owner": "root:root", "permissions": permissions, "content": content}


def _node_file(name: str) -> str:
    return (NODE_FILES / name).read_text()


def _env(values: Mapping[str, str]) -> str:
    for key, value in values.items():
        if any(c in value for c in "\"'$`\\\n "):
            raise ValueError(f"node.env {key}={value!r}: a value the scripts read must be a plain word")
    return "".join(f"{k}={v}\n" for k, v in values.items())


def _registration_url(api_host: str) -> str:
    return f"https://{api_host}:{KUBERNETES_API_PORT}"


def traefik_config(dedicated_servers: bool) -> dict[str, Any]:
    """K3s's HelmChartConfig for its packaged Traefik: a DaemonSet whose NodePorts the load balancer
    targets, keeping the client's address (externalTrafficPolicy Local: no SNAT, and a node without
    a ready Traefik drops the connection, which the load balancer's health check sees)."""
    values: dict[str, Any] = {
        "deployment": {"kind": "DaemonSet"},
        "service": {"type": "NodePort", "spec": {"externalTrafficPolicy": "Local"}},
        "ports": {name: {"nodePort": port} for name, port in INGRESS_NODE_PORTS.items()},
        # K3s's chart sets none: without requests the capacity check could not count it, and without
        # a memory limit a flood of connections could take the node's memory.
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "384Mi"}},
    }
    if dedicated_servers:
        values["tolerations"] = []  # the servers are not ingress targets
    return {
        "apiVersion": "helm.cattle.io/v1",
        "kind": "HelmChartConfig",
        "metadata": {"name": "traefik", "namespace": KUBE_SYSTEM_NAMESPACE},
        "spec": {"valuesContent": yaml.safe_dump(values, sort_keys=True)},
    }


def _common_files(k3s_config: Mapping[str, Any], env: Mapping[str, str]) -> list[dict[str, Any]]:
    return [
        _file("/etc/dhakacart/node.env", _env(env), "0600"),
        _file("/etc/rancher/k3s/config.yaml", yaml.safe_dump(dict(k3s_config), sort_keys=True), "0600"),
        # Only root may open connections to the instance metadata service (the role's credentials):
        # host-network pods share the node's network namespace, where NetworkPolicy does not apply.
        _file("/etc/dhakacart/imds-root-only.nft", _node_file("imds-root-only.nft")),
        _file(
            "/etc/systemd/system/dhakacart-imds-root-only.service",
            _node_file("dhakacart-imds-root-only.service"),
        ),
        _file("/usr/local/sbin/dhakacart-k3s-install", _node_file("dhakacart-k3s-install.sh"), "0700"),
    ]


def _cloud_config(files: list[dict[str, Any]], runcmd: list[list[str]]) -> str:
    doc = {
        "package_update": True,
        "packages": ["curl", "nftables"],
        "write_files": files,
        "runcmd": [
            ["systemctl", "daemon-reload"],
            ["systemctl", "enable", "--now", "dhakacart-imds-root-only.service"],
            *runcmd,
        ],
    }
    return "#cloud-config\n" + yaml.dump(doc, Dumper=_LiteralBlocks, sort_keys=False, width=1000)


def server_user_data(s: ServerSettings) -> str:
    k3s: dict[str, Any] = {
        "token": s.token,
        "agent-token": s.agent_token,
        "tls-san": [s.api_host, *s.extra_sans],
        "secrets-encryption": True,
        "write-kubeconfig-mode": "0600",
        # The load balancer brings traffic in; K3s's own service load balancer would bind host ports.
        # Volumes are EBS (k8s/storage.py): K3s's local-path provisioner, whose class would be the
        # default and whose volumes live and die with one node, is not installed (K3s's documented
        # `--disable=local-storage`).
        "disable": ["servicelb", "local-storage"],
        "kubelet-arg": kubelet_args(),
        "kube-apiserver-arg": service_account_apiserver_args(s.service_accounts),
        "etcd-snapshot-schedule-cron": s.etcd.schedule,
        "etcd-snapshot-retention": s.etcd.retention,
        "etcd-s3": True,
        "etcd-s3-bucket": s.etcd.bucket,
        "etcd-s3-region": s.etcd.region,
        "etcd-s3-folder": s.etcd.folder,
    }
    if s.dedicated:
        k3s["node-taint"] = [DEDICATED_SERVER_TAINT]
    url = _registration_url(s.api_host)
    env = {
        "DHAKACART_ROLE": "server",
        "K3S_VERSION": s.k3s_version,
        "REGION": s.region,
        "REGISTRATION_URL": url,
        "API_URL": url,
        "MAY_INITIALISE": "true" if s.may_initialise else "false",
        "KUBECONFIG_PARAMETER": s.kubeconfig_parameter,
        "CLUSTER_FINGERPRINT": token_fingerprint(s.token),
        "SERVICE_ACCOUNT_KEY_PARAMETER": s.service_accounts.signing_key_parameter,
        "SERVICE_ACCOUNT_SIGNING_KEY": SERVICE_ACCOUNT_SIGNING_KEY,
    }
    files = [
        *_common_files(k3s, env),
        _file(SERVICE_ACCOUNT_PUBLIC_KEY, s.service_accounts.public_key_pem),
        _file(
            "/var/lib/rancher/k3s/server/manifests/dhakacart-traefik-config.yaml",
            yaml.safe_dump(traefik_config(s.dedicated), sort_keys=True),
        ),
        _file(
            "/usr/local/sbin/dhakacart-publish-kubeconfig",
            _node_file("dhakacart-publish-kubeconfig.sh"),
            "0700",
        ),
        _file(
            "/etc/systemd/system/dhakacart-publish-kubeconfig.service",
            _node_file("dhakacart-publish-kubeconfig.service"),
        ),
        _file(
            "/etc/systemd/system/dhakacart-publish-kubeconfig.path",
            _node_file("dhakacart-publish-kubeconfig.path"),
        ),
    ]
    return _cloud_config(
        files,
        [
            # The AWS CLI v2 from the snap store (the apt package is the outdated v1); retries cover
            # the seconds before the network is fully up.
            [
                "bash",
                "-c",
                "for i in $(seq 1 10); do snap install aws-cli --classic && break; sleep 10; done",
            ],
            ["/usr/local/sbin/dhakacart-k3s-install"],
            ["/usr/local/sbin/dhakacart-publish-kubeconfig"],
            ["systemctl", "daemon-reload"],
            ["systemctl", "enable", "--now", "dhakacart-publish-kubeconfig.path"],
        ],
    )


def agent_user_data(a: AgentSettings) -> str:
    k3s = {
        "server": _registration_url(a.api_host),
        "token": a.agent_token,
        "kubelet-arg": kubelet_args(),
    }
    env = {
        "DHAKACART_ROLE": "agent",
        "K3S_VERSION": a.k3s_version,
        "REGION": a.region,
        "REGISTRATION_URL": _registration_url(a.api_host),
    }
    return _cloud_config(_common_files(k3s, env), [["/usr/local/sbin/dhakacart-k3s-install"]])
