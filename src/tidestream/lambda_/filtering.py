"""Lambda's event-filtering pattern language, for an event source mapping's FilterCriteria.

``{"Filters": [{"Pattern": "<JSON>"}]}``: up to five filters, ORed; a record that matches none
is dropped (the poller still moves its position past it). The syntax is EventBridge's, as AWS
documents it for Lambda (docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html,
"Filter rule syntax"): a pattern mirrors the record's structure, each leaf is a list of rules ORed
together, keys at one level are ANDed, and ``$or`` ORs whole sub-patterns.

A pattern is validated and compiled once into plain closures; matching a record walks only the
keys the pattern names. No regex is built from user input: ``wildcard`` is matched by finding its
literal pieces left to right (linear, no backtracking).

What a record is matched against: the record as the function sees it, except that a Kinesis
record's ``kinesis.data`` is already decoded by the caller (the JSON value when the bytes are
JSON, else the string) and is what a pattern's top-level ``data`` key names, as on AWS ("Kinesis
event source mappings only support filtering on the data key"; LocalStack notes the same
remapping). Data left a string (not JSON) matches no filter that names ``data``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

import orjson

#: AWS's default quota of filters per event source mapping (raisable to 10 on request there)
MAX_FILTERS = 5
#: the Pattern member's maximum length in botocore's lambda model
MAX_PATTERN_LENGTH = 4096
#: numeric rules accept numbers within this range (EventBridge / Event Ruler's limit)
NUMERIC_LIMIT = 5.0e9
#: objects nested deeper than this are refused (keeps compiling and matching off Python's
#: recursion limit; AWS documents no depth limit, and no real record nests this deep)
MAX_PATTERN_DEPTH = 64
#: AWS's text for every malformed pattern (InvalidParameterValueException)
INVALID_PATTERN = "Invalid filter pattern definition."

Matcher = Callable[[Any], bool]
LeafRule = Callable[[Any], bool]


class FilterCriteriaError(Exception):
    """A FilterCriteria AWS refuses; ``message`` is the InvalidParameterValueException text."""

    def __init__(self, message: str = INVALID_PATTERN) -> None:
        super().__init__(message)
        self.message = message


# --- the whole criteria ---------------------------------------------------------------------------


def validate_filter_criteria(criteria: dict) -> None:
    """Raise FilterCriteriaError for anything CreateEventSourceMapping would refuse."""
    _compile_criteria(criteria)


def compile_filters(criteria: dict | None) -> Callable[[dict], bool] | None:
    """A predicate over one record (True: the function gets it), or None when nothing filters.

    An empty ``Filters`` list filters nothing, as AWS treats ``FilterCriteria: {}``."""
    matchers = _compile_criteria(criteria or {})
    if not matchers:
        return None
    if len(matchers) == 1:
        only = matchers[0]
        return lambda record: only(_FilterView(record))

    def matches_any(record: dict) -> bool:
        view = _FilterView(record)
        return any(matcher(view) for matcher in matchers)

    return matches_any


def _compile_criteria(criteria: dict) -> list[Matcher]:
    if not isinstance(criteria, dict):
        raise FilterCriteriaError()
    filters = criteria.get("Filters") or []
    if not isinstance(filters, list):
        raise FilterCriteriaError()
    if len(filters) > MAX_FILTERS:
        raise FilterCriteriaError(
            f"The number of filters ({len(filters)}) exceeds the limit of {MAX_FILTERS} filters "
            "per event source mapping."
        )
    return [_compile_pattern_text(f.get("Pattern") if isinstance(f, dict) else None) for f in filters]


def _compile_pattern_text(text: Any) -> Matcher:
    if not isinstance(text, str) or not text.strip():
        raise FilterCriteriaError()
    if len(text) > MAX_PATTERN_LENGTH:
        raise FilterCriteriaError(
            f"1 validation error detected: Value at 'filterCriteria.filters.member.pattern' failed to "
            f"satisfy constraint: Member must have length less than or equal to {MAX_PATTERN_LENGTH}"
        )
    try:
        pattern = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise FilterCriteriaError() from None
    return _compile_root(pattern)


_MISSING: Any = object()


class _FilterView:
    """The record as patterns see it: top-level ``data`` of a Kinesis record is ``kinesis.data``.

    A thin wrapper (no copy of the record) that answers ``get`` like a dict."""

    __slots__ = ("record",)

    def __init__(self, record: dict) -> None:
        self.record = record

    def get(self, key: str, default: Any = None) -> Any:
        value = self.record.get(key, _MISSING)
        if value is _MISSING and key == "data":
            kinesis = self.record.get("kinesis")
            if isinstance(kinesis, dict):
                value = kinesis.get("data", _MISSING)
        return default if value is _MISSING else value


def _compile_root(pattern: Any) -> Matcher:
    """A filter's pattern over a whole record: one naming ``data`` never matches a record whose
    data is not JSON (the caller left it a string)."""
    matcher = _compile_object(pattern, 0)
    if "data" not in pattern:
        return matcher
    return lambda view: not isinstance(view.get("data"), str) and matcher(view)


# --- objects: keys ANDed, $or, nesting ------------------------------------------------------------


def _compile_object(pattern: Any, depth: int) -> Matcher:
    """A pattern object -> predicate over an object of the record (dict, or _FilterView)."""
    if not isinstance(pattern, dict) or not pattern or depth > MAX_PATTERN_DEPTH:
        raise FilterCriteriaError()
    checks: list[Matcher] = []
    for key, rule in pattern.items():
        if key == "$or":
            checks.append(_compile_or(rule, depth + 1))
        elif isinstance(rule, dict):
            checks.append(_nested(key, _compile_object(rule, depth + 1)))
        elif isinstance(rule, list):
            checks.append(_leaf(key, _compile_rules(rule)))
        else:
            raise FilterCriteriaError()
    if len(checks) == 1:
        return checks[0]
    return lambda obj: all(check(obj) for check in checks)


def _compile_or(branches: Any, depth: int) -> Matcher:
    if not isinstance(branches, list) or len(branches) < 2:
        raise FilterCriteriaError()
    matchers = [_compile_object(branch, depth) for branch in branches]
    return lambda obj: any(m(obj) for m in matchers)


def _nested(key: str, inner: Matcher) -> Matcher:
    """Key whose pattern is an object: the record's value (or any object in its array) matches.

    A missing key or a non-object value is matched as an empty object, so ``exists: false``
    under it holds."""

    def check(obj: Any) -> bool:
        value = obj.get(key, _MISSING)
        if isinstance(value, dict):
            return inner(value)
        objects = _objects_in(value) if isinstance(value, list) else []
        if not objects:
            return inner(_EMPTY)
        return any(inner(item) for item in objects)

    return check


_EMPTY: dict = {}


def _objects_in(values: list) -> list[dict]:
    """The objects in an array, nested arrays flattened (iteratively: records nest deep)."""
    out: list[dict] = []
    stack = [iter(values)]
    while stack:
        item = next(stack[-1], _MISSING)
        if item is _MISSING:
            stack.pop()
        elif isinstance(item, dict):
            out.append(item)
        elif isinstance(item, list):
            stack.append(iter(item))
    return out


def _leaves(value: Any) -> list:
    """The leaf values at a key: none if absent or an object, each element of an array
    (nested arrays flattened, objects in them skipped)."""
    if value is _MISSING or isinstance(value, dict):
        return []
    if not isinstance(value, list):
        return [value]
    out: list = []
    stack = [iter(value)]
    while stack:
        item = next(stack[-1], _MISSING)
        if item is _MISSING:
            stack.pop()
        elif isinstance(item, list):
            stack.append(iter(item))
        elif not isinstance(item, dict):
            out.append(item)
    return out


def _leaf(key: str, rules: tuple[frozenset, list[LeafRule], bool | None]) -> Matcher:
    """Key whose pattern is a list of rules: any leaf value satisfies any rule (or ``exists``)."""
    exact, predicates, exists = rules

    def check(obj: Any) -> bool:
        leaves = _leaves(obj.get(key, _MISSING))
        if exists is not None and bool(leaves) == exists:
            return True
        for value in leaves:
            if exact and _exact_key(value) in exact:
                return True
            for predicate in predicates:
                if predicate(value):
                    return True
        return False

    return check


# --- leaf rules -----------------------------------------------------------------------------------


def _exact_key(value: Any) -> tuple:
    """Exact matching is by type and text: "1" is not 1, true is not 1 (AWS compares the JSON
    representation; 300 and 300.0 differ)."""
    if value is None:
        return ("null",)
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, (int, float)):
        return ("number", repr(value))
    if isinstance(value, str):
        return ("string", value)
    return ("other", id(value))


def _compile_rules(rules: list) -> tuple[frozenset, list[LeafRule], bool | None]:
    """(exact values, predicates, exists flag) of one key's rule list."""
    if not rules:
        raise FilterCriteriaError()
    exact: set[tuple] = set()
    predicates: list[LeafRule] = []
    exists: bool | None = None
    for rule in rules:
        if isinstance(rule, dict):
            if len(rule) != 1:
                raise FilterCriteriaError()
            ((operator, operand),) = rule.items()
            if operator == "exists":
                if not isinstance(operand, bool) or exists is not None:
                    raise FilterCriteriaError()
                exists = operand
                continue
            predicates.append(_operator(operator, operand))
        elif isinstance(rule, list):
            raise FilterCriteriaError()
        else:
            exact.add(_exact_key(rule))
    return frozenset(exact), predicates, exists


