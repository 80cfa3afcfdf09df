"""The snapshot-export bucket: private, encrypted with its own rotated key, TLS-only, expiring,
and writable only through a role that RDS's export service alone may assume."""

from __future__ import annotations

import json

import pulumi
import pytest

from dhakacart_infra.aws.snapshot_exports import (
    EXPORT_SERVICE,
    SnapshotExports,
    SnapshotExportsArgs,
)
from dhakacart_infra.errors import ComponentInputError
from dhakacart_infra.plan.mocks import MOCK_ACCOUNT_ID
from dhakacart_infra.plan.runner import PlanResult, run_program

SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"


def exports_program(**overrides):
    def program() -> None:
        exports = SnapshotExports(
            "db-exports", SnapshotExportsArgs(name_prefix="dhakacart-prod", **overrides)
        )
        pulumi.export("snapshotExportBucket", exports.bucket_name)
        pulumi.export("snapshotExportRoleArn", exports.role_arn)
        pulumi.export("snapshotExportKmsKeyArn", exports.kms_key_arn)

    return program


@pytest.fixture(scope="module")
def plan() -> PlanResult:
    return run_program("prod", program=exports_program(expire_after_days=30))


def test_every_child_belongs_to_the_component(plan: PlanResult) -> None:
    component = plan.one("dhakacart:aws:SnapshotExports")
    children = [r for r in plan.resources if r is not component]
    assert children and {r.urn for r in children} == {r.urn for r in plan.descendants_of(component)}


def test_the_key_has_an_explicit_policy_the_account_administers_through_iam(plan: PlanResult) -> None:
    (statement,) = json.loads(plan.one("aws:kms/key:Key").revealed()["policy"])["Statement"]
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{MOCK_ACCOUNT_ID}:root"}
    assert statement["Action"] == "kms:*" and statement["Effect"] == "Allow"


def test_exports_are_encrypted_with_a_dedicated_rotated_key(plan: PlanResult) -> None:
    key = plan.one("aws:kms/key:Key")
    assert key.revealed()["enableKeyRotation"] is True
    (rule,) = plan.one(SSE).revealed()["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {
        "sseAlgorithm": "aws:kms",
        "kmsMasterKeyId": key.state["arn"],
    }
    assert plan.outputs["snapshotExportKmsKeyArn"] == key.state["arn"]


def test_bucket_is_private_with_acls_off(plan: PlanResult) -> None:
    block = plan.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").revealed()
    assert all(
        block[k] is True
        for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    )
    ownership = plan.one("aws:s3/bucketOwnershipControls:BucketOwnershipControls").revealed()
    assert ownership["rule"]["objectOwnership"] == "BucketOwnerEnforced"


def test_bucket_refuses_plain_http(plan: PlanResult) -> None:
    (statement,) = json.loads(plan.one("aws:s3/bucketPolicy:BucketPolicy").revealed()["policy"])["Statement"]
    assert statement["Effect"] == "Deny" and statement["Principal"] == "*" and statement["Action"] == "s3:*"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert plan.waits_for(
        plan.one("aws:s3/bucketPolicy:BucketPolicy"),
        plan.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"),
    )


def test_exports_expire_and_prod_bucket_is_not_force_destroyed(plan: PlanResult) -> None:
    rules = {r["id"]: r for r in plan.one(LIFECYCLE).revealed()["rules"]}
    assert rules["expire-exports"]["expiration"] == {"days": 30}
    assert rules["expire-exports"]["status"] == "Enabled"
    assert rules["abort-incomplete-multipart-uploads"]["abortIncompleteMultipartUpload"] == {
        "daysAfterInitiation": 1
    }
    bucket = plan.one("aws:s3/bucket:Bucket").revealed()
    assert bucket["forceDestroy"] is False and bucket["bucketPrefix"] == "dhakacart-prod-db-exports-"


def test_only_the_rds_export_service_of_this_account_may_assume_the_role(plan: PlanResult) -> None:
    (statement,) = json.loads(plan.one("aws:iam/role:Role").revealed()["assumeRolePolicy"])["Statement"]
    assert statement["Principal"] == {"Service": EXPORT_SERVICE}
    assert statement["Action"] == "sts:AssumeRole"
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": MOCK_ACCOUNT_ID}}


