"""The helpers every rule reads its props with: absent, None and UNKNOWN never crash a rule."""

from __future__ import annotations

from typing import Any

import pytest

from dhakacart_infra.policy.plain_data import UNKNOWN, as_int, as_mapping, list_of, truthy, value_at

PROPS = {"spec": {"tls": [{"hosts": ["a"]}], "empty": None}}


def test_value_at_walks_mappings_and_lists_and_defaults_on_any_gap() -> None:
    assert value_at(PROPS, "spec", "tls", 0, "hosts") == ["a"]
    assert value_at(PROPS, "spec", "tls", 1, default="?") == "?"
    assert value_at(PROPS, "spec", "empty", default={}) == {}
    assert value_at(PROPS, "spec", "tls", "hosts") is None  # a key into a list
    assert value_at(UNKNOWN, "spec", default="x") == "x"


@pytest.mark.parametrize(
    ("value", "expected"), [(["a", "b"], ["a", "b"]), (("a",), ["a"]), (None, []), (UNKNOWN, []), ("ab", [])]
)
def test_list_of_treats_anything_but_a_list_as_empty(value: Any, expected: list[Any]) -> None:
    assert list_of(value) == expected


def test_as_mapping_reads_the_json_form_of_object_inputs() -> None:
    assert as_mapping({"a": 1}) == {"a": 1}
    assert as_mapping('{"tags": {"a": "1"}}') == {"tags": {"a": "1"}}
    assert as_mapping("not json") == {} and as_mapping("[1]") == {} and as_mapping(UNKNOWN) == {}


@pytest.mark.parametrize(
    ("value", "expected"),
    [(True, True), ("true", True), ("TRUE", True), (False, False), ("false", False), (1, False),
     (UNKNOWN, False)],
)
def test_truthy_accepts_only_true_and_its_string(value: Any, expected: bool) -> None:
    assert truthy(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"), [(7, 7), ("443", 443), (None, None), (True, None), (UNKNOWN, None), ("all", None)]
)
def test_as_int_reads_numbers_never_booleans_or_unknowns(value: Any, expected: int | None) -> None:
    assert as_int(value) == expected


def test_unknown_is_one_value() -> None:
    assert type(UNKNOWN)() is UNKNOWN and repr(UNKNOWN) == "<unknown during preview>"
