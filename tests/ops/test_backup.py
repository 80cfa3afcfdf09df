"""What backup.py decides on its own: which manual snapshots a retention prunes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dhakacart_infra.ops.backup import SnapshotRow, prune_candidates


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