def _operator(operator: str, operand: Any) -> LeafRule:
    compile_rule = _OPERATORS.get(operator)
    if compile_rule is None:
        raise FilterCriteriaError()
    return compile_rule(operand)


def _string(operand: Any) -> str:
    if not isinstance(operand, str):
        raise FilterCriteriaError()
    return operand


def _prefix(operand: Any) -> LeafRule:
    if isinstance(operand, dict):
        folded = _ignore_case_operand(operand).casefold()
        return lambda v: isinstance(v, str) and v.casefold().startswith(folded)
    text = _string(operand)
    return lambda v: isinstance(v, str) and v.startswith(text)


def _suffix(operand: Any) -> LeafRule:
    if isinstance(operand, dict):
        folded = _ignore_case_operand(operand).casefold()
        return lambda v: isinstance(v, str) and v.casefold().endswith(folded)
    text = _string(operand)
    return lambda v: isinstance(v, str) and v.endswith(text)


def _ignore_case_operand(operand: dict) -> str:
    """``{"prefix": {"equals-ignore-case": "x"}}`` (and suffix): the one string inside."""
    if len(operand) != 1 or "equals-ignore-case" not in operand:
        raise FilterCriteriaError()
    return _string(operand["equals-ignore-case"])


def _equals_ignore_case(operand: Any) -> LeafRule:
    folded = _string(operand).casefold()
    return lambda v: isinstance(v, str) and v.casefold() == folded


