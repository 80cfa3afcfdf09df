"""A customer-managed KMS key (rotation on) that CloudWatch Logs may also use, for named log groups."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws


def key_policy(account_id: str, region: str, partition: str, log_group_pattern: str) -> str:
    """The account administers the key through IAM (so RDS, EBS... use it on behalf of IAM principals);
    the regional CloudWatch Logs service may use it only for log groups matching the pattern."""
    log_group_arn = f"arn:{partition}:logs:{region}:{account_id}:log-group:{log_group_pattern}"
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AccountAdministers",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:{partition}:iam::{account_id}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                },
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
                },
            ],
        }
    )


class EncryptionKey(pulumi.ComponentResource):
    arn: pulumi.Output[str]
    key_id: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        description: str,
        log_group_pattern: str,
        alias: str,
        deletion_window_days: int = 30,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
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
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.kms.Alias(
            f"{name}-alias",
            name=f"alias/{alias}",
            target_key_id=key.key_id,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.arn = key.arn
        self.key_id = key.key_id
        self.register_outputs({"arn": self.arn, "key_id": self.key_id})
