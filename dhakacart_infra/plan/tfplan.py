"""The AWS half of the offline plan as a Terraform plan (`terraform show -json` shape) for checkov.

pulumi-aws is bridged from Terraform's AWS provider, so every resource type and property has a
Terraform counterpart: `aws:ec2/vpc:Vpc` is `aws_vpc`, `cidrBlock` is `cidr_block`, a nested object
is a block (a list of one object), and a few list blocks that Pulumi pluralises (`routes`, `rules`,
`ebsBlockDevices`) keep Terraform's singular name. checkov's AWS checks (`--framework terraform_plan`)
then judge this Pulumi program even though checkov cannot read Pulumi code.

Like a real plan for a fresh stack, a property that takes another resource's output (`vpc_id`,
`kms_key_id`, `subnet_ids`) is unknown until apply: it is left out of the planned values, marked in
`after_unknown`, and its source is written as a reference in the `configuration` section, which is
how checkov's graph checks connect a flow log to its VPC. Computed documents (a policy JSON, user
data) stay known, so checkov judges their content. Secrets are masked and marked sensitive.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from dhakacart_infra.policy.aws_rules import is_taggable

from .mocks import RecordedResource, contains_secret, mask_secrets, reveal
from .policy_report import policy_props
from .runner import PlanResult

TFPLAN_FILE = "tfplan.json"
FORMAT_VERSION = "1.2"
TERRAFORM_VERSION = "1.9.8"  # the plan format checkov is tested against; no Terraform runs here
PROVIDER_NAME = "registry.terraform.io/hashicorp/aws"


class UnmappedResourceTypeError(Exception):
    """An AWS resource type with no known Terraform counterpart in TERRAFORM_TYPES."""


# Pulumi type token -> Terraform resource type, as the pulumi-aws bridge maps them.
TERRAFORM_TYPES: dict[str, str] = {
    "aws:ec2/vpc:Vpc": "aws_vpc",
    "aws:ec2/subnet:Subnet": "aws_subnet",
    "aws:ec2/internetGateway:InternetGateway": "aws_internet_gateway",
    "aws:ec2/natGateway:NatGateway": "aws_nat_gateway",
    "aws:ec2/eip:Eip": "aws_eip",
    "aws:ec2/eipAssociation:EipAssociation": "aws_eip_association",
    "aws:ec2/routeTable:RouteTable": "aws_route_table",
    "aws:ec2/route:Route": "aws_route",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "aws_route_table_association",
    "aws:ec2/securityGroup:SecurityGroup": "aws_security_group",
    "aws:ec2/securityGroupRule:SecurityGroupRule": "aws_security_group_rule",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "aws_vpc_security_group_ingress_rule",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "aws_vpc_security_group_egress_rule",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "aws_default_security_group",
    "aws:ec2/defaultNetworkAcl:DefaultNetworkAcl": "aws_default_network_acl",
    "aws:ec2/networkAcl:NetworkAcl": "aws_network_acl",
    "aws:ec2/flowLog:FlowLog": "aws_flow_log",
    "aws:ec2/vpcEndpoint:VpcEndpoint": "aws_vpc_endpoint",
    "aws:ec2/instance:Instance": "aws_instance",
    "aws:ec2/volume:Volume": "aws_ebs_volume",
    "aws:ec2/volumeAttachment:VolumeAttachment": "aws_volume_attachment",
    "aws:ec2/launchTemplate:LaunchTemplate": "aws_launch_template",
    "aws:ec2/keyPair:KeyPair": "aws_key_pair",
    "aws:ebs/encryptionByDefault:EncryptionByDefault": "aws_ebs_encryption_by_default",
    "aws:iam/role:Role": "aws_iam_role",
    "aws:iam/policy:Policy": "aws_iam_policy",
    "aws:iam/rolePolicy:RolePolicy": "aws_iam_role_policy",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": "aws_iam_role_policy_attachment",
    "aws:iam/instanceProfile:InstanceProfile": "aws_iam_instance_profile",
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": "aws_iam_openid_connect_provider",
    "aws:kms/key:Key": "aws_kms_key",
    "aws:kms/alias:Alias": "aws_kms_alias",
    "aws:s3/bucket:Bucket": "aws_s3_bucket",
    "aws:s3/bucketV2:BucketV2": "aws_s3_bucket",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration":
        "aws_s3_bucket_server_side_encryption_configuration",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": "aws_s3_bucket_public_access_block",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration":
        "aws_s3_bucket_lifecycle_configuration",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": "aws_s3_bucket_ownership_controls",
    "aws:s3/bucketPolicy:BucketPolicy": "aws_s3_bucket_policy",
    "aws:s3/bucketVersioning:BucketVersioning": "aws_s3_bucket_versioning",
    "aws:s3/bucketObjectv2:BucketObjectv2": "aws_s3_object",
    "aws:s3/bucketLogging:BucketLogging": "aws_s3_bucket_logging",
    "aws:s3/bucketNotification:BucketNotification": "aws_s3_bucket_notification",
    "aws:cloudwatch/logGroup:LogGroup": "aws_cloudwatch_log_group",
    "aws:cloudwatch/metricAlarm:MetricAlarm": "aws_cloudwatch_metric_alarm",
    "aws:rds/instance:Instance": "aws_db_instance",
    "aws:rds/subnetGroup:SubnetGroup": "aws_db_subnet_group",
    "aws:rds/parameterGroup:ParameterGroup": "aws_db_parameter_group",
    "aws:rds/cluster:Cluster": "aws_rds_cluster",
    "aws:ssm/parameter:Parameter": "aws_ssm_parameter",
    "aws:secretsmanager/secret:Secret": "aws_secretsmanager_secret",
    "aws:secretsmanager/secretVersion:SecretVersion": "aws_secretsmanager_secret_version",
    "aws:secretsmanager/secretRotation:SecretRotation": "aws_secretsmanager_secret_rotation",
    "aws:sns/topic:Topic": "aws_sns_topic",
    "aws:sns/topicPolicy:TopicPolicy": "aws_sns_topic_policy",
    "aws:sns/topicSubscription:TopicSubscription": "aws_sns_topic_subscription",
    "aws:backup/vault:Vault": "aws_backup_vault",
    "aws:backup/plan:Plan": "aws_backup_plan",
    "aws:backup/selection:Selection": "aws_backup_selection",
    "aws:dlm/lifecyclePolicy:LifecyclePolicy": "aws_dlm_lifecycle_policy",
    "aws:lb/loadBalancer:LoadBalancer": "aws_lb",
    "aws:lb/targetGroup:TargetGroup": "aws_lb_target_group",
    "aws:lb/targetGroupAttachment:TargetGroupAttachment": "aws_lb_target_group_attachment",
    "aws:lb/listener:Listener": "aws_lb_listener",
    "aws:autoscaling/group:Group": "aws_autoscaling_group",
    "aws:route53/record:Record": "aws_route53_record",
}

# List blocks that Pulumi names in the plural and Terraform in the singular: (terraform type or "*",
# snake_case Pulumi name) -> Terraform name.
SINGULAR_BLOCKS: dict[tuple[str, str], str] = {
    ("aws_instance", "ebs_block_devices"): "ebs_block_device",
    ("aws_instance", "ephemeral_block_devices"): "ephemeral_block_device",
    ("aws_instance", "network_interfaces"): "network_interface",
    ("aws_route_table", "routes"): "route",
    ("aws_default_route_table", "routes"): "route",
    ("aws_s3_bucket_server_side_encryption_configuration", "rules"): "rule",
    ("aws_s3_bucket_lifecycle_configuration", "rules"): "rule",
    ("*", "transitions"): "transition",
    ("*", "noncurrent_version_transitions"): "noncurrent_version_transition",
    ("aws_db_parameter_group", "parameters"): "parameter",
    ("aws_iam_role", "inline_policies"): "inline_policy",
    ("aws_backup_plan", "rules"): "rule",
    ("aws_backup_selection", "selection_tags"): "selection_tag",
    ("aws_route53_record", "aliases"): "alias",
}
# Attributes that are maps in Terraform (their keys are data, not attribute names).
MAP_ATTRIBUTES = frozenset({"tags", "tags_all", "parameters_map"})


def snake(name: str) -> str:
    """cidrBlock -> cidr_block, ipv6CidrBlocks -> ipv6_cidr_blocks, multiAz -> multi_az."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def terraform_type(pulumi_type: str) -> str:
    try:
        return TERRAFORM_TYPES[pulumi_type]
    except KeyError:
        raise UnmappedResourceTypeError(
            f"{pulumi_type} has no Terraform counterpart in dhakacart_infra/plan/tfplan.py TERRAFORM_TYPES: "
            "add it (the pulumi-aws docs page of the resource names the Terraform resource it wraps)"
        ) from None


