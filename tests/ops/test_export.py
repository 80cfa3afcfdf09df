"""export.py's wait: progress polled to COMPLETE, FAILED with its cause, or the timeout."""

from __future__ import annotations

import pytest

from dhakacart_infra.ops.errors import RemoteFailureError, WaitTimeoutError
from dhakacart_infra.ops.export import wait_export

from .conftest import FakeClock, ScriptedRds


def test_wait_export_follows_progress_to_complete_without_real_sleeps() -> None:
    clock = FakeClock()
    rds = ScriptedRds(
        [
            {"Status": "STARTING"},
            {"Status": "IN_PROGRESS", "PercentProgress": 40},
            {"Status": "COMPLETE", "PercentProgress": 100},
        ]
    )
    task = wait_export(rds, "t1", timeout=600, waiter=clock.waiter(30))
    assert task["Status"] == "COMPLETE" and rds.polls == 3 and clock.sleeps == [30, 30]


def test_wait_export_reports_failure_with_its_cause() -> None:
    clock = FakeClock()
    rds = ScriptedRds([{"Status": "IN_PROGRESS"}, {"Status": "FAILED", "FailureCause": "S3 access denied"}])
    with pytest.raises(RemoteFailureError, match="FAILED: S3 access denied"):
        wait_export(rds, "t1", timeout=600, waiter=clock.waiter(30))


def test_wait_export_gives_up_at_the_timeout() -> None:
    clock = FakeClock()
    rds = ScriptedRds([{"Status": "IN_PROGRESS", "PercentProgress": 10}])
    with pytest.raises(WaitTimeoutError, match="after 90s"):
        wait_export(rds, "t1", timeout=90, waiter=clock.waiter(30))
    assert clock.now == 90
