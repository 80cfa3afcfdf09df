"""IAM documents more than one component writes: who may assume a role an AWS service uses."""

from __future__ import annotations

import json
from typing import Any


def service_assume_role_policy(service: str, *, source_account: str | None = None) -> str:
    """A trust policy letting only `service` (e.g. "monitoring.rds.amazonaws.com") assume the role.

    With `source_account`, the service may do so only while acting for that account (the
    `aws:SourceAccount` condition AWS recommends against the confused-deputy problem); services that
    do not send the key (EC2 launching an instance profile, VPC flow logs) are called without it.
    """
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
    }
    if source_account is not None:
        statement["Condition"] = {"StringEquals": {"aws:SourceAccount": source_account}}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})
