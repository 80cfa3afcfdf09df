"""A customer-managed KMS key (rotation on) with an explicit key policy.

The account administers every key through IAM, so who may use a key is decided by IAM policies
(RDS, EBS and S3 use it on behalf of the IAM principals allowed to). A key that encrypts log
groups also lets the regional CloudWatch Logs service use it, for the named log groups only. A key
with `ebs_users` lets those roles encrypt EBS volumes with it through EC2 (and create the grants
EC2 needs to attach such a volume to an instance), nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

from .iam import policy_document


def account_administers_statement(account_id: str, partition: str) -> dict[str, Any]:
    """The one statement every key policy here starts with: the account (through IAM) owns the key."""
    return {
        "Sid": "AccountAdministersThroughIam",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:{partition}:iam::{account_id}:root"},
        "Action": "kms:*",
        "Resource": "*",
    }


def ebs_user_statements(role_arns: Sequence[str], region: str) -> list[dict[str, Any]]:
    """The key statements the EBS CSI driver's documentation asks for (docs/install.md, "KMS"),
    for these roles only and only through EC2 in this region: use the key for volumes, and create
    grants for AWS resources (EC2 holds one per attached encrypted volume)."""
    via_ec2 = {"kms:ViaService": f"ec2.{region}.amazonaws.com"}
    principal = {"AWS": sorted(role_arns)}
    return [
        {
            "Sid": "EbsVolumesThroughEc2",
            "Effect": "Allow",
            "Principal": principal,
            "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*",
                       "kms:DescribeKey"],
            "Resource": "*",
            "Condition": {"StringEquals": via_ec2},
        },
        {
            "Sid": "EbsGrantsForAwsResources",
            "Effect": "Allow",
            "Principal": principal,
            "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
            "Resource": "*",
            "Condition": {"StringEquals": via_ec2, "Bool": {"kms:GrantIsForAWSResource": "true"}},
        },
    ]


def key_policy(
    account_id: str,
    region: str,
    partition: str,
    log_group_pattern: str | None = None,
    ebs_users: Sequence[str] = (),
) -> str:
    """The account administers the key through IAM; with `log_group_pattern`, the regional CloudWatch
    Logs service may also use it, for log groups matching the pattern only; with `ebs_users` (role
    ARNs), those roles may use it for EBS volumes (ebs_user_statements)."""
    statements = [account_administers_statement(account_id, partition)]
    if ebs_users:
        statements += ebs_user_statements(ebs_users, region)
    if log_group_pattern is not None:
        log_group_arn = f"arn:{partition}:logs:{region}:{account_id}:log-group:{log_group_pattern}"
        statements.append(
            {
                "Sid": "CloudWatchLogsForTheseGroupsOnly",
                "Effect": "Allow",
                "Principal": {"Service": f"logs.{region}.amazonaws.com"},
                "Action": [
                    "kms:Encrypt*",
                    "kms:Decrypt*",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:Describe*",
                ],
                "Resource": "*",
                "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": log_group_arn}},
            }
        )
    return policy_document(*statements)


class EncryptionKey(pulumi.ComponentResource):
    """The key (named `name`) and, when `alias` is given, `alias/<alias>` pointing at it."""

    arn: pulumi.Output[str]
    key_id: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        description: str,
        log_group_pattern: str | None = None,
        ebs_users: Sequence[pulumi.Input[str]] = (),
        alias: str | None = None,
        deletion_window_days: int = 30,
        tags: Mapping[str, str] | None = None,
        key_aliases: list[pulumi.Alias] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """`key_aliases`: earlier identities of the key (e.g. `pulumi.Alias(parent=...)` when the key
        moved into this component), so `pulumi up` keeps the existing key instead of replacing it:
        a replaced key is scheduled for deletion, and whatever it encrypted becomes unreadable."""
        super().__init__("dhakacart:aws:EncryptionKey", name, None, opts)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        account = aws.get_caller_identity_output(opts=invoke).account_id
        region = aws.get_region_output(opts=invoke).region
        partition = aws.get_partition_output(opts=invoke).partition
        key = aws.kms.Key(
            name,
            description=description,
            enable_key_rotation=True,
            deletion_window_in_days=deletion_window_days,
            policy=pulumi.Output.all(account, region, partition, pulumi.Output.all(*ebs_users)).apply(
                lambda v: key_policy(v[0], v[1], v[2], log_group_pattern, v[3])
            ),
            tags=dict(tags) if tags else None,
            opts=pulumi.ResourceOptions(parent=self, aliases=key_aliases),
        )
        if alias is not None:
            aws.kms.Alias(
                f"{name}-alias",
                name=f"alias/{alias}",
                target_key_id=key.key_id,
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.arn = key.arn
        self.key_id = key.key_id
        self.register_outputs({"arn": self.arn, "key_id": self.key_id})
