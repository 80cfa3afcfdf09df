"""Money as integer paisa (1 taka = 100 paisa): exact in storage, strings like "1250.00" in JSON."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

CURRENCY = "BDT"
_AMOUNT = re.compile(r"^(?P<taka>\d{1,10})(?:\.(?P<paisa>\d{1,2}))?$")


def to_amount_string(paisa: int) -> str:
    """1250_00 -> "1250.00" (the JSON representation)."""
    if isinstance(paisa, bool) or not isinstance(paisa, int):
        raise TypeError(f"money is an integer number of paisa, got {type(paisa).__name__}")
    sign = "-" if paisa < 0 else ""
    taka, rest = divmod(abs(paisa), 100)
    return f"{sign}{taka}.{rest:02d}"


def format_taka(paisa: int) -> str:
    """1250_00 -> "৳1,250.00" (the storefront representation)."""
    amount = to_amount_string(paisa)
    sign = "-" if amount.startswith("-") else ""
    taka, rest = amount.lstrip("-").split(".")
    return f"{sign}৳{int(taka):,}.{rest}"


def parse_amount(value: str | int | Decimal) -> int:
    """ "1250.00" / "1250.5" / "1250" / Decimal / int taka -> paisa.

    Floats are refused: 0.1 + 0.2 style imprecision must never reach a price. A string with more
    than two decimal places is refused rather than rounded.
    """
    if isinstance(value, bool | float):
        raise ValueError("amounts must be strings like \"1250.00\", not floating-point numbers")
    if isinstance(value, int):
        if value < 0:
            raise ValueError("amount must not be negative")
        return value * 100
    if isinstance(value, Decimal):
        try:
            paisa = value * 100
        except InvalidOperation as exc:
            raise ValueError(f"{value!r} is not an amount") from exc
        if not paisa.is_finite() or paisa != paisa.to_integral_value() or paisa < 0:
            raise ValueError(f"{value} is not an amount with at most two decimal places")
        return int(paisa)
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not an amount")
    match = _AMOUNT.match(value.strip())
    if not match:
        raise ValueError(f"{value!r} is not an amount like \"1250.00\" (taka, at most two decimals)")
    paisa_part = (match["paisa"] or "0").ljust(2, "0")
    return int(match["taka"]) * 100 + int(paisa_part)
