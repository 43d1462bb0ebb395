"""The pre-2014 request parameters, rewritten as expressions.

Old SDK code still sends Expected, AttributeUpdates, AttributesToGet, KeyConditions, QueryFilter,
ScanFilter and ConditionalOperator. Each is translated into the equivalent expression text with
generated placeholders (``#lN`` / ``:lN``), so one evaluator serves both styles.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import ValidationException

_INVALID = "One or more parameter values were invalid: "
LEGACY_FOR = {
    "ConditionExpression": ("Expected",),
    "UpdateExpression": ("AttributeUpdates",),
    "ProjectionExpression": ("AttributesToGet",),
    "KeyConditionExpression": ("KeyConditions",),
    "FilterExpression": ("QueryFilter", "ScanFilter"),
}
#: ComparisonOperator -> number of values it takes (None: any number >= 1)
_ARITY = {
    "EQ": 1,
    "NE": 1,
    "LE": 1,
    "LT": 1,
    "GE": 1,
    "GT": 1,
    "NOT_NULL": 0,
    "NULL": 0,
    "CONTAINS": 1,
    "NOT_CONTAINS": 1,
    "BEGINS_WITH": 1,
    "IN": None,
    "BETWEEN": 2,
}
_CMP = {"EQ": "=", "NE": "<>", "LE": "<=", "LT": "<", "GE": ">=", "GT": ">"}


class Translation:
    """Accumulates generated placeholders while translating one request."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.values: dict[str, Any] = {}

    def name(self, attr: str) -> str:
        ph = f"#l{len(self.names)}"
        self.names[ph] = attr
        return ph

    def value(self, av: Any) -> str:
        ph = f":l{len(self.values)}"
        self.values[ph] = av
        return ph


def check_not_mixed(p: Mapping[str, Any]) -> None:
    """AWS refuses requests that mix the two styles."""
    legacy = [k for ks in LEGACY_FOR.values() for k in ks if p.get(k) is not None]
    if p.get("ConditionalOperator") is not None:
        legacy.append("ConditionalOperator")
    modern = [k for k in LEGACY_FOR if p.get(k) is not None]
    if legacy and modern:
        raise ValidationException(
            "Can not use both expression and non-expression parameters in the same request: "
            f"Non-expression parameters: {{{', '.join(legacy)}}} Expression parameters: {{{', '.join(modern)}}}"
        )


def _condition(tr: Translation, attr: str, spec: dict, what: str) -> str:
    op = spec.get("ComparisonOperator")
    values = spec.get("AttributeValueList") or []
    if op is None:
        raise ValidationException(f"{_INVALID}ComparisonOperator must be specified")
    arity = _ARITY.get(op)
    n = len(values)
    if (arity is None and n < 1) or (arity is not None and n != arity):
        raise ValidationException(f"{_INVALID}Invalid number of argument(s) for the {op} ComparisonOperator")
    a = tr.name(attr)
    if op in _CMP:
        return f"{a} {_CMP[op]} {tr.value(values[0])}"
    if op == "NOT_NULL":
        return f"attribute_exists({a})"
    if op == "NULL":
        return f"attribute_not_exists({a})"
    if op == "CONTAINS":
        return f"contains({a}, {tr.value(values[0])})"
    if op == "NOT_CONTAINS":
        return f"(attribute_exists({a}) AND NOT contains({a}, {tr.value(values[0])}))"
    if op == "BEGINS_WITH":
        return f"begins_with({a}, {tr.value(values[0])})"
    if op == "IN":
        return f"{a} IN ({', '.join(tr.value(v) for v in values)})"
    return f"{a} BETWEEN {tr.value(values[0])} AND {tr.value(values[1])}"


def _join(parts: list[str], p: Mapping[str, Any]) -> str:
    op = p.get("ConditionalOperator") or "AND"
    return f" {op} ".join(f"({x})" for x in parts)


