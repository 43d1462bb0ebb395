"""Condition and update expressions checked against a small reference model.

Hypothesis builds items over three attributes (small integers and short ASCII strings, or
absent) and expressions from a small grammar: comparisons, AND/OR/NOT, attribute_exists,
attribute_not_exists, begins_with; SET a = :v, SET a = b + :n, SET a = b - :n, REMOVE a.
Each expression is rendered to DynamoDB syntax, evaluated by tidestream, and also evaluated
by the plain-Python functions below over plain values. The two must agree, including on
which updates fail and with what message.

The model's rules are DynamoDB's: a comparison with an absent attribute or a value of
another type is false (``<>`` is true); strings compare by their (here ASCII) bytes; an
update's right-hand sides all read the item as it was before the update.
"""

from __future__ import annotations

import operator
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tidestream.dynamodb.attributes import from_wire_item, from_wire_value
from tidestream.dynamodb.expressions import compile_condition, compile_update, parse_condition, parse_update
from tidestream.errors import ValidationException

Plain = int | str
ATTRIBUTES = ["a", "b", "c"]
STRINGS = ["", "a", "ab", "abc", "b", "ba"]

plain_values = st.one_of(st.integers(-3, 3), st.sampled_from(STRINGS))
items = st.dictionaries(st.sampled_from(ATTRIBUTES), plain_values)


def wire(value: Plain) -> dict[str, Any]:
    return {"N": str(value)} if type(value) is int else {"S": value}


def plain(value: dict[str, Any]) -> Plain:
    if "N" in value:
        number = Decimal(value["N"])
        assert number == int(number), value
        return int(number)
    return value["S"]


# -- conditions ----------------------------------------------------------------------------
# Nodes: ("cmp", op, attribute, value, value_first) | ("exists", attribute)
#        | ("not_exists", attribute) | ("begins", attribute, prefix)
#        | ("and", left, right) | ("or", left, right) | ("not", operand)
COMPARATORS = {
    "=": operator.eq,
    "<>": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
FLIPPED = {"=": "=", "<>": "<>", "<": ">", "<=": ">=", ">": "<", ">=": "<="}

leaves = st.one_of(
    st.tuples(
        st.just("cmp"),
        st.sampled_from(sorted(COMPARATORS)),
        st.sampled_from(ATTRIBUTES),
        plain_values,
        st.booleans(),
    ),
    st.tuples(st.sampled_from(["exists", "not_exists"]), st.sampled_from(ATTRIBUTES)),
    st.tuples(st.just("begins"), st.sampled_from(ATTRIBUTES), st.sampled_from(STRINGS)),
)
conditions = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.tuples(st.sampled_from(["and", "or"]), inner, inner), st.tuples(st.just("not"), inner)
    ),
    max_leaves=8,
)


def render_condition(node: tuple, values: dict[str, Any]) -> str:
    """DynamoDB text for ``node``; constants become ``:vN`` placeholders added to ``values``."""
    kind = node[0]
    if kind in ("and", "or"):
        return f"({render_condition(node[1], values)}) {kind.upper()} ({render_condition(node[2], values)})"
    if kind == "not":
        return f"NOT ({render_condition(node[1], values)})"
    if kind in ("exists", "not_exists"):
        return f"attribute_{kind}({node[1]})"
    placeholder = f":v{len(values)}"
    if kind == "begins":
        values[placeholder] = {"S": node[2]}
        return f"begins_with({node[1]}, {placeholder})"
    _, op, attribute, value, value_first = node
    values[placeholder] = wire(value)
    if value_first:
        return f"{placeholder} {FLIPPED[op]} {attribute}"
    return f"{attribute} {op} {placeholder}"


def model_condition(node: tuple, item: dict[str, Plain]) -> bool:
    kind = node[0]
    if kind == "and":
        return model_condition(node[1], item) and model_condition(node[2], item)
    if kind == "or":
        return model_condition(node[1], item) or model_condition(node[2], item)
    if kind == "not":
        return not model_condition(node[1], item)
    if kind == "exists":
        return node[1] in item
    if kind == "not_exists":
        return node[1] not in item
    if kind == "begins":
        found = item.get(node[1])
        return type(found) is str and found.startswith(node[2])
    _, op, attribute, value, _ = node
    found = item.get(attribute)
    if found is None or type(found) is not type(value):
        return op == "<>"
    return COMPARATORS[op](found, value)


