"""Prod's log store: a private, encrypted S3 bucket for Loki, readable only by the K3s node's role.

Loki's compactor deletes logs older than the retention period; the bucket's lifecycle rule is the
backstop that expires anything the compactor missed a day later (and cleans up failed multipart
uploads). Objects are encrypted with a customer-managed KMS key (rotated yearly, with an S3 bucket
key so Loki's many small writes do not each call KMS), versioning keeps a day's undo window for
deletes, the bucket refuses plain HTTP, and all public access is blocked. The node's instance role
gets exactly the S3 and KMS actions Loki uses, on this bucket and this key only.

Not enabled, on purpose: access logging, event notifications and cross-region replication. These
are disposable logs with a retention of days; a second bucket of access logs about them, or a copy
in another region, would cost more than the data is worth.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

# What Loki's S3 client does: list, read, write and delete objects (the compactor deletes).
LOKI_OBJECT_ACTIONS = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
LOKI_BUCKET_ACTIONS = ["s3:ListBucket", "s3:GetBucketLocation"]
LOKI_KMS_ACTIONS = ["kms:Decrypt", "kms:GenerateDataKey"]
# Days the lifecycle rule waits past the retention period before expiring an object.
LIFECYCLE_GRACE_DAYS = 1
# Days a deleted or overwritten object's old version is kept (undo window for a bad delete).
NONCURRENT_VERSION_DAYS = 1


class LokiBucketConfigError(ValueError):
    """Inputs the Loki bucket cannot be built from."""


@dataclass
class LokiBucketArgs:
    name_prefix: str
    """Start of the bucket's name, e.g. "dhakacart-prod-loki-" (Pulumi appends a random suffix)."""
    retention_days: int
    """Loki's retention in whole days (logging.retention_days(config.monitoring.loki_retention))."""
    instance_role_name: pulumi.Input[str]
    """The K3s node's IAM role (cluster.instance_role_name): Loki runs on that node."""
    tags: Mapping[str, str] = field(default_factory=dict)


def bucket_access_policy(bucket_arn: str, key_arn: str) -> str:
    """The node role's policy document: this bucket and this key, nothing else."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "LokiListBucket",
                    "Effect": "Allow",
                    "Action": LOKI_BUCKET_ACTIONS,
                    "Resource": bucket_arn,
                },
                {
                    "Sid": "LokiObjects",
                    "Effect": "Allow",
                    "Action": LOKI_OBJECT_ACTIONS,
                    "Resource": f"{bucket_arn}/*",
                },
                {
                    "Sid": "LokiEncryptionKey",
                    "Effect": "Allow",
                    "Action": LOKI_KMS_ACTIONS,
                    "Resource": key_arn,
                },
            ],
        }
    )


def key_policy(account_id: str, partition: str) -> str:
    """The account administers the key through IAM; who may use it is decided by IAM policies (the
    node role's, below), so no principal gets use of it by default."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "AccountAdministersThroughIam",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:{partition}:iam::{account_id}:root"},
            "Action": "kms:*",
            "Resource": "*",
        }],
    })


