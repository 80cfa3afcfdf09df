"""rds.py: the instance identifier rule, lookups that say what is missing or unfinished, tags."""

from __future__ import annotations

import re
from typing import Any

import pytest
from botocore.exceptions import ClientError

from dhakacart_infra.ops import TOOL_COMMAND
from dhakacart_infra.ops.errors import NotFoundError, RefusedError, ValidationError
from dhakacart_infra.ops.rds import (
    describe_instance,
    describe_snapshot,
    require_instance,
    require_snapshot,
    tags_of,
    validate_instance_identifier,
)

from .conftest import INSTANCE, ScriptedRds, StackWorld


def test_an_instance_identifier_is_returned_as_rds_stores_it() -> None:
    assert validate_instance_identifier("Dhakacart-Prod-Restore-1") == "dhakacart-prod-restore-1"
    assert validate_instance_identifier("x" * 63) == "x" * 63


@pytest.mark.parametrize("name", ["1db", "a--b", "a-", "a_b", "x" * 64, ""])
def test_an_invalid_instance_identifier_says_the_rule(name: str) -> None:
    with pytest.raises(ValidationError, match="1-63 letters, digits or hyphens, starting with a letter"):
        validate_instance_identifier(name)


def test_lookups_find_the_instance_and_its_snapshot(world: StackWorld) -> None:
    snapshot_id = world.take_snapshot()
    assert require_instance(world.rds, INSTANCE)["DBInstanceIdentifier"] == INSTANCE
    assert require_snapshot(world.rds, snapshot_id)["DBSnapshotIdentifier"] == snapshot_id


def test_unknown_names_are_none_or_an_error_that_says_where_to_look(world: StackWorld) -> None:
    assert describe_instance(world.rds, "no-such-db") is None
    assert describe_snapshot(world.rds, "no-such-snapshot") is None
    with pytest.raises(NotFoundError, match="check --db-instance and --region"):
        require_instance(world.rds, "no-such-db")
    with pytest.raises(NotFoundError, match=re.escape(f"list them with `{TOOL_COMMAND} backup list`")):
        require_snapshot(world.rds, "no-such-snapshot")


def test_an_unfinished_snapshot_is_refused_unless_any_state_will_do() -> None:
    with pytest.raises(RefusedError, match="is 'creating', not 'available'; wait for it to finish"):
        require_snapshot(ScriptedRds([{"Status": "creating"}]), "snap-1")
    assert (
        require_snapshot(ScriptedRds([{"Status": "creating"}]), "snap-1", available=False)["Status"]
        == "creating"
    )


def test_other_aws_errors_are_not_taken_for_a_missing_instance() -> None:
    class Denied:
        def describe_db_instances(self, DBInstanceIdentifier: str) -> dict[str, Any]:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "DescribeDBInstances")

    with pytest.raises(ClientError, match="AccessDenied"):
        describe_instance(Denied(), INSTANCE)


def test_tags_of_reads_the_tag_list() -> None:
    assert tags_of({"TagList": [{"Key": "stack", "Value": "dev"}, {"Key": "reason", "Value": "drill"}]}) == {
        "stack": "dev",
        "reason": "drill",
    }
    assert tags_of({}) == {}
