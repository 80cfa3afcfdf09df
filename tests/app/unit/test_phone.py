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
