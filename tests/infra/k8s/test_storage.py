"""Volumes that outlive nodes: the EBS CSI driver's release, the two gp3 StorageClasses, and every
PVC of the platform on the class that keeps its volume, under the mocks for both stacks."""

from __future__ import annotations

import pytest

from dhakacart_infra.charts import check
from dhakacart_infra.charts.facts import declared_releases
from dhakacart_infra.k8s import storage
from dhakacart_infra.names import (
    DATA_STORAGE_CLASS,
    DEFAULT_STORAGE_CLASS,
    EBS_CSI_NAMESPACE,
    EBS_CSI_NODE_NAMESPACE,
    StackOutput,
)
from tests.infra.k8s.kube import NAMESPACE, RELEASE, named

STORAGE_CLASS = "kubernetes:storage.k8s.io/v1:StorageClass"
DEFAULT_ANNOTATION = "storageclass.kubernetes.io/is-default-class"


def _release(plan, name: str):
    [found] = [r for r in plan.of_type(RELEASE) if r.inputs["name"] == name]
    return found


def _values(plan) -> dict:
    return _release(plan, storage.RELEASE_NAME).revealed()["values"]


def test_the_driver_is_the_official_chart_pinned(stack_plan):
    inputs = _release(stack_plan, storage.RELEASE_NAME).revealed()
    assert (inputs["chart"], inputs["version"]) == ("aws-ebs-csi-driver", "2.64.0")
    assert inputs["repositoryOpts"]["repo"] == "https://kubernetes-sigs.github.io/aws-ebs-csi-driver"
    assert inputs["namespace"] == EBS_CSI_NAMESPACE


@pytest.mark.parametrize(
    ("name", "reclaim", "default"),
    [
        (DEFAULT_STORAGE_CLASS, "Delete", "true"),
        (DATA_STORAGE_CLASS, "Retain", "false"),
    ],
)
def test_both_classes_are_encrypted_gp3_with_the_platforms_key_bound_where_the_pod_lands(
    stack_plan, name, reclaim, default
):
    sc = named(stack_plan, STORAGE_CLASS, name).revealed()
    assert sc["provisioner"] == "ebs.csi.aws.com"
    assert sc["parameters"] == {
        "type": "gp3",
        "encrypted": "true",
        "csi.storage.k8s.io/fstype": "ext4",
        "kmsKeyId": stack_plan.outputs[StackOutput.VOLUME_KMS_KEY_ARN],
    }
    assert sc["parameters"]["kmsKeyId"].startswith("arn:aws:kms:ap-south-1:")
    assert sc["volumeBindingMode"] == "WaitForFirstConsumer"
    assert sc["allowVolumeExpansion"] is True
    assert sc["reclaimPolicy"] == reclaim
    assert sc["metadata"]["annotations"][DEFAULT_ANNOTATION] == default


def test_there_is_exactly_one_default_class_and_it_is_gp3(stack_plan):
    defaults = [
        r.revealed()["metadata"]["name"]
        for r in stack_plan.of_type(STORAGE_CLASS)
        if r.revealed()["metadata"]["annotations"][DEFAULT_ANNOTATION] == "true"
    ]
    assert defaults == [DEFAULT_STORAGE_CLASS]


def test_every_pvc_of_the_platform_is_on_the_class_that_keeps_its_volume(stack_plan):
    found = []
    for release in declared_releases(stack_plan):
        for claim in (c for c in storage.PLATFORM_CLAIMS if c.chart == release.chart):
            found.append(claim.what)
            assert storage.value_at(release.values, claim.storage_class) == DATA_STORAGE_CLASS, claim.what
            assert str(storage.value_at(release.values, claim.size)).endswith("Gi"), claim.what
    assert sorted(found) == ["Alertmanager", "Grafana", "Loki", "Prometheus"]
    grafana = _release(stack_plan, "kube-prometheus-stack").revealed()["values"]["grafana"]["persistence"]
    assert grafana["enabled"] is True


def test_no_rendered_claim_is_missing_from_the_platforms_list(stack_plan):
    """A chart that starts claiming a volume (a new StatefulSet, a chart bump) must be listed, so its
    class is checked and its cost counted."""
    listed = {(c.chart, c.workload) for c in storage.PLATFORM_CLAIMS if c.workload}
    facts = check.stack_facts(stack_plan)
    charts = {r.name: r.chart for r in facts.releases}
    claiming = {
        (charts[name], pod["name"])
        for name, render in facts.renders.items()
        for pod in render["pods"]
        if pod.get("volume_claims")
    }
    assert claiming == listed


