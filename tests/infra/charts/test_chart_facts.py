"""Every Helm release of both stacks against the facts recorded from its real chart (offline).

The facts come from `make chart-sources charts CHARTS=build/charts` (dhakacart_infra/charts); these
tests only read them, so CI needs neither helm nor the chart sources."""

from __future__ import annotations

import pytest

from dhakacart_infra.charts import check
from dhakacart_infra.charts.facts import FACTS_DIR, declared_releases, facts_path


@pytest.fixture(scope="module")
def facts(stack_plan) -> check.StackFacts:
    return check.stack_facts(stack_plan)


def test_every_release_has_facts_recorded_from_the_values_it_sends_today(facts):
    assert facts.problems == []
    assert sorted(facts.renders) == sorted(r.name for r in facts.releases)
    assert {r.name for r in facts.releases} == {"cert-manager", "kube-prometheus-stack", "loki", "alloy",
                                                 "cluster-autoscaler", "kured"}


def test_no_facts_are_left_for_charts_no_longer_pinned(dev_plan, prod_plan):
    declared = [*declared_releases(dev_plan), *declared_releases(prod_plan)]
    assert set(FACTS_DIR.glob("*.json")) == {facts_path(r.chart, r.version) for r in declared}


def test_every_value_key_is_one_the_chart_reads(facts):
    problems = [p for r in facts.releases for p in check.unknown_value_keys(r, facts.trees[r.name])]
    assert problems == []


def test_no_value_that_the_chart_evaluates_with_tpl_holds_template_braces(facts):
    problems = [p for r in facts.releases for p in check.templated_values(r, facts.renders[r.name])]
    assert problems == []


def test_every_service_monitor_selects_a_service_with_the_port_it_scrapes(facts):
    assert check.service_monitor_problems(facts) == []


def test_every_network_policy_in_a_chart_namespace_governs_a_rendered_pod(facts):
    assert check.network_policy_problems(facts) == []


def test_every_rendered_container_has_requests_and_a_memory_limit(facts):
    assert check.resource_problems(facts) == []


def test_every_rendered_pod_meets_its_namespaces_enforced_pod_security_level(facts):
    assert check.pod_security_problems(facts) == []


def test_no_statefulset_deletes_its_volumes(facts):
    assert check.volume_retention_problems(facts) == []
