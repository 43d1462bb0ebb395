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

#: sign, integer digits, fraction digits, exponent; possessive quantifiers keep a long digit
#: string linear (``\d+\.?\d*`` retried every split point: 16 KB of digits took seconds)
_NUMBER_RE = re.compile(r"([+-]?)(?:(\d++)(?:\.(\d*+))?|\.(\d++))(?:[eE]([+-]?\d++))?", re.ASCII)
_CTX = Context(prec=80, Emax=999999, Emin=-999999)


class InvalidValue(ValidationException):
    """A value in a request that DynamoDB refuses (a malformed number, an empty set, a repeated
    set member, ``NULL: false``), worded both ways DynamoDB words it. AWS checks values in two layers and the operation
    decides which (paritysuite dynamodb-conformance ``error-messages/valueLayers``, eu-west-2,
    us-east-1, eu-west-1 and us-west-2, 2026-10-09): the message is the older layer's
    (BatchWriteItem, transactions, Scan); :attr:`current` is the newer layer's (PutItem,
    UpdateItem, DeleteItem inside the validation envelope; GetItem, BatchGetItem, Query bare).
    Empty sets and ``NULL: false``: enveloped by PutItem in ``captures/cross-region-latest.json``
    (2026-09-20).
    """

    code = "ValidationException"

    def __init__(self, older: str, current: str | None = None) -> None:
        super().__init__(older)
        self.current = older if current is None else current


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
    _check_magnitude(d.adjusted())
    return d


def to_text(d: Decimal) -> str:
    """Plain (non-exponent) text of a normalized decimal, as DynamoDB returns it."""
    if not d:
        return "0"
    # finite (NaN and Infinity are refused on the way in), so the exponent is an int; said to
    # mypy rather than checked, as every number on every response passes here
    parts: tuple[int, tuple[int, ...], int] = d.as_tuple()  # type: ignore[assignment]
    sign, digits, exp = parts
    s = "".join(map(str, digits))
    if exp >= 0:
        s = s + "0" * exp
    else:
        point = len(s) + exp
        s = ("0." + "0" * (-point) + s) if point <= 0 else (s[:point] + "." + s[point:])
    return "-" + s if sign else s


#: an exponent with more digits than this is out of range whatever the digits around it (a
#: body holds at most 16 MiB of digits); it is never converted to int
_EXPONENT_DIGITS = 12


def parse(text: str) -> Decimal:
    """Parse and range-check a number string; raises ValidationException like DynamoDB.

    Digits and magnitude are checked on the text before any Decimal is built, so hostile input
    (a million digits, ``1e1000000``, ``1e99999999999999999999``) costs one linear scan and gets
    DynamoDB's message instead of a decimal-context error.
    """
    m = _NUMBER_RE.fullmatch(text) if isinstance(text, str) else None
    if m is None:
        raise InvalidValue(f"The parameter cannot be converted to a numeric value: {text}")
    sign, whole, fraction, bare_fraction, exponent = m.groups()
    whole = whole or ""
    mantissa = whole + (fraction or bare_fraction or "")
    digits = mantissa.lstrip("0")
    if not digits:
        return Decimal(0)
    significant = digits.rstrip("0")
    if len(significant) > MAX_DIGITS:
        raise InvalidValue("Attempting to store more than 38 significant digits in a Number")
    # power of ten of the first significant digit
    adjusted = _exponent(exponent) + len(whole) - 1 - (len(mantissa) - len(digits))
    _check_magnitude(adjusted, InvalidValue)  # an input out of range; arithmetic keeps the plain error
    return Decimal(f"{sign}{significant}E{adjusted - len(significant) + 1}")


def _exponent(text: str | None) -> int:
    if text is None:
        return 0
    if len(text.lstrip("+-").lstrip("0")) > _EXPONENT_DIGITS:
        return -(10**_EXPONENT_DIGITS) if text.startswith("-") else 10**_EXPONENT_DIGITS
    return int(text)


def _check_magnitude(adjusted: int, error: type[ValidationException] = ValidationException) -> None:
    if adjusted > _MAX_EXP:
        raise error(
            "Number overflow. Attempting to store a number with magnitude larger than supported range"
        )
    if adjusted < _MIN_EXP:
        raise error(
            "Number underflow. Attempting to store a number with magnitude smaller than supported range"
        )


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
