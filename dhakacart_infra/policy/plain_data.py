"""Small helpers over the plain data rules receive, and UNKNOWN (a value unknown during preview)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any


class _Unknown:
    """A value the engine cannot know during preview (it depends on a resource not yet created)."""

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<unknown during preview>"


UNKNOWN = _Unknown()


def value_at(obj: Any, *path: str | int, default: Any = None) -> Any:
    for key in path:
        if isinstance(key, int):
            if not isinstance(obj, Sequence) or isinstance(obj, str) or len(obj) <= key:
                return default
            obj = obj[key]
        else:
            if not isinstance(obj, Mapping) or key not in obj:
                return default
            obj = obj[key]
        if obj is None:
            return default
    return obj


def list_of(value: Any) -> list[Any]:
    """A list input as a list (absent, None and UNKNOWN are empty)."""
    if isinstance(value, Sequence) and not isinstance(value, str):
        return list(value)
    return []


def as_mapping(value: Any) -> Mapping[str, Any]:
    """A map input, accepting the JSON string form providers receive their object inputs in."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, Mapping) else {}


def truthy(value: Any) -> bool:
    """True for True and for "true": some AWS inputs (launch templates) are strings."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


def as_int(value: Any) -> int | None:
    if isinstance(value, bool) or value is None or value is UNKNOWN:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
