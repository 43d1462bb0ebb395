"""DynamoDB expression languages: Condition/Filter, KeyCondition, Update and Projection.

Every expression goes through two steps:

1. **parse** (cached by expression text, placeholder-free, safe to share between requests)::

       parse_condition(text, label="ConditionExpression" | "FilterExpression"
                       | "KeyConditionExpression") -> Parsed
       parse_update(text) -> Parsed
       parse_projection(text) -> Parsed

2. **compile** against one request's ExpressionAttributeNames/Values (cheap, per request)::

       compile_condition(parsed, names, values) -> Callable[[item], bool]
       compile_key_condition(parsed, names, values, key_schema) -> KeyCondition
       compile_update(parsed, names, values, key_attributes=()) -> Update   # .apply(item) -> item
       compile_projection(parsed, names) -> Projection                      # .apply(item) -> item

Request-level checks::

       check_attribute_maps(names, values)      # empty maps / malformed keys (before parsing)
       check_expression_attributes([parsed...], names, values)
           # undefined placeholders, then entries unused by all of the request's expressions;
           # call after compiling, with expressions in the order Update, Condition,
           # KeyCondition, Filter, Projection (None entries are skipped)

Everything a user can get wrong raises :class:`tidestream.errors.ValidationException` with
DynamoDB's message (``Invalid <Label>: ...`` for expression errors). Items are the internal
model of :mod:`tidestream.dynamodb`; pass ``{}`` for a missing item. ``project(item, paths)``
projects already-resolved paths (e.g. ``Update.paths`` for ReturnValues=UPDATED_NEW).
"""

from __future__ import annotations

from .ast import Parsed
from .attributes import check_attribute_maps, check_expression_attributes
from .conditions import compile_condition
from .keyconditions import KeyCondition, SortCondition, compile_key_condition
from .parser import parse_condition, parse_projection, parse_update
from .projection import Projection, compile_projection, project
from .updates import Update, compile_update

__all__ = [
    "Parsed",
    "parse_condition",
    "parse_update",
    "parse_projection",
    "compile_condition",
    "compile_key_condition",
    "compile_update",
    "compile_projection",
    "KeyCondition",
    "SortCondition",
    "Update",
    "Projection",
    "project",
    "check_attribute_maps",
    "check_expression_attributes",
]
