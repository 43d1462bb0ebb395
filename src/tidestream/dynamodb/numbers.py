"""DynamoDB numbers: 38 significant digits, magnitude 1e-130 .. <1e126, canonical text on output.

Numbers travel as strings and are kept normalized (``123.4500`` -> ``123.45``, ``1E+2`` ->
``100``, ``-0`` -> ``0``), so equality on the canonical string is numeric equality and storage
never holds two spellings of one value. Arithmetic uses :mod:`decimal` with enough precision to
detect results DynamoDB would reject.
"""

from __future__ import annotations

import re
from decimal import Context, Decimal

from ..errors import ValidationException

_NUMBER_RE = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")
_CTX = Context(prec=80, Emax=999999, Emin=-999999)
MAX_DIGITS = 38
_MAX_EXP = 125  # largest adjusted exponent allowed (9.99..E+125)
_MIN_EXP = -130  # smallest adjusted exponent allowed (1E-130)


def _check(d: Decimal) -> Decimal:
    if not d:
        return Decimal(0)
    d = d.normalize(_CTX)
    sign, digits, exp = d.as_tuple()
    if len(digits) > MAX_DIGITS:
        raise ValidationException("Attempting to store more than 38 significant digits in a Number")
    adjusted = d.adjusted()
    if adjusted > _MAX_EXP:
        raise ValidationException(
            "Number overflow. Attempting to store a number with magnitude larger than supported range")
    if adjusted < _MIN_EXP:
        raise ValidationException(
            "Number underflow. Attempting to store a number with magnitude smaller than supported range")
    return d


def to_text(d: Decimal) -> str:
    """Plain (non-exponent) text of a normalized decimal, as DynamoDB returns it."""
    if not d:
        return "0"
    sign, digits, exp = d.as_tuple()
    s = "".join(map(str, digits))
    if exp >= 0:
        s = s + "0" * exp
    else:
        point = len(s) + exp
        s = ("0." + "0" * (-point) + s) if point <= 0 else (s[:point] + "." + s[point:])
    return "-" + s if sign else s


def parse(text: str) -> Decimal:
    """Parse and range-check a number string; raises ValidationException like DynamoDB."""
    if not isinstance(text, str) or not _NUMBER_RE.match(text):
        raise ValidationException(
            f"The parameter cannot be converted to a numeric value: {text}")
    return _check(Decimal(text))


def normalize(text: str) -> str:
    """Canonical text for a wire number string (the form stored and returned)."""
    return to_text(parse(text))


def to_decimal(canonical: str) -> Decimal:
    """Decimal of an already-normalized number (no checks: it was validated on the way in)."""
    return Decimal(canonical)


def add(a: str, b: str) -> str:
    return to_text(_check(_CTX.add(Decimal(a), Decimal(b))))


def subtract(a: str, b: str) -> str:
    return to_text(_check(_CTX.subtract(Decimal(a), Decimal(b))))


def compare(a: str, b: str) -> int:
    """-1, 0 or 1 comparing two canonical number strings numerically."""
    da, db = Decimal(a), Decimal(b)
    return (da > db) - (da < db)
