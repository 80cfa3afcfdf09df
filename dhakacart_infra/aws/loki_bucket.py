"""Prod's log store: a private, encrypted S3 bucket for Loki, reachable only with Loki's own role.

Loki's compactor deletes logs older than the retention period; the bucket's lifecycle rule is the
backstop that expires anything the compactor missed a day later (and cleans up failed multipart
uploads). The bucket itself is a PrivateBucket (private_bucket.py): its own rotated KMS key,
TLS only, no public access; versioning keeps a day's undo window for deletes. Loki's role, trusted
for Loki's ServiceAccount alone (workload_role.py), gets exactly the S3 and KMS actions Loki uses, on
this bucket and this key only; no node's instance role can read a log.

Not enabled, on purpose: access logging, event notifications and cross-region replication. These
are disposable logs with a retention of days; a second bucket of access logs about them, or a copy
in another region, would cost more than the data is worth.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi

from ..errors import ComponentInputError
from ..names import LOKI_SERVICE_ACCOUNT, MONITORING_NAMESPACE
from .iam import policy_document
from .private_bucket import PrivateBucket, PrivateBucketArgs
from .workload_role import ServiceAccountRef, ServiceAccountTrust, WorkloadRole

# What Loki's S3 client does: list, read, write and delete objects (the compactor deletes).
LOKI_OBJECT_ACTIONS = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
LOKI_BUCKET_ACTIONS = ["s3:ListBucket", "s3:GetBucketLocation"]
LOKI_KMS_ACTIONS = ["kms:Decrypt", "kms:GenerateDataKey"]
# Days the lifecycle rule waits past the retention period before expiring an object.
LIFECYCLE_GRACE_DAYS = 1
# Days a deleted or overwritten object's old version is kept (undo window for a bad delete).
NONCURRENT_VERSION_DAYS = 1


@dataclass
class LokiBucketArgs:
    name_prefix: str
    """Start of the bucket's name, e.g. "dhakacart-prod-loki-" (Pulumi appends a random suffix)."""
    retention_days: int
    """Loki's retention in whole days (logging.retention_days(config.monitoring.loki_retention))."""
    trust: ServiceAccountTrust
    """The cluster's issuer: Loki's role trusts its ServiceAccount (names.py) alone."""
    tags: Mapping[str, str] = field(default_factory=dict)


def bucket_access_policy(bucket_arn: str, key_arn: str) -> str:
    """Loki's policy document: this bucket and this key, nothing else."""
    return policy_document(
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
    )


class LokiBucket(pulumi.ComponentResource):
    """The bucket, its key, its guard rails and Loki's role."""

    bucket_name: pulumi.Output[str]
    role_arn: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    kms_key_arn: pulumi.Output[str]

    def __init__(self, name: str, args: LokiBucketArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        if not isinstance(args.retention_days, int) or args.retention_days < 1:
            raise ComponentInputError(
                f"LokiBucket: retention_days {args.retention_days!r} must be a whole number of days, "
                "at least 1"
            )
        super().__init__("dhakacart:aws:LokiBucket", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)

        self.storage = PrivateBucket(
            name,
            PrivateBucketArgs(
                bucket_prefix=args.name_prefix,
                key_description="Encrypts DhakaCart's Loki log chunks and index in S3",
                expire_after_days=args.retention_days + LIFECYCLE_GRACE_DAYS,
                expiry_rule_id="expire-after-loki-retention",
                # Versioning guards against a bad delete (a compactor bug, a wrong `aws s3 rm`) for a
                # day; the bucket's lifecycle rules keep the old versions from piling up.
                versioned=True,
                noncurrent_version_days=NONCURRENT_VERSION_DAYS,
                # Logs are disposable past retention; a stack can be destroyed without emptying it.
                force_destroy=True,
                tags=tags,
                former_parent=self,
            ),
            opts=child,
        )
        self.role = WorkloadRole(
            f"{name}-role",
            args.trust.role_args(
                "loki",
                ServiceAccountRef(MONITORING_NAMESPACE, LOKI_SERVICE_ACCOUNT),
                "Loki: its log bucket and that bucket's key, nothing else",
                pulumi.Output.all(self.storage.bucket_arn, self.storage.kms_key_arn).apply(
                    lambda arns: bucket_access_policy(arns[0], arns[1])
                ),
            ),
            opts=child,
        )

        # Whoever uses the name (Loki) waits until the bucket is encrypted and Loki's role may use it.
        self.bucket_name = pulumi.Output.all(self.storage.bucket_name, self.role.role_arn).apply(
            lambda values: values[0]
        )
        self.role_arn = self.role.role_arn
        self.bucket_arn = self.storage.bucket_arn
        self.kms_key_arn = self.storage.kms_key_arn
        self.register_outputs(
            {
                "bucket_name": self.bucket_name,
                "bucket_arn": self.bucket_arn,
                "kms_key_arn": self.kms_key_arn,
                "role_arn": self.role_arn,
            }
        )
