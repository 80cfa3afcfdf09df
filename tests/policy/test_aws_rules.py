"""Each AWS resource policy fires on a minimal bad resource and passes on a good one (one row per case)."""

from __future__ import annotations

import pytest

from dhakacart_infra.policy import aws_rules
from dhakacart_infra.policy.aws_rules import with_provider_default_tags
from dhakacart_infra.policy.plain_data import UNKNOWN
from dhakacart_infra.policy.registry import POLICIES_BY_NAME
from tests.policy.samples import (
    GOOD_RDS,
    PROD_RDS,
    PROD_TAGS,
    PRODUCTION_DATABASE_POLICIES,
    RDS,
    TAGS,
    ResourceCase,
    assert_fires_on_bad_and_passes_good,
    case_id,
    policies_defined_in,
)

INSTANCE = "aws:ec2/instance:Instance"
SG = "aws:ec2/securityGroup:SecurityGroup"
GOOD_INSTANCE = {
    "rootBlockDevice": {"encrypted": True, "volumeSize": 30},
    "metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 1},
    "tags": TAGS,
}
HTTPS_INGRESS = {"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrBlocks": ["0.0.0.0/0"]}

AWS_CASES: list[ResourceCase] = [
    (
        "aws-ebs-encrypted",
        INSTANCE,
        "dev",
        GOOD_INSTANCE,
        {**GOOD_INSTANCE, "rootBlockDevice": {"encrypted": False}},
    ),
    ("aws-ebs-encrypted", "aws:ec2/volume:Volume", "dev", {"encrypted": True}, {"size": 10}),
    (
        "aws-ebs-encrypted",
        "aws:ec2/launchTemplate:LaunchTemplate",
        "dev",
        {"blockDeviceMappings": [{"deviceName": "/dev/sda1", "ebs": {"encrypted": "true"}}]},
        {"blockDeviceMappings": [{"deviceName": "/dev/sda1", "ebs": {"encrypted": "false"}}]},
    ),
    ("aws-rds-storage-encrypted", RDS, "dev", GOOD_RDS, {**GOOD_RDS, "storageEncrypted": False}),
    (
        "aws-log-group-kms-encrypted",
        "aws:cloudwatch/logGroup:LogGroup",
        "dev",
        {"kmsKeyId": "arn:aws:kms:ap-south-1:123456789012:key/k", "retentionInDays": 30},
        {"retentionInDays": 30},
    ),
    (
        "aws-log-group-retention",
        "aws:cloudwatch/logGroup:LogGroup",
        "dev",
        {"kmsKeyId": "k", "retentionInDays": 30},
        {"kmsKeyId": "k"},
    ),
    ("aws-kms-key-rotation", "aws:kms/key:Key", "dev", {"enableKeyRotation": True}, {"description": "rds"}),
    ("aws-rds-not-public", RDS, "dev", GOOD_RDS, {**GOOD_RDS, "publiclyAccessible": True}),
    (
        "aws-security-group-no-world-open-ports",
        SG,
        "dev",
        {"ingress": [HTTPS_INGRESS]},
        {"ingress": [HTTPS_INGRESS, {**HTTPS_INGRESS, "fromPort": 22, "toPort": 22}]},
    ),
    (
        "aws-security-group-no-world-open-ports",
        SG,
        "dev",
        {"ingress": [{**HTTPS_INGRESS, "fromPort": 6443, "toPort": 6443, "cidrBlocks": ["203.0.113.7/32"]}]},
        {"ingress": [{**HTTPS_INGRESS, "protocol": "-1", "fromPort": 0, "toPort": 0}]},
    ),
    (
        "aws-security-group-no-world-open-ports",
        "aws:ec2/securityGroupRule:SecurityGroupRule",
        "dev",
        {"type": "ingress", "protocol": "tcp", "fromPort": 80, "toPort": 80, "cidrBlocks": ["0.0.0.0/0"]},
        {"type": "ingress", "protocol": "tcp", "fromPort": 80, "toPort": 443, "cidrBlocks": ["0.0.0.0/0"]},
    ),
    (
        "aws-security-group-no-world-open-ports",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        "dev",
        {"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "cidrIpv6": "::/0"},
        {"ipProtocol": "tcp", "fromPort": 5432, "toPort": 5432, "cidrIpv6": "::/0"},
    ),
    (
        "aws-subnet-no-auto-public-ip",
        "aws:ec2/subnet:Subnet",
        "dev",
        {"cidrBlock": "10.0.0.0/24", "mapPublicIpOnLaunch": False},
        {"cidrBlock": "10.0.0.0/24", "mapPublicIpOnLaunch": True},
    ),
    (
        "aws-ec2-imdsv2",
        INSTANCE,
        "dev",
        GOOD_INSTANCE,
        {**GOOD_INSTANCE, "metadataOptions": {"httpTokens": "optional"}},
    ),
    (
        "aws-iam-no-wildcard-actions",
        "aws:iam/rolePolicy:RolePolicy",
        "dev",
        {
            "policy": '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
            '"Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::b/*"}]}'
        },
        {
            "policy": '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", '
            '"Resource": "*"}]}'
        },
    ),
    ("aws-rds-multi-az-in-production", RDS, "prod", PROD_RDS, {**PROD_RDS, "multiAz": False}),
    (
        "aws-rds-deletion-protection-in-production",
        RDS,
        "prod",
        PROD_RDS,
        {**PROD_RDS, "deletionProtection": False},
    ),
    ("aws-rds-backups-in-production", RDS, "prod", PROD_RDS, {**PROD_RDS, "backupRetentionPeriod": 1}),
    ("aws-rds-performance-insights-in-production", RDS, "prod", PROD_RDS,
     {**PROD_RDS, "performanceInsightsEnabled": False}),
    ("aws-rds-backups-in-production", RDS, "prod", PROD_RDS, {**PROD_RDS, "skipFinalSnapshot": True}),
    (
        "aws-required-tags",
        "aws:ec2/vpc:Vpc",
        "dev",
        {"cidrBlock": "10.0.0.0/16", "tagsAll": TAGS},
        {"cidrBlock": "10.0.0.0/16", "tags": {"Name": "x"}},
    ),
    ("aws-required-tags", "aws:ec2/vpc:Vpc", "dev", {"tags": TAGS}, {"tags": {**TAGS, "stack": "prod"}}),
]


@pytest.mark.parametrize("case", AWS_CASES, ids=[case_id(c) for c in AWS_CASES])
def test_aws_policy_fires_on_bad_and_passes_good(case: ResourceCase) -> None:
    assert_fires_on_bad_and_passes_good(case)


def test_every_aws_resource_policy_has_a_bad_and_good_case() -> None:
    assert {c[0] for c in AWS_CASES} == policies_defined_in(aws_rules)


@pytest.mark.parametrize("name", sorted(PRODUCTION_DATABASE_POLICIES))
def test_production_rules_read_the_environment_tag_not_the_stack_name(name: str) -> None:
    weak = {
        **GOOD_RDS,
        "multiAz": False,
        "deletionProtection": False,
        "backupRetentionPeriod": 1,
        "skipFinalSnapshot": True,
        "performanceInsightsEnabled": False,
    }
    policy = POLICIES_BY_NAME[name]
    assert policy.production_only
    assert policy.judge(RDS, weak, "dev") == []
    assert policy.judge(RDS, {**weak, "tags": PROD_TAGS}, "prod")
    staging = {"Project": "dhakacart", "Environment": "prod", "Stack": "staging", "ManagedBy": "pulumi"}
    assert policy.judge(RDS, {**weak, "tagsAll": staging}, "staging")
    prod_test = {**staging, "Environment": "dev", "Stack": "prod-test"}
    assert policy.judge(RDS, {**weak, "tagsAll": prod_test}, "prod-test") == []


def test_unknown_values_do_not_pass_a_required_literal() -> None:
    unknown_rds = {**GOOD_RDS, "storageEncrypted": UNKNOWN}
    assert POLICIES_BY_NAME["aws-rds-storage-encrypted"].judge(RDS, unknown_rds, "dev")


def test_provider_default_tags_count_as_the_resources_tags() -> None:
    provider = {
        "defaultTags": '{"tags": {"project": "dhakacart", "environment": "dev", "stack": "dev", '
        '"managed-by": "pulumi"}}'
    }
    props = with_provider_default_tags("aws:ec2/vpc:Vpc", {"tags": {"Name": "main"}}, provider)
    assert props["tagsAll"] == {**TAGS, "Name": "main"}
    assert POLICIES_BY_NAME["aws-required-tags"].judge("aws:ec2/vpc:Vpc", props, "dev") == []
    untaggable = with_provider_default_tags(
        "aws:ec2/routeTableAssociation:RouteTableAssociation", {}, provider
    )
    assert "tagsAll" not in untaggable
    assert (
        POLICIES_BY_NAME["aws-required-tags"].judge(
            "aws:ec2/routeTableAssociation:RouteTableAssociation", untaggable, "dev"
        )
        == []
    )

def test_required_tags_accept_any_casing_of_the_keys() -> None:
    aws_style = {"Project": "dhakacart", "Environment": "dev", "Stack": "dev", "ManagedBy": "pulumi"}
    assert POLICIES_BY_NAME["aws-required-tags"].judge("aws:ec2/vpc:Vpc", {"tagsAll": aws_style}, "dev") == []
    assert POLICIES_BY_NAME["aws-required-tags"].judge(
        "aws:ec2/vpc:Vpc", {"tagsAll": {**aws_style, "ManagedBy": ""}}, "dev"
    )
