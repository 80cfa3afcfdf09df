"""Default deny in the shop's namespace, then exactly the flows the shop needs."""

from __future__ import annotations

import pytest

from dhakacart_infra.charts.selectors import selects as _selects
from tests.infra.k8s.conftest import DATABASE_CIDRS
from tests.infra.k8s.kube import JOB, NETWORK_POLICY, container, named, policies

TRAEFIK = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
           "podSelector": {"matchLabels": {"app.kubernetes.io/name": "traefik"}}}


def _pod_labels(plan, component: str) -> dict[str, str]:
    if component == "migrate":
        return plan.one(JOB).revealed()["spec"]["template"]["metadata"]["labels"]
    return named(plan, "kubernetes:apps/v1:Deployment", f"dhakacart-{component}").revealed()[
        "spec"]["template"]["metadata"]["labels"]


def _rules_for(plan, component: str, direction: str) -> list[dict]:
    labels = _pod_labels(plan, component)
    rules = []
    for spec in policies(plan).values():
        if direction.capitalize() in spec["policyTypes"] and _selects(spec["podSelector"], labels):
            rules.extend(spec.get(direction) or [])
    return rules


def test_everything_in_the_namespace_is_denied_by_default(shop_plan):
    spec = policies(shop_plan)["default-deny-all"]
    assert spec == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    record = named(shop_plan, NETWORK_POLICY, "default-deny-all").revealed()
    assert record["metadata"]["namespace"] == "dhakacart"


def test_every_policy_of_the_shop_lives_in_the_shop_namespace(shop_plan):
    storefront = shop_plan.one("dhakacart:k8s:Storefront")
    mine = [r for r in shop_plan.descendants_of(storefront) if r.type == NETWORK_POLICY]
    assert len(mine) == 9
    for record in mine:
        assert record.revealed()["metadata"]["namespace"] == "dhakacart"


@pytest.mark.parametrize("component", ["web", "api"])
def test_traefik_reaches_web_and_api_on_the_app_port_only(shop_plan, component):
    rules = _rules_for(shop_plan, component, "ingress")
    from_traefik = [r for r in rules if TRAEFIK in r["from"]]
    assert [p["port"] for r in from_traefik for p in r["ports"]] == [8000]


@pytest.mark.parametrize("component", ["web", "api"])
def test_monitoring_reaches_web_and_api_on_the_metrics_port_only(shop_plan, component):
    monitoring = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
    rules = [r for r in _rules_for(shop_plan, component, "ingress") if monitoring in r["from"]]
    assert [p["port"] for r in rules for p in r["ports"]] == [9102]
    ports = {p["name"]: p["containerPort"] for p in container(shop_plan, component)["ports"]}
    assert ports["metrics"] == 9102


@pytest.mark.parametrize("component", ["web", "api", "migrate"])
def test_only_ingress_sources_are_traefik_and_monitoring(shop_plan, component):
    for rule in _rules_for(shop_plan, component, "ingress"):
        assert rule["from"], "an ingress rule without `from` would admit every source"
        assert rule["ports"], "an ingress rule without `ports` would admit every port"
        for peer in rule["from"]:
            assert "ipBlock" not in peer


def test_the_migration_job_accepts_no_inbound_traffic(shop_plan):
    assert _rules_for(shop_plan, "migrate", "ingress") == []


@pytest.mark.parametrize("component", ["web", "api", "migrate"])
def test_pods_reach_the_database_subnets_on_5432_and_dns_and_nothing_else(shop_plan, component):
    egress = _rules_for(shop_plan, component, "egress")
    database = [r for r in egress if any("ipBlock" in peer for peer in r["to"])]
    assert sorted(peer["ipBlock"]["cidr"] for r in database for peer in r["to"]) == sorted(DATABASE_CIDRS)
    assert {(p["protocol"], p["port"]) for r in database for p in r["ports"]} == {("TCP", 5432)}
    dns_peer = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}
    dns = [r for r in egress if dns_peer in r["to"]]
    assert {(p["protocol"], p["port"]) for r in dns for p in r["ports"]} == {("UDP", 53), ("TCP", 53)}
    store_peer = {"podSelector": {"matchLabels": {"app.kubernetes.io/component": "rate-limits",
                                                  "app.kubernetes.io/name": "dhakacart"}}}
    store = [r for r in egress if store_peer in r["to"]]
    # The serving pods count their rate limits in the shared store; the migration Job does not.
    assert {(p["protocol"], p["port"]) for r in store for p in r["ports"]} == (
        set() if component == "migrate" else {("TCP", 6379)}
    )
    assert len(database) + len(dns) + len(store) == len(egress)
    for rule in egress:
        assert rule["to"] and rule["ports"]
        for peer in rule["to"]:
            assert "except" not in peer.get("ipBlock", {})
            assert peer.get("ipBlock", {}).get("cidr") != "0.0.0.0/0"


def test_cert_manager_solver_pods_are_reachable_from_traefik_during_issuance(shop_plan):
    solver_labels = {"acme.cert-manager.io/http01-solver": "true"}
    rules = []
    for spec in policies(shop_plan).values():
        selected = spec["podSelector"] and _selects(spec["podSelector"], solver_labels)
        if "Ingress" in spec["policyTypes"] and selected:
            rules.extend(spec["ingress"])
    assert [(TRAEFIK in r["from"], [p["port"] for p in r["ports"]]) for r in rules] == [(True, [8089])]


def test_the_selector_check_would_notice_a_mismatch():
    assert _selects({"matchLabels": {"a": "1"}}, {"a": "1", "b": "2"})
    assert not _selects({"matchLabels": {"a": "1"}}, {"a": "2"})
    assert not _selects({"matchExpressions": [{"key": "c", "operator": "In", "values": ["x"]}]}, {"c": "y"})


def test_no_database_subnets_is_an_error(run_shop, monkeypatch):
    import tests.infra.k8s.conftest as conftest

    monkeypatch.setattr(conftest, "DATABASE_CIDRS", [])
    with pytest.raises(Exception, match="private_subnet_cidrs"):
        run_shop()
