"""PartiQL ``Parameters``: checked the way DynamoDB's PartiQL front end reads them.

DynamoDB reads a parameter before the statement (a bad parameter is reported even when the
statement would not parse) and differently from an attribute value sent to PutItem:

* it walks each value in document order and stops at the first fault, so a value nested too
  deep is reported even when a number below the limit could not be read, and a number that
  cannot be read wins over a nesting fault that comes after it;
* a number is read like Java's ``BigDecimal``: an exponent or scale outside a 32-bit integer
  cannot be converted at all ("The parameter cannot be converted to a numeric value: <text>"),
  and the magnitude check computes precision minus scale in 32-bit arithmetic, which wraps
  (``1e2147483647`` is reported as an underflow).

Source: paritysuite dynamodb-conformance ``tier3/error-messages/partiqlParameterNumbers.test.ts``
(eu-west-2 and us-east-1, October 2026).
"""

from __future__ import annotations

import re
from typing import Any

from ...errors import ValidationException
from ..attributes import MSG_NOT_NUMERIC, AttributeValue, from_wire_value
from ..sizes import MAX_NESTING, MSG_NESTING

_INT32 = 2**31
#: BigDecimal's grammar: sign, digits with an optional point, optional exponent
_DECIMAL = re.compile(r"[+-]?(\d*+)(?:\.(\d*+))?(?:[eE]([+-]?\d++))?", re.ASCII)
_MAX_ADJUSTED = 125
_MIN_ADJUSTED = -130


def bind_parameters(parameters: list | None) -> list[AttributeValue]:
    """Every parameter checked (document order) and converted to the internal form."""
    bound = []
    for value in parameters or ():
        _walk(value)
        bound.append(from_wire_value(value))
    return bound


def _walk(value: Any) -> None:
    """Nesting and numbers in document order, iteratively (input depth is hostile)."""
    todo: list[tuple[Any, int]] = [(value, 0)]
    while todo:
        av, depth = todo.pop()
        if type(av) is not dict:
            continue  # a shape fault: from_wire_value reports it
        for kind, member in av.items():
            if kind == "N":
                check_number(member)
            elif kind == "NS" and type(member) is list:
                for text in member:
                    check_number(text)
            elif kind in ("M", "L") and isinstance(member, (dict, list)):
                if depth >= MAX_NESTING:  # the same 32 levels as an item's attribute
                    raise ValidationException(MSG_NESTING)
                children = list(member.values()) if type(member) is dict else member
                todo.extend((child, depth + 1) for child in reversed(children))


def check_number(text: Any) -> None:
    """A parameter's number read as BigDecimal would read it, with DynamoDB's magnitude check."""
    if not isinstance(text, str):
        return  # a shape fault: from_wire_value reports it
    if text == "":
        raise ValidationException(MSG_NOT_NUMERIC)
    m = _DECIMAL.fullmatch(text)
    if m is None or not (m.group(1) or m.group(2)):
        raise ValidationException(f"{MSG_NOT_NUMERIC}: {text}")
    whole, fraction, exponent_text = m.group(1), m.group(2) or "", m.group(3)
    if exponent_text and len(exponent_text.lstrip("+-").lstrip("0")) > 10:
        raise ValidationException(f"{MSG_NOT_NUMERIC}: {text}")  # beyond any 32-bit integer
    exponent = int(exponent_text) if exponent_text else 0
    scale = len(fraction) - exponent
    if not (-_INT32 <= exponent < _INT32 and -_INT32 <= scale < _INT32):
        raise ValidationException(f"{MSG_NOT_NUMERIC}: {text}")
    digits = (whole + fraction).lstrip("0")
    if not digits:
        return  # zero
    magnitude = _wrap32(len(digits) - scale)  # BigDecimal precision - scale, in int arithmetic
    if magnitude - 1 > _MAX_ADJUSTED:
        raise ValidationException(
            "Number overflow. Attempting to store a number with magnitude larger than supported range"
        )
    if magnitude - 1 < _MIN_ADJUSTED:
        raise ValidationException(
            "Number underflow. Attempting to store a number with magnitude smaller than supported range"
        )


def _wrap32(n: int) -> int:
    return (n + _INT32) % (2 * _INT32) - _INT32