def test_the_volumes_survive_a_claims_deletion_in_the_statefulsets_too(stack_plan):
    loki = _release(stack_plan, "loki").revealed()["values"]["singleBinary"]["persistence"]
    assert (loki["whenDeleted"], loki["whenScaled"]) == ("Retain", "Retain")


def test_the_classes_and_so_every_claim_wait_for_the_driver(stack_plan):
    driver = _release(stack_plan, storage.RELEASE_NAME)
    for name in (DEFAULT_STORAGE_CLASS, DATA_STORAGE_CLASS):
        assert stack_plan.waits_for(named(stack_plan, STORAGE_CLASS, name), driver)
    for release in ("kube-prometheus-stack", "loki"):
        assert stack_plan.waits_for(
            _release(stack_plan, release), named(stack_plan, STORAGE_CLASS, DATA_STORAGE_CLASS)
        ), release


def test_the_shop_does_not_wait_for_the_storage_driver(stack_plan):
    shop = named(stack_plan, "kubernetes:apps/v1:Deployment", "dhakacart-api")
    assert not stack_plan.waits_for(shop, _release(stack_plan, storage.RELEASE_NAME))


def test_the_controller_runs_on_the_servers_and_the_node_plugin_everywhere(stack_plan):
    values = _values(stack_plan)
    controller = values["controller"]
    assert controller["nodeSelector"] == {"node-role.kubernetes.io/control-plane": "true"}
    assert controller["tolerations"] == [{"key": "CriticalAddonsOnly", "operator": "Exists"}]
    assert controller["replicaCount"] == {"dev": 1, "prod": 2}[stack_plan.stack]
    assert controller["region"] == "ap-south-1"
    assert values["node"]["namespaceOverride"] == EBS_CSI_NODE_NAMESPACE
    # As the chart renders them (the recorded facts).
    pods = {p["name"]: p for p in check.stack_facts(stack_plan).renders[storage.RELEASE_NAME]["pods"]}
    assert set(pods) == {"ebs-csi-controller", "ebs-csi-node"}
    assert pods["ebs-csi-node"]["tolerations"] == [{"operator": "Exists"}]
    assert (pods["ebs-csi-node"]["kind"], pods["ebs-csi-node"]["namespace"]) == (
        "DaemonSet",
        EBS_CSI_NODE_NAMESPACE,
    )
    assert pods["ebs-csi-controller"]["namespace"] == EBS_CSI_NAMESPACE
    assert pods["ebs-csi-controller"]["node_selector"]["node-role.kubernetes.io/control-plane"] == "true"


def test_the_controllers_namespace_is_restricted_and_only_the_node_plugins_is_privileged(stack_plan):
    levels = check.namespace_levels(stack_plan)
    assert levels[EBS_CSI_NAMESPACE] == "restricted"
    assert levels[EBS_CSI_NODE_NAMESPACE] == "privileged"
    node = named(stack_plan, NAMESPACE, EBS_CSI_NODE_NAMESPACE)
    assert node.revealed()["metadata"]["labels"]["pod-security.kubernetes.io/warn"] == "restricted"


def test_the_render_really_needs_privileged_for_the_node_plugin(stack_plan):
    """Why the second namespace exists: the node plugin breaks baseline, the controller does not."""
    from dhakacart_infra.charts import pod_security

    pods = {p["name"]: p for p in check.stack_facts(stack_plan).renders[storage.RELEASE_NAME]["pods"]}
    assert pod_security.violations(pods["ebs-csi-node"], "baseline")
    assert pod_security.violations(pods["ebs-csi-controller"], "restricted") == []


def test_every_container_of_the_driver_has_requests_and_a_memory_limit(stack_plan):
    facts = check.stack_facts(stack_plan)
    facts.renders = {storage.RELEASE_NAME: facts.renders[storage.RELEASE_NAME]}
    assert check.resource_problems(facts) == []
    containers = [c["name"] for p in facts.pods() for c in p["containers"]]
    assert len(containers) >= 8  # plugin and sidecars of both pods
