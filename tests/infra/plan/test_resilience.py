"""The zone-loss analysis: for each zone, what losing it leaves running, from the plan alone."""

from __future__ import annotations

import copy

import pytest

from dhakacart_infra.errors import ConfigError
from dhakacart_infra.plan import resilience


def _checks(report, zone):
    return {c.what: c for c in next(z for z in report.zones if z.zone == zone).checks}


def test_prod_survives_the_loss_of_any_one_zone(prod_plan):
    report = resilience.assess(prod_plan)
    assert [z.zone for z in report.zones] == ["ap-south-1a", "ap-south-1b", "ap-south-1c"]
    assert report.survives_any_zone_loss, report.summary()
    for zone in report.zones:
        checks = {c.what: c for c in zone.checks}
        assert checks["etcd quorum"].why == "2 of 3 servers left, a majority is 2"
        assert checks["API target"].kept and checks["ingress target"].kept
        for name in ("dhakacart-web", "dhakacart-api"):
            assert checks[f"{name} ready pod"].why == f"{name}: at most 2 of 6 pods per zone, 4 left"
            assert checks[f"{name} pod per zone in a drain"].kept


def test_dev_is_reported_as_having_no_guarantee(dev_plan):
    report = resilience.assess(dev_plan)
    assert not report.survives_any_zone_loss
    checks = _checks(report, "ap-south-1a")  # the zone of the only server
    assert not checks["etcd quorum"].kept and not checks["API target"].kept
    assert not checks["dhakacart-web ready pod"].kept
    assert "only preferred" in checks["dhakacart-web ready pod"].why
    assert report.summary().startswith("zone loss: no guarantee")


def test_the_config_refuses_a_prod_minimum_that_cannot_keep_a_pod_per_zone(run_stack):
    with pytest.raises(ConfigError, match="minReplicas"):
        run_stack("prod", overrides={"web": '{"minReplicas": 3}'})


def _with_hpa_minimum(plan, name, minimum):
    changed = copy.deepcopy(plan)
    for hpa in changed.of_type("kubernetes:autoscaling/v2:HorizontalPodAutoscaler"):
        if hpa.inputs["spec"]["scaleTargetRef"]["name"] == name:
            hpa.inputs["spec"]["minReplicas"] = minimum
    return changed


def test_a_minimum_below_two_per_zone_is_caught_by_the_drain_check(prod_plan):
    report = resilience.assess(_with_hpa_minimum(prod_plan, "dhakacart-web", 3))
    failed = {c.what: c for z in report.zones for c in z.checks if not c.kept}
    assert set(failed) == {"dhakacart-web pod per zone in a drain"}
    assert (
        "a drain leaves at least 0 pod(s) in each zone (min 3"
        in failed["dhakacart-web pod per zone in a drain"].why
    )
    # one pod per zone is still left by a zone's loss itself
    assert all(c.kept for z in report.zones for c in z.checks if c.what == "dhakacart-web ready pod")
    assert not resilience.assess(_with_hpa_minimum(prod_plan, "dhakacart-web", 1)).survives_any_zone_loss


def test_agents_fewer_than_zones_leave_a_zone_without_ingress_when_servers_are_dedicated():
    check = resilience._ingress_target((1, {"a", "b", "c"}), [], {"a", "b", "c"}, "a")
    assert not check.kept and "0 agent(s) and 0 ingress server(s)" in check.why
    assert resilience._ingress_target((3, {"a", "b", "c"}), [], {"a", "b", "c"}, "a").kept


def test_an_even_split_of_etcd_loses_quorum():
    assert not resilience._etcd(["a", "a", "b", "b"], "a").kept
    assert resilience._etcd(["a", "b", "c", "a", "b"], "a").kept  # 3 of 5 left
