"""Each chart check fails on the defect it exists for: the recorded dev facts, altered the way a
chart bump or a values change would alter them, must produce the problem, named."""

from __future__ import annotations

import copy
import json

import pytest

from dhakacart_infra.charts import check, pod_security
from dhakacart_infra.charts.facts import FACTS_DIR, DeclaredRelease

# Every Helm release the program declares.
RELEASES = {"cert-manager", "kube-prometheus-stack", "loki", "alloy", "cluster-autoscaler", "kured",
            "aws-ebs-csi-driver"}


@pytest.fixture
def facts(dev_plan) -> check.StackFacts:
    recorded = check.stack_facts(dev_plan)
    recorded.renders = copy.deepcopy(recorded.renders)
    return recorded


def _pod(facts: check.StackFacts, name: str) -> dict:
    return next(p for r in facts.renders.values() for p in r["pods"] if p["name"] == name)


def test_a_chart_without_facts_fails_and_says_how_to_record_them(dev_plan, tmp_path):
    problems = check.stack_facts(dev_plan, tmp_path).problems
    assert len(problems) == len(RELEASES)
    assert all("no facts recorded" in p and "make chart-sources charts CHARTS=" in p for p in problems)


def test_facts_recorded_from_other_values_fail(dev_plan, tmp_path):
    for path in FACTS_DIR.glob("*.json"):
        recorded = json.loads(path.read_text())
        for render in recorded["renders"].values():
            render["values_sha256"] = "0" * 64
        (tmp_path / path.name).write_text(json.dumps(recorded))
    problems = check.stack_facts(dev_plan, tmp_path).problems
    assert len(problems) == len(RELEASES) and all("the values differ" in p for p in problems)


def test_an_unknown_value_key_names_the_release_the_path_and_the_nearest_keys(facts):
    release = next(r for r in facts.releases if r.name == "kube-prometheus-stack")
    typo = DeclaredRelease(**{**release.__dict__, "values": {"grafana": {"persistance": {"size": "2Gi"}}}})
    [problem] = check.unknown_value_keys(typo, facts.trees["kube-prometheus-stack"])
    assert problem.startswith("dev/kube-prometheus-stack: value key grafana.persistance is not one")
    assert "nearest known: grafana.persistence" in problem
    # Below an open subtree (a free-form map such as grafana.ini) any key is accepted.
    free = DeclaredRelease(**{**release.__dict__, "values": {"grafana": {"grafana.ini": {"x": {"y": 1}}}}})
    assert check.unknown_value_keys(free, facts.trees["kube-prometheus-stack"]) == []


def test_template_braces_in_a_value_the_chart_passes_through_tpl_fail(facts):
    release = next(r for r in facts.releases if r.name == "kube-prometheus-stack")
    host = ["grafana", "ingress", "hosts", 0]
    assert host in facts.renders["kube-prometheus-stack"]["tpl_values"]
    templated = copy.deepcopy(release.values)
    templated["grafana"]["ingress"]["hosts"][0] = "{{ .Release.Name }}.example"
    [problem] = check.templated_values(
        DeclaredRelease(**{**release.__dict__, "values": templated}), facts.renders["kube-prometheus-stack"]
    )
    assert "grafana.ingress.hosts[0] holds '{{'" in problem


def test_a_service_monitor_port_the_service_lacks_fails(facts):
    service = next(s for s in facts.renders["cert-manager"]["services"] if s["name"] == "cert-manager")
    service["ports"] = ["tcp-prometheus-servicemonitor"]
    problems = check.service_monitor_problems(facts)
    assert problems == [
        "dev: ServiceMonitor monitoring/cert-manager scrapes port 'http-metrics', which no "
        "selected Service has (cert-manager: tcp-prometheus-servicemonitor)"
    ]


def test_a_network_policy_over_only_host_network_pods_protects_nothing_and_fails(facts):
    for pod in facts.renders["cert-manager"]["pods"]:
        pod["host_namespaces"] = ["Network"]
    [problem] = check.network_policy_problems(facts)
    assert problem.startswith(
        "dev: NetworkPolicy cert-manager/deny-instance-metadata selects only pods on the host's network"
    )


def test_network_policies_that_select_only_host_network_pods_fail(prod_plan):
    # Were every monitoring pod on the host's network, the namespace's policy would guard nothing.
    facts = check.stack_facts(prod_plan)
    facts.renders = copy.deepcopy(facts.renders)
    for pod in facts.pods():
        if pod["namespace"] == "monitoring":
            pod["host_namespaces"] = ["Network"]
    [problem] = check.network_policy_problems(facts)
    assert problem.startswith("prod: NetworkPolicy monitoring/deny-instance-metadata selects only pods on")
    assert problem.endswith("it protects nothing")


def test_a_container_without_a_memory_limit_fails(facts):
    _pod(facts, "loki")["containers"][0]["resources"]["limits"] = {}
    assert check.resource_problems(facts) == [
        "dev: StatefulSet monitoring/loki container loki has no limits.memory"
    ]


def test_a_pod_below_its_namespaces_level_fails(facts):
    _pod(facts, "kube-prometheus-stack-grafana")["pod_security_context"]["runAsUser"] = 0
    _pod(facts, "alloy")["volumes"]["logs"] = "hostPath:/var/log"
    problems = check.pod_security_problems(facts)
    assert any(
        "kube-prometheus-stack-grafana breaks the namespace's enforced restricted" in p and "uid 0" in p
        for p in problems
    )
    assert any("alloy breaks" in p and "hostPath" in p for p in problems)


def test_pod_security_levels_follow_the_standard():
    pod = {
        "host_namespaces": [],
        "pod_security_context": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "volumes": {"data": "persistentVolumeClaim:x"},
        "containers": [
            {
                "name": "c",
                "host_ports": [],
                "security_context": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
            }
        ],
    }
    assert pod_security.strictest_level(pod) == "restricted"
    pod["containers"][0]["security_context"]["capabilities"]["add"] = ["CHOWN"]
    assert pod_security.strictest_level(pod) == "baseline"
    pod["host_namespaces"] = ["Network"]
    assert pod_security.strictest_level(pod) == "privileged"


def test_a_statefulset_that_deletes_its_volume_fails(facts):
    _pod(facts, "loki")["pvc_retention"]["whenDeleted"] = "Delete"
    assert check.volume_retention_problems(facts) == [
        "dev: StatefulSet monitoring/loki deletes its volumes storage with itself "
        "(persistentVolumeClaimRetentionPolicy whenDeleted: Delete)"
    ]
