"""What backup.py decides on its own: which manual snapshots a retention prunes, and the wait for one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dhakacart_infra.ops.backup import SnapshotRow, prune_candidates, wait_snapshot
from dhakacart_infra.ops.errors import RemoteFailureError, WaitTimeoutError

from .conftest import FakeClock, ScriptedRds


def _row(name: str, days: float, kind: str = "manual", ours: bool = True) -> SnapshotRow:
    now = datetime(2026, 11, 25, tzinfo=UTC)
    return SnapshotRow(
        name, kind, "available", now - timedelta(days=days), timedelta(days=days), 20, ours, ""
    )


@pytest.mark.parametrize(
    ("keep_days", "keep_last", "expected"),
    [
        (7, None, ["d10", "d30"]),
        (None, 1, ["d3", "d10", "d30"]),
        (7, 3, ["d30"]),  # both: a snapshot goes only when neither limit protects it
        (60, 0, []),
    ],
)
def test_prune_candidates_combine_age_and_count(
    keep_days: int | None, keep_last: int | None, expected: list[str]
) -> None:
    rows = [
        _row("d1", 1),
        _row("d3", 3),
        _row("d10", 10),
        _row("d30", 30),
        _row("auto40", 40, "automated"),
        _row("foreign50", 50, ours=False),
    ]
    doomed = prune_candidates(rows, keep_days=keep_days, keep_last=keep_last)
    assert [row.snapshot_id for row in doomed] == expected


def test_wait_snapshot_follows_progress_until_available() -> None:
    clock = FakeClock()
    rds = ScriptedRds(
        [
            {"Status": "creating", "PercentProgress": 0},
            {"Status": "creating", "PercentProgress": 60},
            {"Status": "available"},
        ]
    )
    assert wait_snapshot(rds, "s1", timeout=600, waiter=clock.waiter(20))["Status"] == "available"
    assert rds.polls == 3 and clock.sleeps == [20, 20]


def test_wait_snapshot_stops_on_a_failed_snapshot_and_at_the_timeout() -> None:
    with pytest.raises(RemoteFailureError, match="snapshot s1: snapshot is 'failed'"):
        wait_snapshot(ScriptedRds([{"Status": "failed"}]), "s1", timeout=600, waiter=FakeClock().waiter(20))
    clock = FakeClock()
    with pytest.raises(WaitTimeoutError, match="still 'creating' after 60s"):
        wait_snapshot(ScriptedRds([{"Status": "creating"}]), "s1", timeout=60, waiter=clock.waiter(20))
