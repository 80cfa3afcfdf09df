"""VolumeAccess: the servers' role may manage only this cluster's EBS volumes and snapshots, and the
volumes' own key lets that role use it through EC2 only."""

from __future__ import annotations

import json

import pytest

from dhakacart_infra.aws.volumes import CLUSTER_TAG_KEY, cluster_volume_tags, ebs_csi_policy
from dhakacart_infra.k8s.storage import RELEASE_NAME as EBS_RELEASE
from dhakacart_infra.names import StackOutput

ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ROLE = "aws:iam/role:Role"
KEY = "aws:kms/key:Key"
RELEASE = "kubernetes:helm.sh/v3:Release"
MUTATING = {
    "ec2:CreateVolume",
    "ec2:DeleteVolume",
    "ec2:AttachVolume",
    "ec2:DetachVolume",
    "ec2:ModifyVolume",
    "ec2:CreateSnapshot",
    "ec2:DeleteSnapshot",
    "ec2:CreateTags",
    "ec2:DeleteTags",
}


def _policy(**overrides) -> dict:
    args = {
        "partition": "aws",
        "region": "ap-south-1",
        "account_id": "123456789012",
        "cluster_name": "dhakacart-prod",
        "instance_tags": {"Project": "dhakacart", "Stack": "prod"},
    }
    return json.loads(ebs_csi_policy(**{**args, **overrides}))


def _actions(statement: dict) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else action


def _controller_policy(plan) -> dict:
    [policy] = [p for p in plan.of_type(ROLE_POLICY) if p.name == "ebs-volumes-controller-policy"]
    return policy


def test_every_change_to_a_volume_or_snapshot_is_conditioned_on_this_clusters_tag():
    for statement in _policy()["Statement"]:
        changes = set(_actions(statement)) & MUTATING
        if not changes:
            assert statement["Resource"] == "*" and all(
                a.startswith("ec2:Describe") for a in _actions(statement)
            )
            continue
        assert "Condition" in statement, statement["Sid"]
        assert statement["Resource"] != "*", statement["Sid"]


@pytest.mark.parametrize(
    ("action", "resource", "condition"),
    [
        ("ec2:CreateVolume", "volume", "aws:RequestTag"),
        ("ec2:CreateVolume", "snapshot", "aws:ResourceTag"),  # a restore, from our snapshots only
        ("ec2:DeleteVolume", "volume", "aws:ResourceTag"),
        ("ec2:ModifyVolume", "volume", "aws:ResourceTag"),
        ("ec2:AttachVolume", "volume", "aws:ResourceTag"),
        ("ec2:CreateSnapshot", "volume", "aws:ResourceTag"),
        ("ec2:CreateSnapshot", "snapshot", "aws:RequestTag"),
        ("ec2:DeleteSnapshot", "snapshot", "aws:ResourceTag"),
    ],
)
def test_each_volume_action_needs_the_cluster_tag_on_the_request_or_the_resource(action, resource, condition):
    allowing = [
        s
        for s in _policy(cluster_name="dhakacart-dev")["Statement"]
        if action in _actions(s) and f":{resource}/" in json.dumps(s["Resource"])
    ]
    assert allowing, f"nothing allows {action} on a {resource}"
    for statement in allowing:
        assert statement["Condition"] == {"StringEquals": {f"{condition}/{CLUSTER_TAG_KEY}": "dhakacart-dev"}}


def test_volumes_attach_only_to_this_stacks_instances():
    [statement] = [s for s in _policy()["Statement"] if ":instance/" in json.dumps(s["Resource"])]
    assert sorted(_actions(statement)) == ["ec2:AttachVolume", "ec2:DetachVolume"]
    assert statement["Resource"] == "arn:aws:ec2:ap-south-1:123456789012:instance/*"
    assert statement["Condition"] == {
        "StringEquals": {"aws:ResourceTag/Project": "dhakacart", "aws:ResourceTag/Stack": "prod"}
    }


def test_tags_are_written_only_while_creating():
    [statement] = [s for s in _policy()["Statement"] if "ec2:CreateTags" in _actions(s)]
    assert statement["Condition"] == {
        "StringEquals": {"ec2:CreateAction": ["CreateVolume", "CreateSnapshot"]}
    }


def test_the_driver_tags_what_it_creates_with_the_tag_the_policy_requires(stack_plan):
    """The two halves must agree, or the controller may create nothing at all."""
    cluster = f"dhakacart-{stack_plan.stack}"
    [release] = [r for r in stack_plan.of_type(RELEASE) if r.inputs["name"] == EBS_RELEASE]
    tags = release.revealed()["values"]["controller"]["extraVolumeTags"]
    assert tags == cluster_volume_tags(
        cluster,
        {
            "Project": "dhakacart",
            "Environment": stack_plan.stack,
            "Stack": stack_plan.stack,
            "ManagedBy": "pulumi",
        },
    )
    assert tags[CLUSTER_TAG_KEY] == cluster and "ManagedBy" not in tags
    policy = json.loads(_controller_policy(stack_plan).revealed()["policy"])
    required = {
        value
        for s in policy["Statement"]
        for test in (s.get("Condition") or {}).values()
        for key, value in test.items()
        if key.endswith(f"Tag/{CLUSTER_TAG_KEY}")
    }
    assert required == {cluster}


def test_the_policy_is_on_the_controllers_own_role_and_no_node_role(stack_plan):
    [controller_role] = [r for r in stack_plan.of_type(ROLE) if r.name == "ebs-volumes-controller-role"]
    assert _controller_policy(stack_plan).revealed()["role"] == controller_role.id
    (statement,) = json.loads(controller_role.revealed()["assumeRolePolicy"])["Statement"]
    [sub] = [v for k, v in statement["Condition"]["StringEquals"].items() if k.endswith(":sub")]
    assert sub == "system:serviceaccount:ebs-csi:ebs-csi-controller-sa"


def test_the_volumes_key_rotates_and_lets_only_the_controllers_role_use_it_through_ec2(stack_plan):
    [key] = [k for k in stack_plan.of_type(KEY) if k.name == "ebs-volumes-key"]
    assert key.inputs["enableKeyRotation"] is True
    statements = {s["Sid"]: s for s in json.loads(key.revealed()["policy"])["Statement"]}
    [server_role] = [r for r in stack_plan.of_type(ROLE) if r.name == "ebs-volumes-controller-role"]
    use, grants = statements["EbsVolumesThroughEc2"], statements["EbsGrantsForAwsResources"]
    for statement in (use, grants):
        assert statement["Principal"] == {"AWS": [server_role.state["arn"]]}
        assert statement["Condition"]["StringEquals"] == {"kms:ViaService": "ec2.ap-south-1.amazonaws.com"}
    assert grants["Condition"]["Bool"] == {"kms:GrantIsForAWSResource": "true"}
    assert set(grants["Action"]) == {"kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"}
    assert "kms:*" not in json.dumps([use, grants])
    assert stack_plan.outputs[StackOutput.VOLUME_KMS_KEY_ARN] == key.state["arn"]


def test_other_keys_name_no_ebs_users(stack_plan):
    for key in stack_plan.of_type(KEY):
        if key.name != "ebs-volumes-key":
            assert "EbsVolumesThroughEc2" not in key.revealed()["policy"], key.name
