"""The least-privilege IAM policy of whoever runs the recovery drills (the drills workflow's OIDC role).

`python -m dhakacart_infra.ops drill database | etcd` needs to restore this stack's database into
`<instance>-drill-*`, launch and terminate a scratch server with the etcd-drill role, reach them
through SSM and publish its metric. This managed policy grants exactly that: describe calls (which
take no resource), restores only into names of the drill pattern from this stack's instance and
its snapshots, changes and deletes only on instances tagged as drills, EC2 launches only when the
request tags them as drills, the etcd-drill role only passed to EC2, SSM commands only on
drill-tagged instances, port forwards only through the cluster's servers, metrics only in the
drills' namespace. Attach it to the role in the repository variable DRILL_ROLE_ARN (with read
access to the Pulumi state, which lives outside this program).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from ..names import (
    DATABASE_DRILL,
    DRILL_METRIC_NAMESPACE,
    DRILL_TAG,
    ETCD_DRILL,
    SSM_PORT_FORWARD_DOCUMENT,
    SSM_SHELL_DOCUMENT,
)
from .iam import policy_document


@dataclass(frozen=True)
class DrillRunnerScope:
    """Everything the policy names, resolved (plain strings)."""

    partition: str
    region: str
    account: str
    database_identifier: str
    database_kms_key_arn: str
    subnet_group: str
    parameter_group: str
    etcd_bucket_arn: str
    etcd_drill_role_arn: str
    server_instance_ids: Sequence[str]


def drill_runner_policy(s: DrillRunnerScope) -> str:
    rds = f"arn:{s.partition}:rds:{s.region}:{s.account}"
    ec2 = f"arn:{s.partition}:ec2:{s.region}:{s.account}"
    ssm = f"arn:{s.partition}:ssm:{s.region}"
    drill_db = f"{rds}:db:{s.database_identifier}-drill-*"
    return policy_document(
        {
            "Sid": "Describe",
            "Effect": "Allow",
            "Action": [
                "rds:DescribeDBInstances",
                "rds:DescribeDBSnapshots",
                "ec2:DescribeInstances",
                "ssm:DescribeInstanceInformation",
                "ssm:GetCommandInvocation",
            ],
            "Resource": "*",
        },
        {
            "Sid": "RestoreThisDatabaseIntoDrillNames",
            "Effect": "Allow",
            "Action": ["rds:RestoreDBInstanceFromDBSnapshot", "rds:RestoreDBInstanceToPointInTime"],
            "Resource": [
                drill_db,
                f"{rds}:db:{s.database_identifier}",
                f"{rds}:snapshot:{s.database_identifier}-*",
                f"{rds}:snapshot:rds:{s.database_identifier}-*",
                f"{rds}:subgrp:{s.subnet_group}",
                f"{rds}:pg:{s.parameter_group}",
                f"{rds}:og:*",
            ],
        },
        {
            "Sid": "TagOnlyDrillInstances",
            "Effect": "Allow",
            "Action": "rds:AddTagsToResource",
            "Resource": drill_db,
        },
        {
            "Sid": "ChangeAndDeleteOnlyDrillInstances",
            "Effect": "Allow",
            "Action": ["rds:ModifyDBInstance", "rds:DeleteDBInstance"],
            "Resource": drill_db,
            "Condition": {"StringEquals": {f"aws:ResourceTag/{DRILL_TAG}": DATABASE_DRILL}},
        },
        {
            "Sid": "RestoreWithTheDatabaseKey",
            "Effect": "Allow",
            "Action": ["kms:DescribeKey", "kms:CreateGrant"],
            "Resource": s.database_kms_key_arn,
            "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
        },
        {
            "Sid": "ListEtcdSnapshots",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": s.etcd_bucket_arn,
        },
        {
            "Sid": "LaunchOnlyTaggedScratchServers",
            "Effect": "Allow",
            "Action": "ec2:RunInstances",
            "Resource": [f"{ec2}:instance/*", f"{ec2}:volume/*"],
            "Condition": {"StringEquals": {f"aws:RequestTag/{DRILL_TAG}": ETCD_DRILL}},
        },
        {
            # Tags only while launching: tagging a running instance as a drill would let the
            # terminate statement below reach it.
            "Sid": "TagOnlyAtLaunch",
            "Effect": "Allow",
            "Action": "ec2:CreateTags",
            "Resource": [f"{ec2}:instance/*", f"{ec2}:volume/*"],
            "Condition": {"StringEquals": {"ec2:CreateAction": "RunInstances"}},
        },
        {
            "Sid": "LaunchWithTheStacksNetworkAndImage",
            "Effect": "Allow",
            "Action": "ec2:RunInstances",
            "Resource": [
                f"{ec2}:network-interface/*",
                f"{ec2}:subnet/*",
                f"{ec2}:security-group/*",
                f"arn:{s.partition}:ec2:{s.region}::image/*",
            ],
        },
        {
            "Sid": "TerminateOnlyScratchServers",
            "Effect": "Allow",
            "Action": "ec2:TerminateInstances",
            "Resource": f"{ec2}:instance/*",
            "Condition": {"StringEquals": {f"aws:ResourceTag/{DRILL_TAG}": ETCD_DRILL}},
        },
        {
            "Sid": "PassOnlyTheEtcdDrillRoleToEc2",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": s.etcd_drill_role_arn,
            "Condition": {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}},
        },
        {
            "Sid": "CountOnScratchServers",
            "Effect": "Allow",
            "Action": "ssm:SendCommand",
            "Resource": f"{ec2}:instance/*",
            "Condition": {"StringEquals": {f"ssm:resourceTag/{DRILL_TAG}": ETCD_DRILL}},
        },
        {
            "Sid": "CountWithTheShellDocument",
            "Effect": "Allow",
            "Action": "ssm:SendCommand",
            "Resource": f"{ssm}::document/{SSM_SHELL_DOCUMENT}",
        },
        {
            "Sid": "ForwardThroughTheServers",
            "Effect": "Allow",
            "Action": "ssm:StartSession",
            "Resource": [
                *(f"{ec2}:instance/{i}" for i in s.server_instance_ids),
                f"{ssm}::document/{SSM_PORT_FORWARD_DOCUMENT}",
            ],
        },
        {
            "Sid": "EndOwnSessions",
            "Effect": "Allow",
            "Action": "ssm:TerminateSession",
            "Resource": f"arn:{s.partition}:ssm:*:*:session/${{aws:userid}}-*",
        },
        {
            "Sid": "PublishDrillResults",
            "Effect": "Allow",
            "Action": "cloudwatch:PutMetricData",
            "Resource": "*",
            "Condition": {"StringEquals": {"cloudwatch:namespace": DRILL_METRIC_NAMESPACE}},
        },
    )


@dataclass
class DrillRunnerPolicyArgs:
    name_prefix: str
    region: str
    database_identifier: pulumi.Input[str]
    database_kms_key_arn: pulumi.Input[str]
    subnet_group: pulumi.Input[str]
    parameter_group: pulumi.Input[str]
    etcd_bucket_arn: pulumi.Input[str]
    etcd_drill_role_arn: pulumi.Input[str]
    server_instance_ids: pulumi.Input[list[str]]


class DrillRunnerPolicy(pulumi.ComponentResource):
    policy_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: DrillRunnerPolicyArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("dhakacart:aws:DrillRunnerPolicy", name, None, opts)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        account = aws.get_caller_identity_output(opts=invoke).account_id
        partition = aws.get_partition_output(opts=invoke).partition
        document = pulumi.Output.all(
            partition,
            account,
            args.database_identifier,
            args.database_kms_key_arn,
            args.subnet_group,
            args.parameter_group,
            args.etcd_bucket_arn,
            args.etcd_drill_role_arn,
            args.server_instance_ids,
        ).apply(
            lambda v: drill_runner_policy(
                DrillRunnerScope(
                    partition=v[0],
                    region=args.region,
                    account=v[1],
                    database_identifier=v[2],
                    database_kms_key_arn=v[3],
                    subnet_group=v[4],
                    parameter_group=v[5],
                    etcd_bucket_arn=v[6],
                    etcd_drill_role_arn=v[7],
                    server_instance_ids=list(v[8]),
                )
            )
        )
        policy = aws.iam.Policy(
            f"{name}-policy",
            name=f"{args.name_prefix}-drill-runner",
            description=f"{args.name_prefix}: run the recovery drills (ops drill database, etcd) and no more",
            policy=document,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.policy_arn = policy.arn
        self.register_outputs({"policy_arn": self.policy_arn})
