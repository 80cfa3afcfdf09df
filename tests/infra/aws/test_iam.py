"""The shared IAM documents: a service role trusts its service only, optionally for one account."""

from __future__ import annotations

import json

from dhakacart_infra.aws.iam import policy_document, service_assume_role_policy


def test_a_service_role_trusts_only_its_service() -> None:
    (statement,) = json.loads(service_assume_role_policy("ec2.amazonaws.com"))["Statement"]
    assert statement == {
        "Effect": "Allow",
        "Principal": {"Service": "ec2.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }


def test_a_source_account_limits_the_service_to_acting_for_that_account() -> None:
    document = json.loads(service_assume_role_policy("export.rds.amazonaws.com", source_account="1"))
    assert document["Version"] == "2012-10-17"
    assert document["Statement"][0]["Condition"] == {"StringEquals": {"aws:SourceAccount": "1"}}


def test_a_policy_document_keeps_its_statements_in_order() -> None:
    first, second = {"Sid": "A", "Effect": "Allow"}, {"Sid": "B", "Effect": "Deny"}
    assert json.loads(policy_document(first, second))["Statement"] == [first, second]
