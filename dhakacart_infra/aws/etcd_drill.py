"""What `python -m dhakacart_infra.ops drill etcd` needs to restore a snapshot on a scratch server.

The drill launches a throw-away EC2 instance that restores the newest etcd snapshot with
`k3s server --cluster-reset --cluster-reset-restore-path=...` and counts what came back. It must
never touch the live cluster, so it gets its own identity instead of the servers':
- an instance role that may only read the snapshots (GetObject in their folder, ListBucket, and
  Decrypt with the bucket's key), read the one parameter holding the cluster token, and be
  reached through Session Manager; it cannot write the bucket, scale the agents or read anything
  else (the servers' role can do all of that, and a restored cluster-autoscaler would use it);
- a security group that lets nothing in and only HTTPS out (K3s's download, S3, SSM), so the
  restored shop cannot reach the database and the scratch etcd cannot talk to the live one;
- the cluster token as an SSM SecureString encrypted with the snapshots' key: K3s encrypts its
  bootstrap data in etcd with the token, so a snapshot restores only with it. It never goes into
  user data or a command line.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from ..tags import with_name
from .iam import policy_document
from .nodes import node_role

HTTPS_PORT = 443
ANYWHERE = "0.0.0.0/0"


@dataclass
class EtcdDrillAccessArgs:
    name_prefix: str
    region: str
    vpc_id: pulumi.Input[str]
    snapshot_bucket_arn: pulumi.Input[str]
    snapshot_folder: str
    snapshot_kms_key_arn: pulumi.Input[str]
    cluster_token: pulumi.Input[str]
    """The servers' token (a secret): the restore needs it to decrypt K3s's bootstrap data."""


def token_parameter_name(name_prefix: str) -> str:
    return f"/{name_prefix.replace('-', '/', 1)}/k3s/etcd-drill-token"


def drill_policy(bucket_arn: str, folder: str, key_arn: str, parameter_arn: str) -> str:
    """Read the snapshots and the token; nothing else."""
    return policy_document(
        {
            "Sid": "ListSnapshots",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": bucket_arn,
            "Condition": {"StringLike": {"s3:prefix": [f"{folder}/*", folder]}},
        },
        {
            "Sid": "ReadSnapshots",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": f"{bucket_arn}/{folder}/*",
        },
        {
            "Sid": "DecryptSnapshotsAndToken",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": key_arn,
        },
        {
            "Sid": "ReadClusterToken",
            "Effect": "Allow",
            "Action": "ssm:GetParameter",
            "Resource": parameter_arn,
        },
    )


class EtcdDrillAccess(pulumi.ComponentResource):
    instance_profile_name: pulumi.Output[str]
    role_arn: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
    token_parameter_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: EtcdDrillAccessArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("dhakacart:aws:EtcdDrillAccess", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        prefix = args.name_prefix
        invoke = pulumi.InvokeOutputOptions(parent=self)
        account = aws.get_caller_identity_output(opts=invoke).account_id
        partition = aws.get_partition_output(opts=invoke).partition

        parameter = aws.ssm.Parameter(
            f"{name}-token",
            name=token_parameter_name(prefix),
            description=f"{prefix}: the K3s cluster token, for etcd restore drills only",
            type="SecureString",
            value=pulumi.Output.secret(args.cluster_token),
            key_id=args.snapshot_kms_key_arn,
            tags=with_name(f"{prefix}-etcd-drill-token"),
            opts=child,
        )
        access = node_role(f"{name}-scratch", f"{prefix}: etcd restore drills (read-only snapshots)", self)
        parameter_arn = pulumi.Output.all(partition, account, parameter.name).apply(
            lambda v: f"arn:{v[0]}:ssm:{args.region}:{v[1]}:parameter{v[2]}"
        )
        aws.iam.RolePolicy(
            f"{name}-scratch-access",
            role=access.role.id,
            policy=pulumi.Output.all(
                args.snapshot_bucket_arn, args.snapshot_kms_key_arn, parameter_arn
            ).apply(lambda v: drill_policy(v[0], args.snapshot_folder, v[1], v[2])),
            opts=child,
        )
        group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args.vpc_id,
            name=f"{prefix}-etcd-drill",
            description="etcd restore drill scratch servers: nothing in, HTTPS out only",
            tags=with_name(f"{prefix}-etcd-drill"),
            opts=child,
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-https-out",
            security_group_id=group.id,
            description="K3s download, S3, SSM and KMS over HTTPS; nothing else (no database, no etcd peers)",
            ip_protocol="tcp",
            from_port=HTTPS_PORT,
            to_port=HTTPS_PORT,
            cidr_ipv4=ANYWHERE,
            tags=with_name(f"{prefix}-etcd-drill-https-out"),
            opts=child,
        )

        self.instance_profile_name = access.profile.name
        self.role_arn = access.role.arn
        self.security_group_id = group.id
        self.token_parameter_name = parameter.name
        self.register_outputs(
            {
                "instance_profile_name": self.instance_profile_name,
                "security_group_id": self.security_group_id,
                "token_parameter_name": self.token_parameter_name,
            }
        )
