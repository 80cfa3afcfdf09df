"""Where `python -m dhakacart_infra.ops export` puts RDS snapshot exports: a private, encrypted bucket.

RDS writes an export (Parquet files of every table) by assuming an IAM role that only the RDS
export service may assume, and encrypts it with a KMS key the caller names. This component makes
that role and a PrivateBucket (private_bucket.py): a bucket that blocks all public access, refuses
plain HTTP, has ACLs off and expires exports after a set number of days, with a dedicated key
(rotated yearly, explicit key policy) used both for the export and as the bucket's default
encryption. The role can touch this bucket and this key only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from ..errors import ComponentInputError
from .iam import policy_document, service_assume_role_policy
from .private_bucket import PrivateBucket, PrivateBucketArgs

# What the RDS export service does with the bucket (the RDS user guide's list, nothing more).
EXPORT_OBJECT_ACTIONS = ["s3:PutObject*", "s3:GetObject*", "s3:DeleteObject*"]
EXPORT_BUCKET_ACTIONS = ["s3:ListBucket", "s3:GetBucketLocation"]
# The export encrypts with the key through grants; S3 needs data keys for the bucket encryption.
EXPORT_KMS_ACTIONS = [
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:DescribeKey",
    "kms:CreateGrant",
    "kms:RetireGrant",
]
EXPORT_SERVICE = "export.rds.amazonaws.com"


@dataclass
class SnapshotExportsArgs:
    name_prefix: str
    """Start of the bucket's name, e.g. "dhakacart-prod" (becomes "dhakacart-prod-db-exports-<random>")."""
    expire_after_days: int = 90
    """Days after which an export is deleted from the bucket (exports hold customer data)."""
    force_destroy: bool = False
    """Whether `pulumi destroy` may delete a bucket that still holds exports (dev only)."""
    tags: Mapping[str, str] = field(default_factory=dict)


def role_policy(bucket_arn: str, key_arn: str) -> str:
    return policy_document(
        {
            "Sid": "ExportBucket",
            "Effect": "Allow",
            "Action": EXPORT_BUCKET_ACTIONS,
            "Resource": bucket_arn,
        },
        {
            "Sid": "ExportObjects",
            "Effect": "Allow",
            "Action": EXPORT_OBJECT_ACTIONS,
            "Resource": f"{bucket_arn}/*",
        },
        {"Sid": "ExportKey", "Effect": "Allow", "Action": EXPORT_KMS_ACTIONS, "Resource": key_arn},
    )


class SnapshotExports(pulumi.ComponentResource):
    """The export bucket, its key, and the role RDS assumes to write into it."""

    bucket_name: pulumi.Output[str]
    role_arn: pulumi.Output[str]
    kms_key_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: SnapshotExportsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        if not isinstance(args.expire_after_days, int) or args.expire_after_days < 1:
            raise ComponentInputError(
                f"SnapshotExports: expire_after_days {args.expire_after_days!r} must be a whole number "
                "of days, at least 1"
            )
        super().__init__("dhakacart:aws:SnapshotExports", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        account_id = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id

        self.storage = PrivateBucket(
            name,
            PrivateBucketArgs(
                bucket_prefix=f"{args.name_prefix}-db-exports-",
                key_description="Encrypts DhakaCart's RDS snapshot exports in S3",
                expire_after_days=args.expire_after_days,
                expiry_rule_id="expire-exports",
                # Exports are copies of RDS snapshots: no versions, so a deleted export is gone.
                versioned=False,
                force_destroy=args.force_destroy,
                tags=tags,
                former_parent=self,
            ),
            opts=child,
        )
        self.role = aws.iam.Role(
            f"{name}-role",
            description="Assumed by RDS to write snapshot exports into the DhakaCart export bucket",
            # Only the RDS export service, acting for this account, may assume the role.
            assume_role_policy=account_id.apply(
                lambda account: service_assume_role_policy(EXPORT_SERVICE, source_account=account)
            ),
            tags=tags,
            opts=child,
        )
        self.role_policy = aws.iam.RolePolicy(
            f"{name}-role-policy",
            role=self.role.id,
            policy=pulumi.Output.all(self.storage.bucket_arn, self.storage.kms_key_arn).apply(
                lambda a: role_policy(a[0], a[1])
            ),
            opts=child,
        )

        # Users of the name (the ops tool, through the stack output) get it once the bucket is
        # encrypted, guarded, and the role may write into it.
        self.bucket_name = self.storage.bucket_name
        self.role_arn = pulumi.Output.all(self.role.arn, self.role_policy.id).apply(lambda values: values[0])
        self.kms_key_arn = self.storage.kms_key_arn
        self.register_outputs(
            {"bucket_name": self.bucket_name, "role_arn": self.role_arn, "kms_key_arn": self.kms_key_arn}
        )
