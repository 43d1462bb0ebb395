"""KeyConditionExpression: the restricted condition form a Query turns into a key-range scan.

The expression is parsed with the ordinary condition parser (label ``KeyConditionExpression``),
bound like any condition, then checked for the shape DynamoDB accepts: an AND of one condition
per key attribute, each comparing a top-level key attribute with values. Against the key schema
(one HASH and optional RANGE, or multi-attribute keys with up to 4 HASH and 4 RANGE attributes)
every HASH attribute needs ``=``, and RANGE attributes may be constrained left to right with
``=`` on a prefix and any supported comparison on the last one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from ...errors import ValidationException
from . import ast as A
from .attributes import Names, Values
from .conditions import Const, bind
from .values import AttributeValue, Item, begins_with, compare, equal

_FLIP = {"=": "=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_INVALID_FUNCTIONS = frozenset({"attribute_exists", "attribute_not_exists", "attribute_type", "contains"})


@dataclass(frozen=True, slots=True)
class SortCondition:
    """One RANGE-attribute condition: ``op`` is =, <, <=, >, >=, BETWEEN or BEGINS_WITH."""

    attribute: str
    op: str
    values: tuple[AttributeValue, ...]

    def matches(self, value: AttributeValue | None) -> bool:
        if value is None:
            return False
        op = self.op
        if op == "=":
            return equal(value, self.values[0])
        if op == "BEGINS_WITH":
            return begins_with(value, self.values[0])
        c = compare(value, self.values[0])
        if c is None:
            return False
        if op == "<":
            return c < 0
        if op == "<=":
            return c <= 0
        if op == ">":
            return c > 0
        if op == ">=":
            return c >= 0
        c2 = compare(value, self.values[1])  # BETWEEN
        return c >= 0 and c2 is not None and c2 <= 0


@dataclass(frozen=True, slots=True)
class KeyCondition:
    """What a Query selects: exact partition key values plus sort-key conditions.

    ``partition`` maps each HASH attribute (schema order) to its value. ``sort`` lists the RANGE
    conditions in schema order; every one but the last is ``=``.
    """

    partition: dict[str, AttributeValue]
    sort: tuple[SortCondition, ...]

    @property
    def partition_value(self) -> AttributeValue:
        """The single partition key value (first HASH attribute)."""
        return next(iter(self.partition.values()))

    @property
    def sort_condition(self) -> SortCondition | None:
        """The last (possibly non-equality) sort condition, or None."""
        return self.sort[-1] if self.sort else None

    def matches(self, item: Item) -> bool:
        """Whether an item satisfies every key condition (for verification and index scans)."""
        for name, value in self.partition.items():
            found = item.get(name)
            if found is None or not equal(found, value):
                return False
        return all(c.matches(item.get(c.attribute)) for c in self.sort)


def compile_key_condition(
    parsed: A.Parsed, names: Names, values: Values, key_schema: Sequence[tuple[str, str]]
) -> KeyCondition:
    """Validate a parsed KeyConditionExpression against ``key_schema`` ([(name, "HASH"|"RANGE")]).

    Raises ValidationException with DynamoDB's messages for malformed shapes, missing key
    attributes and unsupported comparisons.
    """
    tree = bind(parsed, names, values)
    conditions: dict[str, tuple[str, tuple[AttributeValue, ...]]] = {}
    _collect(tree, conditions)
    hash_keys = [name for name, role in key_schema if role == "HASH"]
    range_keys = [name for name, role in key_schema if role == "RANGE"]
    if len(key_schema) <= 2 and len(conditions) > 2:  # paritysuite queryKeyConditionOperands (2026-10)
        raise ValidationException(
            f"The number of query conditions ({len(conditions)}) exceeds the number of key attributes "
            f"defined in the schema ({len(key_schema)})"
        )
    _check_partition_equality(hash_keys, conditions)
    _check_only_key_attributes(hash_keys, range_keys, conditions)
    constrained = [r for r in range_keys if r in conditions]
    _check_range_prefix(range_keys, constrained, conditions)
    partition = {name: conditions[name][1][0] for name in hash_keys}
    sort = tuple(SortCondition(name, *conditions[name]) for name in constrained)
    return KeyCondition(partition, sort)


def _check_partition_equality(hash_keys: list[str], conditions: dict[str, tuple[str, tuple]]) -> None:
    """Every HASH attribute is named (first missing one reported), then each with ``=``."""
    for name in hash_keys:
        if name not in conditions:
            raise _missed(name)
    for name in hash_keys:
        if conditions[name][0] != "=":
            raise ValidationException("Query key condition not supported")


def _check_only_key_attributes(
    hash_keys: list[str], range_keys: list[str], conditions: dict[str, tuple[str, tuple]]
) -> None:
    """A condition on a non-key attribute: AWS names an unconstrained RANGE key if there is one."""
    schema_names = set(hash_keys) | set(range_keys)
    for name in conditions:
        if name not in schema_names:
            gap = next((r for r in range_keys if r not in conditions), None)
            raise _missed(gap) if gap else ValidationException("Query key condition not supported")


def _check_range_prefix(
    range_keys: list[str], constrained: list[str], conditions: dict[str, tuple[str, tuple]]
) -> None:
    """RANGE attributes are constrained left to right: equality on each before the last one
    named. A multi-attribute key answers with AWS's own sentence (paritysuite dynamodb-conformance
    tier1/query/multiAttributeGsiKey, verified against AWS 2026-10)."""
    if not constrained:
        return
    last = constrained[-1]
    lacking = [r for r in range_keys[: range_keys.index(last)] if conditions.get(r, ("",))[0] != "="]
    if lacking:  # only possible with two or more RANGE attributes
        raise ValidationException(
            f"RANGE key attributes {', '.join(lacking)} must have equality conditions specified in "
            f"the query because a condition is present on key attribute {last}"
        )


def _missed(name: str) -> ValidationException:
    return ValidationException(f"Query condition missed key schema element: {name}")


def _invalid(operator: str) -> ValidationException:
    return ValidationException(f"Invalid operator used in KeyConditionExpression: {operator}")


_INVALID_NODES = {A.Or: "OR", A.Not: "NOT", A.In: "IN"}


def _collect(node, out: dict[str, tuple[str, tuple[AttributeValue, ...]]]) -> None:
    """Add each key condition of an AND tree to ``out`` as attribute -> (operator, values)."""
    if type(node) is A.And:
        _collect(node.left, out)
        _collect(node.right, out)
        return
    args, op = _shape(node)
    attribute, position = _key_attribute(args, out)
    if attribute in out:
        raise ValidationException(  # paritysuite queryKeyConditionOperands (eu-west-2, 2026-10)
            "Invalid KeyConditionExpression: KeyConditionExpressions must only contain one condition per key"
        )
    consts = tuple(a.value for i, a in enumerate(args) if i != position)
    # Only a comparison can name the key on its right (BETWEEN and begins_with require it first).
    out[attribute] = (op if position == 0 else _FLIP[op], consts)


def _shape(node) -> tuple[tuple, str]:
    """One condition's operands and operator (as if the key were first), raising DynamoDB's errors
    for the forms a key condition cannot take."""
    t = type(node)
    invalid = _INVALID_NODES.get(t)
    if invalid is not None:
        raise _invalid(invalid)
    if t is A.Compare:
        if node.op == "<>":
            raise _invalid("<>")
        return (node.left, node.right), node.op
    if t is A.Between:
        _require_key_first(node.operand, "BETWEEN")
        return (node.operand, node.low, node.high), "BETWEEN"
    if t is A.Call:
        if node.name in _INVALID_FUNCTIONS:
            raise _invalid(node.name)
        if node.name == "size":
            raise ValidationException("KeyConditionExpressions cannot contain nested operations")
        if node.name == "begins_with":
            _require_key_first(node.args[0], "begins_with")
    return node.args, "BEGINS_WITH"


def _require_key_first(first, operator: str) -> None:
    if type(first) is not A.Path:
        raise ValidationException(
            f"Invalid condition in KeyConditionExpression: {operator} "
            "operator must have the key attribute as its first operand"
        )


def _key_attribute(args: tuple, out: dict[str, tuple[str, tuple[AttributeValue, ...]]]) -> tuple[str, int]:
    """The one top-level key attribute among ``args`` and its position."""
    attribute: str | None = None
    position = 0
    for i, arg in enumerate(args):
        if type(arg) is A.Path:
            if attribute is not None:
                raise ValidationException(
                    "Invalid condition in KeyConditionExpression: Multiple "
                    "attribute names used in one condition"
                )
            if len(arg.elements) > 1:
                raise ValidationException(
                    "KeyConditionExpressions cannot have conditions on nested attributes"
                )
            attribute = cast(str, arg.elements[0])  # a bound path's first element: a plain name
            position = i
        elif type(arg) is not Const:
            _collect(arg, out)  # size(): nested operation
    if attribute is None:
        raise ValidationException("Invalid condition in KeyConditionExpression: No key attribute specified")
    return attribute, position
