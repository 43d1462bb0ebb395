"""Wire AttributeValues -> internal model, checked the way DynamoDB checks them.

Input is the JSON-parsed request (binaries as base64 text, or already ``bytes`` when a
validation layer decoded them). Output follows the model in :mod:`tidestream.dynamodb`: numbers
canonical, binaries ``bytes``, sets non-empty and duplicate-free.

Rules (and their order) follow what real DynamoDB answers:

* members whose value is JSON ``null`` and unknown members are ignored (the service's
  deserializer drops them), so ``{}`` / ``{"X": 1}`` / ``{"S": null}`` are all *empty*;
* every present member is checked first, and only then is "more than one datatype" reported,
  so ``{"S": "a", "N": "b"}`` fails on the number;
* within a set: emptiness, then each element, then duplicates (numbers compared canonically).

Speed: one dict lookup picks a handler per value, and a value dict already in internal form
(``S``, ``BOOL``, ``NULL``, canonical ``N``, duplicate-free ``SS``) is returned as is.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from collections.abc import Callable
from typing import Any

from ..errors import SerializationException, ValidationException
from . import numbers
from .numbers import InvalidValue

AttributeValue = dict[str, Any]
Item = dict[str, AttributeValue]

TYPES = ("S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL")
_TYPE_SET = frozenset(TYPES)

_PREFIX = "One or more parameter values were invalid: "
MSG_EMPTY = "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"
MSG_MULTIPLE = (
    "Supplied AttributeValue has more than one datatypes set, "
    "must contain exactly one of the supported datatypes"
)
MSG_NULL_FALSE = _PREFIX + "Null attribute value types must have the value of true"
MSG_SS_EMPTY = _PREFIX + "An string set  may not be empty"
MSG_NS_EMPTY = _PREFIX + "An number set  may not be empty"
MSG_BS_EMPTY = _PREFIX + "Binary sets should not be empty"
MSG_NS_DUPLICATES = "Input collection contains duplicates"
MSG_NOT_NUMERIC = "The parameter cannot be converted to a numeric value"

# Canonical numbers that need no Decimal round trip: no exponent, no leading zeros, no trailing
# fractional zeros, and at most 38 characters (so digits and magnitude are within limits).
_CANONICAL_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]*[1-9])?")


# --------------------------------------------------------------------------- serialization
# Shape errors normally belong to the protocol layer; they are repeated here (slow path only)
# so a value of the wrong JSON type can never slip into the model.


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "map"
    return "other"


def _shape_error(value: Any, target: str) -> SerializationException:
    """The Coral deserializer's message for ``value`` where a ``target`` was expected."""
    kind = _json_kind(value)
    if kind == "list" and target not in ("List",):
        return SerializationException("Start of list found where not expected")
    if kind == "map" and target not in ("Map", "Structure"):
        return SerializationException("Start of structure or map found where not expected.")
    if target == "List":
        if kind == "map":
            return SerializationException("Start of structure or map found where not expected.")
        return SerializationException("Expected list or null")
    if target == "Map":
        if kind == "list":
            return SerializationException("Start of list found where not expected")
        return SerializationException("Expected map or null")
    if target == "Structure":
        return SerializationException("Expected null")
    article = "a" if target == "Blob" else "an"
    if kind == "bool":
        return SerializationException(f"class java.lang.Boolean can not be converted to {article} {target}")
    if kind == "number":
        return SerializationException(
            "class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to "
            f"{article} {target}"
        )
    return SerializationException(f"'{value}' can not be converted to {article} {target}")


# --------------------------------------------------------------------------- scalars

_B64_BAD_CHAR = re.compile(r"[^A-Za-z0-9+/=]|=[^=]")


def decode_binary(value: Any) -> bytes:
    """Raw bytes of a wire binary: base64 text (checked strictly, like DynamoDB) or bytes."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    if not isinstance(value, str):
        raise _shape_error(value, "Blob")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise _base64_error(value) from None
    # b64decode accepts a last character with stray low bits ("YR==" for "a"); DynamoDB doesn't.
    if value and value[-4:] != base64.b64encode(base64.b64decode(value[-4:])).decode("ascii"):
        raise SerializationException(
            f"'{value}' can not be converted to a Blob: Invalid last non-pad Base64 character dectected"
        )
    return raw


def _base64_error(value: str) -> SerializationException:
    """DynamoDB's message for malformed base64 (length first, then the bad character)."""
    if len(value) % 4:
        return SerializationException(
            f"'{value}' can not be converted to a Blob: Base64 encoded length is expected a "
            f"multiple of 4 bytes but found: {len(value)}"
        )
    bad = _B64_BAD_CHAR.search(value)
    char = bad.group(0)[0] if bad else "="
    return SerializationException(
        f"'{value}' can not be converted to a Blob: Invalid Base64 character: '{char}'"
    )


