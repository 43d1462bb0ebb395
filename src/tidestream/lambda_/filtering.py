"""Event filtering for event source mappings (FilterCriteria): a minimal stand-in.

Only exact-value matching: a pattern is a JSON object whose leaves are lists of allowed values;
a record matches a pattern when every leaf's field (at that path in the record; for Kinesis in
the record's ``kinesis`` object, where ``data`` is) equals one of them, and it is kept when it
matches any filter. The full pattern syntax (prefix, numeric,
exists, anything-but, ...) comes with the complete module that replaces this one, with the
same interface.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson


class FilterCriteriaError(Exception):
    """A FilterCriteria AWS refuses; ``message`` is the InvalidParameterValueException text."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


INVALID = "Invalid filter pattern definition."


def _patterns(criteria: dict) -> list[dict]:
    patterns = []
    for entry in criteria.get("Filters") or []:
        text = entry.get("Pattern")
        try:
            pattern = orjson.loads(text) if isinstance(text, str) else None
        except orjson.JSONDecodeError:
            pattern = None
        if not isinstance(pattern, dict) or not _well_formed(pattern):
            raise FilterCriteriaError(INVALID)
        patterns.append(pattern)
    return patterns


def _well_formed(pattern: dict) -> bool:
    for value in pattern.values():
        if isinstance(value, dict):
            if not _well_formed(value):
                return False
        elif not isinstance(value, list) or not value:
            return False
    return True


def validate_filter_criteria(criteria: dict) -> None:
    _patterns(criteria)


def _matches(pattern: dict, record: Any) -> bool:
    if not isinstance(record, dict):
        return False
    for name, wanted in pattern.items():
        if name not in record:
            return False
        if isinstance(wanted, dict):
            if not _matches(wanted, record[name]):
                return False
        elif record[name] not in wanted:
            return False
    return True


def compile_filters(criteria: dict | None) -> Callable[[dict], bool] | None:
    """A predicate over one event record (Kinesis ``data`` decoded), or None without filters."""
    if not criteria:
        return None
    patterns = _patterns(criteria)
    if not patterns:
        return None
    return lambda record: any(_matches(p, view) for p in patterns for view in _views(record))


def _views(record: dict) -> list[Any]:
    """What a pattern is matched against: a Kinesis record's fields (``data``, ``partitionKey``,
    as AWS's Kinesis filters name them), or the record itself (DynamoDB: ``dynamodb``, ...)."""
    return [record["kinesis"], record] if "kinesis" in record else [record]
