"""DynamoDB number parsing at and beyond its limits (38 significant digits, 1E-130 .. 9.99..E+125),
with hostile texts: huge exponents, long digit runs, many zeros."""

from __future__ import annotations

import pytest

from tidestream.dynamodb import numbers
from tidestream.errors import ValidationException

OVERFLOW = "Number overflow. Attempting to store a number with magnitude larger than supported range"
UNDERFLOW = "Number underflow. Attempting to store a number with magnitude smaller than supported range"
DIGITS = "Attempting to store more than 38 significant digits in a Number"


@pytest.mark.parametrize(
    "text,canonical",
    [
        ("9.9999999999999999999999999999999999999E+125", "99999999999999999999999999999999999999" + "0" * 88),
        ("1E-130", "0." + "0" * 129 + "1"),
        ("0.0001e-126", "0." + "0" * 129 + "1"),
        ("-" + "9" * 38, "-" + "9" * 38),
        ("0" * 20_000 + "12.50", "12.5"),
        ("1" + "0" * 20_000 + "e-20000", "1"),
        ("0." + "0" * 20_000 + "1e20001", "1"),
        ("0e999999999999999999999", "0"),
        ("-0.000", "0"),
        ("+.5", "0.5"),
        ("1.", "1"),
        ("1E+2", "100"),
    ],
)
def test_numbers_at_the_limits(text, canonical):
    assert numbers.normalize(text) == canonical


@pytest.mark.parametrize(
    "text,message",
    [
        ("1E+126", OVERFLOW),
        ("-1e126", OVERFLOW),
        ("1e1000000", OVERFLOW),
        ("1e99999999999999999999", OVERFLOW),
        ("1" + "0" * 126, OVERFLOW),
        ("0." + "0" * 10 + "1e137", OVERFLOW),
        ("1E-131", UNDERFLOW),
        ("-1e-1000000", UNDERFLOW),
        ("1e-99999999999999999999", UNDERFLOW),
        ("0." + "0" * 20_000 + "1", UNDERFLOW),
        ("123456789e-139", UNDERFLOW),
        ("1" * 39, DIGITS),
        ("-1.23456789012345678901234567890123456789", DIGITS),
        ("1" * 16_000, DIGITS),
        ("1" * 39 + "e1000000", DIGITS),  # digits are checked before the magnitude, as before
    ],
)
def test_numbers_beyond_the_limits(text, message):
    with pytest.raises(ValidationException) as e:
        numbers.normalize(text)
    assert e.value.message == message


@pytest.mark.parametrize(
    "text",
    [
        "",
        "-",
        ".",
        "1e",
        "e1",
        "1e+",
        "NaN",
        "Infinity",
        "0x10",
        " 1",
        "1 ",
        "1\n",
        "\u0661\u0662",
        "1" * 16_000 + "x",
        "1.2.3",
        "--1",
    ],
)
def test_not_numbers(text):
    with pytest.raises(ValidationException) as e:
        numbers.normalize(text)
    assert e.value.message == f"The parameter cannot be converted to a numeric value: {text}"