def _anything_but(operand: Any) -> LeafRule:
    """Any present value other than those named (values, a list, or a prefix/suffix/... rule)."""
    if isinstance(operand, dict):
        excluded = _anything_but_rule(operand)
        return lambda v: isinstance(v, str) and not excluded(v)
    values = operand if isinstance(operand, list) else [operand]
    if not values or any(isinstance(v, (dict, list, bool)) or v is None for v in values):
        raise FilterCriteriaError()
    kinds = {isinstance(v, str) for v in values}
    if len(kinds) != 1:  # strings or numbers, not both (Event Ruler refuses a mix)
        raise FilterCriteriaError()
    if kinds == {True}:
        banned_strings = frozenset(values)
        return lambda v: not (isinstance(v, str) and v in banned_strings)
    banned_numbers = frozenset(float(_numeric_bound(v)) for v in values)  # compared as numbers
    return lambda v: not (_is_number(v) and float(v) in banned_numbers)


def _anything_but_rule(operand: dict) -> LeafRule:
    if len(operand) != 1:
        raise FilterCriteriaError()
    ((operator, inner),) = operand.items()
    if operator == "equals-ignore-case":
        names = inner if isinstance(inner, list) else [inner]
        if not names:
            raise FilterCriteriaError()
        folded = frozenset(_string(name).casefold() for name in names)
        return lambda v: v.casefold() in folded
    if operator == "wildcard":
        patterns = inner if isinstance(inner, list) else [inner]
        if not patterns:
            raise FilterCriteriaError()
        rules = [_wildcard(p) for p in patterns]
        return lambda v: any(rule(v) for rule in rules)
    if operator in ("prefix", "suffix"):
        if not _string(inner):  # Event Ruler: "Null prefix/suffix not allowed"
            raise FilterCriteriaError()
        return _OPERATORS[operator](inner)
    raise FilterCriteriaError()