def _number(text: Any) -> str:
    """Canonical form of one wire number, with DynamoDB's messages."""
    if type(text) is str and len(text) <= 38 and _CANONICAL_NUMBER.fullmatch(text) and text != "-0":
        return text
    if not isinstance(text, str):
        raise _shape_error(text, "String")
    if not text:
        raise InvalidValue(MSG_NOT_NUMERIC, MSG_NOT_NUMERIC + ": ")
    return numbers.normalize(text)


def _on_s(av: AttributeValue, v: Any) -> AttributeValue:
    if type(v) is not str:
        raise _shape_error(v, "String")
    return av


def _on_n(av: AttributeValue, v: Any) -> AttributeValue:
    canonical = _number(v)
    return av if canonical is v else {"N": canonical}


def _on_b(av: AttributeValue, v: Any) -> AttributeValue:
    return {"B": decode_binary(v)}


def _on_bool(av: AttributeValue, v: Any) -> AttributeValue:
    if type(v) is not bool:
        raise _shape_error(v, "Boolean")
    return av


def _on_null(av: AttributeValue, v: Any) -> AttributeValue:
    if v is not True:
        if type(v) is not bool:
            raise _shape_error(v, "Boolean")
        raise InvalidValue(MSG_NULL_FALSE)
    return av


# --------------------------------------------------------------------------- sets


def _set_text(values: list[str]) -> str:
    """How DynamoDB's older value layer prints a set in its duplicate message: ``[a, b]``."""
    return "[" + ", ".join(values) + "]"


def _current_order(members: list[Any]) -> list[Any]:
    """The members as the newer value layer lists them: sorted up to the first repeat, then the
    repeat, then the rest as sent (``b, a, b`` -> ``a, b, b``; it fills a sorted set and stops)."""
    seen: set[Any] = set()
    for i, member in enumerate(members):
        if member in seen:
            return sorted(seen) + members[i:]
        seen.add(member)
    return members


def _duplicates(older_shown: list[str], current_shown: list[str], separator: str, kind: str) -> InvalidValue:
    """A repeated set member in both layers' wording (current: ``["a", "b", "b"]``)."""
    quoted = separator.join(f'"{m}"' for m in current_shown)
    return InvalidValue(
        _PREFIX + f"Input collection {_set_text(older_shown)}{kind} contains duplicates.",
        _PREFIX + f"Input collection [{quoted}]{kind} contains duplicates.",
    )


def _on_ss(av: AttributeValue, v: Any) -> AttributeValue:
    if type(v) is not list:
        raise _shape_error(v, "List")
    if not v:
        raise InvalidValue(MSG_SS_EMPTY)
    for s in v:
        if type(s) is not str:
            raise _shape_error(s, "String")
    if len(set(v)) != len(v):
        raise _duplicates(v, _current_order(v), ", ", "")
    return av


def _on_ns(av: AttributeValue, v: Any) -> AttributeValue:
    if type(v) is not list:
        raise _shape_error(v, "List")
    if not v:
        raise InvalidValue(MSG_NS_EMPTY)
    out = [_number(x) for x in v]
    if len(set(out)) != len(out):
        raise InvalidValue(MSG_NS_DUPLICATES, _PREFIX + MSG_NS_DUPLICATES + ".")
    for a, b in zip(out, v):
        if a is not b:
            return {"NS": out}
    return av


def _on_bs(av: AttributeValue, v: Any) -> AttributeValue:
    if type(v) is not list:
        raise _shape_error(v, "List")
    if not v:
        raise InvalidValue(MSG_BS_EMPTY)
    out = [decode_binary(x) for x in v]
    if len(set(out)) != len(out):
        shown = [x if isinstance(x, str) else base64.b64encode(bytes(x)).decode("ascii") for x in v]
        ordered = [base64.b64encode(x).decode("ascii") for x in _current_order(out)]
        raise _duplicates(shown, ordered, ",", "of type BS")
    return {"BS": out}


