"""Waiting with a visible spinner, elapsed time and a hard timeout; sleep and clock are injectable."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from .errors import RemoteFailureError, WaitTimeoutError

T = TypeVar("T")


@dataclass
class Waiter:
    """How to wait: injected in tests so that nothing really sleeps."""

    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    poll_interval: float = 15.0
    console: Console | None = None


def wait_until(
    label: str,
    poll: Callable[[], T],
    status_of: Callable[[T], tuple[str, float | None]],
    *,
    done: Callable[[T], bool],
    failed: Callable[[T], str | None],
    timeout: float,
    waiter: Waiter,
) -> T:
    """Polls until `done`; raises on `failed` (returns a reason) or when `timeout` seconds pass.

    `status_of` gives a short status text and, when known, a percentage for the bar.
    """
    console = waiter.console or Console(stderr=True)
    start = waiter.clock()
    columns: list[Any] = [
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
    ]
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(label, total=100, status="starting")
        while True:
            item = poll()
            status, percent = status_of(item)
            progress.update(task, status=status, completed=percent if percent is not None else 0)
            if done(item):
                progress.update(task, completed=100)
                return item
            reason = failed(item)
            if reason:
                raise RemoteFailureError(f"{label}: {reason}")
            elapsed = waiter.clock() - start
            if elapsed >= timeout:
                raise WaitTimeoutError(
                    f"{label}: still {status!r} after {elapsed:.0f}s (--timeout {timeout:.0f}); "
                    "it goes on in "
                    "AWS: check again later or raise --timeout"
                )
            waiter.sleep(min(waiter.poll_interval, max(timeout - elapsed, 0.0)))
