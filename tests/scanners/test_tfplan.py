"""The Terraform-plan converter on small programs: names, blocks, tags, references and secrets."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pytest

from dhakacart_infra.plan.runner import run_program
from dhakacart_infra.plan.tfplan import (
    PROVIDER_NAME,
    UnmappedResourceTypeError,
    build_tfplan,
    snake,
    terraform_type,
    write_tfplan,
)

DEFAULT_TAGS = {"Project": "dhakacart", "Environment": "dev", "Stack": "dev", "ManagedBy": "pulumi"}


def small_program() -> None:
    provider = aws.Provider("aws", region="ap-south-1", default_tags={"tags": DEFAULT_TAGS})
    on_aws = pulumi.ResourceOptions(provider=provider)
    vpc = aws.ec2.Vpc("main", cidr_block="10.0.0.0/16", tags={"Name": "main"}, opts=on_aws)
    key = aws.kms.Key("logs", enable_key_rotation=True, opts=on_aws)
    logs = aws.cloudwatch.LogGroup("flow", retention_in_days=30, kms_key_id=key.arn, opts=on_aws)
    aws.ec2.FlowLog("main", vpc_id=vpc.id, traffic_type="ALL", log_destination=logs.arn, opts=on_aws)
    aws.ec2.RouteTable(
        "public", vpc_id=vpc.id, routes=[{"cidr_block": "0.0.0.0/0", "gateway_id": "igw-1"}], opts=on_aws
    )
    aws.ec2.Instance(
        "node",
        ami="ami-1",
        instance_type="t3.small",
        root_block_device={"encrypted": True, "volume_size": 30},
        metadata_options={"http_tokens": "required"},
        user_data=pulumi.Output.secret("#!/bin/sh\necho token=abc"),
        opts=on_aws,
    )


@pytest.fixture(scope="module")
def tfplan() -> dict:
    return build_tfplan(run_program("dev", program=small_program))


def _planned(tfplan: dict, address: str) -> dict:
    return next(r for r in tfplan["planned_values"]["root_module"]["resources"] if r["address"] == address)


def _config(tfplan: dict, address: str) -> dict:
    return next(r for r in tfplan["configuration"]["root_module"]["resources"] if r["address"] == address)


def test_plan_shape_and_every_aws_resource(tfplan: dict) -> None:
    assert tfplan["format_version"] and tfplan["terraform_version"]
    addresses = [r["address"] for r in tfplan["planned_values"]["root_module"]["resources"]]
    assert sorted(addresses) == [
        "aws_cloudwatch_log_group.flow",
        "aws_flow_log.main",
        "aws_instance.node",
        "aws_kms_key.logs",
        "aws_route_table.public",
        "aws_vpc.main",
    ]
    changes = {c["address"]: c for c in tfplan["resource_changes"]}
    assert set(changes) == set(addresses)
    for resource in tfplan["planned_values"]["root_module"]["resources"]:
        assert resource["mode"] == "managed" and resource["provider_name"] == PROVIDER_NAME
        assert changes[resource["address"]]["change"]["actions"] == ["create"]
        assert changes[resource["address"]]["change"]["after"] == resource["values"]


def test_properties_are_snake_case_and_objects_are_blocks(tfplan: dict) -> None:
    node = _planned(tfplan, "aws_instance.node")["values"]
    assert node["instance_type"] == "t3.small"
    assert node["root_block_device"] == [{"encrypted": True, "volume_size": 30}]  # a block, ints not floats
    assert node["metadata_options"] == [{"http_tokens": "required"}]
    assert _planned(tfplan, "aws_route_table.public")["values"]["route"] == [
        {"cidr_block": "0.0.0.0/0", "gateway_id": "igw-1"}
    ]  # Pulumi's `routes` is Terraform's `route`


def test_tags_all_merges_the_providers_default_tags(tfplan: dict) -> None:
    vpc = _planned(tfplan, "aws_vpc.main")["values"]
    assert vpc["tags"] == {"Name": "main"}
    assert vpc["tags_all"] == {**DEFAULT_TAGS, "Name": "main"}  # map keys kept as written
    assert _planned(tfplan, "aws_kms_key.logs")["values"]["tags_all"] == DEFAULT_TAGS


def test_outputs_of_other_resources_are_unknown_and_referenced(tfplan: dict) -> None:
    flow_log = _planned(tfplan, "aws_flow_log.main")["values"]
    assert "vpc_id" not in flow_log and "log_destination" not in flow_log
    change = next(c for c in tfplan["resource_changes"] if c["address"] == "aws_flow_log.main")
    assert change["change"]["after_unknown"] == {"vpc_id": True, "log_destination": True}
    expressions = _config(tfplan, "aws_flow_log.main")["expressions"]
    assert expressions["vpc_id"]["references"] == ["aws_vpc.main.id", "aws_vpc.main"]
    assert _config(tfplan, "aws_cloudwatch_log_group.flow")["expressions"]["kms_key_id"]["references"][1] == (
        "aws_kms_key.logs"
    )


def test_secrets_are_masked_and_marked_sensitive(tfplan: dict) -> None:
    node = _planned(tfplan, "aws_instance.node")
    assert node["values"]["user_data"] == "(sensitive value)"
    assert node["sensitive_values"] == {"user_data": True}
    assert "token=abc" not in json.dumps(tfplan)


def test_write_tfplan_writes_json(tmp_path: Path) -> None:
    path = write_tfplan(run_program("dev", program=small_program), tmp_path / "dev")
    assert path.name == "tfplan.json" and json.loads(path.read_text())["planned_values"]


def test_an_unmapped_aws_type_is_a_clear_error() -> None:
    with pytest.raises(UnmappedResourceTypeError, match="aws:foo/bar:Bar has no Terraform counterpart"):
        terraform_type("aws:foo/bar:Bar")


@pytest.mark.parametrize(
    ("camel", "snake_case"),
    [
        ("cidrBlock", "cidr_block"),
        ("ipv6CidrBlocks", "ipv6_cidr_blocks"),
        ("multiAz", "multi_az"),
        ("httpPutResponseHopLimit", "http_put_response_hop_limit"),
        ("tags", "tags"),
    ],
)
def test_snake(camel: str, snake_case: str) -> None:
    assert snake(camel) == snake_case


def test_real_stacks_map_every_aws_type(stack_plan) -> None:
    types = {r.type for r in stack_plan.resources if r.custom and r.type.startswith("aws:")}
    assert all(terraform_type(t).startswith("aws_") for t in types)


def _attribute_names(value, maps=("tags", "tags_all")):
    if isinstance(value, dict):
        for key, inner in value.items():
            yield key
            if key not in maps:
                yield from _attribute_names(inner, maps)
    elif isinstance(value, list):
        for inner in value:
            yield from _attribute_names(inner, maps)


def test_real_stacks_have_only_terraform_attribute_names(stack_plan) -> None:
    plan = build_tfplan(stack_plan)
    names = {
        n for r in plan["planned_values"]["root_module"]["resources"] for n in _attribute_names(r["values"])
    }
    assert names and all(re.fullmatch(r"[a-z][a-z0-9_]*", n) for n in names), sorted(
        n for n in names if not re.fullmatch(r"[a-z][a-z0-9_]*", n)
    )
    expressions = [r["expressions"] for r in plan["configuration"]["root_module"]["resources"]]
    addresses = {r["address"] for r in plan["planned_values"]["root_module"]["resources"]}
    for refs in _references(expressions):
        # "<type>.<name>" or "<type>.<name>.<attribute>" (an attribute of a block's field)
        assert all(".".join(ref.split(".")[:2]) in addresses for ref in refs), refs


def _references(value):
    if isinstance(value, dict):
        if "references" in value:
            yield value["references"]
        for inner in value.values():
            yield from _references(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _references(inner)


def test_an_alias_records_blocks_reference_the_load_balancer_they_point_at() -> None:
    """checkov's CKV2_AWS_23 (an A record has an attached resource) follows these references."""
    zoned = run_program(
        "prod",
        overrides={
            "hostedZoneId": "Z0123456789ABCDEFGHIJ",
            "hostedZoneName": "dhakacart.example",
            "domainName": "shop.dhakacart.example",
        },
    )
    plan = build_tfplan(zoned)
    [balancer] = [r for r in plan["planned_values"]["root_module"]["resources"] if r["type"] == "aws_lb"]
    for name in ("dns-shop", "dns-grafana"):
        [alias] = _config(plan, f"aws_route53_record.{name}")["expressions"]["alias"]
        assert alias["name"]["references"] == [f"{balancer['address']}.dns_name", balancer["address"]]
        assert alias["zone_id"]["references"] == [f"{balancer['address']}.zone_id", balancer["address"]]
        assert alias["evaluate_target_health"] == {"constant_value": True}
        [planned] = _planned(plan, f"aws_route53_record.{name}")["values"]["alias"]
        assert planned["name"].endswith(".elb.ap-south-1.amazonaws.com")  # the value stays known
