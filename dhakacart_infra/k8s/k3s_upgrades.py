"""K3s upgrades from `k3sVersion`: Rancher's system-upgrade-controller and two Plans.

Changing `k3sVersion` and running `pulumi up` changes both Plans' `version`; the controller then
upgrades the running cluster node by node, inside the maintenance window: the servers first, one
at a time, cordoned (they run no shop pods), then the agents, one at a time, each drained through
the eviction API, so the shop's PodDisruptionBudgets decide when a pod may go (a shop that is
already short of ready pods stops the drain, and with it the upgrade, until it recovers). The
agents' Plan starts only when the servers' has finished (K3s's own `prepare` step waits for it):
a kubelet must never be newer than the API servers.

The controller has no Helm chart: it is installed from its release's two manifests (the Plan CRD,
and the controller with its namespace and RBAC), pinned by version. The program's Plans are
checked against that release's Plan schema, recorded in charts/facts (see PLAN_SCHEMA_FACTS).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from ..names import SYSTEM_UPGRADE_NAMESPACE
from .maintenance_window import MaintenanceWindow

SYSTEM_UPGRADE_CONTROLLER_VERSION = "v0.20.1"
RELEASE_URL = f"https://github.com/rancher/system-upgrade-controller/releases/download/{SYSTEM_UPGRADE_CONTROLLER_VERSION}"
PLAN_API_VERSION = "upgrade.cattle.io/v1"
SERVICE_ACCOUNT = "system-upgrade"  # made by the release manifest
K3S_UPGRADE_IMAGE = "rancher/k3s-upgrade"  # tagged by the controller with the Plan's version
SERVER_PLAN = "k3s-server"
AGENT_PLAN = "k3s-agent"
CONTROL_PLANE = "node-role.kubernetes.io/control-plane"
# Seconds an upgrade job may run on one node, and how long a drain may wait for the PDBs.
JOB_DEADLINE_SECONDS = 1800
DRAIN_TIMEOUT = "20m"


@dataclass
class K3sUpgradesArgs:
    k3s_version: pulumi.Input[str]
    """The release the cluster must run (checked against the running one by config/k3s_releases)."""
    window: MaintenanceWindow


def server_plan_spec(version: str, window: MaintenanceWindow) -> dict[str, Any]:
    return {
        "concurrency": 1,
        "cordon": True,
        "exclusive": True,
        "version": version,
        "window": window.for_upgrade_plan(),
        "jobActiveDeadlineSecs": JOB_DEADLINE_SECONDS,
        "serviceAccountName": SERVICE_ACCOUNT,
        "nodeSelector": {"matchExpressions": [{"key": CONTROL_PLANE, "operator": "In", "values": ["true"]}]},
        # The dedicated servers' taint (aws/user_data.DEDICATED_SERVER_TAINT).
        "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"}],
        "upgrade": {"image": K3S_UPGRADE_IMAGE},
    }


def agent_plan_spec(version: str, window: MaintenanceWindow) -> dict[str, Any]:
    return {
        "concurrency": 1,
        "exclusive": True,
        "version": version,
        "window": window.for_upgrade_plan(),
        "jobActiveDeadlineSecs": JOB_DEADLINE_SECONDS,
        "serviceAccountName": SERVICE_ACCOUNT,
        "nodeSelector": {"matchExpressions": [{"key": CONTROL_PLANE, "operator": "DoesNotExist"}]},
        # Waits until every server runs the Plan's version.
        "prepare": {"image": K3S_UPGRADE_IMAGE, "args": ["prepare", SERVER_PLAN]},
        # Evictions only (never `force`, never past a PDB): the shop's budgets pace the drain.
        "drain": {
            "force": False,
            "disableEviction": False,
            "ignoreDaemonSets": True,
            "deleteEmptydirData": True,
            "timeout": DRAIN_TIMEOUT,
        },
        "upgrade": {"image": K3S_UPGRADE_IMAGE},
    }


class K3sUpgrades(pulumi.ComponentResource):
    server_plan: k8s.apiextensions.CustomResource
    agent_plan: k8s.apiextensions.CustomResource

    def __init__(self, name: str, args: K3sUpgradesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("dhakacart:k8s:K3sUpgrades", name, None, opts)
        crd = k8s.yaml.v2.ConfigFile(
            f"{name}-crd", file=f"{RELEASE_URL}/crd.yaml", opts=pulumi.ResourceOptions(parent=self)
        )
        controller = k8s.yaml.v2.ConfigFile(
            f"{name}-controller",
            file=f"{RELEASE_URL}/system-upgrade-controller.yaml",
            opts=pulumi.ResourceOptions(parent=self, depends_on=[crd]),
        )
        after_controller = pulumi.ResourceOptions(parent=self, depends_on=[controller])
        version = pulumi.Output.from_input(args.k3s_version)

        def plan(plan_name: str, spec: pulumi.Output[dict[str, Any]]) -> k8s.apiextensions.CustomResource:
            return k8s.apiextensions.CustomResource(
                f"{name}-{plan_name}",
                api_version=PLAN_API_VERSION,
                kind="Plan",
                metadata={"name": plan_name, "namespace": SYSTEM_UPGRADE_NAMESPACE},
                spec=spec,
                opts=after_controller,
            )

        self.server_plan = plan(SERVER_PLAN, version.apply(lambda v: server_plan_spec(v, args.window)))
        self.agent_plan = plan(AGENT_PLAN, version.apply(lambda v: agent_plan_spec(v, args.window)))
        self.register_outputs(
            {"controller_version": SYSTEM_UPGRADE_CONTROLLER_VERSION, "k3s_version": version}
        )
