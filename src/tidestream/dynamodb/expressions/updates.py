"""UpdateExpression: bind and validate once per request, then apply to an item copy-on-write.

All SET values are computed from the item as it was before the update (as DynamoDB does), then
actions are applied to a shallow copy of the item; only the containers on a modified path are
copied, so the caller's item (the old image) is never mutated and untouched nested data is
shared, not deep-copied.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ...errors import ValidationException
from .. import numbers
from . import ast as A
from .attributes import Names, Values, check_defined, resolve_path
from .conditions import Const
from .values import SET_TYPES, AttributeValue, Item, ResolvedPath, get_path, path_problem, path_text, type_of

_OPERAND_TYPE_NAMES = {
    "S": "STRING",
    "N": "NUMBER",
    "B": "BINARY",
    "NULL": "NULL",
    "BOOL": "BOOLEAN",
    "L": "LIST",
    "M": "MAP",
}
_MISMATCH = object()


def _invalid_path() -> ValidationException:
    return ValidationException("The document path provided in the update expression is invalid for update")


def _bad_operand() -> ValidationException:
    return ValidationException("An operand in the update expression has an incorrect data type")


def _missing_attribute() -> ValidationException:
    return ValidationException(
        "The provided expression refers to an attribute that does not exist in the item"
    )


@dataclass(frozen=True, slots=True)
class _Set:
    path: ResolvedPath
    value: object  # bound value tree: Const, A.Path (resolved), A.Call, A.Arith


@dataclass(frozen=True, slots=True)
class _Remove:
    path: ResolvedPath


@dataclass(frozen=True, slots=True)
class _Change:
    kind: str  # ADD / DELETE
    path: ResolvedPath
    value: AttributeValue


class Update:
    """A bound UpdateExpression. ``apply(item)`` returns the new item; ``paths`` lists every
    document path the update writes (in source order) and ``attributes`` their top-level names,
    for ReturnValues=UPDATED_OLD/UPDATED_NEW."""

    __slots__ = ("sets", "removes", "adds", "deletes", "paths", "attributes")

    def __init__(
        self,
        sets: list[_Set],
        removes: list[_Remove],
        adds: list[_Change],
        deletes: list[_Change],
        paths: tuple[ResolvedPath, ...],
    ) -> None:
        self.sets = sets
        # list-index removals run last and highest index first, so every index in the
        # expression refers to the list as it was before the update
        self.removes = sorted(
            removes, key=lambda c: (type(c.path[-1]) is int, -c.path[-1] if type(c.path[-1]) is int else 0)
        )
        self.adds = adds
        self.deletes = deletes
        self.paths = paths
        self.attributes = frozenset(p[0] for p in paths)

    def apply(self, item: Item | None) -> Item:
        """The updated item (``item`` may be None/empty for an upsert); ``item`` is not modified."""
        old = item or {}
        computed = [(s.path, _evaluate(s.value, old)) for s in self.sets]
        new = dict(old)
        fresh: set[int] = set()
        for path, value in computed:
            _store(_existing_parent(new, path, fresh), path[-1], value)
        for removal in self.removes:
            container = _parent_if_any(new, removal.path, fresh)
            if container is not None:
                _discard(container, removal.path[-1])
        for change in self.adds:
            container = _existing_parent(new, change.path, fresh)
            current = _child(container, change.path[-1])
            _store(container, change.path[-1], _add(current, change.value))
        for change in self.deletes:
            _apply_delete(new, change, fresh)
        return new


def _existing_parent(item: Item, path: ResolvedPath, fresh: set[int]) -> Any:
    """SET and ADD need the parent of their path to exist (and be of the right kind)."""
    container = _parent(item, path, fresh)
    if container is None or container is _MISMATCH:
        raise _invalid_path()
    return container


def _parent_if_any(item: Item, path: ResolvedPath, fresh: set[int]) -> Any:
    """REMOVE and DELETE on a missing parent do nothing, but a wrong-kind parent is an error."""
    container = _parent(item, path, fresh)
    if container is _MISMATCH:
        raise _invalid_path()
    return container


def _apply_delete(item: Item, change: _Change, fresh: set[int]) -> None:
    """DELETE takes elements out of a set; the attribute goes when its set becomes empty."""
    container = _parent_if_any(item, change.path, fresh)
    if container is None:
        return
    current = _child(container, change.path[-1])
    if current is None:
        return
    remaining = _delete(current, change.value)
    if remaining is None:
        _discard(container, change.path[-1])
    else:
        _store(container, change.path[-1], remaining)


def compile_update(
    parsed: A.Parsed, names: Names = None, values: Values = None, key_attributes: Iterable[str] = ()
) -> Update:
    """Bind a parsed UpdateExpression: resolve placeholders, reject overlapping/conflicting
    paths, key attribute updates and operands of the wrong type (DynamoDB's messages)."""
    check_defined(parsed, names, values)
    tree: A.UpdateTree = parsed.tree  # type: ignore[assignment]
    label = parsed.label
    paths = _resolved_paths(tree, names, label)
    _check_no_key_updates(paths, key_attributes)
    errors: dict[str, str] = {}
    by_action = dict(zip(map(id, tree.actions), paths))
    sets = [_Set(by_action[id(a)], _bind_value(a.value, names, values, errors)) for a in tree.sets]
    removes = [_Remove(by_action[id(a)]) for a in tree.removes]
    adds = _bind_changes("ADD", tree.adds, by_action, values, errors)
    deletes = _bind_changes("DELETE", tree.deletes, by_action, values, errors)
    for kind in ("operand", "function"):
        if kind in errors:
            raise ValidationException(f"Invalid {label}: {errors[kind]}")
    return Update(sets, removes, adds, deletes, tuple(paths))


def _resolved_paths(tree: A.UpdateTree, names: Names, label: str) -> list[ResolvedPath]:
    """Every action's path, in source order; DynamoDB reports the first overlap before the
    first conflict, whichever pair came first in the expression."""
    paths: list[ResolvedPath] = []
    overlap: str | None = None
    conflict: str | None = None
    for action in tree.actions:
        path = resolve_path(action.path, names)
        for earlier in paths:
            problem = path_problem(earlier, path)
            if problem == "overlap" and overlap is None:
                overlap = (
                    "Two document paths overlap with each other; must remove or rewrite one "
                    f"of these paths; path one: {path_text(earlier)}, path two: {path_text(path)}"
                )
            elif problem == "conflict" and conflict is None:
                conflict = (
                    "Two document paths conflict with each other; must remove or rewrite one "
                    f"of these paths; path one: {path_text(earlier)}, path two: {path_text(path)}"
                )
        paths.append(path)
    for message in (overlap, conflict):
        if message:
            raise ValidationException(f"Invalid {label}: {message}")
    return paths


def _check_no_key_updates(paths: list[ResolvedPath], key_attributes: Iterable[str]) -> None:
    keys = set(key_attributes)
    for path in paths:
        if path[0] in keys:
            raise ValidationException(
                "One or more parameter values were invalid: Cannot update attribute "
                f"{path[0]}. This attribute is part of the key"
            )


def _bind_changes(
    kind: str,
    actions: Iterable[Any],
    by_action: dict[int, ResolvedPath],
    values: Values,
    errors: dict[str, str],
) -> list[_Change]:
    """ADD takes a number or a set, DELETE only a set; the first wrong operand is remembered."""
    out: list[_Change] = []
    for a in actions:
        value = values[a.value.name]  # type: ignore[index]
        t = type_of(value)
        if t in _OPERAND_TYPE_NAMES and not (kind == "ADD" and t == "N"):
            errors.setdefault(
                "operand",
                "Incorrect operand type for operator or function; "
                f"operator: {kind}, operand type: {_OPERAND_TYPE_NAMES[t]}",
            )
        out.append(_Change(kind, by_action[id(a)], value))
    return out


def _bind_value(node, names: Names, values: Values, errors: dict[str, str]):
    t = type(node)
    if t is A.ValueRef:
        return Const(values[node.name])  # type: ignore[index]
    if t is A.Path:
        return A.Path(resolve_path(node, names))
    if t is A.Arith or t is A.Call:
        args = (node.left, node.right) if t is A.Arith else node.args
        bound = tuple(_bind_value(a, names, values, errors) for a in args)
        name = node.op if t is A.Arith else node.name
        wanted = {"+": "N", "-": "N", "list_append": "L"}.get(name)
        if wanted:
            for b in bound:
                if type(b) is Const and type_of(b.value) != wanted:
                    errors.setdefault(
                        "function",
                        "Incorrect operand type for operator or function; "
                        f"operator or function: {name}, operand type: "
                        f"{type_of(b.value)}",
                    )
                    break
        return A.Arith(node.op, *bound) if t is A.Arith else A.Call(node.name, bound)
    raise TypeError(f"unexpected update value {node!r}")


def _evaluate(node, item: Item) -> AttributeValue:
    t = type(node)
    if t is Const:
        return node.value
    if t is A.Path:
        value = get_path(item, node.elements)
        if value is None:
            raise _missing_attribute()
        return value
    if t is A.Arith:
        a, b = _evaluate(node.left, item), _evaluate(node.right, item)
        if "N" not in a or "N" not in b:
            raise _bad_operand()
        op = numbers.add if node.op == "+" else numbers.subtract
        return {"N": op(a["N"], b["N"])}
    if node.name == "if_not_exists":
        existing = get_path(item, node.args[0].elements)
        return existing if existing is not None else _evaluate(node.args[1], item)
    a, b = _evaluate(node.args[0], item), _evaluate(node.args[1], item)  # list_append
    if "L" not in a or "L" not in b:
        raise _bad_operand()
    return {"L": a["L"] + b["L"]}


def _child(container: dict | list, step) -> AttributeValue | None:
    if isinstance(container, list):
        return container[step] if step < len(container) else None
    return container.get(step)


def _parent(item: Item, path: ResolvedPath, fresh: set[int]):
    """The writable container (dict or list) holding ``path[-1]``, copying containers on the
    way that this update has not copied yet; None if a step is missing, _MISMATCH if a step
    has the wrong type for the next path element."""
    container: dict | list = item
    for i in range(len(path) - 1):
        step = path[i]
        value = _child(container, step)
        if value is None:
            return None
        kind = "L" if type(path[i + 1]) is int else "M"
        inner = value.get(kind)
        if inner is None:
            return _MISMATCH
        if id(value) not in fresh:
            value = {kind: list(inner) if kind == "L" else dict(inner)}
            fresh.add(id(value))
            container[step] = value
            inner = value[kind]
        container = inner
    return container


def _store(container: dict | list, step, value: AttributeValue) -> None:
    if type(container) is list and step >= len(container):
        container.append(value)  # SET beyond the end of a list appends
    else:
        container[step] = value


def _discard(container: dict | list, step) -> None:
    if isinstance(container, list):
        if step < len(container):
            del container[step]
    else:
        container.pop(step, None)


def _add(current: AttributeValue | None, value: AttributeValue) -> AttributeValue:
    t = type_of(value)
    if current is None:
        return value
    if t not in current:
        raise _bad_operand()
    if t == "N":
        return {"N": numbers.add(current["N"], value["N"])}
    existing = current[t]
    seen = set(existing)
    merged = list(existing)
    for element in value[t]:
        if element not in seen:
            seen.add(element)
            merged.append(element)
    return {t: merged}


def _delete(current: AttributeValue, value: AttributeValue) -> AttributeValue | None:
    t = type_of(value)
    if t not in SET_TYPES or t not in current:
        raise _bad_operand()
    drop = set(value[t])
    remaining = [e for e in current[t] if e not in drop]
    return {t: remaining} if remaining else None


__all__ = ["Update", "compile_update"]
