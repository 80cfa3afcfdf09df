"""A bounded load of real HTTP requests from threads, recording every outcome and retrying nothing.

Each thread calls `step(thread_index, iteration)` until the iteration count, the time limit or an
explicit stop is reached; a step returns the Outcome of the request(s) it made. An exception a step
does not catch (a refused or reset connection, a timeout) is recorded as a failed Outcome too, so a
test can assert on "every request" without any request slipping through unseen.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Outcome:
    action: str
    status: int | None
    ok: bool
    detail: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.action}: {self.status} {self.detail[:300]}"


Step = Callable[[int, int], Outcome | Iterable[Outcome]]


class BoundedLoad:
    def __init__(self, step: Step, *, threads: int, max_iterations: int, max_seconds: float) -> None:
        self.step = step
        self.threads = threads
        self.max_iterations = max_iterations
        self.max_seconds = max_seconds
        self.outcomes: list[Outcome] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []
        self._deadline = 0.0

    def _record(self, outcomes: Outcome | Iterable[Outcome]) -> None:
        items = [outcomes] if isinstance(outcomes, Outcome) else list(outcomes)
        with self._lock:
            self.outcomes.extend(items)

    def _run(self, index: int) -> None:
        for iteration in range(self.max_iterations):
            if self._stop.is_set() or time.monotonic() > self._deadline:
                return
            try:
                self._record(self.step(index, iteration))
            except Exception as exc:  # the failure is the result: record it, keep the others going
                self._record(Outcome("exception", None, False, f"{exc!r}\n{traceback.format_exc(limit=3)}"))

    def start(self) -> BoundedLoad:
        self._deadline = time.monotonic() + self.max_seconds
        self._workers = [
            threading.Thread(target=self._run, args=(i,), name=f"load-{i}", daemon=True)
            for i in range(self.threads)
        ]
        for worker in self._workers:
            worker.start()
        return self

    def stop(self, timeout: float = 60.0) -> list[Outcome]:
        self._stop.set()
        return self.join(timeout)

    def join(self, timeout: float = 60.0) -> list[Outcome]:
        deadline = time.monotonic() + timeout
        for worker in self._workers:
            worker.join(max(0.0, deadline - time.monotonic()))
        alive = [w.name for w in self._workers if w.is_alive()]
        if alive:
            raise TimeoutError(f"load threads still running after {timeout:.0f} s: {alive}")
        return self.outcomes

    def count(self) -> int:
        with self._lock:
            return len(self.outcomes)

    def wait_for(self, count: int, timeout: float) -> None:
        """Block until at least `count` outcomes are recorded (so a fault lands mid-traffic)."""
        deadline = time.monotonic() + timeout
        while self.count() < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {self.count()} of {count} requests done within {timeout:.0f} s")
            time.sleep(0.05)

    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.ok]
