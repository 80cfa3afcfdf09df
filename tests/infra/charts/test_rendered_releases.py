"""What the charts really make of the program's values, for each stack, read from the recorded
renders: the facts behind issue 11's five defects (the generic checks are in test_chart_facts)."""

from __future__ import annotations

import pytest

from dhakacart_infra.charts import check
from dhakacart_infra.k8s.logging import ALLOY_CONFIG_FILE, ALLOY_CONFIG_KEY


@pytest.fixture(scope="module")
def facts(stack_plan) -> check.StackFacts:
    return check.stack_facts(stack_plan)


def _pod(facts: check.StackFacts, name: str) -> dict:
    [pod] = [p for p in facts.pods() if p["name"] == name]
    return pod


def test_alloy_reads_the_repositorys_config_file_byte_for_byte(facts):
    alloy = _pod(facts, "alloy")
    [container] = alloy["containers"]  # no reloader: the ConfigMap is immutable, a new file a new one
    [(volume, source)] = [(n, v) for n, v in alloy["volumes"].items() if v.startswith("configMap:")]
    mounted_name = source.split(":", 1)[1]
    assert container["args"][:2] == ["run", f"{container['mounts'][volume]}/{ALLOY_CONFIG_KEY}"]
    # The chart mounts the program's ConfigMap, named in the values; it makes none of its own (its
    # tpl would have emptied config.alloy's status_class template).
    [release] = [r for r in facts.releases if r.name == "alloy"]
    assert release.values["alloy"]["configMap"]["name"] == mounted_name
    record = facts.plan.one("kubernetes:core/v1:ConfigMap", "logging-alloy-config")
    assert mounted_name.startswith(f"{record.name}-")
    assert record.revealed()["data"][ALLOY_CONFIG_KEY].encode() == ALLOY_CONFIG_FILE.read_bytes()
    assert "{{ if .Value }}{{ .Value }}xx{{ end }}" in ALLOY_CONFIG_FILE.read_text()


def test_lokis_volume_outlives_its_statefulset(facts):
    loki = _pod(facts, "loki")
    assert loki["volume_claims"] == ["storage"]
    assert loki["pvc_retention"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}


def test_grafana_owns_its_volume_by_fs_group_with_no_root_init_container(facts):
    grafana = _pod(facts, "kube-prometheus-stack-grafana")
    assert "init-chown-data" not in [c["name"] for c in grafana["containers"]]
    assert grafana["pod_security_context"]["fsGroup"] == 472
    assert grafana["pod_security_context"]["runAsNonRoot"] is True


def test_no_monitoring_pod_runs_anything_as_root(facts):
    for pod in (p for p in facts.pods() if p["namespace"] == "monitoring"):
        assert pod["pod_security_context"].get("runAsUser") != 0, pod["name"]
        assert all(c["security_context"].get("runAsUser") != 0 for c in pod["containers"]), pod["name"]


def test_the_cert_manager_controllers_metrics_port_is_the_one_its_service_monitor_scrapes(facts):
    [service] = [
        s for s in facts.services() if (s["namespace"], s["name"]) == ("cert-manager", "cert-manager")
    ]
    [monitor] = [
        o
        for o in check.program_objects(facts.plan, "ServiceMonitor")
        if o["metadata"]["name"] == "cert-manager"
    ]
    assert [e["port"] for e in monitor["spec"]["endpoints"]] == ["http-metrics"]
    assert "http-metrics" in service["ports"]
