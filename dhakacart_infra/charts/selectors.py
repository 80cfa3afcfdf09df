"""Kubernetes label-selector semantics, shared by the chart checks and the tests."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def selects(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """matchLabels + In/NotIn/Exists/DoesNotExist; NotIn also matches an object without the key.
    An empty selector selects everything."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def uses_not_in(selector: Mapping[str, Any]) -> bool:
    return any(e.get("operator") == "NotIn" for e in selector.get("matchExpressions") or [])
