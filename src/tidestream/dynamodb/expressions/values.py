"""AttributeValue semantics used by the evaluators: typing, equality, ordering, size, paths.

Values are the internal wire-shaped one-key dicts (see :mod:`tidestream.dynamodb`); numbers are
canonical strings, so number equality is string equality and only ordering needs Decimal.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

AttributeValue = dict[str, Any]
Item = dict[str, AttributeValue]
ResolvedPath = tuple[Any, ...]  # str (attribute / map key) or int (list index)

SET_TYPES = frozenset({"SS", "NS", "BS"})
SCALAR_ORDERED = frozenset({"S", "N", "B"})
SET_ELEMENT = {"SS": "S", "NS": "N", "BS": "B"}


def type_of(value: AttributeValue) -> str:
    """The type tag (``S``, ``N``, ``M``...) of an AttributeValue."""
    for key in value:
        return key
    return ""


def equal(a: AttributeValue, b: AttributeValue) -> bool:
    """DynamoDB equality: same type and same value; sets ignore order, containers compare deeply."""
    if a is b:
        return True
    ta = type_of(a)
    if ta not in b:
        return False
    va, vb = a[ta], b[ta]
    if ta == "M":
        if len(va) != len(vb):
            return False
        for key, sub in va.items():
            other = vb.get(key)
            if other is None or not equal(sub, other):
                return False
        return True
    if ta == "L":
        return len(va) == len(vb) and all(equal(x, y) for x, y in zip(va, vb))
    if ta in SET_TYPES:
        return len(va) == len(vb) and set(va) == set(vb)
    return va == vb


def compare(a: AttributeValue, b: AttributeValue) -> int | None:
    """-1/0/1 for two values of one orderable type (S by code point = UTF-8 byte order, N
    numerically, B by unsigned bytes); None when they cannot be ordered."""
    ta = type_of(a)
    if ta not in SCALAR_ORDERED or ta not in b:
        return None
    va, vb = a[ta], b[ta]
    if ta == "N":
        if va == vb:
            return 0
        da, db = Decimal(va), Decimal(vb)
        return (da > db) - (da < db)
    return (va > vb) - (va < vb)


def size_of(value: AttributeValue) -> int | None:
    """``size()``: characters of S, bytes of B, elements of sets/L/M; None for other types."""
    t = type_of(value)
    if t in ("N", "BOOL", "NULL"):
        return None
    return len(value[t])


def contains(haystack: AttributeValue, needle: AttributeValue) -> bool:
    """``contains()``: substring of S/B, member of a set of the matching type, element of L."""
    t = type_of(haystack)
    nt = type_of(needle)
    if t == "S" or t == "B":
        return nt == t and needle[nt] in haystack[t]
    if t in SET_TYPES:
        return nt == SET_ELEMENT[t] and needle[nt] in haystack[t]
    if t == "L":
        return any(equal(element, needle) for element in haystack[t])
    return False


def begins_with(value: AttributeValue, prefix: AttributeValue) -> bool:
    t = type_of(value)
    if (t == "S" or t == "B") and t in prefix:
        return value[t].startswith(prefix[t])
    return False


def get_path(item: Item, path: ResolvedPath) -> AttributeValue | None:
    """The value at a resolved document path, or None when any step is missing or mistyped."""
    value = item.get(path[0])
    for step in path[1:]:
        if value is None:
            return None
        if type(step) is int:
            inner = value.get("L")
            if inner is None or step >= len(inner):
                return None
            value = inner[step]
        else:
            inner = value.get("M")
            if inner is None:
                return None
            value = inner.get(step)
    return value


def path_text(path: ResolvedPath) -> str:
    """DynamoDB's rendering of a path in messages: ``[a, b, [2]]``."""
    return "[" + ", ".join(f"[{p}]" if type(p) is int else p for p in path) + "]"


def path_problem(a: ResolvedPath, b: ResolvedPath) -> str | None:
    """ "overlap" if one path is a prefix of (or equal to) the other, "conflict" if they use a
    map key and a list index at the same depth, else None (independent paths)."""
    for x, y in zip(a, b):
        if (type(x) is int) != (type(y) is int):
            return "conflict"
        if x != y:
            return None
    return "overlap"
