import pytest
from dhakacart.phone import normalize_bd_mobile


@pytest.mark.parametrize(
    "raw",
    ["01712345678", "+8801712345678", "8801712345678", "01712-345678", "+880 1712 345678", "(017) 1234-5678"],
)
def test_normalises_common_spellings_to_e164(raw):
    assert normalize_bd_mobile(raw) == "+8801712345678"


@pytest.mark.parametrize("operator_prefix", ["013", "014", "015", "016", "017", "018", "019"])
def test_accepts_every_mobile_operator(operator_prefix):
    assert normalize_bd_mobile(f"{operator_prefix}12345678") == f"+880{operator_prefix[1:]}12345678"


@pytest.mark.parametrize(
    "raw", ["01212345678", "0171234567", "017123456789", "+9101712345678", "phone", "", "029876543"]
)
def test_rejects_non_bangladeshi_or_landline_numbers(raw):
    with pytest.raises(ValueError, match="Bangladeshi mobile"):
        normalize_bd_mobile(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "01712345678", "+8801712345678", "8801712345678", "01712-345678", "+880 1712 345678",
        "(017) 1234-5678", "", "0171234567", "01212345678", "+8801712345678 9", "০১৭১২৩৪৫৬৭৮",
        "++8801712345678", "880-1712-34567x",
    ],
)
def test_the_published_pattern_accepts_exactly_what_normalisation_accepts(raw):
    import re

    from dhakacart.phone import PHONE_PATTERN

    try:
        normalize_bd_mobile(raw)
        accepted = True
    except ValueError:
        accepted = False
    assert bool(re.fullmatch(PHONE_PATTERN, raw)) is accepted


def test_every_string_the_published_pattern_allows_is_normalised():
    from dhakacart.phone import PHONE_PATTERN
    from hypothesis import given, settings
    from hypothesis import strategies as st

    @settings(max_examples=300, derandomize=True, deadline=None)
    @given(st.from_regex(PHONE_PATTERN, fullmatch=True))
    def check(raw: str) -> None:
        assert normalize_bd_mobile(raw).startswith("+8801")

    check()