def test_the_role_may_use_this_bucket_and_this_key_only(plan: PlanResult) -> None:
    bucket_arn = plan.one("aws:s3/bucket:Bucket").state["arn"]
    key_arn = plan.one("aws:kms/key:Key").state["arn"]
    statements = {
        s["Sid"]: s
        for s in json.loads(plan.one("aws:iam/rolePolicy:RolePolicy").revealed()["policy"])["Statement"]
    }
    assert statements["ExportBucket"]["Resource"] == bucket_arn
    assert sorted(statements["ExportBucket"]["Action"]) == ["s3:GetBucketLocation", "s3:ListBucket"]
    assert statements["ExportObjects"]["Resource"] == f"{bucket_arn}/*"
    assert sorted(statements["ExportObjects"]["Action"]) == [
        "s3:DeleteObject*",
        "s3:GetObject*",
        "s3:PutObject*",
    ]
    assert statements["ExportKey"]["Resource"] == key_arn
    assert all(a.startswith("kms:") and "*" not in a for a in statements["ExportKey"]["Action"])
    assert all(s["Effect"] == "Allow" and s["Resource"] != "*" for s in statements.values())


def test_outputs_name_the_bucket_and_role(plan: PlanResult) -> None:
    assert plan.outputs["snapshotExportBucket"] == plan.one("aws:s3/bucket:Bucket").state["bucket"]
    assert plan.outputs["snapshotExportRoleArn"] == plan.one("aws:iam/role:Role").state["arn"]
    assert plan.outputs["snapshotExportRoleArn"].startswith(f"arn:aws:iam::{MOCK_ACCOUNT_ID}:role/")


def test_dev_may_force_destroy() -> None:
    plan = run_program("dev", program=exports_program(force_destroy=True))
    assert plan.one("aws:s3/bucket:Bucket").revealed()["forceDestroy"] is True


@pytest.mark.parametrize("days", [0, -3])
def test_a_bad_expiry_is_refused_with_a_clear_error(days: int) -> None:
    with pytest.raises(ComponentInputError, match="at least 1"):
        run_program("dev", program=exports_program(expire_after_days=days))


OPS_OUTPUTS = (
    "databaseInstanceId",
    "databaseSubnetGroup",
    "databaseParameterGroup",
    "databaseSecurityGroupId",
    "databaseKmsKeyArn",
    "snapshotExportBucket",
    "snapshotExportRoleArn",
    "snapshotExportKmsKeyArn",
    "region",
)


def test_the_stack_exports_what_the_ops_tool_reads(stack_plan: PlanResult) -> None:
    outputs = stack_plan.outputs
    assert all(outputs.get(name) for name in OPS_OUTPUTS), {n: outputs.get(n) for n in OPS_OUTPUTS}
    rds = stack_plan.one("aws:rds/instance:Instance")
    assert (
        outputs["databaseInstanceId"] == rds.state["identifier"]
    )  # the identifier RDS APIs take, not the id
    component = stack_plan.one("dhakacart:aws:SnapshotExports")
    assert outputs["snapshotExportBucket"] in {
        r.state.get("bucket") for r in stack_plan.descendants_of(component)
    }


def test_exports_expire_sooner_and_may_be_destroyed_in_dev(
    dev_plan: PlanResult, prod_plan: PlanResult
) -> None:
    def expiry(plan: PlanResult) -> int:
        component = plan.one("dhakacart:aws:SnapshotExports")
        [lifecycle] = [r for r in plan.descendants_of(component) if r.type == LIFECYCLE]
        return {r["id"]: r for r in lifecycle.revealed()["rules"]}["expire-exports"]["expiration"]["days"]

    assert (expiry(dev_plan), expiry(prod_plan)) == (30, 365)


def test_the_stack_exports_its_manual_snapshot_retention_for_backup_prune(
    dev_plan: PlanResult, prod_plan: PlanResult
) -> None:
    # `ops backup prune` without --keep-days/--keep-last keeps this many days (dbManualSnapshotRetentionDays).
    assert (
        dev_plan.outputs["manualSnapshotRetentionDays"],
        prod_plan.outputs["manualSnapshotRetentionDays"],
    ) == (
        14,
        90,
    )
    assert (
        run_program("dev", overrides={"dbManualSnapshotRetentionDays": 45}).outputs[
            "manualSnapshotRetentionDays"
        ]
        == 45
    )


@pytest.mark.parametrize("days", [0, 5000])
def test_a_manual_snapshot_retention_out_of_range_is_a_config_error(days: int) -> None:
    from dhakacart_infra.config import load_config
    from dhakacart_infra.errors import ConfigError

    with pytest.raises(ConfigError, match="dbManualSnapshotRetentionDays") as caught:
        run_program("dev", overrides={"dbManualSnapshotRetentionDays": days}, program=load_config)
    assert "pulumi config set" in str(caught.value)
