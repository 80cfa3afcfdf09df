"""The AWS resource rules: `(type token, props, stack name) -> [violation message, ...]`.

Also the effective tags both adapters hand every taggable AWS resource
(`with_provider_default_tags`), which `aws-required-tags` checks and `environment.py` reads.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from .environment import effective_tags, tag_key
from .plain_data import UNKNOWN, as_int, as_mapping, list_of, truthy, value_at

REQUIRED_TAGS = ("project", "environment", "stack", "managed-by")
WORLD_CIDRS = frozenset({"0.0.0.0/0", "::/0"})
WORLD_OPEN_TCP_PORTS = frozenset({80, 443})
PRODUCTION_BACKUP_RETENTION_DAYS = 7


EC2_INSTANCE = "aws:ec2/instance:Instance"
EC2_LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
EBS_VOLUME = "aws:ec2/volume:Volume"
RDS_INSTANCE = "aws:rds/instance:Instance"
RDS_CLUSTER = "aws:rds/cluster:Cluster"
RDS_TYPES = (RDS_INSTANCE, RDS_CLUSTER)
S3_BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
S3_SSE_CONFIGS = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
)
S3_PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
S3_BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
KMS_KEY = "aws:kms/key:Key"
VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
SECURITY_GROUP_INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SECURITY_GROUP_TYPES = (SECURITY_GROUP, SECURITY_GROUP_RULE, SECURITY_GROUP_INGRESS_RULE)
IAM_POLICY_TYPES = (
    "aws:iam/policy:Policy", "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/userPolicy:UserPolicy", "aws:iam/groupPolicy:GroupPolicy",
)

# AWS resource types that take tags. Any other AWS resource whose props carry `tags` or `tagsAll`
# counts as taggable too, so a type missing here is still judged once it is tagged at all.
TAGGABLE_AWS_TYPES = frozenset({
    VPC, SUBNET, FLOW_LOG, SECURITY_GROUP, SECURITY_GROUP_INGRESS_RULE,
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
    "aws:ec2/internetGateway:InternetGateway", "aws:ec2/natGateway:NatGateway", "aws:ec2/eip:Eip",
    "aws:ec2/routeTable:RouteTable", "aws:ec2/networkAcl:NetworkAcl", "aws:ec2/vpcEndpoint:VpcEndpoint",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "aws:ec2/defaultNetworkAcl:DefaultNetworkAcl",
    "aws:ec2/defaultRouteTable:DefaultRouteTable", "aws:ec2/keyPair:KeyPair",
    EC2_INSTANCE, EC2_LAUNCH_TEMPLATE, EBS_VOLUME, RDS_INSTANCE, RDS_CLUSTER,
    "aws:rds/subnetGroup:SubnetGroup", "aws:rds/parameterGroup:ParameterGroup",
    "aws:rds/optionGroup:OptionGroup", *S3_BUCKETS, LOG_GROUP, KMS_KEY,
    "aws:iam/role:Role", "aws:iam/policy:Policy", "aws:iam/instanceProfile:InstanceProfile",
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
    "aws:ssm/parameter:Parameter", "aws:secretsmanager/secret:Secret", "aws:sns/topic:Topic",
    "aws:cloudwatch/metricAlarm:MetricAlarm", "aws:backup/vault:Vault", "aws:backup/plan:Plan",
    "aws:dlm/lifecyclePolicy:LifecyclePolicy",
})


def is_taggable(resource_type: str, props: Mapping[str, Any]) -> bool:
    return resource_type in TAGGABLE_AWS_TYPES or (
        resource_type.startswith("aws:") and ("tags" in props or "tagsAll" in props))


def with_provider_default_tags(
    resource_type: str, props: Mapping[str, Any], provider_props: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """`props` with `tagsAll` = the provider's default tags, then the resource's tags, as AWS applies them.

    pulumi-aws merges `defaultTags` into a resource's tags in its Check, so a policy pack usually sees
    them already; the offline plan records the explicit provider's inputs instead. Merging here makes
    both judge the same effective tags. Resources that take no tags are returned unchanged.
    """
    merged = dict(props)
    if not is_taggable(resource_type, props):
        return merged
    default_tags = as_mapping(as_mapping((provider_props or {}).get("defaultTags")).get("tags"))
    tags_all = dict(default_tags)
    tags_all.update(as_mapping(props.get("tagsAll")))
    tags_all.update(as_mapping(props.get("tags")))
    merged["tagsAll"] = tags_all
    return merged


def required_tags(resource_type: str, props: Mapping[str, Any], stack: str) -> list[str]:
    if not is_taggable(resource_type, props):
        return []
    tags = {tag_key(k): v for k, v in effective_tags(props).items()}
    missing = [t for t in REQUIRED_TAGS
               if not isinstance(tags.get(tag_key(t)), str) or not tags[tag_key(t)]]
    if missing:
        return [f"missing required tags {', '.join(missing)}: set them once in the AWS provider's "
                "default_tags (dhakacart_infra/tags.py), not per resource"]
    if tags["stack"] != stack:
        return [f"tag stack={tags['stack']!r} does not name this stack {stack!r}"]
    return []


def ebs_encrypted(resource_type: str, props: Mapping[str, Any], stack: str) -> list[str]:
    found: list[str] = []
    if resource_type == EBS_VOLUME:
        if not truthy(props.get("encrypted")):
            found.append("EBS volume is not encrypted: set encrypted=True")
    elif resource_type == EC2_INSTANCE:
        root = value_at(props, "rootBlockDevice")
        if not isinstance(root, Mapping) or not truthy(root.get("encrypted")):
            found.append("the instance's root volume is not encrypted: set root_block_device.encrypted=True")
        for device in list_of(props.get("ebsBlockDevices")):
            if not truthy(value_at(device, "encrypted")):
                name = value_at(device, "deviceName", default="?")
                found.append(f"EBS block device {name} is not encrypted")
    elif resource_type == EC2_LAUNCH_TEMPLATE:
        for mapping in list_of(props.get("blockDeviceMappings")):
            ebs = value_at(mapping, "ebs")
            if isinstance(ebs, Mapping) and not truthy(ebs.get("encrypted")):
                device = value_at(mapping, "deviceName", default="?")
                found.append(f"launch template volume {device} is not encrypted")
    return found


def rds_storage_encrypted(resource_type: str, props: Mapping[str, Any], stack: str) -> list[str]:
    if props.get("storageEncrypted") is not True:
        return ["database storage is not encrypted: set storage_encrypted=True (with a KMS key)"]
    return []


def rds_not_public(resource_type: str, props: Mapping[str, Any], stack: str) -> list[str]:
    if props.get("publiclyAccessible") is not False and props.get("publiclyAccessible") is not None:
        return ["database is publicly accessible: set publicly_accessible=False and reach it from the VPC"]
    return []


# The *_in_production rules are registered production_only: the registry applies them to resources
# tagged Environment=prod (environment.py), so they judge the setting alone.


def rds_multi_az_in_production(resource_type: str, props: Mapping[str, Any], stack: str) -> list[str]:
    if resource_type == RDS_INSTANCE and props.get("multiAz") is not True:
        return [f"stack {stack!r} is production: the database must be multi-AZ (multi_az=True)"]
    return []


def rds_deletion_protection_in_production(
    resource_type: str, props: Mapping[str, Any], stack: str,
) -> list[str]:
    if props.get("deletionProtection") is not True:
        return [f"stack {stack!r} is production: the database needs deletion_protection=True"]
    return []


def rds_backups_in_production(resource_type: str, props: Mapping[str, Any], stack: str) -> list[str]:
    days = as_int(props.get("backupRetentionPeriod"))
    if days is None or days < PRODUCTION_BACKUP_RETENTION_DAYS:
        return [f"stack {stack!r} is production: keep automated backups for at least "
                f"{PRODUCTION_BACKUP_RETENTION_DAYS} days (backup_retention_period, now {days})"]
    if resource_type == RDS_INSTANCE and props.get("skipFinalSnapshot") is True:
        return [f"stack {stack!r} is production: take a final snapshot on deletion "
                "(skip_final_snapshot=False)"]
    return []


def rds_performance_insights_in_production(
    resource_type: str, props: Mapping[str, Any], stack: str,
) -> list[str]:
    if props.get("performanceInsightsEnabled") is not True:
        return [f"stack {stack!r} is production: enable Performance Insights "
                "(performance_insights_enabled=True) to diagnose slow queries"]
    return []


def log_group_encrypted(resource_type: str, props: Mapping[str, Any], stack: str) -> list[str]:
    if not props.get("kmsKeyId"):
        return ["log group is not encrypted with a customer-managed KMS key: set kms_key_id"]
    return []


def log_group_retention(resource_type: str, props: Mapping[str, Any], stack: str) -> list[str]:
    days = as_int(props.get("retentionInDays"))
    if props.get("retentionInDays") is UNKNOWN:
        return []
    if days is None or days <= 0:
        return ["log group keeps logs forever: set retention_in_days"]
    return []


def kms_key_rotation(resource_type: str, props: Mapping[str, Any], stack: str) -> list[str]:
    spec = props.get("customerMasterKeySpec") or props.get("keySpec") or "SYMMETRIC_DEFAULT"
    if spec == "SYMMETRIC_DEFAULT" and props.get("enableKeyRotation") is not True:
        return ["KMS key rotation is off: set enable_key_rotation=True"]
    return []


def subnet_no_auto_public_ip(resource_type: str, props: Mapping[str, Any], stack: str) -> list[str]:
    if props.get("mapPublicIpOnLaunch") is True:
        return ["subnet gives every instance a public IP: set map_public_ip_on_launch=False and attach an "
                "Elastic IP only to the instance that must be reachable"]
    return []


def _world_open_violation(protocol: Any, from_port: Any, to_port: Any, cidrs: Iterable[Any]) -> str | None:
    world = sorted({c for c in cidrs if c in WORLD_CIDRS})
    if not world:
        return None
    proto = str(protocol).lower() if protocol is not None else ""
    low, high = as_int(from_port), as_int(to_port)
    if proto in {"tcp", "6"} and low is not None and low == high and low in WORLD_OPEN_TCP_PORTS:
        return None
    ports = "all ports" if proto in {"-1", "all"} else f"{proto} {low}-{high}"
    return (f"{ports} open to {', '.join(world)}: only TCP 80 and 443 may face the internet; "
            "restrict the source to a CIDR or a security group")


def security_group_no_world_open_ports(resource_type: str, props: Mapping[str, Any], stack: str) -> list[str]:
    candidates: list[tuple[Any, Any, Any, list[Any]]] = []
    if resource_type == SECURITY_GROUP:
        for rule in list_of(props.get("ingress")):
            cidrs = list_of(value_at(rule, "cidrBlocks")) + list_of(value_at(rule, "ipv6CidrBlocks"))
            ports = (value_at(rule, "protocol"), value_at(rule, "fromPort"), value_at(rule, "toPort"))
            candidates.append((*ports, cidrs))
    elif resource_type == SECURITY_GROUP_RULE:
        if props.get("type") == "ingress":
            cidrs = list_of(props.get("cidrBlocks")) + list_of(props.get("ipv6CidrBlocks"))
            candidates.append((props.get("protocol"), props.get("fromPort"), props.get("toPort"), cidrs))
    elif resource_type == SECURITY_GROUP_INGRESS_RULE:
        cidrs = [props.get("cidrIpv4"), props.get("cidrIpv6")]
        candidates.append((props.get("ipProtocol"), props.get("fromPort"), props.get("toPort"), cidrs))
    found = [_world_open_violation(*c) for c in candidates]
    return [f for f in found if f]


def ec2_imdsv2(resource_type: str, props: Mapping[str, Any], stack: str) -> list[str]:
    if value_at(props, "metadataOptions", "httpTokens") != "required":
        return ["instance metadata accepts IMDSv1: set metadata_options.http_tokens='required'"]
    return []


def iam_no_wildcard_actions(resource_type: str, props: Mapping[str, Any], stack: str) -> list[str]:
    document = props.get("policy")
    if document is UNKNOWN or document is None:
        return []
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            return ["the policy document is not valid JSON"]
    found = []
    for statement in list_of(value_at(document, "Statement")) or [value_at(document, "Statement")]:
        if not isinstance(statement, Mapping) or statement.get("Effect") != "Allow":
            continue
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else list_of(actions)
        if "NotAction" in statement:
            found.append("an Allow statement uses NotAction: list the actions it grants")
        if any(a == "*" or (isinstance(a, str) and a.endswith(":*")) for a in actions):
            found.append(f"an Allow statement grants every action of a service ({actions}): "
                         "list the actions the role needs")
    return found
