"""Prod's Loki bucket: encrypted, private, TLS-only, expiring, and reachable only with Loki's own role."""

from __future__ import annotations

import json

import pulumi
import pytest

from dhakacart_infra.aws.loki_bucket import LokiBucket, LokiBucketArgs
from dhakacart_infra.aws.workload_role import ServiceAccountTrust
from dhakacart_infra.errors import ComponentInputError
from dhakacart_infra.plan.runner import PlanResult, run_program

PROVIDER = "arn:aws:iam::123456789012:oidc-provider/dhakacart-prod-oidc-abc.s3.ap-south-1.amazonaws.com"
ISSUER_HOST = "dhakacart-prod-oidc-abc.s3.ap-south-1.amazonaws.com"


def bucket_program(retention_days: int = 7):
    def program() -> None:
        bucket = LokiBucket("loki", LokiBucketArgs(name_prefix="dhakacart-prod-loki-",
                                                   retention_days=retention_days,
                                                   trust=ServiceAccountTrust("dhakacart-prod", PROVIDER,
                                                                             ISSUER_HOST),
                                                   tags={"project": "dhakacart"}))
        pulumi.export("lokiBucket", bucket.bucket_name)

    return program


@pytest.fixture(scope="module")
def plan() -> PlanResult:
    return run_program("prod", program=bucket_program())


SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"


def one(plan: PlanResult, type_: str) -> dict:
    return plan.one(type_).revealed()


def test_objects_are_encrypted_with_a_rotated_customer_key(plan):
    key = one(plan, "aws:kms/key:Key")
    assert key["enableKeyRotation"] is True
    (rule,) = one(plan, SSE)["rules"]
    default = rule["applyServerSideEncryptionByDefault"]
    assert default["sseAlgorithm"] == "aws:kms"
    assert default["kmsMasterKeyId"] == plan.one("aws:kms/key:Key").state["arn"]
    assert rule["bucketKeyEnabled"] is True


def test_all_public_access_is_blocked_and_acls_are_off(plan):
    block = one(plan, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert all(block[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                          "restrictPublicBuckets"))
    ownership = one(plan, "aws:s3/bucketOwnershipControls:BucketOwnershipControls")
    assert ownership["rule"]["objectOwnership"] == "BucketOwnerEnforced"


def test_bucket_refuses_plain_http(plan):
    (statement,) = json.loads(one(plan, "aws:s3/bucketPolicy:BucketPolicy")["policy"])["Statement"]
    assert statement["Effect"] == "Deny" and statement["Principal"] == "*"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


@pytest.mark.parametrize(("retention_days", "expiry"), [(7, 8), (30, 31)])
def test_lifecycle_expires_objects_a_day_after_retention(retention_days, expiry):
    plan = run_program("prod", program=bucket_program(retention_days))
    rules = {r["id"]: r for r in one(plan, LIFECYCLE)["rules"]}
    assert rules["expire-after-loki-retention"]["expiration"]["days"] == expiry
    assert rules["abort-incomplete-multipart-uploads"]["abortIncompleteMultipartUpload"][
        "daysAfterInitiation"] == 1
    assert rules["expire-deleted-versions"]["noncurrentVersionExpiration"]["noncurrentDays"] == 1
    assert rules["remove-expired-delete-markers"]["expiration"]["expiredObjectDeleteMarker"] is True
    assert all(r["status"] == "Enabled" for r in rules.values())


def test_versioning_is_on_and_lifecycle_waits_for_it(plan):
    versioning = plan.one("aws:s3/bucketVersioning:BucketVersioning")
    assert versioning.revealed()["versioningConfiguration"]["status"] == "Enabled"
    assert plan.waits_for(plan.one(LIFECYCLE), versioning)


def test_key_is_administered_by_the_account_and_used_only_through_iam(plan):
    (statement,) = json.loads(one(plan, "aws:kms/key:Key")["policy"])["Statement"]
    assert statement["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}


def test_lokis_role_gets_only_this_bucket_and_key(plan):
    bucket_arn = plan.one("aws:s3/bucket:Bucket").state["arn"]
    key_arn = plan.one("aws:kms/key:Key").state["arn"]
    statements = json.loads(one(plan, "aws:iam/rolePolicy:RolePolicy")["policy"])["Statement"]
    resources = {s["Sid"]: s["Resource"] for s in statements}
    assert resources == {"LokiListBucket": bucket_arn, "LokiObjects": f"{bucket_arn}/*",
                         "LokiEncryptionKey": key_arn}
    actions = {a for s in statements for a in s["Action"]}
    assert not any(a.endswith("*") for a in actions)
    assert plan.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment") == []  # no node role


def test_only_lokis_service_account_may_assume_the_role(plan):
    role = one(plan, "aws:iam/role:Role")
    assert role["name"] == "dhakacart-prod-loki"
    (statement,) = json.loads(role["assumeRolePolicy"])["Statement"]
    assert statement["Principal"] == {"Federated": PROVIDER}
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"] == {"StringEquals": {
        f"{ISSUER_HOST}:sub": "system:serviceaccount:monitoring:loki",
        f"{ISSUER_HOST}:aud": "sts.amazonaws.com",
    }}


def test_bucket_name_is_handed_out_only_once_access_is_granted(plan):
    assert plan.outputs["lokiBucket"] == plan.one("aws:s3/bucket:Bucket").state["bucket"]


@pytest.mark.parametrize("days", [0, -3])
def test_bad_retention_is_refused(days):
    with pytest.raises(ComponentInputError, match="LokiBucket: retention_days"):
        run_program("prod", program=bucket_program(days))
