"""The capacity check of the offline plan: the worst case against the nodes the plan allows."""

from __future__ import annotations

import pytest

from dhakacart_infra.aws.user_data import EVICTION_HARD_MEMORY, KUBE_RESERVED, SYSTEM_RESERVED
from dhakacart_infra.charts.facts import declared_releases
from dhakacart_infra.plan import capacity
from dhakacart_infra.plan.capacity import Demand, NodePool, judge, node_allocatable
from dhakacart_infra.plan.quantities import Requests, cpu_millicores, memory_mib


@pytest.mark.parametrize(
    ("quantity", "millicores"), [("250m", 250), ("1", 1000), ("0.5", 500), (2, 2000), ("1500m", 1500)]
)
def test_cpu_quantities(quantity, millicores):
    assert cpu_millicores(quantity) == millicores


@pytest.mark.parametrize(
    ("quantity", "mib"), [("192Mi", 192), ("1Gi", 1024), ("1048576", 1), ("512Ki", 0.5), ("1G", 1e9 / 2**20)]
)
def test_memory_quantities(quantity, mib):
    assert memory_mib(quantity) == pytest.approx(mib)


def test_a_memory_quantity_in_an_unknown_unit_is_refused():
    with pytest.raises(ValueError, match="not a Kubernetes memory quantity"):
        memory_mib("3Gb")


def test_a_node_offers_its_capacity_less_exactly_what_the_kubelet_reserves():
    allocatable = node_allocatable("t3.medium")  # 2 vCPU, 4 GiB
    assert allocatable.cpu_m == 2000 - cpu_millicores(SYSTEM_RESERVED["cpu"]) - cpu_millicores(
        KUBE_RESERVED["cpu"]
    )
    assert allocatable.memory_mi == 4096 - memory_mib(SYSTEM_RESERVED["memory"]) - memory_mib(
        KUBE_RESERVED["memory"]
    ) - memory_mib(EVICTION_HARD_MEMORY)


def test_the_shop_counts_at_its_hpa_maximum(prod_plan):
    shop = {d.name: d for d in capacity.shop_demands(prod_plan)}
    assert shop["dhakacart-api"].pods == 15 and shop["dhakacart-api"].per_pod == Requests(250, 256)
    assert shop["dhakacart-web"].pods == 12 and shop["dhakacart-web"].per_pod == Requests(100, 192)


def test_every_release_is_counted_from_its_chart_facts_and_daemonsets_per_node(prod_plan):
    demands = capacity.release_demands(prod_plan)
    releases = {d.name.split("/")[0] for d in demands}
    assert releases == {r.name for r in declared_releases(prod_plan)}
    per_node = {d.name for d in demands if d.per_node}
    assert per_node == {
        "kube-prometheus-stack/kube-prometheus-stack-prometheus-node-exporter",
        "alloy/alloy",
        "kured/kured",
    }
    assert not any(d.name.endswith(("admission-create", "admission-patch")) for d in demands)  # Jobs


def _replica_counts(values, path=""):
    if isinstance(values, dict):
        for key, value in values.items():
            if key in ("replicas", "replicaCount") and isinstance(value, int | float):
                yield f"{path}.{key}", value
            yield from _replica_counts(value, f"{path}.{key}")
    elif isinstance(values, list):
        for i, item in enumerate(values):
            yield from _replica_counts(item, f"{path}[{i}]")


def test_no_release_asks_its_chart_for_more_than_one_replica_as_the_check_assumes(stack_plan):
    for release in declared_releases(stack_plan):
        many = {path: n for path, n in _replica_counts(release.values) if n > 1}
        assert not many, f"{release.name}: count these replicas in plan/capacity.py: {many}"


def test_the_autoscaler_is_counted_on_the_servers_not_the_agents(prod_plan):
    pinned = [d for d in capacity.release_demands(prod_plan) if d.on_servers]
    assert [d.name.split("/")[0] for d in pinned] == ["cluster-autoscaler"]


def test_the_per_node_agents_run_on_the_dedicated_servers_too(prod_plan):
    """node-exporter and Alloy as their charts render them: on every node, etcd's included, so
    the servers' disks are watched and their pods' logs collected."""
    per_node = {d.name: d for d in capacity.release_demands(prod_plan) if d.per_node}
    assert all(d.tolerates_servers for d in per_node.values()), per_node
    # Traefik stays on the agents: the dedicated servers are no ingress targets
    assert {d.name for d in capacity.k3s_demands(prod_plan) if d.tolerates_servers} == set()


def test_prods_dedicated_servers_are_not_counted_for_workloads(prod_plan, dev_plan):
    pools, server_pool = capacity.node_pools(prod_plan)
    assert [(p.name, p.instance_type, p.count) for p in pools] == [("agents", "t3.medium", 8)]
    assert server_pool.count == 3
    dev_pools, dev_servers = capacity.node_pools(dev_plan)
    assert [p.name for p in dev_pools] == ["servers", "agents"] and dev_servers is None


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_new_defaults_fit_with_room(stack, dev_plan, prod_plan):
    report = capacity.assess({"dev": dev_plan, "prod": prod_plan}[stack])
    assert report.fits, report.problems
    assert report.needed.cpu_m > 0 and report.needed.fits_in(report.available)


def test_todays_single_node_prod_does_not_fit(prod_plan):
    """Before issue 13: one t3.xlarge for everything, web at most 8 x 100m, api 10 x 250m."""
    platform = [d for d in capacity.release_demands(prod_plan) + capacity.k3s_demands(prod_plan)]
    shop = [Demand("dhakacart-web", Requests(100, 192), 8), Demand("dhakacart-api", Requests(250, 256), 10)]
    node = NodePool("servers", "t3.xlarge", 1, node_allocatable("t3.xlarge"))
    report = judge("prod", shop + platform, [node], None)
    assert not report.fits
    (problem,) = report.problems
    assert "short" in problem and "vCPU" in problem
    # the shop's 3.3 vCPU fit 3.8 alone; the platform's requests are what tip it over
    assert 3300 < report.available.cpu_m < report.needed.cpu_m


def test_a_shortfall_names_how_much_and_which_keys_fix_it(run_stack):
    report = capacity.assess(run_stack("prod", overrides={"k3sAgentMaxSize": "3"}))
    assert not report.fits
    (problem,) = report.problems
    short = report.needed.cpu_m - report.available.cpu_m
    assert short > 0 and f"short {short / 1000:.2f} vCPU" in problem
    assert "dhakacart:k3sAgentMaxSize to 4 (now 3)" in problem
    assert "dhakacart:k3sAgentInstanceTypes" in problem and "dhakacart:web / dhakacart:api" in problem
    # and the suggested size really fits
    assert capacity.assess(run_stack("prod", overrides={"k3sAgentMaxSize": "4"})).fits


def test_a_pod_larger_than_any_node_is_named(prod_plan):
    huge = Demand("dhakacart-api", Requests(4000, 256), 1)
    report = judge("prod", [huge], [NodePool("agents", "t3.medium", 8, node_allocatable("t3.medium"))], None)
    assert any("one dhakacart-api pod requests 4.00 vCPU" in p for p in report.problems)


def test_the_servers_must_hold_what_is_pinned_to_them():
    pinned = Demand("cluster-autoscaler/ca", Requests(3000, 128), 1, on_servers=True)
    servers = NodePool("servers", "t3.small", 1, node_allocatable("t3.small"))
    report = judge(
        "prod", [pinned], [NodePool("agents", "t3.medium", 3, node_allocatable("t3.medium"))], servers
    )
    assert any("pinned to the servers" in p and "k3sInstanceType" in p for p in report.problems)
