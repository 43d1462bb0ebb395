"""Syntax trees of the expression languages.

Trees are immutable and hold placeholders (``#name`` / ``:value``) unresolved, so one parse of an
expression string can be cached and shared by every request that sends the same text; the
request's ExpressionAttributeNames/Values are applied later by the bind step of each evaluator.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Alias:
    """A ``#placeholder`` used as one element of a document path."""

    name: str


#: one step of a document path: attribute/map key, alias to resolve, or list index
PathElement = str | Alias | int


@dataclass(frozen=True, slots=True)
class Path:
    elements: tuple[PathElement, ...]


@dataclass(frozen=True, slots=True)
class ValueRef:
    """A ``:placeholder`` naming an ExpressionAttributeValues entry."""

    name: str


@dataclass(frozen=True, slots=True)
class Call:
    """A function call: condition functions, ``size``, ``if_not_exists``, ``list_append``."""

    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Compare:
    op: str  # = <> < <= > >=
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Between:
    operand: Node
    low: Node
    high: Node


@dataclass(frozen=True, slots=True)
class In:
    operand: Node
    options: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class And:
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Or:
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Not:
    operand: Node


@dataclass(frozen=True, slots=True)
class Arith:
    """``a + b`` / ``a - b`` in an update SET value."""

    op: str
    left: Node
    right: Node


Node = Path | ValueRef | Call | Compare | Between | In | And | Or | Not | Arith

CONDITION_FUNCTIONS = {
    "attribute_exists": 1,
    "attribute_not_exists": 1,
    "attribute_type": 2,
    "begins_with": 2,
    "contains": 2,
    "size": 1,
}
UPDATE_FUNCTIONS = {"if_not_exists": 2, "list_append": 2}


def is_condition(node: Node) -> bool:
    """True for nodes that yield a boolean (usable as a condition, not as an operand)."""
    if isinstance(node, Call):
        return node.name != "size"
    return isinstance(node, (Compare, Between, In, And, Or, Not))


@dataclass(frozen=True, slots=True)
class SetAction:
    path: Path
    value: Node


@dataclass(frozen=True, slots=True)
class RemoveAction:
    path: Path


@dataclass(frozen=True, slots=True)
class AddAction:
    path: Path
    value: ValueRef


@dataclass(frozen=True, slots=True)
class DeleteAction:
    path: Path
    value: ValueRef


@dataclass(frozen=True, slots=True)
class UpdateTree:
    sets: tuple[SetAction, ...]
    removes: tuple[RemoveAction, ...]
    adds: tuple[AddAction, ...]
    deletes: tuple[DeleteAction, ...]
    #: every action in source order (for path overlap checks and error ordering)
    actions: tuple[SetAction | RemoveAction | AddAction | DeleteAction, ...]


@dataclass(frozen=True, slots=True)
class Parsed:
    """A parsed expression: its kind label, tree and the placeholders it uses (in source order).

    ``label`` is the request parameter name used in messages (``ConditionExpression``,
    ``FilterExpression``, ``KeyConditionExpression``, ``UpdateExpression``,
    ``ProjectionExpression``). ``tree`` is a condition Node, an UpdateTree, or a tuple of Paths.
    """

    label: str
    text: str
    tree: object
    names_used: tuple[str, ...]
    values_used: tuple[str, ...]
