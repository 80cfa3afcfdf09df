"""Bangladeshi mobile numbers, normalised to E.164 (+8801XXXXXXXXX)."""

from __future__ import annotations

import re

# Operators' prefixes: 013/017 Grameenphone, 014/019 Banglalink, 015 Teletalk, 016/018 Robi/Airtel.
_MOBILE = re.compile(r"^(?:\+?880|0)?(1[3-9][0-9]{8})$")
_SEPARATORS = r"[\s\-().]"
_SEP = _SEPARATORS + "*"
# The same language as a single regular expression (separators allowed anywhere), published in
# the OpenAPI document so clients and fuzzers know exactly what is accepted.
PHONE_PATTERN = (
    rf"^{_SEP}(?:(?:\+{_SEP})?8{_SEP}8{_SEP}0{_SEP}|0{_SEP})?1{_SEP}[3-9](?:{_SEP}[0-9]){{8}}{_SEP}$"
)


def normalize_bd_mobile(raw: str) -> str:
    """"01712-345678", "+880 1712 345678", "8801712345678" -> "+8801712345678"; else ValueError."""
    if not isinstance(raw, str):
        raise ValueError("phone number must be a string")
    compact = re.sub(_SEPARATORS, "", raw)
    match = _MOBILE.match(compact)
    if not match:
        raise ValueError(
            f"{raw!r} is not a Bangladeshi mobile number; use 01XXXXXXXXX or +8801XXXXXXXXX "
            "(11 digits starting 013-019)"
        )
    return "+880" + match.group(1)
