"""Condition/Filter expressions: bind placeholders, validate operand types, compile to a closure.

Binding resolves ``#names`` and ``:values`` once per request and reports the type errors
DynamoDB raises before touching data; the bound tree is then compiled into nested Python
closures so evaluating a filter against thousands of scanned items costs only function calls.
Comparing values of different types is simply false at run time.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass

from ...errors import ValidationException
from . import ast as A
from .attributes import Names, Values, check_defined, resolve_path
from .values import (
    AttributeValue,
    Item,
    begins_with,
    compare,
    contains,
    equal,
    get_path,
    path_text,
    size_of,
    type_of,
)

Predicate = Callable[[Item], bool]
Getter = Callable[[Item], AttributeValue | None]

ORDERED_OPERATORS = frozenset({"<", "<=", ">", ">="})
VALID_TYPE_NAMES = frozenset({"S", "SS", "N", "NS", "B", "BS", "BOOL", "NULL", "L", "M"})


@dataclass(frozen=True, slots=True)
class Const:
    """A bound ``:value``."""

    value: AttributeValue


def bind(parsed: A.Parsed, names: Names, values: Values) -> A.Node:
    """Resolve placeholders and run DynamoDB's value-dependent checks; returns a bound tree whose
    paths hold only str/int elements and whose values are :class:`Const` nodes."""
    check_defined(parsed, names, values)
    tree = _resolve(parsed.tree, names, values)
    errors: dict[str, str] = {}
    _check(tree, errors)
    for kind in ("distinct", "function"):
        if kind in errors:
            raise ValidationException(f"Invalid {parsed.label}: {errors[kind]}")
    return tree


def compile_condition(parsed: A.Parsed, names: Names = None, values: Values = None) -> Predicate:
    """Bind and compile a parsed condition; the result maps an item (``{}`` if absent) to bool."""
    return _predicate(bind(parsed, names, values))


# -- binding -------------------------------------------------------------------------------
def _resolve(node, names: Names, values: Values):
    t = type(node)
    if t is A.Path:
        return A.Path(resolve_path(node, names))
    if t is A.ValueRef:
        return Const(values[node.name])  # type: ignore[index]
    if t is A.Call:
        return A.Call(node.name, tuple(_resolve(a, names, values) for a in node.args))
    if t is A.Compare:
        return A.Compare(node.op, _resolve(node.left, names, values), _resolve(node.right, names, values))
    if t is A.Between:
        return A.Between(
            _resolve(node.operand, names, values),
            _resolve(node.low, names, values),
            _resolve(node.high, names, values),
        )
    if t is A.In:
        return A.In(
            _resolve(node.operand, names, values), tuple(_resolve(o, names, values) for o in node.options)
        )
    if t is A.And:
        return A.And(_resolve(node.left, names, values), _resolve(node.right, names, values))
    if t is A.Or:
        return A.Or(_resolve(node.left, names, values), _resolve(node.right, names, values))
    if t is A.Not:
        return A.Not(_resolve(node.operand, names, values))
    raise TypeError(f"unexpected node {node!r}")


def static_type(node) -> str | None:
    """Type known before evaluation: a constant's type, N for size(); None for paths."""
    if type(node) is Const:
        return type_of(node.value)
    if type(node) is A.Call and node.name == "size":
        return "N"
    return None


def render(value: AttributeValue) -> str:
    t = type_of(value)
    v = value[t]
    if t == "B":
        v = base64.b64encode(v).decode()
    return "{" + f"{t}:{v}" + "}"


def _bad_type(errors: dict[str, str], operator: str, t: str) -> None:
    errors.setdefault(
        "function",
        "Incorrect operand type for operator or function; "
        f"operator or function: {operator}, operand type: {t}",
    )


def _distinct(errors: dict[str, str], operator: str, a, b) -> None:
    if type(a) is A.Path and type(b) is A.Path and a.elements == b.elements:
        errors.setdefault(
            "distinct",
            "The first operand must be distinct from the remaining "
            "operands for this operator or function; operator: "
            f"{operator}, first operand: {path_text(a.elements)}",
        )


