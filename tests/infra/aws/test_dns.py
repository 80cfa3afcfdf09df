"""DNS in the graph: given hostedZoneId, the shop's and Grafana's names are Pulumi's alias A records
to the load balancer; without it nothing is created and the sslip.io fallback stays."""

from __future__ import annotations

import pytest

from dhakacart_infra.names import StackOutput
from tests.infra.config.test_reader import problems
from tests.infra.k8s.kube import INGRESS

RECORD = "aws:route53/record:Record"
BALANCER = "aws:lb/loadBalancer:LoadBalancer"
ZONE = {"hostedZoneId": "Z0123456789ABCDEFGHIJ", "hostedZoneName": "dhakacart.example"}


@pytest.fixture(scope="module")
def zoned_plan():
    from dhakacart_infra.plan.runner import run_program

    return run_program("prod", overrides={**ZONE, "domainName": "shop.dhakacart.example"})


def test_no_zone_no_records_and_dev_keeps_sslip(stack_plan):
    assert stack_plan.of_type(RECORD) == []
    if stack_plan.stack == "dev":
        assert stack_plan.outputs[StackOutput.STOREFRONT_URL].endswith(".sslip.io")


def test_both_names_are_alias_records_to_the_load_balancer(zoned_plan):
    balancer = zoned_plan.one(BALANCER).state
    records = {r.inputs["name"]: r.inputs for r in zoned_plan.of_type(RECORD)}
    assert sorted(records) == ["grafana.shop.dhakacart.example", "shop.dhakacart.example"]
    for record in records.values():
        assert record["zoneId"] == ZONE["hostedZoneId"]
        assert record["type"] == "A"
        assert record["allowOverwrite"] is False  # an existing record is never silently taken over
        assert record["aliases"] == [
            {"name": balancer["dnsName"], "zoneId": balancer["zoneId"], "evaluateTargetHealth": True}
        ]
        assert "records" not in record and "ttl" not in record  # an alias has neither


def test_the_ingresses_serve_those_names_and_wait_for_their_records(zoned_plan):
    records = {r.inputs["name"]: r for r in zoned_plan.of_type(RECORD)}
    ingresses = {r.revealed()["spec"]["rules"][0]["host"]: r for r in zoned_plan.of_type(INGRESS)}
    shop = ingresses["shop.dhakacart.example"]
    assert zoned_plan.waits_for(shop, records["shop.dhakacart.example"])
    assert zoned_plan.outputs[StackOutput.STOREFRONT_URL] == "https://shop.dhakacart.example"
    assert zoned_plan.outputs[StackOutput.GRAFANA_URL] == "https://grafana.shop.dhakacart.example"
    grafana = next(
        r
        for r in zoned_plan.of_type("kubernetes:helm.sh/v3:Release")
        if r.inputs["name"] == "kube-prometheus-stack"
    )
    assert zoned_plan.waits_for(grafana, records["grafana.shop.dhakacart.example"])


@pytest.mark.parametrize(
    ("overrides", "key", "reason"),
    [
        (
            {"hostedZoneId": "Z0123456789ABCDEFGHIJ", "domainName": "shop.dhakacart.example"},
            "hostedZoneName",
            "required when hostedZoneId is set",
        ),
        (
            {"hostedZoneName": "dhakacart.example", "domainName": "shop.dhakacart.example"},
            "hostedZoneId",
            "required when hostedZoneName is set",
        ),
        (ZONE, "domainName", "required when hostedZoneId is set"),
        (
            {**ZONE, "domainName": "shop.example.com"},
            "domainName",
            "not inside the hosted zone dhakacart.example",
        ),
        # A suffix is not a zone: label by label.
        ({**ZONE, "domainName": "shop.xdhakacart.example"}, "domainName", "not inside the hosted zone"),
        (
            {**ZONE, "hostedZoneId": "dhakacart.example", "domainName": "shop.dhakacart.example"},
            "hostedZoneId",
            "not a Route 53 hosted zone id",
        ),
        (
            {**ZONE, "hostedZoneName": "dhakacart.example.", "domainName": "shop.dhakacart.example"},
            "hostedZoneName",
            "no trailing dot",
        ),
    ],
)
def test_a_zone_without_its_partner_or_a_name_outside_it_is_refused_with_the_fix(overrides, key, reason):
    error = problems("dev", overrides)
    [problem] = [p for p in error.problems if p.key == key and reason in p.reason]
    assert problem.fix.startswith(f"pulumi config set --stack dev {key} ")
    assert problem.fix in str(error)


def test_the_fix_for_a_name_outside_the_zone_suggests_one_inside_it():
    error = problems("prod", {**ZONE, "domainName": "shop.example.com"})
    [problem] = [p for p in error.problems if p.key == "domainName"]
    assert problem.fix == "pulumi config set --stack prod domainName shop.dhakacart.example"
    assert "grafana.shop.example.com" in problem.reason


@pytest.mark.parametrize("domain", ["dhakacart.example", "shop.dhakacart.example", "a.b.dhakacart.example"])
def test_the_apex_and_any_name_below_it_are_inside(domain):
    from tests.infra.config.test_reader import load

    config = load("dev", {**ZONE, "domainName": domain})
    assert (config.app.hosted_zone_id, config.app.domain_name) == (ZONE["hostedZoneId"], domain)
