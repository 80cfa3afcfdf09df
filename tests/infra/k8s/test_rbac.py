"""The operators' Role reads, never writes, never sees Secrets, never execs."""

from __future__ import annotations

from tests.infra.k8s.kube import ROLE, named


def _rules(plan):
    return named(plan, ROLE, "dhakacart-operator").revealed()["rules"]


def test_the_operator_role_is_namespaced_to_the_shop(shop_plan):
    assert named(shop_plan, ROLE, "dhakacart-operator").revealed()["metadata"]["namespace"] == "dhakacart"
    assert not [r for r in shop_plan.resources if r.type.endswith(":ClusterRole")]


def test_the_operator_role_only_reads(shop_plan):
    for rule in _rules(shop_plan):
        assert set(rule["verbs"]) <= {"get", "list", "watch"}, rule


def test_the_operator_role_sees_pods_logs_and_events(shop_plan):
    core = [r for r in _rules(shop_plan) if r["apiGroups"] == [""]]
    granted = {res for r in core for res in r["resources"]}
    assert {"pods", "pods/log", "events"} <= granted


def test_the_operator_role_cannot_read_secrets_exec_or_forward_ports(shop_plan):
    for rule in _rules(shop_plan):
        assert "*" not in rule["resources"] and "*" not in rule["verbs"] and "*" not in rule["apiGroups"]
        for forbidden in ("secrets", "pods/exec", "pods/attach", "pods/portforward", "serviceaccounts/token"):
            assert forbidden not in rule["resources"]
