"""What every recovery drill shares: its result, the JSON record it leaves, the metric it publishes.

A drill restores a backup into something temporary beside production, checks what came back,
measures how long it took and how much data the backup would lose, and always removes what it
created. Each run leaves a JSON record (success or failure); a success also publishes
DRILL_SUCCEEDED_METRIC = 1 under DRILL_METRIC_NAMESPACE with the stack and drill as dimensions,
which the DrillAlarms component (aws/drill_alarms.py) watches: no success for drillMaxAgeDays
days raises its alarm. Nothing here prints.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ..names import (
    DRILL_METRIC_NAMESPACE,
    DRILL_NAME_DIMENSION,
    DRILL_STACK_DIMENSION,
    DRILL_SUCCEEDED_METRIC,
    DRILL_TAG,
)
from .errors import OpsError
from .rds import error_code

# How long a drill's temporary resources may live: the `drill-expires-at` tag says when anything
# left behind (a crashed runner) may be deleted by anyone without asking.
DRILL_LIFETIME = timedelta(hours=6)
EXPIRES_TAG = "drill-expires-at"
DEFAULT_RECORD_DIR = Path("build") / "drills"


def drill_tags(drill: str, stack: str, now: datetime, created_by: str) -> list[dict[str, str]]:
    """The tags of everything a drill creates: what it is, whose, and when it may be deleted."""
    return [
        {"Key": DRILL_TAG, "Value": drill},
        {"Key": "stack", "Value": stack},
        {"Key": EXPIRES_TAG, "Value": (now + DRILL_LIFETIME).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")},
        {"Key": "created-by", "Value": created_by[:256]},
        {"Key": "managed-by", "Value": "dhakacart-ops"},
    ]


@dataclass
class DrillRecord:
    """One drill run, as written to its JSON record."""

    drill: str
    stack: str
    started: datetime
    finished: datetime | None = None
    succeeded: bool = False
    backup: str = ""
    """What was restored: the snapshot's identifier or key, or `<instance>@<time>`."""
    backup_time: datetime | None = None
    """The instant the backup holds data up to (snapshot time or restore point)."""
    recovery_seconds: float | None = None
    """From the first call that restores to the restored copy being available and checked."""
    data_loss_seconds: float | None = None
    """How much would be lost restoring this backup now: `started` minus `backup_time`."""
    checks: dict[str, Any] = field(default_factory=dict)
    created: list[str] = field(default_factory=list)
    cleaned_up: list[str] = field(default_factory=list)
    error: str | None = None
    metric_published: bool = False

    def to_json(self) -> str:
        def value(v: Any) -> Any:
            return v.astimezone(UTC).isoformat() if isinstance(v, datetime) else v

        return json.dumps({k: value(v) for k, v in asdict(self).items()}, indent=2, default=str)


def record_path(directory: Path, record: DrillRecord) -> Path:
    stamp = record.started.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    safe_stack = re.sub(r"[^A-Za-z0-9_.-]", "_", record.stack)
    return directory / f"{safe_stack}-{record.drill}-{stamp}.json"


def write_record(directory: Path, record: DrillRecord) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = record_path(directory, record)
    path.write_text(record.to_json() + "\n")
    return path


def publish_success(cloudwatch: Any, record: DrillRecord, now: Callable[[], datetime]) -> None:
    """DRILL_SUCCEEDED_METRIC = 1 for (stack, drill), plus the measured times, in one call."""
    dimensions = [
        {"Name": DRILL_STACK_DIMENSION, "Value": record.stack},
        {"Name": DRILL_NAME_DIMENSION, "Value": record.drill},
    ]
    data: list[dict[str, Any]] = [
        {"MetricName": DRILL_SUCCEEDED_METRIC, "Dimensions": dimensions, "Value": 1.0, "Unit": "Count"}
    ]
    for name, seconds in (
        ("RecoverySeconds", record.recovery_seconds),
        ("DataLossWindowSeconds", record.data_loss_seconds),
    ):
        if seconds is not None:
            data.append({"MetricName": name, "Dimensions": dimensions, "Value": seconds, "Unit": "Seconds"})
    stamp = now()
    for datum in data:
        datum["Timestamp"] = stamp
    cloudwatch.put_metric_data(Namespace=DRILL_METRIC_NAMESPACE, MetricData=data)
    record.metric_published = True


class DrillFailedError(OpsError):
    """A drill that did not succeed; `record` says how far it got and what it cleaned up."""

    def __init__(self, message: str, record: DrillRecord) -> None:
        super().__init__(message)
        self.record = record


DRILL_FAILURES = (OpsError, ClientError, BotoCoreError)


def drill_failure(exc: Exception, record: DrillRecord) -> DrillFailedError:
    """The DrillFailedError for what stopped a drill (one of DRILL_FAILURES), noted in its record."""
    if isinstance(exc, ClientError):
        record.error = f"AWS refused {exc.operation_name}: {error_code(exc)}"
    elif isinstance(exc, BotoCoreError):
        record.error = f"cannot talk to AWS: {exc}"
    else:
        record.error = str(exc)
    return DrillFailedError(record.error, record)
