"""The cluster's ServiceAccount token issuer, published so that AWS STS trusts it (IRSA without EKS).

* A signing key of the stack's own (RSA 2048, as EKS uses): Pulumi keeps it as a secret; the
  servers read it at boot from an SSM SecureString (encrypted with a KMS key of its own) and the
  API server signs ServiceAccount tokens with it (aws/user_data.py: `service-account-issuer` and
  `service-account-signing-key-file`).
* The OpenID Connect discovery document and the JWKS with the key's public half, in an S3 bucket
  whose policy lets anyone read exactly those two objects and nothing else: STS fetches them
  without credentials. That is the one public bucket of the platform (policy
  `aws-public-bucket-only-oidc-issuer`); it holds no data, ACLs are off, objects are SSE-S3
  encrypted (an anonymous reader cannot use a KMS key) and plain HTTP is refused.
* The IAM OIDC provider for the issuer, for the audience `sts.amazonaws.com`. IAM verifies the
  S3 endpoint's certificate against its own trusted root CAs, so no thumbprint is needed; any
  other issuer host must come with one.

WorkloadRole (workload_role.py) trusts this provider for one ServiceAccount each.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_tls as tls
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ..errors import ComponentInputError
from .encryption_key import EncryptionKey
from .iam import policy_document
from .private_bucket import tls_only_bucket_policy
from .workload_role import STS_AUDIENCE

DISCOVERY_KEY = ".well-known/openid-configuration"
JWKS_KEY = "keys.json"
SIGNING_KEY_BITS = 2048
# IAM trusts certificates of S3's endpoints through its own CA library (no thumbprint needed).
TRUSTED_CA_ISSUER_HOST = re.compile(r"^[a-z0-9.-]+\.s3\.[a-z0-9-]+\.amazonaws\.com$")
THUMBPRINT = re.compile(r"^[0-9a-f]{40}$")


def issuer_host(issuer_url: str) -> str:
    return issuer_url.removeprefix("https://")


def s3_issuer_url(bucket: str, region: str) -> str:
    return f"https://{bucket}.s3.{region}.amazonaws.com"


def validate_issuer(issuer_url: str, thumbprints: Sequence[str]) -> None:
    """A clear error at preview instead of an OIDC provider STS would never trust."""
    if not issuer_url or not issuer_url.startswith("https://") or issuer_url.endswith("/"):
        raise ComponentInputError(
            f"ServiceAccountIssuer: issuer URL {issuer_url!r} must be an https:// URL without a trailing "
            "slash (it is the tokens' `iss` claim, compared by STS character for character)"
        )
    for thumbprint in thumbprints:
        if not THUMBPRINT.match(thumbprint):
            raise ComponentInputError(
                f"ServiceAccountIssuer: thumbprint {thumbprint!r} must be the 40 lower-case hex digits of "
                "a SHA-1 certificate fingerprint"
            )
    if not thumbprints and not TRUSTED_CA_ISSUER_HOST.match(issuer_host(issuer_url)):
        raise ComponentInputError(
            f"ServiceAccountIssuer: {issuer_url} is not an S3 endpoint, whose certificate IAM trusts by "
            "itself: give the thumbprint of its top intermediate CA certificate"
        )


def checked_issuer_url(bucket: str, region: str, thumbprints: Sequence[str]) -> str:
    url = s3_issuer_url(bucket, region)
    validate_issuer(url, thumbprints)
    return url


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _public_key(public_key_pem: str) -> rsa.RSAPublicKey:
    key = serialization.load_pem_public_key(public_key_pem.encode())
    if not isinstance(key, rsa.RSAPublicKey):
        raise ComponentInputError("ServiceAccountIssuer: the signing key must be an RSA key (RS256)")
    return key


def key_id(public_key_pem: str) -> str:
    """The `kid` the API server writes into every token header: base64url(SHA-256(PKIX DER))."""
    der = _public_key(public_key_pem).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return _b64url(hashlib.sha256(der).digest())


def jwks(public_key_pem: str) -> str:
    numbers = _public_key(public_key_pem).public_numbers()

    def as_bytes(value: int) -> bytes:
        return value.to_bytes((value.bit_length() + 7) // 8, "big")

    key = {
        "use": "sig",
        "kty": "RSA",
        "kid": key_id(public_key_pem),
        "alg": "RS256",
        "n": _b64url(as_bytes(numbers.n)),
        "e": _b64url(as_bytes(numbers.e)),
    }
    return json.dumps({"keys": [key]}, indent=2, sort_keys=True)


def discovery_document(issuer_url: str) -> str:
    """What STS reads first: who the issuer is and where its keys are (the API server's own document)."""
    doc: dict[str, Any] = {
        "issuer": issuer_url,
        "jwks_uri": f"{issuer_url}/{JWKS_KEY}",
        "authorization_endpoint": "urn:kubernetes:programmatic_authorization",
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "claims_supported": ["sub", "iss"],
    }
    return json.dumps(doc, indent=2, sort_keys=True)


def issuer_bucket_policy(bucket_arn: str) -> str:
    """Anyone may read the two issuer documents, nothing else; plain HTTP is refused."""
    tls_only = json.loads(tls_only_bucket_policy(bucket_arn))["Statement"]
    return policy_document(
        *tls_only,
        {
            "Sid": "PublicIssuerDocumentsOnly",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": [f"{bucket_arn}/{DISCOVERY_KEY}", f"{bucket_arn}/{JWKS_KEY}"],
        },
    )


@dataclass
class ServiceAccountIssuerArgs:
    name_prefix: str
    region: str
    thumbprints: Sequence[str] = field(default_factory=list)
    """Only for an issuer outside S3 (none today): see validate_issuer."""


class ServiceAccountIssuer(pulumi.ComponentResource):
    issuer_url: pulumi.Output[str]
    """The tokens' `iss`; known once both documents are published."""
    issuer_host: pulumi.Output[str]
    oidc_provider_arn: pulumi.Output[str]
    signing_key_parameter_name: str
    signing_key_parameter_arn: pulumi.Output[str]
    signing_key_kms_key_arn: pulumi.Output[str]
    public_key_pem: pulumi.Output[str]

    def __init__(
        self, name: str, args: ServiceAccountIssuerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("dhakacart:aws:ServiceAccountIssuer", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.signing_key = tls.PrivateKey(
            f"{name}-signing-key", algorithm="RSA", rsa_bits=SIGNING_KEY_BITS, opts=child
        )
        parameter_key = EncryptionKey(
            f"{name}-parameter-key",
            description=f"{args.name_prefix}: encrypts the K3s ServiceAccount signing key in SSM",
            opts=child,
        )
        self.signing_key_parameter_name = f"/{args.name_prefix}/k3s/service-account-signing-key"
        self.signing_key_parameter = aws.ssm.Parameter(
            f"{name}-signing-key-parameter",
            name=self.signing_key_parameter_name,
            description="K3s servers: the key the API server signs ServiceAccount tokens with",
            type="SecureString",
            key_id=parameter_key.arn,
            value=self.signing_key.private_key_pem,
            opts=child,
        )

        self.bucket = aws.s3.Bucket(f"{name}-bucket", bucket_prefix=f"{args.name_prefix}-oidc-", opts=child)
        # The documents never expire; the rule only clears interrupted uploads.
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=self.bucket.id,
            rules=[
                {
                    "id": "abort-incomplete-multipart-uploads",
                    "status": "Enabled",
                    "filter": {"prefix": ""},
                    "abort_incomplete_multipart_upload": {"days_after_initiation": 1},
                }
            ],
            opts=child,
        )
        ownership = aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=self.bucket.id,
            rule={"object_ownership": "BucketOwnerEnforced"},
            opts=child,
        )
        # ACLs stay blocked; only the bucket policy may grant public reads (of the two documents).
        public_access = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access-block",
            bucket=self.bucket.id,
            block_public_acls=True,
            ignore_public_acls=True,
            block_public_policy=False,
            restrict_public_buckets=False,
            opts=child,
        )
        encryption = aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=self.bucket.id,
            rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}],
            opts=child,
        )
        policy = aws.s3.BucketPolicy(
            f"{name}-policy",
            bucket=self.bucket.id,
            policy=self.bucket.arn.apply(issuer_bucket_policy),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[public_access, ownership]),
        )
        url = self.bucket.bucket.apply(
            lambda bucket: checked_issuer_url(bucket, args.region, args.thumbprints)
        )
        documents = pulumi.ResourceOptions(parent=self, depends_on=[encryption, policy])
        discovery = aws.s3.BucketObjectv2(
            f"{name}-discovery",
            bucket=self.bucket.id,
            key=DISCOVERY_KEY,
            content=url.apply(discovery_document),
            content_type="application/json",
            opts=documents,
        )
        keys = aws.s3.BucketObjectv2(
            f"{name}-jwks",
            bucket=self.bucket.id,
            key=JWKS_KEY,
            content=self.signing_key.public_key_pem.apply(jwks),
            content_type="application/json",
            opts=documents,
        )
        self.provider = aws.iam.OpenIdConnectProvider(
            f"{name}-provider",
            url=url,
            client_id_lists=[STS_AUDIENCE],
            thumbprint_lists=list(args.thumbprints) or None,
            opts=child,
        )

        self.issuer_url = pulumi.Output.all(url, discovery.id, keys.id).apply(lambda v: v[0])
        self.issuer_host = self.issuer_url.apply(issuer_host)
        self.oidc_provider_arn = self.provider.arn
        self.signing_key_parameter_arn = self.signing_key_parameter.arn
        self.signing_key_kms_key_arn = parameter_key.arn
        self.public_key_pem = self.signing_key.public_key_pem
        self.register_outputs(
            {
                "issuer_url": self.issuer_url,
                "oidc_provider_arn": self.oidc_provider_arn,
                "signing_key_parameter_arn": self.signing_key_parameter_arn,
            }
        )