# --------------------------------------------------------------------------- documents


def _on_m(av: AttributeValue, v: Any) -> AttributeValue:
    if type(v) is not dict:
        raise _shape_error(v, "Map")
    return {"M": from_wire_item(v)}


def _on_l(av: AttributeValue, v: Any) -> AttributeValue:
    if type(v) is not list:
        raise _shape_error(v, "List")
    return {"L": [from_wire_value(x) for x in v]}


_HANDLERS: dict[str, Callable[[AttributeValue, Any], AttributeValue]] = {
    "S": _on_s,
    "N": _on_n,
    "B": _on_b,
    "BOOL": _on_bool,
    "NULL": _on_null,
    "SS": _on_ss,
    "NS": _on_ns,
    "BS": _on_bs,
    "M": _on_m,
    "L": _on_l,
}


# --------------------------------------------------------------------------- public API


def from_wire_value(av: Any) -> AttributeValue:
    """Check one wire AttributeValue and return it in internal form (may be ``av`` itself)."""
    if type(av) is dict and len(av) == 1:
        for t, v in av.items():
            handler = _HANDLERS.get(t)
            if handler is not None and v is not None:
                return handler(av, v)
    return _from_wire_slow(av)


def _from_wire_slow(av: Any) -> AttributeValue:
    """Unusual shapes: not a map, unknown or null members, several members."""
    if not isinstance(av, dict):
        raise _shape_error(av, "Structure")
    present = [(t, v) for t, v in av.items() if v is not None and t in _TYPE_SET]
    if not present:
        raise ValidationException(MSG_EMPTY)
    result: AttributeValue | None = None
    for t, v in present:  # every member is validated before the count is judged
        result = _HANDLERS[t]({t: v}, v)
    if len(present) > 1:
        raise ValidationException(MSG_MULTIPLE)
    assert result is not None
    return result


def from_wire_item(item: Any) -> Item:
    """Check an Item / Key / attribute map and return it in internal form."""
    if type(item) is not dict:
        raise _shape_error(item, "Map")
    handlers = _HANDLERS
    out: Item = {}
    for name, av in item.items():
        if type(av) is dict and len(av) == 1:
            for t, v in av.items():
                handler = handlers.get(t)
                if handler is not None and v is not None:
                    out[name] = handler(av, v)
                    break
            else:
                out[name] = _from_wire_slow(av)
        else:
            out[name] = _from_wire_slow(av)
    return out


def from_wire_values(values: Any) -> Item:
    """Check ExpressionAttributeValues: as :func:`from_wire_item`, but the older value layer
    names the placeholder of a refused value ("ExpressionAttributeValues contains invalid value:
    <why> for key :v"; paritysuite ``valueLayers`` for transactions); the newer one does not."""
    try:
        return from_wire_item(values)
    except InvalidValue as err:
        name = next(n for n, av in values.items() if not _accepted(av))
        raise InvalidValue(
            f"ExpressionAttributeValues contains invalid value: {err.message} for key {name}", err.current
        ) from None


def _accepted(av: Any) -> bool:
    """Whether one value passes the checks (finds the refused one of a map, on refusal only)."""
    try:
        from_wire_value(av)
    except ValidationException:
        return False
    return True


def current_value_layer(envelope: bool) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorates an operation that answers refused values in the newer layer's wording, inside
    the validation envelope (PutItem, UpdateItem, DeleteItem) or bare (GetItem, BatchGetItem,
    Query); see :class:`~tidestream.dynamodb.numbers.InvalidValue`."""
    prefix = "1 validation error detected: " if envelope else ""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def operation(state: Any, ctx: Any, p: Any) -> Any:
            try:
                return fn(state, ctx, p)
            except InvalidValue as err:
                raise ValidationException(prefix + err.current) from None

        return operation

    return decorate


# An alias that reads better at call sites.
from_wire_key = from_wire_item


def type_of(av: AttributeValue) -> str:
    """The single type tag of an internal AttributeValue."""
    for t in av:
        return t
    raise ValueError("empty AttributeValue")
