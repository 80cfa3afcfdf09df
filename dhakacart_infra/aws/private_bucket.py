"""A private S3 bucket: ACLs off, all public access blocked, plain HTTP refused, SSE-KMS with its own
rotated customer-managed key (explicit key policy, an S3 bucket key so many small writes do not each
call KMS), objects expiring after a set number of days, and optionally versioned.

Who may use the bucket is not decided here: the component that owns it grants a role exactly the
actions it needs on `bucket_arn` and `kms_key_arn`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from ..errors import ComponentInputError
from .encryption_key import EncryptionKey
from .iam import policy_document

# Days an interrupted multipart upload's parts are kept before S3 removes them.
ABORT_MULTIPART_AFTER_DAYS = 1


@dataclass
class PrivateBucketArgs:
    bucket_prefix: str
    """Start of the bucket's name, ending in "-" (S3 appends a unique suffix); without the "-" it is
    also the bucket's and key's `Name` tag."""
    key_description: str
    """What the KMS key encrypts, as shown in the KMS console."""
    expire_after_days: int
    """Days after which S3 deletes an object (the data's retention, enforced by the bucket)."""
    expiry_rule_id: str
    """The lifecycle rule's id, saying why objects expire (e.g. "expire-exports")."""
    versioned: bool = False
    """Keep overwritten and deleted objects' old versions for `noncurrent_version_days` (an undo
    window), for buckets whose objects are the only copy."""
    noncurrent_version_days: int = 1
    force_destroy: bool = False
    """Whether `pulumi destroy` may delete the bucket while it still holds objects."""
    tags: Mapping[str, str] = field(default_factory=dict)
    former_parent: pulumi.Resource | None = None
    """The component whose direct children these resources were before this component existed:
    aliases keep their URNs, so `pulumi up` adopts the existing bucket and key instead of
    replacing them (a new bucket would start empty, a replaced key is scheduled for deletion)."""


def tls_only_bucket_policy(bucket_arn: str) -> str:
    """Denies every request to the bucket and its objects that does not arrive over TLS."""
    return policy_document(
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [bucket_arn, f"{bucket_arn}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    )


def lifecycle_rules(
    expiry_rule_id: str, expire_after_days: int, versioned: bool, noncurrent_version_days: int
) -> list[dict[str, Any]]:
    """Expire objects, (when versioned) their old versions and leftover delete markers, and abandoned
    multipart uploads; every rule covers the whole bucket."""
    everything = {"status": "Enabled", "filter": {"prefix": ""}}
    rules = [{"id": expiry_rule_id, **everything, "expiration": {"days": expire_after_days}}]
    if versioned:
        rules += [
            {
                "id": "expire-deleted-versions",
                **everything,
                "noncurrent_version_expiration": {"noncurrent_days": noncurrent_version_days},
            },
            {
                "id": "remove-expired-delete-markers",
                **everything,
                "expiration": {"expired_object_delete_marker": True},
            },
        ]
    rules.append(
        {
            "id": "abort-incomplete-multipart-uploads",
            **everything,
            "abort_incomplete_multipart_upload": {"days_after_initiation": ABORT_MULTIPART_AFTER_DAYS},
        }
    )
    return rules


def _validate(args: PrivateBucketArgs) -> None:
    for field_name in ("expire_after_days", "noncurrent_version_days"):
        value = getattr(args, field_name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ComponentInputError(
                f"PrivateBucket: {field_name} {value!r} must be a whole number of days, at least 1"
            )
    if not args.bucket_prefix.endswith("-"):
        raise ComponentInputError(
            f"PrivateBucket: bucket_prefix {args.bucket_prefix!r} must end in '-' so S3's unique suffix "
            "stays readable"
        )


class PrivateBucket(pulumi.ComponentResource):
    """The bucket, its key and its guard rails; `bucket_name` resolves once all of them are in place."""

    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    kms_key_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: PrivateBucketArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        _validate(args)
        super().__init__("dhakacart:aws:PrivateBucket", name, None, opts)
        moved = [pulumi.Alias(parent=args.former_parent)] if args.former_parent is not None else None
        child = pulumi.ResourceOptions(parent=self, aliases=moved)
        name_tag = args.bucket_prefix.rstrip("-")
        tags = {**args.tags, "Name": name_tag}

        self.kms_key = EncryptionKey(
            f"{name}-key",
            description=args.key_description,
            tags=tags,
            key_aliases=moved,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.bucket = aws.s3.Bucket(
            f"{name}-bucket",
            bucket_prefix=args.bucket_prefix,
            force_destroy=args.force_destroy,
            tags=tags,
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
        self.versioning = (
            aws.s3.BucketVersioning(
                f"{name}-versioning",
                bucket=self.bucket.id,
                versioning_configuration={"status": "Enabled"},
                opts=child,
            )
            if args.versioned
            else None
        )
        self.lifecycle = aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=self.bucket.id,
            rules=lifecycle_rules(
                args.expiry_rule_id, args.expire_after_days, args.versioned, args.noncurrent_version_days
            ),
            # S3 rejects noncurrent-version rules on a bucket whose versioning is not yet set.
            opts=pulumi.ResourceOptions.merge(
                child, pulumi.ResourceOptions(depends_on=[self.versioning] if self.versioning else None)
            ),
        )
        self.bucket_policy = aws.s3.BucketPolicy(
            f"{name}-tls-only",
            bucket=self.bucket.id,
            policy=self.bucket.arn.apply(tls_only_bucket_policy),
            # S3 refuses a bucket policy while the public access block is still being applied.
            opts=pulumi.ResourceOptions.merge(
                child, pulumi.ResourceOptions(depends_on=[self.public_access_block])
            ),
        )

        # Users of the name get it once the bucket is private, encrypted and refuses plain HTTP.
        self.bucket_name = pulumi.Output.all(
            self.bucket.bucket, self.encryption.id, self.bucket_policy.id, self.public_access_block.id
        ).apply(lambda values: values[0])
        self.bucket_arn = self.bucket.arn
        self.kms_key_arn = self.kms_key.arn
        self.register_outputs(
            {"bucket_name": self.bucket_name, "bucket_arn": self.bucket_arn, "kms_key_arn": self.kms_key_arn}
        )