def _attribute(tf_type: str, key: str) -> str:
    name = snake(key)
    return SINGULAR_BLOCKS.get((tf_type, name)) or SINGULAR_BLOCKS.get(("*", name)) or name


def to_terraform_values(tf_type: str, value: Any, key: str | None = None) -> Any:
    """Pulumi inputs (camelCase, nested objects) as Terraform values (snake_case, blocks as lists)."""
    if isinstance(value, dict):
        if key in MAP_ATTRIBUTES:
            return {k: v for k, v in value.items()}
        return {_attribute(tf_type, k): _block(tf_type, _attribute(tf_type, k), v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_terraform_values(tf_type, v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)  # the mocks hand numbers back as floats; Terraform writes 30, not 30.0
    return value


def _block(tf_type: str, name: str, value: Any) -> Any:
    converted = to_terraform_values(tf_type, value, name)
    if isinstance(value, dict) and name not in MAP_ATTRIBUTES:
        return [converted]  # Terraform represents a nested object as a block: a list of one object
    return converted


def _is_reference_value(value: Any) -> bool:
    """An id or ARN taken from another resource (unknown until apply), not a computed document."""
    if isinstance(value, str):
        return "\n" not in value and not value.lstrip().startswith(("{", "["))
    if isinstance(value, list):
        return bool(value) and all(_is_reference_value(v) for v in value)
    return False


def _nested_references(
    plan: PlanResult, value: Any, urns: list[str], names: dict[str, tuple[str, str]]
) -> list[dict[str, Any]] | None:
    """For a list of blocks (an alias record's `aliases`): each field equal to an attribute of a
    dependency (a load balancer's dnsName, zoneId) as a reference to that attribute, so checkov's
    graph checks connect the blocks' owner to the dependency. None when nothing matches."""
    if not (isinstance(value, list) and value and all(isinstance(v, dict) for v in value)):
        return None
    states = [(names[u], plan.by_urn(u).state) for u in urns if u in names]
    blocks, found = [], False
    for block in value:
        converted: dict[str, Any] = {}
        for key, field in block.items():
            for (tf_type, tf_name), state in states:
                match = next((k for k, v in state.items() if isinstance(v, str) and v == field), None)
                if isinstance(field, str) and match:
                    ref = f"{tf_type}.{tf_name}"
                    converted[snake(key)] = {"references": [f"{ref}.{snake(match)}", ref]}
                    found = True
                    break
            else:
                converted[snake(key)] = {"constant_value": field}
        blocks.append(converted)
    return blocks if found else None


def _terraform_names(records: list[RecordedResource]) -> dict[str, tuple[str, str]]:
    """urn -> (terraform type, unique terraform resource name)."""
    taken: set[str] = set()
    names: dict[str, tuple[str, str]] = {}
    for r in records:
        tf_type = terraform_type(r.type)
        base = re.sub(r"[^A-Za-z0-9_-]", "_", r.name)
        base = base if re.match(r"[A-Za-z_]", base) else f"r_{base}"
        name, n = base, 2
        while f"{tf_type}.{name}" in taken:
            name, n = f"{base}_{n}", n + 1
        taken.add(f"{tf_type}.{name}")
        names[r.urn] = (tf_type, name)
    return names


def aws_resources(plan: PlanResult) -> list[RecordedResource]:
    """The AWS resources `pulumi up` would create (not providers, not components)."""
    return [r for r in plan.resources if r.custom and r.type.startswith("aws:")]


def build_tfplan(plan: PlanResult) -> dict[str, Any]:
    records = aws_resources(plan)
    names = _terraform_names(records)
    planned: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    configuration: list[dict[str, Any]] = []
    for r in records:
        tf_type, name = names[r.urn]
        address = f"{tf_type}.{name}"
        inputs = dict(r.inputs)
        if is_taggable(r.type, reveal(r.inputs)):
            # Terraform's tags_all: the provider's default_tags merged with the resource's tags.
            inputs["tagsAll"] = policy_props(plan, r).get("tagsAll", {})
        expressions: dict[str, Any] = {}
        unknown: dict[str, bool] = {}
        for prop, urns in r.property_dependencies.items():
            refs = [f"{names[u][0]}.{names[u][1]}" for u in urns if u in names]
            nested = _nested_references(plan, reveal(inputs[prop]), urns, names) if prop in inputs else None
            if refs and nested:
                expressions[_attribute(tf_type, prop)] = nested  # values stay known, as after apply
                continue
            if not refs or prop not in inputs or not _is_reference_value(reveal(inputs[prop])):
                continue
            attribute = _attribute(tf_type, prop)
            expressions[attribute] = {"references": [x for ref in refs for x in (f"{ref}.id", ref)]}
            unknown[attribute] = True
            del inputs[prop]
        sensitive = {_attribute(tf_type, k): True for k, v in inputs.items() if contains_secret(v)}
        values = to_terraform_values(tf_type, mask_secrets(inputs, "(sensitive value)"))
        planned.append({"address": address, "mode": "managed", "type": tf_type, "name": name,
                        "provider_name": PROVIDER_NAME, "schema_version": 0, "values": values,
                        "sensitive_values": sensitive})
        changes.append({"address": address, "mode": "managed", "type": tf_type, "name": name,
                        "provider_name": PROVIDER_NAME,
                        "change": {"actions": ["create"], "before": None, "after": values,
                                   "after_unknown": unknown, "before_sensitive": False,
                                   "after_sensitive": sensitive}})
        configuration.append({"address": address, "mode": "managed", "type": tf_type, "name": name,
                              "provider_config_key": "aws", "expressions": expressions, "schema_version": 0})
    return {
        "format_version": FORMAT_VERSION,
        "terraform_version": TERRAFORM_VERSION,
        "planned_values": {"root_module": {"resources": planned}},
        "resource_changes": changes,
        "configuration": {
            "provider_config": {"aws": {"name": "aws", "full_name": PROVIDER_NAME}},
            "root_module": {"resources": configuration},
        },
        "timestamp": "1970-01-01T00:00:00Z",
        "errored": False,
    }


def write_tfplan(plan: PlanResult, out_dir: Path) -> Path:
    """Writes `tfplan.json` for `plan`'s AWS resources to `out_dir` and returns its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / TFPLAN_FILE
    path.write_text(json.dumps(build_tfplan(plan), indent=2, sort_keys=False) + "\n")
    return path
