"""BatchGetItem and BatchWriteItem.

All items of a BatchWriteItem are checked before any is written, then written in one atomic
commit (AWS is not atomic here; being atomic is allowed and simpler to reason about). Nothing is
ever left unprocessed, so UnprocessedKeys/UnprocessedItems are always empty.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ...context import RequestContext
from ...errors import ValidationException
from ..attributes import current_value_layer, from_wire_item
from ..capacity import Consumed, add_collection_metrics, item_read_units, wants_capacity
from ..keys import validate_key
from ..request import ReadExpressions
from ..state import DynamoState, schema_of
from ..tables import Table
from ..writes import ItemWrite, applied, plan_delete, plan_put, read_modify_write_all
from . import operation

if TYPE_CHECKING:
    from ...protocol.shapes.dynamodb import BatchGetItemInput, BatchWriteItemInput


MAX_GET = 100
MAX_WRITE = 25


def _wire_key_id(wire_key: dict) -> str:
    """A key's identity before the schema is known: same attributes, same typed values."""
    return json.dumps(wire_key, sort_keys=True, default=str)


def _check_batch_get(requests: dict) -> dict[str, ReadExpressions]:
    """Everything AWS checks before any table lookup: the key count across tables, each
    table's expressions and keys repeated verbatim."""
    total = sum(len(r.get("Keys") or []) for r in requests.values())
    if total > MAX_GET:
        raise ValidationException("Too many items requested for the BatchGetItem call")
    legacy_tables = [r for r in requests.values() if r.get("AttributesToGet") is not None]
    if (
        legacy_tables
        and len(legacy_tables) < len(requests)
        and any(r.get("ProjectionExpression") is not None for r in requests.values())
    ):
        # one table's AttributesToGet beside another's ProjectionExpression: the request mixes
        # the two styles (paritysuite dynamodb-conformance, error-messages/batchGetItem)
        raise ValidationException(
            "Can not use both expression and non-expression parameters in the same request: "
            "Non-expression parameters: {AttributesToGet} Expression parameters: {ProjectionExpression}"
        )
    parsed = {}
    for name, r in requests.items():
        parsed[name] = ReadExpressions.from_request(r, "BatchGetItem")
        keys = r["Keys"]
        if len(keys) > 1 and len({_wire_key_id(k) for k in keys}) != len(keys):
            raise ValidationException("Provided list of item keys contains duplicates")
    return parsed


@operation("BatchGetItem")
@current_value_layer(envelope=False)
def batch_get(state: DynamoState, ctx: RequestContext, p: BatchGetItemInput) -> dict:
    requests = p["RequestItems"]
    expressions = _check_batch_get(requests)
    plans = []
    for name, r in requests.items():
        table = state.table(ctx, name)
        ex = expressions[name]
        schema = schema_of(table)
        keys = []
        seen = set()
        for wire_key in r["Keys"]:
            key = from_wire_item(wire_key)
            validate_key(key, schema)
            k = state.items.item_key(table, key)
            if k in seen:  # the same key spelled differently (e.g. numbers 1 and 1.0)
                raise ValidationException("Provided list of item keys contains duplicates")
            seen.add(k)
            keys.append(k)
        plans.append((name, table, ex, keys, bool(r.get("ConsistentRead"))))
    responses: dict[str, list] = {}
    capacity = []
    mode = p.get("ReturnConsumedCapacity")
    for name, table, ex, keys, consistent in plans:
        got = responses.setdefault(name, [])
        units = 0.0
        for k in keys:
            item = state.items.get(k)
            units += item_read_units(item, consistent)
            if item is not None:
                got.append(ex.project(item))
        if wants_capacity(mode):
            c = Consumed(table.name)
            c.add_table(units)
            capacity.append(c.render(mode))
    out: dict[str, Any] = {"Responses": responses, "UnprocessedKeys": {}}
    if capacity:
        out["ConsumedCapacity"] = capacity
    return out


def _check_write_request(name: str, r: Mapping[str, Any]) -> None:
    """Exactly one of PutRequest and DeleteRequest (no table needed: before the lookup)."""
    put, delete = r.get("PutRequest"), r.get("DeleteRequest")
    if (put is None) == (delete is None):
        raise ValidationException(
            "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes"
            if put is not None
            else "1 validation error detected: Value null at 'requestItems."
            + name
            + ".member.writeRequest' failed to satisfy constraint: Member must not be null"
        )


def _plan_batch_write(state: DynamoState, table: Table, r: Mapping[str, Any]) -> ItemWrite:
    put = r.get("PutRequest")
    if put is not None:
        return plan_put(state.items, table, put["Item"], None, schema_mismatch=True)
    return plan_delete(state.items, table, r["DeleteRequest"]["Key"], None)


@operation("BatchWriteItem")
def batch_write(state: DynamoState, ctx: RequestContext, p: BatchWriteItemInput) -> dict:
    requests = p["RequestItems"]
    total = sum(len(r) for r in requests.values())
    if total > MAX_WRITE:
        raise ValidationException("Too many items requested for the BatchWriteItem call")
    for name, reqs in requests.items():
        for r in reqs:
            _check_write_request(name, r)
    writes: list[ItemWrite] = []
    for name, reqs in requests.items():
        table = state.table(ctx, name)
        seen = set()
        for r in reqs:
            w = _plan_batch_write(state, table, r)
            if w.key in seen:
                raise ValidationException("Provided list of item keys contains duplicates")
            seen.add(w.key)
            writes.append(w)
    outcomes = read_modify_write_all(state.items, writes)
    out: dict[str, Any] = {"UnprocessedItems": {}}
    mode = p.get("ReturnConsumedCapacity")
    if wants_capacity(mode):
        consumed: dict[str, Consumed] = {}
        for w, outcome in zip(writes, outcomes):
            old, new = applied(outcome)  # no conditions: never refused
            consumed.setdefault(w.table.name, Consumed(w.table.name)).add_write(old, new, schema_of(w.table))
        out["ConsumedCapacity"] = [c.render(mode) for c in consumed.values()]
    add_collection_metrics(out, p, writes, outcomes)
    return out
