"""No pod borrows a K3s node's instance role, in any stack: pods that call AWS have roles of their own.

The nodes' IMDSv2 hop limit is 1 (tests/infra/aws), so a pod gets no token back from 169.254.169.254;
as a second wall, the shop's and the webhook's namespaces deny all egress by default, and
cert-manager's, kured's and the monitoring namespace carry one egress policy that allows everything
but the metadata service, with no pod excepted. node-exporter runs on the host's network,
which NetworkPolicy does not govern: the node's own firewall keeps it (as every non-root process)
away (tests/infra/aws/test_cluster.py)."""

from __future__ import annotations

import ipaddress
import itertools

import pytest

from dhakacart_infra.charts import check
from dhakacart_infra.charts.selectors import selects
from tests.infra.k8s.kube import NETWORK_POLICY, RELEASE, policies

IMDS = "169.254.169.254"
NODE_ADDRESS = "10.20.0.25"  # the server in a public subnet: kubelet, node-exporter, the API server
LETS_ENCRYPT = "172.65.32.248"
POD = "pod"  # a destination pod, e.g. CoreDNS or Loki's gateway, matched by pod selectors

LOKI_GATEWAY = {"app.kubernetes.io/name": "loki", "app.kubernetes.io/instance": "loki",
                "app.kubernetes.io/component": "gateway"}
LOKI_SERVER = {"app.kubernetes.io/name": "loki", "app.kubernetes.io/instance": "loki",
               "app.kubernetes.io/component": "single-binary", "dhakacart.io/aws-identity": "true"}
OTHER_PODS = {
    "grafana": {"app.kubernetes.io/name": "grafana", "app.kubernetes.io/instance": "kube-prometheus-stack"},
    "prometheus": {"app.kubernetes.io/name": "prometheus", "prometheus": "kube-prometheus-stack-prometheus"},
    "alloy": {"app.kubernetes.io/name": "alloy", "app.kubernetes.io/instance": "alloy"},
    "loki-gateway": LOKI_GATEWAY,
    "loki-server": LOKI_SERVER,
    "unlabelled": {},
}


def _peer_allows(peer: dict, destination: str) -> bool:
    if "ipBlock" in peer:
        if destination == POD:
            return False
        block = peer["ipBlock"]
        address = ipaddress.ip_address(destination)
        inside = address in ipaddress.ip_network(block["cidr"])
        return inside and not any(address in ipaddress.ip_network(c) for c in block.get("except", []))
    # A namespace and/or pod selector: empty selectors mean every namespace, every pod.
    return destination == POD and peer.get("namespaceSelector") == {} and not peer.get("podSelector")


def egress_allowed(specs: dict[str, dict], pod_labels: dict[str, str], destination: str) -> bool:
    """NetworkPolicy egress as the API defines it: unrestricted unless an Egress policy selects the
    pod; then only what some rule of a selecting policy allows (these rules name no ports)."""
    selecting = [s for s in specs.values()
                 if "Egress" in s["policyTypes"] and selects(s["podSelector"], pod_labels)]
    if not selecting:
        return True
    rules = [r for s in selecting for r in s.get("egress") or []]
    assert all("ports" not in r for r in rules)
    return any(_peer_allows(peer, destination) for r in rules for peer in r["to"])


@pytest.mark.parametrize("namespace", ["cert-manager"])
def test_every_pod_of_a_namespace_reaches_everything_but_the_metadata_service(stack_plan, namespace):
    specs = policies(stack_plan, namespace)
    assert list(specs) == ["deny-instance-metadata"]
    assert specs["deny-instance-metadata"]["podSelector"] == {}
    for labels in [{"app.kubernetes.io/name": "cert-manager"}, {}]:
        assert not egress_allowed(specs, labels, IMDS)
        assert egress_allowed(specs, labels, NODE_ADDRESS)  # the API server and kubelet
        assert egress_allowed(specs, labels, LETS_ENCRYPT)
        assert egress_allowed(specs, labels, POD)  # CoreDNS


@pytest.mark.parametrize("pod", sorted(OTHER_PODS))
def test_no_monitoring_pod_reaches_the_metadata_service(stack_plan, pod):
    specs = policies(stack_plan, "monitoring")
    labels = OTHER_PODS[pod]
    assert not egress_allowed(specs, labels, IMDS)
    for destination in (NODE_ADDRESS, LETS_ENCRYPT, POD):
        assert egress_allowed(specs, labels, destination)


def test_the_charts_wait_for_the_policies(stack_plan):
    releases = {r.revealed()["chart"]: r for r in stack_plan.of_type(RELEASE)}
    by_namespace = {}
    for r in stack_plan.of_type(NETWORK_POLICY):
        if r.revealed()["metadata"]["name"].startswith("deny-instance-metadata"):
            by_namespace.setdefault(r.revealed()["metadata"]["namespace"], []).append(r)
    assert sorted(by_namespace) == ["cert-manager", "kured", "monitoring"]
    waits = {
        "cert-manager": ["cert-manager"],
        "monitoring": ["kube-prometheus-stack", "loki", "alloy"],
        "kured": ["kured"],
    }
    for namespace, charts in waits.items():
        for chart, policy in itertools.product(charts, by_namespace[namespace]):
            assert stack_plan.waits_for(releases[chart], policy), (chart, namespace)


def test_node_exporters_namespace_carries_no_policy_that_would_protect_nothing(stack_plan):
    # Its one pod is on the host's network; a NetworkPolicy there would only look like protection.
    assert policies(stack_plan, "monitoring-node-exporter") == {}
    pods = check.stack_facts(stack_plan).pods()
    [node_exporter] = [p for p in pods if p["namespace"] == "monitoring-node-exporter"]
    assert "Network" in node_exporter["host_namespaces"]
    # Not root, so the node's firewall (only uid 0 reaches the metadata service) refuses it.
    assert node_exporter["pod_security_context"]["runAsUser"] == 65534
    assert all("runAsUser" not in c["security_context"] for c in node_exporter["containers"])


def test_of_the_pods_the_charts_render_none_reaches_the_metadata_service(stack_plan):
    specs = policies(stack_plan, "monitoring")
    rendered = [p for p in check.stack_facts(stack_plan).pods() if p["namespace"] == "monitoring"]
    assert len(rendered) >= 8
    assert [p["name"] for p in rendered if egress_allowed(specs, p["pod_labels"], IMDS)] == []
