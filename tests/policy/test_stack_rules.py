"""Each stack policy fires on a minimal bad set of resources and passes on a good one."""

from __future__ import annotations

import json

import pytest

from dhakacart_infra.policy import stack_rules
from dhakacart_infra.policy.plain_data import UNKNOWN
from dhakacart_infra.policy.registry import POLICIES_BY_NAME
from dhakacart_infra.policy.stack_rules import StackResource
from tests.policy.samples import WORKLOAD, policies_defined_in

S3_BUCKET = StackResource(
    "aws:s3/bucketV2:BucketV2", "backups", "urn:bucket", {"bucket": "dhakacart-backups"}
)
SSE = StackResource(
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "backups-sse",
    "urn:sse",
    {"bucket": UNKNOWN, "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}}]},
    {"bucket": ["urn:bucket"]},
)
PAB_FLAGS = {
    "blockPublicAcls": True,
    "blockPublicPolicy": True,
    "ignorePublicAcls": True,
    "restrictPublicBuckets": True,
}
PAB = StackResource(
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "backups-pab",
    "urn:pab",
    {"bucket": "dhakacart-backups", **PAB_FLAGS},
)
ISSUER_ARN = "arn:aws:s3:::dhakacart-backups"


def bucket_policy(*resources: str, action: str = "s3:GetObject") -> StackResource:
    statement = {"Effect": "Allow", "Principal": "*", "Action": action, "Resource": list(resources)}
    deny_http = {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": f"{ISSUER_ARN}/*",
                 "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    return StackResource(
        "aws:s3/bucketPolicy:BucketPolicy", "backups-policy", "urn:policy",
        {"bucket": "dhakacart-backups",
         "policy": json.dumps({"Version": "2012-10-17", "Statement": [deny_http, statement]})},
    )


ISSUER_POLICY = bucket_policy(f"{ISSUER_ARN}/.well-known/openid-configuration", f"{ISSUER_ARN}/keys.json")
EVERYTHING_PUBLIC = bucket_policy(f"{ISSUER_ARN}/*")
ACLS_ONLY_PAB = StackResource(
    PAB.type, PAB.name, PAB.urn, {**PAB.props, "blockPublicPolicy": False, "restrictPublicBuckets": False}
)
VPC = StackResource("aws:ec2/vpc:Vpc", "main", "urn:vpc", {"cidrBlock": "10.0.0.0/16"})
FLOW_LOG = StackResource(
    "aws:ec2/flowLog:FlowLog", "main", "urn:fl", {"vpcId": UNKNOWN}, {"vpcId": ["urn:vpc"]}
)
NS_RESTRICTED = StackResource(
    "kubernetes:core/v1:Namespace",
    "dhakacart",
    "urn:ns",
    {"metadata": {"name": "dhakacart", "labels": {"pod-security.kubernetes.io/enforce": "restricted"}}},
)
NS_PRIVILEGED = StackResource(
    "kubernetes:core/v1:Namespace",
    "dhakacart",
    "urn:ns",
    {"metadata": {"name": "dhakacart", "labels": {"pod-security.kubernetes.io/enforce": "privileged"}}},
)
DENY_ALL = StackResource(
    "kubernetes:networking.k8s.io/v1:NetworkPolicy",
    "deny",
    "urn:deny",
    {
        "metadata": {"name": "default-deny-all", "namespace": "dhakacart"},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
    },
)
DENY_INGRESS_ONLY = StackResource(
    "kubernetes:networking.k8s.io/v1:NetworkPolicy",
    "deny",
    "urn:deny",
    {
        "metadata": {"name": "default-deny", "namespace": "dhakacart"},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
    },
)

# (policy, stack, good resources, bad resources)
STACK_CASES: list[tuple[str, str, list[StackResource], list[StackResource]]] = [
    ("aws-s3-encrypted", "dev", [S3_BUCKET, SSE], [S3_BUCKET]),
    (
        "aws-s3-public-access-blocked",
        "dev",
        [S3_BUCKET, PAB],
        [S3_BUCKET, StackResource(PAB.type, PAB.name, PAB.urn, {**PAB.props, "blockPublicPolicy": False})],
    ),
    # The issuer's bucket may let its policy be public, never its ACLs, and only for its two documents.
    ("aws-s3-public-access-blocked", "dev", [S3_BUCKET, ACLS_ONLY_PAB, ISSUER_POLICY],
     [S3_BUCKET, ACLS_ONLY_PAB, EVERYTHING_PUBLIC]),
    ("aws-s3-public-access-blocked", "dev", [S3_BUCKET, ACLS_ONLY_PAB, ISSUER_POLICY],
     [S3_BUCKET, ISSUER_POLICY,
      StackResource(PAB.type, PAB.name, PAB.urn, {**ACLS_ONLY_PAB.props, "ignorePublicAcls": False})]),
    ("aws-public-bucket-only-oidc-issuer", "dev", [S3_BUCKET, ISSUER_POLICY], [S3_BUCKET, EVERYTHING_PUBLIC]),
    ("aws-public-bucket-only-oidc-issuer", "dev", [S3_BUCKET, ISSUER_POLICY],
     [S3_BUCKET, bucket_policy(f"{ISSUER_ARN}/keys.json", action="s3:*")]),
    ("aws-vpc-flow-logs", "dev", [VPC, FLOW_LOG], [VPC]),
    ("k8s-application-namespaces-restricted", "dev", [NS_RESTRICTED, WORKLOAD], [NS_PRIVILEGED, WORKLOAD]),
    ("k8s-application-namespaces-restricted", "dev", [NS_RESTRICTED, WORKLOAD], [WORKLOAD]),
    (
        "k8s-default-deny-network-policy",
        "dev",
        [NS_RESTRICTED, WORKLOAD, DENY_ALL],
        [NS_RESTRICTED, WORKLOAD, DENY_INGRESS_ONLY],
    ),
]


@pytest.mark.parametrize("case", STACK_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(STACK_CASES)])
def test_stack_policy_fires_on_bad_and_passes_good(case: tuple) -> None:
    name, stack, good, bad = case
    policy = POLICIES_BY_NAME[name]
    assert policy.stack_check is not None
    assert policy.stack_check(good, stack) == []
    assert policy.stack_check(bad, stack), f"{name} did not fire"


def test_every_stack_policy_has_a_bad_and_good_case() -> None:
    assert {c[0] for c in STACK_CASES} == policies_defined_in(stack_rules)