def _check(node, errors: dict[str, str]) -> None:
    """Record DynamoDB's type errors for ``node`` and its children in ``errors`` (first one wins).

    Dispatches on the node type; paths and constants have nothing to check on their own."""
    checker = _CHECKERS.get(type(node))
    if checker is not None:
        checker(node, errors)


def _check_junction(node, errors: dict[str, str]) -> None:
    _check(node.left, errors)
    _check(node.right, errors)


def _check_not(node: A.Not, errors: dict[str, str]) -> None:
    _check(node.operand, errors)


def _check_compare(node: A.Compare, errors: dict[str, str]) -> None:
    _distinct(errors, node.op, node.left, node.right)
    ordered = node.op in ORDERED_OPERATORS
    for operand in (node.left, node.right):
        _check(operand, errors)
        ot = static_type(operand)
        if ordered and ot is not None and ot not in ("S", "N", "B"):
            _bad_type(errors, node.op, ot)


def _check_between(node: A.Between, errors: dict[str, str]) -> None:
    for operand in (node.operand, node.low, node.high):
        _check(operand, errors)
        ot = static_type(operand)
        if ot is not None and ot not in ("S", "N", "B"):
            _bad_type(errors, "BETWEEN", ot)
    if type(node.low) is Const and type(node.high) is Const and "function" not in errors:
        _check_bounds(node.low.value, node.high.value, errors)


def _check_bounds(low: AttributeValue, high: AttributeValue, errors: dict[str, str]) -> None:
    """BETWEEN with two constants: same type and low <= high, as DynamoDB checks up front."""
    bounds = (
        f"lower bound operand: AttributeValue: {render(low)}, "
        f"upper bound operand: AttributeValue: {render(high)}"
    )
    if type_of(low) != type_of(high):
        errors["function"] = (
            f"The BETWEEN operator requires same data type for lower and upper bounds; {bounds}"
        )
    elif (compare(low, high) or 0) > 0:
        errors["function"] = (
            f"The BETWEEN operator requires upper bound to be greater than or equal to lower bound; {bounds}"
        )


def _check_in(node: A.In, errors: dict[str, str]) -> None:
    _check(node.operand, errors)
    for option in node.options:
        _check(option, errors)


def _check_call(node: A.Call, errors: dict[str, str]) -> None:
    for arg in node.args:
        _check(arg, errors)
    if len(node.args) == 2:
        _distinct(errors, node.name, node.args[0], node.args[1])
    checker = _FUNCTION_CHECKERS.get(node.name)
    if checker is not None:
        checker(node.args, errors)


def _check_begins_with(args: tuple, errors: dict[str, str]) -> None:
    for arg in args:
        at = static_type(arg)
        if at is not None and at not in ("S", "B"):
            _bad_type(errors, "begins_with", at)
            return


def _check_attribute_type(args: tuple, errors: dict[str, str]) -> None:
    at = static_type(args[1])
    if at != "S":
        _bad_type(errors, "attribute_type", at or "{NS,SS,L,BS,N,M,B,BOOL,NULL,S}")
    elif args[1].value["S"] not in VALID_TYPE_NAMES:
        errors.setdefault(
            "function",
            "Invalid attribute type name found; type: "
            f"{args[1].value['S']}, valid types: "
            "{B,NULL,SS,BOOL,L,BS,N,NS,S,M}",
        )


def _check_size(args: tuple, errors: dict[str, str]) -> None:
    at = static_type(args[0])
    if at in ("N", "BOOL", "NULL"):
        _bad_type(errors, "size", at)


_CHECKERS: dict[type, Callable[..., None]] = {
    A.And: _check_junction,
    A.Or: _check_junction,
    A.Not: _check_not,
    A.Compare: _check_compare,
    A.Between: _check_between,
    A.In: _check_in,
    A.Call: _check_call,
}
_FUNCTION_CHECKERS: dict[str, Callable[[tuple, dict[str, str]], None]] = {
    "begins_with": _check_begins_with,
    "attribute_type": _check_attribute_type,
    "size": _check_size,
}