_NUMERIC_LOWER = {">": float.__gt__, ">=": float.__ge__}
_NUMERIC_UPPER = {"<": float.__lt__, "<=": float.__le__}


def _numeric(operand: Any) -> LeafRule:
    """``["=", n]``, or one lower bound and/or one upper bound, lower before upper."""
    if not isinstance(operand, list) or not operand or len(operand) % 2:
        raise FilterCriteriaError()
    pairs = [(operand[i], _numeric_bound(operand[i + 1])) for i in range(0, len(operand), 2)]
    if pairs[0][0] == "=":
        if len(pairs) != 1:
            raise FilterCriteriaError()
        target = pairs[0][1]
        return lambda v: _is_number(v) and float(v) == target
    checks = _numeric_checks(pairs)
    return lambda v: _is_number(v) and all(compare(float(v), bound) for compare, bound in checks)


def _numeric_checks(pairs: list[tuple[Any, float]]) -> list[tuple[Callable[[float, float], bool], float]]:
    lower = [(op, bound) for op, bound in pairs if op in _NUMERIC_LOWER]
    upper = [(op, bound) for op, bound in pairs if op in _NUMERIC_UPPER]
    if len(lower) > 1 or len(upper) > 1 or len(lower) + len(upper) != len(pairs):
        raise FilterCriteriaError()
    if lower and upper and (pairs[0][0] not in _NUMERIC_LOWER or lower[0][1] >= upper[0][1]):
        raise FilterCriteriaError()
    return [(_NUMERIC_LOWER[op], b) for op, b in lower] + [(_NUMERIC_UPPER[op], b) for op, b in upper]


def _numeric_bound(value: Any) -> float:
    if not _is_number(value) or not -NUMERIC_LIMIT <= value <= NUMERIC_LIMIT:
        raise FilterCriteriaError()
    return float(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _cidr(operand: Any) -> LeafRule:
    try:
        network = ipaddress.ip_network(_string(operand), strict=False)
    except ValueError:
        raise FilterCriteriaError() from None

    def check(value: Any) -> bool:
        if not isinstance(value, str):
            return False
        try:
            return ipaddress.ip_address(value) in network
        except ValueError:
            return False

    return check


def _wildcard(operand: Any) -> LeafRule:
    """``*`` matches any run of characters; ``\\*`` and ``\\\\`` are a literal star and
    backslash. Consecutive stars are refused (as Event Ruler refuses them)."""
    pieces = _wildcard_pieces(_string(operand))
    if len(pieces) == 1:
        literal = pieces[0]
        return lambda v: isinstance(v, str) and v == literal
    first, middle, last = pieces[0], pieces[1:-1], pieces[-1]
    shortest = sum(map(len, pieces))

    def check(value: Any) -> bool:
        if not isinstance(value, str) or len(value) < shortest:
            return False
        if not value.startswith(first) or not value.endswith(last):
            return False
        position, end = len(first), len(value) - len(last)
        for piece in middle:  # leftmost placement of each piece leaves the most room after it
            found = value.find(piece, position, end)
            if found < 0:
                return False
            position = found + len(piece)
        return True

    return check


def _wildcard_pieces(text: str) -> list[str]:
    """The literal pieces between unescaped stars."""
    pieces, current, index = [], [], 0
    while index < len(text):
        char = text[index]
        if char == "\\":
            if index + 1 >= len(text) or text[index + 1] not in "*\\":
                raise FilterCriteriaError()
            current.append(text[index + 1])
            index += 2
            continue
        if char == "*":
            if text[index + 1 : index + 2] == "*":
                raise FilterCriteriaError()
            pieces.append("".join(current))
            current = []
        else:
            current.append(char)
        index += 1
    pieces.append("".join(current))
    return pieces


_OPERATORS: dict[str, Callable[[Any], LeafRule]] = {
    "prefix": _prefix,
    "suffix": _suffix,
    "equals-ignore-case": _equals_ignore_case,
    "anything-but": _anything_but,
    "numeric": _numeric,
    "cidr": _cidr,
    "wildcard": _wildcard,
}