def expected(tr: Translation, p: Mapping[str, Any]) -> str | None:
    spec = p.get("Expected")
    if not spec:
        return None
    parts = []
    for attr, e in spec.items():
        exists = e.get("Exists")
        has_value = e.get("Value") is not None
        # the " for Attribute: <name>" endings and the Value-or-AttributeValueList text:
        # paritysuite dynamodb-conformance, error-messages/deleteItem (eu-west-2 and us-east-1,
        # 2026-10-09)
        op = e.get("ComparisonOperator")
        if op is not None:
            if has_value:
                raise ValidationException(
                    f"{_INVALID}Value and AttributeValueList cannot be used together for Attribute: {attr}"
                    if e.get("AttributeValueList")
                    else f"{_INVALID}Value cannot be used with ComparisonOperator"
                )
            if exists is not None:
                raise ValidationException(f"{_INVALID}Exists and ComparisonOperator cannot be used together")
            if e.get("AttributeValueList") is None and _ARITY.get(op, 1) != 0:
                raise ValidationException(
                    f"{_INVALID}Value or AttributeValueList must be used with "
                    f"ComparisonOperator: {op} for Attribute: {attr}"
                )
            parts.append(_condition(tr, attr, e, "Expected"))
        elif exists is False:
            if has_value:
                raise ValidationException(
                    f"{_INVALID}Value cannot be used when Exists is false for Attribute: {attr}"
                )
            parts.append(f"attribute_not_exists({tr.name(attr)})")
        else:
            if not has_value:
                raise ValidationException(
                    f"{_INVALID}Value must be provided when Exists is true for Attribute: {attr}"
                )
            parts.append(f"{tr.name(attr)} = {tr.value(e['Value'])}")
    return _join(parts, p)


def filters(tr: Translation, spec: dict | None, p: Mapping[str, Any]) -> str | None:
    if not spec:
        return None
    return _join([_condition(tr, attr, c, "Filter") for attr, c in spec.items()], p)


def key_conditions(tr: Translation, spec: dict | None) -> str | None:
    if not spec:
        return None
    parts = []
    for attr, c in spec.items():
        op = c.get("ComparisonOperator")
        if op not in ("EQ", "LE", "LT", "GE", "GT", "BEGINS_WITH", "BETWEEN"):
            raise ValidationException(
                f"{_INVALID}Unsupported operator on KeyCondition: {op}"
                if op
                else f"{_INVALID}ComparisonOperator must be specified"
            )
        parts.append(_condition(tr, attr, c, "KeyConditions"))
    return " AND ".join(parts)


def attribute_updates(tr: Translation, spec: dict | None) -> str | None:
    if not spec:
        return None
    sets, removes, adds, deletes = [], [], [], []
    for attr, u in spec.items():
        action = u.get("Action") or "PUT"
        value = u.get("Value")
        a = tr.name(attr)
        if action == "PUT":
            if value is None:
                raise ValidationException(
                    f"{_INVALID}Only DELETE action is allowed when no attribute value is specified"
                )
            sets.append(f"{a} = {tr.value(value)}")
        elif action == "DELETE":
            if value is None:
                removes.append(a)
            else:
                deletes.append(f"{a} {tr.value(value)}")
        else:  # ADD
            if value is None:
                raise ValidationException(
                    f"{_INVALID}Only DELETE action is allowed when no attribute value is specified"
                )
            adds.append(f"{a} {tr.value(value)}")
    out = []
    if sets:
        out.append("SET " + ", ".join(sets))
    if removes:
        out.append("REMOVE " + ", ".join(removes))
    if adds:
        out.append("ADD " + ", ".join(adds))
    if deletes:
        out.append("DELETE " + ", ".join(deletes))
    return " ".join(out)


def attributes_to_get(tr: Translation, names: list[str] | None) -> str | None:
    if not names:
        return None
    if len(set(names)) != len(names):
        raise ValidationException(f"{_INVALID}Duplicate value in AttributesToGet")
    return ", ".join(tr.name(n) for n in names)
