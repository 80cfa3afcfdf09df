"""What losing one availability zone leaves running, proven from the plan alone.

For each zone the stack uses: etcd keeps its quorum (a majority of the servers outside the zone),
the load balancer keeps an API target and an ingress target in another zone, and each shop
Deployment keeps a ready pod elsewhere. The last needs the HPA's minimum and the spread rules: with
a strict zone spread (maxSkew 1, DoNotSchedule) no zone holds more than ceil(min / zones) pods, so
at least min - ceil(min / zones) survive; a preferred spread promises nothing (every pod may sit in
one zone). The same arithmetic shows the PDB keeps a pod per zone through a drain: with
maxUnavailable 1 a drain takes one pod at a time, and strict spread leaves floor(min / zones) in
each zone, so min >= 2 x zones keeps one per zone while a node drains.

Not covered: capacity after the loss (the cluster autoscaler replaces nodes in the other zones;
the capacity check in capacity.py sizes the maximum), RDS (Multi-AZ fails over by itself).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ..aws.user_data import INGRESS_NODE_PORTS
from .quantities import (
    AGENT_GROUP,
    DEPLOYMENT,
    HPA,
    LOAD_BALANCER,
    PDB,
    TARGET_GROUP_ATTACHMENT,
    servers,
    zone_of_subnet,
)
from .runner import PlanResult

ZONE_KEY = "topology.kubernetes.io/zone"


@dataclass(frozen=True)
class Check:
    what: str
    kept: bool
    why: str


@dataclass
class ZoneLoss:
    zone: str
    checks: list[Check] = field(default_factory=list)

    @property
    def survives(self) -> bool:
        return all(c.kept for c in self.checks)


@dataclass
class ResilienceReport:
    stack: str
    zones: list[ZoneLoss]

    @property
    def survives_any_zone_loss(self) -> bool:
        return bool(self.zones) and all(z.survives for z in self.zones)

    def as_dict(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "survivesAnyZoneLoss": self.survives_any_zone_loss,
            "zones": {
                z.zone: {
                    "survives": z.survives,
                    "checks": [{"what": c.what, "kept": c.kept, "why": c.why} for c in z.checks],
                }
                for z in self.zones
            },
        }

    def summary(self) -> str:
        if self.survives_any_zone_loss:
            return f"zone loss: the shop survives the loss of any one of {len(self.zones)} zones"
        lost = [
            f"{z.zone}: " + "; ".join(c.why for c in z.checks if not c.kept)
            for z in self.zones
            if not z.survives
        ]
        return "zone loss: no guarantee. " + " | ".join(lost)


def _spread_is_strict(pod_spec: dict[str, Any]) -> bool:
    return any(
        c["topologyKey"] == ZONE_KEY and c["whenUnsatisfiable"] == "DoNotSchedule" and int(c["maxSkew"]) == 1
        for c in pod_spec.get("topologySpreadConstraints") or []
    )


def _etcd(server_zones: list[str], zone: str) -> Check:
    left = sum(1 for z in server_zones if z != zone)
    majority = len(server_zones) // 2 + 1
    return Check(
        "etcd quorum",
        left >= majority,
        f"{left} of {len(server_zones)} servers left, a majority is {majority}",
    )


def _api_target(server_zones: list[str], lb_zones: set[str], zone: str) -> Check:
    left = sum(1 for z in server_zones if z != zone)
    entry = bool(lb_zones - {zone})
    return Check(
        "API target",
        left >= 1 and entry,
        f"{left} server(s) behind the load balancer outside {zone}"
        + ("" if entry else f"; the load balancer has no node outside {zone}"),
    )


def _ingress_target(
    agents: tuple[int, set[str]], server_zones: list[str], lb_zones: set[str], zone: str
) -> Check:
    """Agents: an Auto Scaling group balances its minimum over its zones, so a zone holds at most
    ceil(min / zones) of them. Servers count only where they are ingress targets themselves."""
    minimum, group_zones = agents
    agents_left = minimum - math.ceil(minimum / len(group_zones)) if zone in group_zones else minimum
    servers_left = sum(1 for z in server_zones if z != zone)
    entry = bool(lb_zones - {zone})
    return Check(
        "ingress target",
        agents_left + servers_left >= 1 and entry,
        f"{agents_left} agent(s) and {servers_left} ingress server(s) left outside {zone}"
        + ("" if entry else f"; the load balancer has no node outside {zone}"),
    )


def _ready_pods(plan: PlanResult, zone_count: int) -> list[Check]:
    minima = {
        h.inputs["spec"]["scaleTargetRef"]["name"]: int(h.inputs["spec"]["minReplicas"])
        for h in plan.of_type(HPA)
    }
    budgets = {p.inputs["metadata"]["name"]: p.inputs["spec"] for p in plan.of_type(PDB)}
    checks = []
    for record in sorted(plan.of_type(DEPLOYMENT), key=lambda r: r.name):
        name = record.inputs["metadata"]["name"]
        spec = record.inputs["spec"]
        minimum = minima.get(name, int(spec.get("replicas", 1)))
        if not _spread_is_strict(spec["template"]["spec"]):
            checks.append(
                Check(
                    f"{name} ready pod",
                    False,
                    f"{name}: zone spread is only preferred, so all {minimum} pods may share a zone",
                )
            )
            continue
        worst_in_zone = math.ceil(minimum / zone_count)
        left = minimum - worst_in_zone
        checks.append(
            Check(
                f"{name} ready pod",
                left >= 1,
                f"{name}: at most {worst_in_zone} of {minimum} pods per zone, {left} left",
            )
        )
        unavailable = int((budgets.get(name) or {}).get("maxUnavailable", minimum))
        per_zone_in_drain = minimum // zone_count - unavailable
        checks.append(
            Check(
                f"{name} pod per zone in a drain",
                per_zone_in_drain >= 1,
                f"{name}: a drain leaves at least {per_zone_in_drain} pod(s) in each zone "
                f"(min {minimum}, {zone_count} zones, PDB maxUnavailable {unavailable})",
            )
        )
    return checks


def assess(plan: PlanResult) -> ResilienceReport:
    zones_by_subnet = zone_of_subnet(plan)
    server_records = servers(plan)
    server_zones = [zones_by_subnet[s.inputs["subnetId"]] for s in server_records]
    lb_zones = {
        zones_by_subnet[m["subnetId"]]
        for lb in plan.of_type(LOAD_BALANCER)
        for m in lb.inputs.get("subnetMappings") or []
    }
    groups = plan.of_type(AGENT_GROUP)
    agents = (
        sum(int(g.inputs.get("minSize", 0)) for g in groups),
        {zones_by_subnet[s] for g in groups for s in g.inputs.get("vpcZoneIdentifiers") or []},
    )
    ingress_targets = {
        a.inputs["targetId"]
        for a in plan.of_type(TARGET_GROUP_ATTACHMENT)
        if int(a.inputs.get("port", 0)) in INGRESS_NODE_PORTS.values()
    }
    ingress_server_zones = [
        z for s, z in zip(server_records, server_zones, strict=True) if s.id in ingress_targets
    ]
    zone_count = len(set(zones_by_subnet.values()))
    pods = _ready_pods(plan, zone_count)
    return ResilienceReport(
        plan.stack,
        [
            ZoneLoss(
                zone,
                [
                    _etcd(server_zones, zone),
                    _api_target(server_zones, lb_zones, zone),
                    _ingress_target(agents, ingress_server_zones, lb_zones, zone),
                    *pods,
                ],
            )
            for zone in sorted(set(zones_by_subnet.values()))
        ],
    )
