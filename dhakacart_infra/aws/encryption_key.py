"""A customer-managed KMS key (rotation on) with an explicit key policy.

The account administers every key through IAM, so who may use a key is decided by IAM policies
(RDS, EBS and S3 use it on behalf of the IAM principals allowed to). A key that encrypts log
groups also lets the regional CloudWatch Logs service use it, for the named log groups only.
"""

from __future__ import annotations

from collections.abc import Mapping
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


def key_policy(account_id: str, region: str, partition: str, log_group_pattern: str | None = None) -> str:
    """The account administers the key through IAM; with `log_group_pattern`, the regional CloudWatch
    Logs service may also use it, for log groups matching the pattern only."""
    statements = [account_administers_statement(account_id, partition)]
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
            policy=pulumi.Output.all(account, region, partition).apply(
                lambda v: key_policy(v[0], v[1], v[2], log_group_pattern)
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
