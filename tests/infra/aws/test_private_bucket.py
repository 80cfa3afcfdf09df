"""The private bucket both S3 users share (Loki's logs, snapshot exports): what it guarantees on its
own, and that moving their resources into it keeps every URN a deployed stack already has."""

from __future__ import annotations

import json

import pulumi
import pytest

from dhakacart_infra.aws.private_bucket import PrivateBucket, PrivateBucketArgs
from dhakacart_infra.errors import ComponentInputError
from dhakacart_infra.plan.mocks import MOCK_ACCOUNT_ID
from dhakacart_infra.plan.runner import PlanResult, run_program

LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"


def bucket_program(**overrides):
    def program() -> None:
        args = {
            "bucket_prefix": "dhakacart-dev-things-",
            "key_description": "Encrypts things",
            "expire_after_days": 14,
            "expiry_rule_id": "expire-things",
            **overrides,
        }
        bucket = PrivateBucket("things", PrivateBucketArgs(**args))
        pulumi.export("bucket", bucket.bucket_name)

    return program


@pytest.fixture(scope="module")
def plan() -> PlanResult:
    return run_program("dev", program=bucket_program())


def test_every_resource_is_inside_the_component(plan: PlanResult) -> None:
    component = plan.one("dhakacart:aws:PrivateBucket")
    inside = {r.urn for r in plan.descendants_of(component)}
    assert inside == {r.urn for r in plan.resources if r is not component}
    assert {r.name for r in plan.children_of(component)} >= {"things-bucket", "things-key", "things-tls-only"}


def test_the_key_policy_is_explicit_and_grants_nothing_beyond_the_account(plan: PlanResult) -> None:
    key = plan.one("aws:kms/key:Key").revealed()
    (statement,) = json.loads(key["policy"])["Statement"]
    assert statement == {
        "Sid": "AccountAdministersThroughIam",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{MOCK_ACCOUNT_ID}:root"},
        "Action": "kms:*",
        "Resource": "*",
    }
    assert key["enableKeyRotation"] is True and key["tags"]["Name"] == "dhakacart-dev-things"


def test_unversioned_bucket_expires_objects_and_abandoned_uploads_only(plan: PlanResult) -> None:
    assert not plan.of_type(VERSIONING)
    rules = plan.one(LIFECYCLE).revealed()["rules"]
    assert [r["id"] for r in rules] == ["expire-things", "abort-incomplete-multipart-uploads"]
    assert rules[0]["expiration"] == {"days": 14}


def test_versioned_bucket_expires_old_versions_after_versioning_is_on() -> None:
    plan = run_program("dev", program=bucket_program(versioned=True, noncurrent_version_days=3))
    versioning = plan.one(VERSIONING)
    assert versioning.revealed()["versioningConfiguration"] == {"status": "Enabled"}
    lifecycle = plan.one(LIFECYCLE)
    rules = {r["id"]: r for r in lifecycle.revealed()["rules"]}
    assert rules["expire-deleted-versions"]["noncurrentVersionExpiration"] == {"noncurrentDays": 3}
    assert plan.waits_for(lifecycle, versioning)


def test_the_name_is_handed_out_once_the_bucket_is_guarded(plan: PlanResult) -> None:
    assert plan.outputs["bucket"] == plan.one("aws:s3/bucket:Bucket").state["bucket"]
    policy = plan.one("aws:s3/bucketPolicy:BucketPolicy")
    assert plan.waits_for(policy, plan.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"expire_after_days": 0}, "expire_after_days 0 must be a whole number of days"),
        ({"expire_after_days": True}, "expire_after_days True must be a whole number of days"),
        ({"noncurrent_version_days": -1}, "noncurrent_version_days -1"),
        ({"bucket_prefix": "dhakacart-dev-things"}, "must end in '-'"),
    ],
)
def test_bad_inputs_are_refused_with_what_to_fix(overrides: dict, message: str) -> None:
    with pytest.raises(ComponentInputError, match=message):
        run_program("dev", program=bucket_program(**overrides))


# The URNs these resources had when LokiBucket and SnapshotExports created them directly: the aliases
# must lead the engine from each of them to the resource now inside a PrivateBucket (else `pulumi up`
# would replace the bucket, which fails while it holds exports, and schedule the key for deletion).
LOKI, EXPORTS = "dhakacart:aws:LokiBucket", "dhakacart:aws:SnapshotExports"
FORMER_URNS = {
    "loki-logs-bucket": f"urn:pulumi:prod::dhakacart::{LOKI}$aws:s3/bucket:Bucket::loki-logs-bucket",
    "loki-logs-key": f"urn:pulumi:prod::dhakacart::{LOKI}$aws:kms/key:Key::loki-logs-key",
    "db-exports-bucket": f"urn:pulumi:prod::dhakacart::{EXPORTS}$aws:s3/bucket:Bucket::db-exports-bucket",
    "db-exports-key": f"urn:pulumi:prod::dhakacart::{EXPORTS}$aws:kms/key:Key::db-exports-key",
}


def former_urns(plan: PlanResult, record) -> set[str]:
    """The URNs the engine derives from the record's parent aliases (same name and type, other parent)."""
    urns = set()
    for alias in record.aliases:
        parent = alias.get("spec", {}).get("parentUrn")
        if parent and not alias["spec"].get("name") and not alias["spec"].get("type"):
            parent_types = parent.split("::")[2]
            top_parent_types = "$".join(t for t in parent_types.split("$") if t != "pulumi:pulumi:Stack")
            urns.add(f"urn:pulumi:{plan.stack}::{plan.project}::{top_parent_types}${record.type}::{record.name}")
    return urns


@pytest.mark.parametrize("name", sorted(FORMER_URNS))
def test_moved_resources_keep_the_urns_of_a_deployed_stack(prod_plan: PlanResult, name: str) -> None:
    type_ = "aws:s3/bucket:Bucket" if name.endswith("-bucket") else "aws:kms/key:Key"
    record = prod_plan.one(type_, name)
    assert record.urn != FORMER_URNS[name]  # it did move ...
    assert FORMER_URNS[name] in former_urns(prod_plan, record)  # ... and the engine can follow it


# The buckets that existed before PrivateBucket did (the etcd snapshots' bucket is newer).
BUCKETS_FROM_BEFORE = {"loki-logs", "db-exports"}


def test_every_resource_of_a_private_bucket_can_be_followed(prod_plan: PlanResult) -> None:
    older = [c for c in prod_plan.of_type("dhakacart:aws:PrivateBucket") if c.name in BUCKETS_FROM_BEFORE]
    assert len(older) == len(BUCKETS_FROM_BEFORE)
    for component in older:
        moved = [r for r in prod_plan.descendants_of(component) if r.custom]
        assert moved and all(former_urns(prod_plan, r) for r in moved), [r.name for r in moved]

