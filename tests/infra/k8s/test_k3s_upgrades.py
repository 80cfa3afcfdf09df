"""K3sUpgrades: the system-upgrade-controller from its pinned release and the two Plans that move
the running cluster to `k3sVersion`, servers first, inside the maintenance window."""

from __future__ import annotations

import pytest

from dhakacart_infra.charts import crd_keys
from dhakacart_infra.errors import ConfigError
from dhakacart_infra.k8s import k3s_upgrades
from dhakacart_infra.plan.manifests import RECORDED_CRD_FACTS, recorded_crd_problems
from dhakacart_infra.plan.runner import read_stack_config

PLAN = "kubernetes:upgrade.cattle.io/v1:Plan"
CONFIG_FILE = "kubernetes:yaml/v2:ConfigFile"


def plans(plan) -> dict[str, dict]:
    return {r.revealed()["metadata"]["name"]: r.revealed() for r in plan.of_type(PLAN)}


def test_the_controller_comes_from_its_pinned_release_crd_first(stack_plan):
    files = {r.name: r for r in stack_plan.of_type(CONFIG_FILE)}
    release = f"releases/download/{k3s_upgrades.SYSTEM_UPGRADE_CONTROLLER_VERSION}/"
    assert files["k3s-upgrades-crd"].inputs["file"].endswith(release + "crd.yaml")
    assert (
        files["k3s-upgrades-controller"].inputs["file"].endswith(release + "system-upgrade-controller.yaml")
    )
    # Remote components: the engine waits on their URNs (the mocks see no children inside them).
    assert files["k3s-upgrades-crd"].urn in files["k3s-upgrades-controller"].dependencies
    for plan in stack_plan.of_type(PLAN):
        assert files["k3s-upgrades-controller"].urn in plan.dependencies


def test_the_pinned_release_is_the_one_whose_plan_schema_is_recorded():
    assert (
        RECORDED_CRD_FACTS["upgrade.cattle.io/v1/Plan"][1] == k3s_upgrades.SYSTEM_UPGRADE_CONTROLLER_VERSION
    )


def test_both_plans_follow_k3s_version(stack_plan):
    version = read_stack_config(stack_plan.stack).cluster.k3s_version
    found = plans(stack_plan)
    assert set(found) == {"k3s-server", "k3s-agent"}
    for plan in found.values():
        assert plan["spec"]["version"] == version
        assert plan["metadata"]["namespace"] == "system-upgrade"
        assert plan["spec"]["concurrency"] == 1  # one node at a time


def test_a_changed_k3s_version_moves_both_plans(run_stack):
    found = plans(run_stack("prod", overrides={"k3sVersion": "v1.36.4+k3s1"}))
    assert {p["spec"]["version"] for p in found.values()} == {"v1.36.4+k3s1"}


def test_servers_are_cordoned_one_at_a_time_and_agents_wait_for_them(stack_plan):
    found = plans(stack_plan)
    server, agent = found["k3s-server"]["spec"], found["k3s-agent"]["spec"]
    assert server["cordon"] is True
    assert server["nodeSelector"]["matchExpressions"] == [
        {"key": "node-role.kubernetes.io/control-plane", "operator": "In", "values": ["true"]}
    ]
    assert {"key": "CriticalAddonsOnly", "operator": "Exists"} in server["tolerations"]
    assert agent["nodeSelector"]["matchExpressions"] == [
        {"key": "node-role.kubernetes.io/control-plane", "operator": "DoesNotExist"}
    ]
    assert agent["prepare"] == {"image": "rancher/k3s-upgrade", "args": ["prepare", "k3s-server"]}


def test_agents_are_drained_through_evictions_that_the_pdbs_pace(stack_plan):
    drain = plans(stack_plan)["k3s-agent"]["spec"]["drain"]
    assert drain["force"] is False and drain["disableEviction"] is False
    assert drain["ignoreDaemonSets"] is True and drain["deleteEmptydirData"] is True
    assert "skipWaitForDeleteTimeout" not in drain  # never past a pod still terminating


def test_upgrades_run_only_in_the_maintenance_window(run_stack):
    plan = run_stack(
        "prod", overrides={"maintenanceDays": "tu,th", "maintenanceStart": "01:30", "maintenanceEnd": "04:00"}
    )
    for found in plans(plan).values():
        assert found["spec"]["window"] == {
            "days": ["tuesday", "thursday"],
            "startTime": "01:30",
            "endTime": "04:00",
            "timeZone": "Asia/Dhaka",
        }


@pytest.mark.parametrize("name", ["k3s-server", "k3s-agent"])
def test_each_plan_has_only_fields_of_the_pinned_plan_schema(stack_plan, name):
    assert recorded_crd_problems(plans(stack_plan)[name]) == []


def test_the_schema_check_catches_a_misspelt_field_and_a_missing_required_one(stack_plan):
    broken = plans(stack_plan)["k3s-agent"]
    broken["spec"]["drain"]["deleteEmptyDirData"] = True
    del broken["spec"]["upgrade"]
    problems = recorded_crd_problems(broken)
    assert "spec.drain.deleteEmptyDirData: no such field in upgrade.cattle.io/v1/Plan v0.20.1" in problems
    assert "spec.upgrade: required by upgrade.cattle.io/v1/Plan v0.20.1" in problems


def test_the_recorded_schema_knows_the_complete_condition_the_runbook_reads():
    facts = crd_keys.load("system-upgrade-controller-plan", "v0.20.1")["versions"]["v1"]
    assert ".status.conditions[?(@.type=='Complete')].status" in facts["printer_columns"]
    assert set(facts["spec_keys"]["window"]) == {"days", "startTime", "endTime", "timeZone"}


def test_a_maintenance_window_that_ends_before_it_starts_is_refused(run_stack):
    with pytest.raises(
        ConfigError, match=r"maintenanceEnd = '01:00': must be after maintenanceStart \(02:00\)"
    ):
        run_stack("dev", overrides={"maintenanceEnd": "01:00"})


def _plan_versions(plan) -> set[str]:
    return {p["spec"]["version"] for p in plans(plan).values()}


def test_the_cluster_moves_forward_from_what_the_last_deployment_recorded(run_stack):
    moved = run_stack(
        "prod", overrides={"k3sVersion": "v1.36.4+k3s1"}, last_outputs={"clusterK3sVersion": "v1.35.8+k3s1"}
    )
    assert _plan_versions(moved) == {"v1.36.4+k3s1"}
    assert moved.outputs["clusterK3sVersion"] == "v1.36.4+k3s1"  # what the next run checks against


def test_a_downgrade_of_the_running_cluster_is_refused_with_the_fix(run_stack):
    with pytest.raises(ConfigError) as error:
        run_stack("prod", last_outputs={"clusterK3sVersion": "v1.36.4+k3s1"})
    text = str(error.value)
    assert "k3sVersion = 'v1.35.8+k3s1': would downgrade the running cluster from v1.36.4+k3s1" in text
    assert "fix: pulumi config set --stack prod k3sVersion v1.36.4+k3s1" in text


def test_a_skipped_minor_is_refused_and_the_fix_names_the_next_one(run_stack):
    with pytest.raises(ConfigError) as error:
        run_stack(
            "prod",
            overrides={"k3sVersion": "v1.36.4+k3s1"},
            last_outputs={"clusterK3sVersion": "v1.34.11+k3s1"},
        )
    text = str(error.value)
    assert "skips a minor: the cluster runs v1.34.11+k3s1" in text
    assert "fix: pulumi config set --stack prod k3sVersion v1.35.8+k3s1" in text
