from decimal import Decimal

import pytest
from dhakacart.money import format_taka, parse_amount, to_amount_string
from hypothesis import given
from hypothesis import strategies as st


@pytest.mark.parametrize(
    ("paisa", "amount", "taka"),
    [
        (0, "0.00", "৳0.00"),
        (5, "0.05", "৳0.05"),
        (125000, "1250.00", "৳1,250.00"),
        (185000050, "1850000.50", "৳1,850,000.50"),
        (-1999, "-19.99", "-৳19.99"),
    ],
)
def test_formats_paisa_as_amount_and_taka(paisa, amount, taka):
    assert to_amount_string(paisa) == amount
    assert format_taka(paisa) == taka


@pytest.mark.parametrize(
    ("text", "paisa"),
    [("1250.00", 125000), ("1250.5", 125050), ("1250", 125000), ("0.01", 1), (" 7.10 ", 710)],
)
def test_parses_amount_strings_exactly(text, paisa):
    assert parse_amount(text) == paisa


def test_parses_decimals_and_whole_taka():
    assert parse_amount(Decimal("19.99")) == 1999
    assert parse_amount(12) == 1200


@pytest.mark.parametrize("bad", ["12.345", "-1.00", "1e3", "abc", "", "1,250.00", Decimal("0.001"), True])
def test_rejects_malformed_or_imprecise_amounts(bad):
    with pytest.raises(ValueError):
        parse_amount(bad)


def test_refuses_floats_outright():
    with pytest.raises(ValueError, match="not floating-point"):
        parse_amount(0.1 + 0.2)
    with pytest.raises(TypeError):
        to_amount_string(12.5)


@given(st.integers(min_value=0, max_value=10**12 - 1))
def test_amount_string_round_trips(paisa):
    assert parse_amount(to_amount_string(paisa)) == paisa


def test_amounts_are_bounded_to_ten_digits_of_taka():
    assert parse_amount("9999999999.99") == 10**12 - 1
    with pytest.raises(ValueError):
        parse_amount("10000000000.00")