def tls_only_bucket_policy(bucket_arn: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [bucket_arn, f"{bucket_arn}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        }
    )


class LokiBucket(pulumi.ComponentResource):
    """The bucket, its key, its guard rails and the node role's access to it."""

    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    kms_key_arn: pulumi.Output[str]

    def __init__(self, name: str, args: LokiBucketArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        if not isinstance(args.retention_days, int) or args.retention_days < 1:
            raise LokiBucketConfigError(
                f"retention_days {args.retention_days!r} must be a whole number of days, at least 1 "
                "(it comes from `dhakacart:lokiRetention`)."
            )
        super().__init__("dhakacart:aws:LokiBucket", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        account = aws.get_caller_identity_output(opts=invoke).account_id
        partition = aws.get_partition_output(opts=invoke).partition

        self.kms_key = aws.kms.Key(
            f"{name}-key",
            description="Encrypts DhakaCart's Loki log chunks and index in S3",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=pulumi.Output.all(account, partition).apply(lambda v: key_policy(v[0], v[1])),
            tags={**tags, "Name": f"{name}-key"},
            opts=child,
        )
        self.bucket = aws.s3.Bucket(
            f"{name}-bucket",
            bucket_prefix=args.name_prefix,
            # Logs are disposable past retention; a stack can be destroyed without emptying it by hand.
            force_destroy=True,
            tags={**tags, "Name": f"{name}-bucket"},
            opts=child,
        )
        self.ownership = aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=self.bucket.id,
            rule={"object_ownership": "BucketOwnerEnforced"},  # ACLs off: only policies grant access
            opts=child,
        )
        self.public_access_block = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access-block",
            bucket=self.bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        self.encryption = aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=self.bucket.id,
            rules=[
                {
                    "apply_server_side_encryption_by_default": {
                        "sse_algorithm": "aws:kms",
                        "kms_master_key_id": self.kms_key.arn,
                    },
                    "bucket_key_enabled": True,
                }
            ],
            opts=child,
        )
        # Versioning guards against a bad delete (a compactor bug, a wrong `aws s3 rm`) for a day;
        # the lifecycle rules below keep the old versions from piling up.
        self.versioning = aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=self.bucket.id,
            versioning_configuration={"status": "Enabled"},
            opts=child,
        )
        self.lifecycle = aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=self.bucket.id,
            rules=[
                {
                    "id": "expire-after-loki-retention",
                    "status": "Enabled",
                    "filter": {"prefix": ""},
                    "expiration": {"days": args.retention_days + LIFECYCLE_GRACE_DAYS},
                },
                {
                    "id": "expire-deleted-versions",
                    "status": "Enabled",
                    "filter": {"prefix": ""},
                    "noncurrent_version_expiration": {"noncurrent_days": NONCURRENT_VERSION_DAYS},
                },
                {
                    "id": "remove-expired-delete-markers",
                    "status": "Enabled",
                    "filter": {"prefix": ""},
                    "expiration": {"expired_object_delete_marker": True},
                },
                {
                    "id": "abort-incomplete-multipart-uploads",
                    "status": "Enabled",
                    "filter": {"prefix": ""},
                    "abort_incomplete_multipart_upload": {"days_after_initiation": 1},
                },
            ],
            # S3 rejects noncurrent-version rules on a bucket whose versioning is not yet set.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.versioning]),
        )
        self.bucket_policy = aws.s3.BucketPolicy(
            f"{name}-tls-only",
            bucket=self.bucket.id,
            policy=self.bucket.arn.apply(tls_only_bucket_policy),
            # S3 refuses a bucket policy while the public access block is still being applied.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.public_access_block]),
        )
        self.access_policy = aws.iam.Policy(
            f"{name}-access",
            description="Lets Loki on the K3s node read and write its log bucket, and nothing else",
            policy=pulumi.Output.all(self.bucket.arn, self.kms_key.arn).apply(
                lambda arns: bucket_access_policy(arns[0], arns[1])
            ),
            tags=tags,
            opts=child,
        )
        self.role_attachment = aws.iam.RolePolicyAttachment(
            f"{name}-node-role-access",
            role=args.instance_role_name,
            policy_arn=self.access_policy.arn,
            opts=child,
        )

        # Whoever uses the name (Loki) waits until the node may use the bucket and it is encrypted.
        self.bucket_name = pulumi.Output.all(
            self.bucket.bucket, self.role_attachment.id, self.encryption.id, self.bucket_policy.id
        ).apply(lambda values: values[0])
        self.bucket_arn = self.bucket.arn
        self.kms_key_arn = self.kms_key.arn
        self.register_outputs(
            {
                "bucket_name": self.bucket_name,
                "bucket_arn": self.bucket_arn,
                "kms_key_arn": self.kms_key_arn,
            }
        )