# -- compilation ---------------------------------------------------------------------------
def getter(node) -> Getter:
    """Closure reading an operand's value from an item (None when absent)."""
    t = type(node)
    if t is Const:
        value = node.value
        return lambda item: value
    if t is A.Path:
        path = node.elements
        if len(path) == 1:
            name = path[0]
            return lambda item: item.get(name)
        return lambda item: get_path(item, path)
    if t is A.Call and node.name == "size":
        inner = getter(node.args[0])

        def size(item: Item) -> AttributeValue | None:
            value = inner(item)
            if value is None:
                return None
            n = size_of(value)
            return None if n is None else {"N": str(n)}

        return size
    raise TypeError(f"not an operand: {node!r}")


def _ordered(fa: Getter, fb: Getter, test: Callable[[int], bool]) -> Predicate:
    def run(item: Item) -> bool:
        a = fa(item)
        if a is None:
            return False
        b = fb(item)
        if b is None:
            return False
        c = compare(a, b)
        return c is not None and test(c)

    return run


def _predicate(node) -> Predicate:
    """Compile a bound condition node into a closure, dispatching on the node type."""
    compiler = _COMPILERS.get(type(node))
    if compiler is None:
        raise TypeError(f"not a condition: {node!r}")
    return compiler(node)


def _compile_and(node: A.And) -> Predicate:
    left, right = _predicate(node.left), _predicate(node.right)
    return lambda item: left(item) and right(item)


def _compile_or(node: A.Or) -> Predicate:
    left, right = _predicate(node.left), _predicate(node.right)
    return lambda item: left(item) or right(item)


def _compile_not(node: A.Not) -> Predicate:
    inner = _predicate(node.operand)
    return lambda item: not inner(item)


_ORDER_TESTS: dict[str, Callable[[int], bool]] = {
    "<": lambda c: c < 0,
    "<=": lambda c: c <= 0,
    ">": lambda c: c > 0,
    ">=": lambda c: c >= 0,
}


def _compile_compare(node: A.Compare) -> Predicate:
    fa, fb = getter(node.left), getter(node.right)
    if node.op == "=":

        def eq(item: Item) -> bool:
            a = fa(item)
            if a is None:
                return False
            b = fb(item)
            return b is not None and equal(a, b)

        return eq
    if node.op == "<>":

        def ne(item: Item) -> bool:
            a = fa(item)
            b = fb(item)
            return a is None or b is None or not equal(a, b)

        return ne
    return _ordered(fa, fb, _ORDER_TESTS[node.op])


def _compile_between(node: A.Between) -> Predicate:
    fx, flo, fhi = getter(node.operand), getter(node.low), getter(node.high)

    def between(item: Item) -> bool:
        x, lo, hi = fx(item), flo(item), fhi(item)
        if x is None or lo is None or hi is None:
            return False
        c1 = compare(x, lo)
        if c1 is None or c1 < 0:
            return False
        c2 = compare(x, hi)
        return c2 is not None and c2 <= 0

    return between


def _compile_in(node: A.In) -> Predicate:
    fx = getter(node.operand)
    options = [getter(o) for o in node.options]

    def in_(item: Item) -> bool:
        x = fx(item)
        if x is None:
            return False
        for option in options:
            o = option(item)
            if o is not None and equal(x, o):
                return True
        return False

    return in_


def _function(node: A.Call) -> Predicate:
    name = node.name
    if name == "attribute_exists" or name == "attribute_not_exists":
        f = getter(node.args[0])
        if name == "attribute_exists":
            return lambda item: f(item) is not None
        return lambda item: f(item) is None
    fa, fb = getter(node.args[0]), getter(node.args[1])
    if name == "attribute_type":

        def attribute_type(item: Item) -> bool:
            a, b = fa(item), fb(item)
            return a is not None and b is not None and "S" in b and type_of(a) == b["S"]

        return attribute_type
    test = begins_with if name == "begins_with" else contains

    def run(item: Item) -> bool:
        a = fa(item)
        if a is None:
            return False
        b = fb(item)
        return b is not None and test(a, b)

    return run


_COMPILERS: dict[type, Callable[..., Predicate]] = {
    A.And: _compile_and,
    A.Or: _compile_or,
    A.Not: _compile_not,
    A.Compare: _compile_compare,
    A.Between: _compile_between,
    A.In: _compile_in,
    A.Call: _function,
}
