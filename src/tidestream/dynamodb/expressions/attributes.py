"""ExpressionAttributeNames / ExpressionAttributeValues: resolution and usage checks.

DynamoDB rejects placeholders that an expression uses but the request does not define, and map
entries that no expression of the request uses; usage is counted across all expressions of the
request (e.g. condition + update + projection), so the unused check needs every parsed
expression at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from ...errors import ValidationException
from . import ast as A
from .values import AttributeValue, ResolvedPath

_NAME_KEY = re.compile(r"#[0-9A-Za-z_]+\Z")
_VALUE_KEY = re.compile(r":[0-9A-Za-z_]+\Z")

Names = Mapping[str, str] | None
Values = Mapping[str, AttributeValue] | None


def undefined_name(label: str, alias: str) -> ValidationException:
    return ValidationException(
        f"Invalid {label}: An expression attribute name used in the document "
        f"path is not defined; attribute name: {alias}"
    )


def undefined_value(label: str, ref: str) -> ValidationException:
    return ValidationException(
        f"Invalid {label}: An expression attribute value used in expression "
        f"is not defined; attribute value: {ref}"
    )


def check_defined(parsed: A.Parsed, names: Names, values: Values) -> None:
    """Raise for the first placeholder ``parsed`` uses that the request does not define."""
    for alias in parsed.names_used:
        if not names or alias not in names:
            raise undefined_name(parsed.label, alias)
    for ref in parsed.values_used:
        if not values or ref not in values:
            raise undefined_value(parsed.label, ref)


def resolve_path(path: A.Path, names: Names) -> ResolvedPath:
    """Replace ``#aliases`` in a parsed path by the names they stand for (names already checked)."""
    elements = path.elements
    if names is None:
        return elements  # no names: check_defined has refused any #alias, so these are plain
    return tuple(names[e.name] if type(e) is A.Alias else e for e in elements)


def check_attribute_maps(names: Names, values: Values) -> None:
    """Shape checks DynamoDB applies to the maps themselves, before parsing any expression."""
    if names is not None:
        if not names:
            raise ValidationException("ExpressionAttributeNames must not be empty")
        for key in names:
            if not _NAME_KEY.match(key):
                raise ValidationException(
                    f'ExpressionAttributeNames contains invalid key: Syntax error; key: "{key}"'
                )
    if values is not None:
        if not values:
            raise ValidationException("ExpressionAttributeValues must not be empty")
        for key in values:
            if not _VALUE_KEY.match(key):
                raise ValidationException(
                    f'ExpressionAttributeValues contains invalid key: Syntax error; key: "{key}"'
                )


def check_expression_attributes(parsed: Iterable[A.Parsed | None], names: Names, values: Values) -> None:
    """Undefined placeholders (first expression first), then unused map entries, across the
    request's expressions. Pass them in DynamoDB's order: Update, Condition, KeyCondition,
    Filter, Projection; ``None`` entries are skipped."""
    used_names: set[str] = set()
    used_values: set[str] = set()
    for p in parsed:
        if p is None:
            continue
        check_defined(p, names, values)
        used_names.update(p.names_used)
        used_values.update(p.values_used)
    if names:
        unused = [k for k in names if k not in used_names]
        if unused:
            raise ValidationException(
                "Value provided in ExpressionAttributeNames unused in "
                f"expressions: keys: {{{', '.join(unused)}}}"
            )
    if values:
        unused = [k for k in values if k not in used_values]
        if unused:
            raise ValidationException(
                "Value provided in ExpressionAttributeValues unused in "
                f"expressions: keys: {{{', '.join(unused)}}}"
            )
