"""Does the worst case fit? Every HPA at its maximum plus every platform component, against the nodes.

From the plan alone: the shop's Deployments and their HPAs, each Helm release's pods as its real
chart renders them (the recorded chart facts, `charts/facts/`), K3s's packaged pods, and DaemonSets
once per node; against the most nodes the plan allows (the agents' group at its maximum size, of
the smallest type it may launch; and the servers when they are not dedicated), each less what the
kubelet reserves (aws/user_data.py). Jobs and Helm hooks are left out: they finish, and a deploy
that needs room for one waits for it rather than failing.

What it does not prove: a bin-packing of every pod (the sum fits, and the largest pod fits one
node; the cluster autoscaler adds nodes one pod shape at a time), nor anything about limits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import yaml

from ..aws.user_data import EVICTION_HARD_MEMORY, KUBE_RESERVED, SYSTEM_RESERVED, traefik_config
from ..charts.facts import declared_releases, load_facts
from ..config.instance_types import INSTANCE_TYPES
from .quantities import (
    AGENT_GROUP,
    DEPLOYMENT,
    HPA,
    LAUNCH_TEMPLATE,
    Requests,
    container_requests,
    cpu_millicores,
    memory_mib,
    servers,
    servers_are_dedicated,
)
from .runner import PlanResult

# Helm renders these but they run once and finish, or they are the operator's own objects.
TRANSIENT_KINDS = {"Job", "CronJob"}
PER_NODE_KINDS = {"DaemonSet"}
CONTROL_PLANE_TOLERATION = "CriticalAddonsOnly"
# K3s's packaged pods that are not Helm releases of this program (K3s's manifests/, v1.35):
# CoreDNS and metrics-server request 100m and 70Mi each. They tolerate the servers' taint, but the
# scheduler may put them on agents, so the worst case counts them there.
K3S_PACKAGED = {"coredns": Requests(100, 70), "metrics-server": Requests(100, 70)}
# The config keys that change each side of the comparison, for the advice on a shortfall.
SUPPLY_KEYS = ("k3sAgentMaxSize", "k3sAgentInstanceTypes")
DEMAND_KEYS = ("web", "api")


@dataclass(frozen=True)
class Demand:
    name: str
    per_pod: Requests
    pods: int  # per node for a DaemonSet
    per_node: bool = False
    on_servers: bool = False  # pinned to the servers (tolerates their taint and selects them)
    tolerates_servers: bool = False  # a per-node pod that also runs on the dedicated servers


@dataclass(frozen=True)
class NodePool:
    name: str
    instance_type: str
    count: int
    allocatable: Requests  # of one node


@dataclass
class CapacityReport:
    stack: str
    demands: list[Demand]
    pools: list[NodePool]
    needed: Requests = field(default_factory=Requests)
    available: Requests = field(default_factory=Requests)
    problems: list[str] = field(default_factory=list)

    @property
    def fits(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "fits": self.fits,
            "needed": {"cpu_m": self.needed.cpu_m, "memory_mi": round(self.needed.memory_mi)},
            "available": {"cpu_m": self.available.cpu_m, "memory_mi": round(self.available.memory_mi)},
            "pools": [
                {
                    "name": p.name,
                    "instanceType": p.instance_type,
                    "count": p.count,
                    "allocatable": {
                        "cpu_m": p.allocatable.cpu_m,
                        "memory_mi": round(p.allocatable.memory_mi),
                    },
                }
                for p in self.pools
            ],
            "demands": [
                {
                    "name": d.name,
                    "pods": d.pods,
                    "perNode": d.per_node,
                    "onServers": d.on_servers,
                    "toleratesServers": d.tolerates_servers,
                    "perPod": {"cpu_m": d.per_pod.cpu_m, "memory_mi": round(d.per_pod.memory_mi)},
                }
                for d in self.demands
            ],
            "problems": self.problems,
        }


def node_allocatable(instance_type: str) -> Requests:
    """What the kubelet offers pods on one node of this type: capacity less both reservations and
    the eviction floor, exactly as the nodes are started."""
    shape = INSTANCE_TYPES[instance_type]
    reserved = Requests(
        cpu_millicores(SYSTEM_RESERVED["cpu"]) + cpu_millicores(KUBE_RESERVED["cpu"]),
        memory_mib(SYSTEM_RESERVED["memory"])
        + memory_mib(KUBE_RESERVED["memory"])
        + memory_mib(EVICTION_HARD_MEMORY),
    )
    return Requests(shape.vcpus * 1000, shape.memory_gib * 1024) - reserved


def node_pools(plan: PlanResult) -> tuple[list[NodePool], NodePool | None]:
    """(the pools workloads may use, the servers' pool if it only takes pods pinned to it)."""
    pools: list[NodePool] = []
    server_records = servers(plan)
    server_pool = None
    if server_records:
        kind = min((s.inputs["instanceType"] for s in server_records), key=_smallest)
        server_pool = NodePool("servers", kind, len(server_records), node_allocatable(kind))
    for group in plan.of_type(AGENT_GROUP):
        inputs = group.inputs
        overrides = (inputs.get("mixedInstancesPolicy") or {}).get("launchTemplate", {}).get("overrides")
        kinds = [o["instanceType"] for o in overrides or []] or [
            t.inputs["instanceType"] for t in plan.of_type(LAUNCH_TEMPLATE)
        ]
        kind = min(kinds, key=_smallest)
        pools.append(NodePool("agents", kind, int(inputs["maxSize"]), node_allocatable(kind)))
    if server_pool and not servers_are_dedicated(plan):
        return [server_pool, *pools], None
    return pools, server_pool


def _smallest(instance_type: str) -> tuple[float, int]:
    shape = INSTANCE_TYPES[instance_type]
    return (shape.memory_gib, shape.vcpus)


def shop_demands(plan: PlanResult) -> list[Demand]:
    maxima = {
        h.inputs["spec"]["scaleTargetRef"]["name"]: int(h.inputs["spec"]["maxReplicas"])
        for h in plan.of_type(HPA)
    }
    found = []
    for record in sorted(plan.of_type(DEPLOYMENT), key=lambda r: r.name):
        spec = record.inputs["spec"]
        name = record.inputs["metadata"]["name"]
        pods = maxima.get(name, int(spec.get("replicas", 1)))
        found.append(Demand(name, container_requests(spec["template"]["spec"]["containers"]), pods))
    return found


def _tolerates_servers(tolerations: list[dict[str, Any]]) -> bool:
    return any(
        (t.get("operator") == "Exists" and not t.get("key")) or t.get("key") == CONTROL_PLANE_TOLERATION
        for t in tolerations
    )


def _pinned_to_servers(pod: dict[str, Any]) -> bool:
    selects = "node-role.kubernetes.io/control-plane" in (pod.get("node_selector") or {})
    return selects and _tolerates_servers(pod.get("tolerations") or [])


def release_demands(plan: PlanResult) -> list[Demand]:
    """Each release's pods from its chart facts: one of each workload (the program asks no chart
    for more; tests/infra/plan checks that), a DaemonSet's once per node; where each may run from
    the tolerations and node selector the chart really renders."""
    found = []
    stack = plan.stack if plan.stack in ("dev", "prod") else "prod"
    for release in declared_releases(plan):
        facts = load_facts(release.chart, release.version)
        if facts is None:
            raise LookupError(
                f"no chart facts for {release.chart} {release.version}: record them "
                "(docs/PROVING_A_CHANGE.md, 'The charts, rendered') so the capacity check can count its pods"
            )
        render = facts["renders"][f"{stack}/{release.name}"]
        for pod in render["pods"]:
            if pod["kind"] in TRANSIENT_KINDS:
                continue
            found.append(
                Demand(
                    f"{release.name}/{pod['name']}",
                    container_requests(pod["containers"]),
                    1,
                    per_node=pod["kind"] in PER_NODE_KINDS,
                    on_servers=_pinned_to_servers(pod),
                    tolerates_servers=_tolerates_servers(pod.get("tolerations") or []),
                )
            )
    return found


def k3s_demands(plan: PlanResult) -> list[Demand]:
    traefik = traefik_config(servers_are_dedicated(plan))["spec"]["valuesContent"]
    asked = (yaml.safe_load(traefik).get("resources") or {}).get("requests") or {}
    found = [Demand(f"kube-system/{name}", need, 1) for name, need in K3S_PACKAGED.items()]
    found.append(
        Demand(
            "kube-system/traefik",
            Requests(cpu_millicores(asked.get("cpu", 0)), memory_mib(asked.get("memory", 0))),
            1,
            per_node=True,
        )
    )
    return found


def assess(plan: PlanResult) -> CapacityReport:
    pools, server_pool = node_pools(plan)
    return judge(
        plan.stack, shop_demands(plan) + release_demands(plan) + k3s_demands(plan), pools, server_pool
    )


def judge(
    stack: str, demands: list[Demand], pools: list[NodePool], server_pool: NodePool | None
) -> CapacityReport:
    """`pools` take every pod not pinned to the servers; `server_pool`, if given, only those."""
    report = CapacityReport(stack, demands, pools + ([server_pool] if server_pool else []))
    nodes = sum(p.count for p in pools)
    report.available = sum((p.allocatable.times(p.count) for p in pools), Requests())
    for d in demands:
        if d.on_servers and server_pool:
            continue
        report.needed += d.per_pod.times(nodes if d.per_node else d.pods)
    if not report.needed.fits_in(report.available):
        report.problems.append(_shortfall(report, pools))
    largest = max((p.allocatable for p in pools), key=lambda a: (a.memory_mi, a.cpu_m), default=Requests())
    for d in demands:
        if not d.on_servers and not d.per_pod.fits_in(largest):
            report.problems.append(
                f"one {d.name} pod requests {d.per_pod.describe()}, more than a node offers "
                f"({largest.describe()}): choose a larger type in dhakacart:k3sAgentInstanceTypes"
            )
    if server_pool:
        pinned = sum(
            (
                d.per_pod.times(server_pool.count if d.per_node else d.pods)
                for d in demands
                if d.on_servers or (d.per_node and d.tolerates_servers)
            ),
            Requests(),
        )
        if not pinned.fits_in(server_pool.allocatable.times(server_pool.count)):
            report.problems.append(
                f"the pods pinned to the servers request {pinned.describe()}, more than "
                f"{server_pool.count} x {server_pool.instance_type} offer: raise dhakacart:k3sInstanceType"
            )
    return report


def _shortfall(report: CapacityReport, pools: list[NodePool]) -> str:
    short = report.needed - report.available
    agents = next((p for p in pools if p.name == "agents"), None)
    advice = ""
    if agents:
        per_node_overhead = sum(
            (d.per_pod for d in report.demands if d.per_node and not d.on_servers), Requests()
        )
        room = agents.allocatable - per_node_overhead
        extra = max(
            math.ceil(max(short.cpu_m, 0) / room.cpu_m) if room.cpu_m > 0 else 0,
            math.ceil(max(short.memory_mi, 0) / room.memory_mi) if room.memory_mi > 0 else 0,
        )
        advice = (
            f": raise dhakacart:k3sAgentMaxSize to {agents.count + extra} (now {agents.count}), "
            f"choose a larger type in dhakacart:k3sAgentInstanceTypes (now {agents.instance_type}), "
            "or lower maxReplicas in dhakacart:web / dhakacart:api"
        )
    missing = []
    if short.cpu_m > 0:
        missing.append(f"{short.cpu_m / 1000:.2f} vCPU")
    if short.memory_mi > 0:
        missing.append(f"{short.memory_mi / 1024:.2f} GiB")
    supply = " + ".join(f"{p.count} x {p.instance_type} {p.name}" for p in pools)
    return (
        f"at every HPA's maximum the pods request {report.needed.describe()}, but {supply} offer "
        f"{report.available.describe()}: short {' and '.join(missing)}{advice}"
    )