@settings(max_examples=500, deadline=None)
@given(conditions, items)
def test_conditions_agree_with_the_model(node: tuple, item: dict[str, Plain]) -> None:
    values: dict[str, Any] = {}
    text = render_condition(node, values)
    predicate = compile_condition(
        parse_condition(text), None, {k: from_wire_value(v) for k, v in values.items()}
    )
    wire_item = from_wire_item({k: wire(v) for k, v in item.items()})
    assert predicate(wire_item) is model_condition(node, item), text


# -- updates -------------------------------------------------------------------------------
# Actions: ("set", attribute, value) | ("arith", attribute, source, "+"|"-", amount)
#          | ("remove", attribute); one action per attribute, as DynamoDB requires.
def _action(attribute: str) -> st.SearchStrategy[tuple]:
    return st.one_of(
        st.tuples(st.just("set"), st.just(attribute), plain_values),
        st.tuples(
            st.just("arith"),
            st.just(attribute),
            st.sampled_from(ATTRIBUTES),
            st.sampled_from("+-"),
            st.integers(-3, 3),
        ),
        st.tuples(st.just("remove"), st.just(attribute)),
    )


updates = (
    st.lists(st.sampled_from(ATTRIBUTES), min_size=1, max_size=3, unique=True)
    .flatmap(lambda attributes: st.tuples(*[_action(a) for a in attributes]))
    .flatmap(lambda actions: st.tuples(st.just(actions), st.booleans()))
)


def render_update(actions: tuple, remove_first: bool, values: dict[str, Any]) -> str:
    sets, removes = [], []
    for action in actions:
        placeholder = f":v{len(values)}"
        if action[0] == "set":
            values[placeholder] = wire(action[2])
            sets.append(f"{action[1]} = {placeholder}")
        elif action[0] == "arith":
            values[placeholder] = wire(action[4])
            sets.append(f"{action[1]} = {action[2]} {action[3]} {placeholder}")
        else:
            removes.append(action[1])
    clauses = []
    if sets:
        clauses.append("SET " + ", ".join(sets))
    if removes:
        clauses.append("REMOVE " + ", ".join(removes))
    if remove_first:
        clauses.reverse()
    return " ".join(clauses)


MISSING = "The provided expression refers to an attribute that does not exist in the item"
BAD_OPERAND = "An operand in the update expression has an incorrect data type"


def model_update(actions: tuple, item: dict[str, Plain]) -> dict[str, Plain] | str:
    """The new item, or the message of the error DynamoDB raises."""
    new = dict(item)
    for action in actions:  # every right-hand side reads the old item
        if action[0] == "set":
            new[action[1]] = action[2]
        elif action[0] == "arith":
            source = item.get(action[2])
            if source is None:
                return MISSING
            if type(source) is not int:
                return BAD_OPERAND
            new[action[1]] = source + action[4] if action[3] == "+" else source - action[4]
    for action in actions:
        if action[0] == "remove":
            new.pop(action[1], None)
    return new


@settings(max_examples=500, deadline=None)
@given(updates, items)
def test_updates_agree_with_the_model(update: tuple, item: dict[str, Plain]) -> None:
    actions, remove_first = update
    values: dict[str, Any] = {}
    text = render_update(actions, remove_first, values)
    compiled = compile_update(parse_update(text), None, {k: from_wire_value(v) for k, v in values.items()})
    expected = model_update(actions, item)
    try:
        result = compiled.apply(from_wire_item({k: wire(v) for k, v in item.items()}))
    except ValidationException as error:
        assert error.message == expected, text
        return
    assert {k: plain(v) for k, v in result.items()} == expected, text


def test_the_model_itself_on_known_answers() -> None:
    """Pins the model to a few answers checked by hand, so the two cannot agree on a mistake."""
    item = {"a": 1, "b": "ab"}
    assert model_condition(("cmp", "<>", "c", 1, False), item) is True
    assert model_condition(("cmp", "<", "b", 1, False), item) is False
    assert model_condition(("begins", "b", "a"), item) is True
    assert model_update((("arith", "a", "a", "+", 2), ("remove", "b")), item) == {"a": 3}
    assert model_update((("arith", "c", "b", "-", 1),), item) == BAD_OPERAND
