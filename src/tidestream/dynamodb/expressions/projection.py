"""ProjectionExpression: pick document paths out of an item, keeping their nesting.

Nested map keys keep their structure; list elements named by index are gathered in index order
into a compacted list (``a[3], a[1]`` yields a two-element list), as DynamoDB returns them.
Paths that do not exist in the item are silently skipped.
"""

from __future__ import annotations

from collections.abc import Iterable

from ...errors import ValidationException
from . import ast as A
from .attributes import Names, check_defined, resolve_path
from .values import AttributeValue, Item, ResolvedPath, path_problem, path_text


class Projection:
    """A bound ProjectionExpression; ``apply(item)`` returns the projected item."""

    __slots__ = ("paths", "_top_level")

    def __init__(self, paths: tuple[ResolvedPath, ...]) -> None:
        self.paths = paths
        self._top_level = tuple(p[0] for p in paths) if all(len(p) == 1 for p in paths) else None

    def apply(self, item: Item) -> Item:
        if self._top_level is not None:
            return {name: item[name] for name in self._top_level if name in item}
        return project(item, self.paths)


def compile_projection(parsed: A.Parsed, names: Names = None) -> Projection:
    """Resolve ``#aliases`` and reject overlapping or conflicting paths."""
    check_defined(parsed, names, None)
    paths: list[ResolvedPath] = []
    overlap = conflict = None
    for path in parsed.tree:  # type: ignore[attr-defined]
        resolved = resolve_path(path, names)
        for earlier in paths:
            problem = path_problem(earlier, resolved)
            pair = f"path one: {path_text(earlier)}, path two: {path_text(resolved)}"
            if problem == "overlap" and overlap is None:
                overlap = (
                    "Two document paths overlap with each other; must remove or rewrite "
                    f"one of these paths; {pair}"
                )
            elif problem == "conflict" and conflict is None:
                conflict = (
                    "Two document paths conflict with each other; must remove or rewrite "
                    f"one of these paths; {pair}"
                )
        paths.append(resolved)
    for message in (overlap, conflict):
        if message:
            raise ValidationException(f"Invalid {parsed.label}: {message}")
    return Projection(tuple(paths))


def project(item: Item, paths: Iterable[ResolvedPath]) -> Item:
    """Project resolved paths out of ``item`` (also usable for ReturnValues UPDATED_*)."""
    # Build a sparse tree: dict nodes keyed by str (map) or int (list); leaves are values.
    root: dict = {}
    for path in paths:
        value = item.get(path[0])
        if value is None:
            continue
        for step in path[1:]:
            inner = value.get("L") if type(step) is int else value.get("M")
            if inner is None:
                value = None
                break
            if type(step) is int:
                value = inner[step] if step < len(inner) else None
            else:
                value = inner.get(step)
            if value is None:
                break
        if value is None:
            continue
        node = root
        for step in path[:-1]:
            node = node.setdefault(step, {})
        node[path[-1]] = _Leaf(value)
    return {name: _build(child) for name, child in root.items()}


class _Leaf:
    __slots__ = ("value",)

    def __init__(self, value: AttributeValue) -> None:
        self.value = value


def _build(node) -> AttributeValue:
    if type(node) is _Leaf:
        return node.value
    keys = list(node)
    if keys and type(keys[0]) is int:
        return {"L": [_build(node[k]) for k in sorted(keys)]}
    return {"M": {k: _build(v) for k, v in node.items()}}
