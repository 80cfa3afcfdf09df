"""IAM documents more than one component writes: the policy document shape, and who may assume a
role an AWS service uses."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

POLICY_LANGUAGE_VERSION = "2012-10-17"


def policy_document(*statements: Mapping[str, Any]) -> str:
    """An IAM, key or bucket policy with these statements, as the JSON string AWS takes."""
    return json.dumps({"Version": POLICY_LANGUAGE_VERSION, "Statement": [dict(s) for s in statements]})


def service_assume_role_policy(service: str, *, source_account: str | None = None) -> str:
    """A trust policy letting only `service` (e.g. "monitoring.rds.amazonaws.com") assume the role.

    With `source_account`, the service may do so only while acting for that account (the
    `aws:SourceAccount` condition AWS recommends against the confused-deputy problem).
    """
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
    }
    if source_account is not None:
        statement["Condition"] = {"StringEquals": {"aws:SourceAccount": source_account}}
    return policy_document(statement)
