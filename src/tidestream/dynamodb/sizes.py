"""Item sizes as DynamoDB bills and limits them.

AWS's rules (developer guide, "DynamoDB item sizes and formats"), made exact where AWS says
"approximately" using the encoding that DynamoDB's answers reveal (dynalite's size tests,
checked against the real service, pin every case below):

* attribute name: its UTF-8 length;
* S: UTF-8 length; B: raw byte length; BOOL / NULL: 1;
* N: numbers are stored as base-100 digit pairs aligned on the decimal point plus one exponent
  byte, and negatives carry one terminator byte. So ``1 + pairs (+1 if negative)``; zero is 1;
* SS / NS / BS: the sum of the element sizes;
* L / M: 3 bytes, plus 1 byte per element, plus element sizes (and key lengths for M).

The item limit is 400 KB = 409,600 bytes; an item of exactly that size is accepted.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from ..errors import ValidationException

MAX_ITEM_SIZE = 409_600
MSG_ITEM_TOO_BIG = "Item size has exceeded the maximum allowed size"

AttributeValue = dict[str, Any]
Item = dict[str, AttributeValue]


def text_size(s: str) -> int:
    """UTF-8 byte length, without encoding ASCII text."""
    return len(s) if s.isascii() else len(s.encode("utf-8", "surrogatepass"))


def number_size(canonical: str) -> int:
    """Stored size of a canonical number string (see module docstring)."""
    negative = canonical[0] == "-"
    digits = canonical[1:] if negative else canonical
    if digits == "0":
        return 1
    dot = digits.find(".")
    if dot < 0:  # integer: trailing zeros are not significant
        count = len(digits.rstrip("0"))
        exponent = len(digits) - 1
    elif dot == 1 and digits[0] == "0":  # 0.000ddd
        fraction = digits[2:]
        significant = fraction.lstrip("0")
        count = len(significant)
        exponent = len(significant) - len(fraction) - 1
    else:  # ddd.ddd (canonical: no trailing fractional zeros)
        count = len(digits) - 1
        exponent = dot - 1
    pairs = (count + 1) // 2 + (0 if (count % 2 or exponent % 2) else 1)
    return 1 + pairs + negative


# Numbers repeat a lot (counters, flags, timestamps' prefixes); sizing them is string work.
_cached_number_size = lru_cache(maxsize=8192)(number_size)


def _size_s(v: str) -> int:
    return len(v) if v.isascii() else len(v.encode("utf-8", "surrogatepass"))


def _size_b(v: bytes) -> int:
    return len(v)


def _size_one(v: Any) -> int:
    return 1


def _size_ss(v: list[str]) -> int:
    return sum(map(text_size, v))


def _size_ns(v: list[str]) -> int:
    return sum(map(_cached_number_size, v))


def _size_bs(v: list[bytes]) -> int:
    return sum(map(len, v))


def _size_l(v: list[AttributeValue]) -> int:
    return 3 + len(v) + sum(map(value_size, v))


def _size_m(v: Item) -> int:
    return 3 + len(v) + item_size(v)


_SIZERS: dict[str, Callable[[Any], int]] = {
    "S": _size_s,
    "N": _cached_number_size,
    "B": _size_b,
    "BOOL": _size_one,
    "NULL": _size_one,
    "SS": _size_ss,
    "NS": _size_ns,
    "BS": _size_bs,
    "L": _size_l,
    "M": _size_m,
}


def value_size(av: AttributeValue) -> int:
    """Size of one internal AttributeValue (no name)."""
    for t, v in av.items():
        return _SIZERS[t](v)
    return 0


def item_size(item: Item) -> int:
    """Size of an internal item: names plus values, one table lookup per attribute."""
    sizers = _SIZERS
    total = 0
    for name, av in item.items():
        total += len(name) if name.isascii() else len(name.encode("utf-8", "surrogatepass"))
        for t, v in av.items():
            total += sizers[t](v)
    return total


def check_item_size(item: Item) -> int:
    """The item's size; ValidationException if it is over DynamoDB's 400 KB limit or nests
    documents deeper than DynamoDB's 32 levels."""
    check_nesting(item)  # first: DynamoDB judges nesting while reading the request
    size = item_size(item)
    if size > MAX_ITEM_SIZE:
        raise ValidationException(MSG_ITEM_TOO_BIG)
    return size


MAX_NESTING = 31  # M/L wrappers around the innermost value: 32 levels in all (31 pass, 32 fail)
MSG_NESTING = (
    "Nesting Levels have exceeded supported limits: Attributes in the item have "
    "nested levels beyond supported limit"
)


def check_nesting(item: Item) -> None:
    """ValidationException for documents nested too deep (iterative: input depth is hostile).
    Also keeps stored items within what the storage codec can read back."""
    todo = [(av, 1) for av in item.values() if "M" in av or "L" in av]
    while todo:
        av, depth = todo.pop()
        if depth > MAX_NESTING:
            raise ValidationException(MSG_NESTING)
        m = av.get("M")
        for child in m.values() if m is not None else av["L"]:
            if "M" in child or "L" in child:
                todo.append((child, depth + 1))
