"""A page of results, shared by every listing (catalog, orders)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

MAX_PER_PAGE = 100


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    page: int
    per_page: int
    # Exact when total_exact; otherwise a lower bound (the catalog counts only so far).
    total: int
    total_exact: bool = True
    # Keyset continuation after the last item, when another page follows (catalog only).
    next_cursor: str | None = None

    @property
    def pages(self) -> int:
        """Pages known to exist (with an inexact total, more may follow)."""
        return max(1, math.ceil(self.total / self.per_page)) if self.per_page else 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages or self.next_cursor is not None

    @property
    def has_prev(self) -> bool:
        return self.page > 1


def clamp_page(page: int, per_page: int) -> tuple[int, int]:
    return max(1, int(page)), min(MAX_PER_PAGE, max(1, int(per_page)))
