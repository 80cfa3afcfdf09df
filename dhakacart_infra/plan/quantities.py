"""Kubernetes resource quantities as numbers, and the pieces of a plan the cluster analyses share.

CPU in millicores, memory in MiB: enough precision for capacity planning, and what people read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from .runner import PlanResult

SERVER_INSTANCE = "aws:ec2/instance:Instance"
AGENT_GROUP = "aws:autoscaling/group:Group"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
SUBNET = "aws:ec2/subnet:Subnet"
LOAD_BALANCER = "aws:lb/loadBalancer:LoadBalancer"
TARGET_GROUP_ATTACHMENT = "aws:lb/targetGroupAttachment:TargetGroupAttachment"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
K3S_CONFIG_PATH = "/etc/rancher/k3s/config.yaml"
SERVER_ROLE = "k3s-server"

_MEMORY_UNITS = {
    "": 1 / 2**20,
    "k": 1000 / 2**20,
    "M": 1e6 / 2**20,
    "G": 1e9 / 2**20,
    "Ki": 1 / 1024,
    "Mi": 1,
    "Gi": 1024,
    "Ti": 1024**2,
}


def cpu_millicores(quantity: str | float | int) -> int:
    """'250m' → 250, '1' → 1000, '0.5' → 500."""
    text = str(quantity).strip()
    if text.endswith("m"):
        return int(float(text[:-1]))
    return round(float(text) * 1000)


def memory_mib(quantity: str | float | int) -> float:
    """'192Mi' → 192, '1Gi' → 1024, '128974848' (bytes) → 123."""
    match = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", str(quantity).strip())
    if not match or match.group(2) not in _MEMORY_UNITS:
        raise ValueError(f"not a Kubernetes memory quantity: {quantity!r}")
    return float(match.group(1)) * _MEMORY_UNITS[match.group(2)]


@dataclass(frozen=True)
class Requests:
    cpu_m: int = 0
    memory_mi: float = 0

    def __add__(self, other: Requests) -> Requests:
        return Requests(self.cpu_m + other.cpu_m, self.memory_mi + other.memory_mi)

    def __sub__(self, other: Requests) -> Requests:
        return Requests(self.cpu_m - other.cpu_m, self.memory_mi - other.memory_mi)

    def times(self, count: int) -> Requests:
        return Requests(self.cpu_m * count, self.memory_mi * count)

    def fits_in(self, other: Requests) -> bool:
        return self.cpu_m <= other.cpu_m and self.memory_mi <= other.memory_mi

    def describe(self) -> str:
        return f"{self.cpu_m / 1000:.2f} vCPU, {self.memory_mi / 1024:.2f} GiB"


def container_requests(containers: list[dict[str, Any]]) -> Requests:
    total = Requests()
    for container in containers:
        asked = (container.get("resources") or {}).get("requests") or {}
        total += Requests(cpu_millicores(asked.get("cpu", 0)), memory_mib(asked.get("memory", 0)))
    return total


def zone_of_subnet(plan: PlanResult) -> dict[str, str]:
    """Subnet id (as the mocks answer it) → its availability zone."""
    return {r.id: r.inputs["availabilityZone"] for r in plan.of_type(SUBNET) if r.id}


def servers(plan: PlanResult) -> list[Any]:
    return [
        r for r in plan.of_type(SERVER_INSTANCE) if (r.inputs.get("tags") or {}).get("Role") == SERVER_ROLE
    ]


def k3s_config(server: Any) -> dict[str, Any]:
    """The K3s settings a server's cloud-init writes (its user data is a secret: it holds the token)."""
    user_data = yaml.safe_load(server.revealed()["userData"])
    for written in user_data.get("write_files", []):
        if written["path"] == K3S_CONFIG_PATH:
            return yaml.safe_load(written["content"]) or {}
    raise LookupError(f"{server.name}: its user data writes no {K3S_CONFIG_PATH}")


def servers_are_dedicated(plan: PlanResult) -> bool:
    """True when every server carries a NoExecute taint (K3s's CriticalAddonsOnly): workloads go to agents."""
    found = servers(plan)
    return bool(found) and all(
        any(t.endswith(":NoExecute") for t in k3s_config(s).get("node-taint", [])) for s in found
    )
