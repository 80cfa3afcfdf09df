"""Bangladeshi mobile numbers, normalised to E.164 (+8801XXXXXXXXX)."""

from __future__ import annotations

import re

# Operators' prefixes: 013/017 Grameenphone, 014/019 Banglalink, 015 Teletalk, 016/018 Robi/Airtel.
_MOBILE = re.compile(r"^(?:\+?880|0)?(1[3-9]\d{8})$")


def normalize_bd_mobile(raw: str) -> str:
    """"01712-345678", "+880 1712 345678", "8801712345678" -> "+8801712345678"; else ValueError."""
    if not isinstance(raw, str):
        raise ValueError("phone number must be a string")
    compact = re.sub(r"[\s\-().]", "", raw)
    match = _MOBILE.match(compact)
    if not match:
        raise ValueError(
            f"{raw!r} is not a Bangladeshi mobile number; use 01XXXXXXXXX or +8801XXXXXXXXX "
            "(11 digits starting 013-019)"
        )
    return "+880" + match.group(1)
