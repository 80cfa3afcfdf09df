"""restore.py on its own: the restorable window, the time it accepts, what a restore must share, the wait."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dhakacart_infra.ops.errors import RefusedError, RemoteFailureError, ValidationError, WaitTimeoutError
from dhakacart_infra.ops.restore import (
    LOG_SHIPPING_LAG,
    compare_restored,
    parse_restore_time,
    restorable_window,
    wait_available,
)

from .conftest import FakeClock, ScriptedRds

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def test_window_uses_the_times_rds_reports() -> None:
    source = {
        "DBInstanceIdentifier": "db",
        "BackupRetentionPeriod": 7,
        "EarliestRestorableTime": NOW - timedelta(days=3),
        "LatestRestorableTime": NOW - timedelta(minutes=2),
        "InstanceCreateTime": NOW - timedelta(days=30),
    }
    window = restorable_window(source, NOW)
    assert (window.earliest, window.latest, window.source) == (
        NOW - timedelta(days=3),
        NOW - timedelta(minutes=2),
        "aws",
    )
    assert not window.contains(NOW - timedelta(days=4))  # retention alone would have allowed it


def test_window_is_estimated_from_retention_and_creation_when_rds_is_silent() -> None:
    old = {
        "DBInstanceIdentifier": "db",
        "BackupRetentionPeriod": 7,
        "InstanceCreateTime": NOW - timedelta(days=30),
    }
    window = restorable_window(old, NOW)
    assert window.source == "estimated"
    assert window.earliest == NOW - timedelta(days=7)
    assert window.latest == NOW - LOG_SHIPPING_LAG
    young = {**old, "InstanceCreateTime": NOW - timedelta(hours=2)}
    assert restorable_window(young, NOW).earliest == NOW - timedelta(hours=2)


def test_window_refuses_an_instance_without_automated_backups() -> None:
    with pytest.raises(RefusedError, match="retention 0"):
        restorable_window({"DBInstanceIdentifier": "db", "BackupRetentionPeriod": 0}, NOW)


def test_restore_time_parsing_keeps_the_instant() -> None:
    assert parse_restore_time("2026-11-25T09:00:00+06:00") == datetime(2026, 11, 25, 3, tzinfo=UTC)
    assert parse_restore_time("2026-11-25T03:00:00Z") == datetime(2026, 11, 25, 3, tzinfo=UTC)
    with pytest.raises(ValidationError, match="not an ISO-8601 time"):
        parse_restore_time("yesterday")


def test_compare_restored_reports_every_difference() -> None:
    source = {
        "DBSubnetGroup": {"DBSubnetGroupName": "a"},
        "VpcSecurityGroups": [{"VpcSecurityGroupId": "sg-1"}],
        "DBParameterGroups": [{"DBParameterGroupName": "pg"}],
        "StorageEncrypted": True,
        "KmsKeyId": "k1",
        "DBInstanceClass": "db.t4g.micro",
        "MultiAZ": True,
    }
    assert compare_restored(source, dict(source)) == []
    drifted = {**source, "KmsKeyId": "k2", "MultiAZ": False, "PubliclyAccessible": True}
    problems = compare_restored(source, drifted)
    assert len(problems) == 3 and any("encryption" in p for p in problems)


def instance_states(states: list[str | None]) -> list[dict[str, Any] | None]:
    """A new instance's DBInstanceStatus, poll after poll (None: not visible yet)."""
    return [None if state is None else {"DBInstanceStatus": state} for state in states]


def test_wait_available_follows_the_instance_until_available() -> None:
    clock = FakeClock()
    rds = ScriptedRds(instance_states([None, "creating", "backing-up", "available"]))
    instance = wait_available(rds, "restore-1", timeout=3600, waiter=clock.waiter(30))
    assert instance["DBInstanceStatus"] == "available" and clock.sleeps == [30, 30, 30]


def test_wait_available_stops_on_a_failed_restore() -> None:
    with pytest.raises(RemoteFailureError, match="incompatible-restore"):
        wait_available(
            ScriptedRds(instance_states(["creating", "incompatible-restore"])),
            "r",
            timeout=3600,
            waiter=FakeClock().waiter(30),
        )


def test_wait_available_gives_up_at_the_timeout_and_says_it_goes_on() -> None:
    clock = FakeClock()
    with pytest.raises(WaitTimeoutError, match="it goes on in AWS"):
        wait_available(ScriptedRds(instance_states(["creating"])), "r", timeout=100, waiter=clock.waiter(30))
    assert clock.now == 100
