"""BatchGetItem and BatchWriteItem.

All items of a BatchWriteItem are checked before any is written, then written in one atomic
commit (AWS is not atomic here; being atomic is allowed and simpler to reason about). Nothing is
ever left unprocessed, so UnprocessedKeys/UnprocessedItems are always empty.
"""

from __future__ import annotations

from typing import Any

from ...context import RequestContext
from ...errors import ValidationException
from ..attributes import from_wire_item
from ..capacity import Consumed, item_read_units, wants_capacity
from ..itemstore import Change
from ..keys import validate_item_keys, validate_key
from ..request import ReadExpressions
from ..sizes import check_item_size
from ..state import DynamoState, schema_of
from . import operation

MAX_GET = 100
MAX_WRITE = 25


@operation("BatchGetItem")
def batch_get(state: DynamoState, ctx: RequestContext, p: dict) -> dict:
    requests = p["RequestItems"]
    total = sum(len(r.get("Keys") or []) for r in requests.values())
    if total > MAX_GET:
        raise ValidationException("Too many items requested for the BatchGetItem call")
    plans = []
    for name, r in requests.items():
        table = state.table(ctx, name)
        ex = ReadExpressions.from_request(r, "BatchGetItem")
        schema = schema_of(table)
        keys = []
        seen = set()
        for wire_key in r["Keys"]:
            key = from_wire_item(wire_key)
            validate_key(key, schema)
            k = state.items.item_key(table, key)
            if k in seen:
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


@operation("BatchWriteItem")
def batch_write(state: DynamoState, ctx: RequestContext, p: dict) -> dict:
    requests = p["RequestItems"]
    total = sum(len(r) for r in requests.values())
    if total > MAX_WRITE:
        raise ValidationException("Too many items requested for the BatchWriteItem call")
    planned = []
    for name, reqs in requests.items():
        table = state.table(ctx, name)
        schema = schema_of(table)
        seen = set()
        for r in reqs:
            put, delete = r.get("PutRequest"), r.get("DeleteRequest")
            if (put is None) == (delete is None):
                raise ValidationException(
                    "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes"
                    if put is not None else
                    "1 validation error detected: Value null at 'requestItems." + name +
                    ".member.writeRequest' failed to satisfy constraint: Member must not be null")
            if put is not None:
                item = from_wire_item(put["Item"])
                validate_item_keys(item, schema, schema_mismatch=True)
                check_item_size(item)
            else:
                item = None
                key = from_wire_item(delete["Key"])
                validate_key(key, schema)
            k = state.items.item_key(table, item if item is not None else key)
            if k in seen:
                raise ValidationException("Provided list of item keys contains duplicates")
            seen.add(k)
            planned.append((table, k, item))
    changes = []
    consumed: dict[str, Consumed] = {}
    mode = p.get("ReturnConsumedCapacity")
    for table, k, item in planned:
        old = state.items.get(k)
        if wants_capacity(mode):
            consumed.setdefault(table.name, Consumed(table.name)).add_write(old, item, schema_of(table))
        if old is None and item is None:
            continue
        changes.append(Change(table, k, old, item))
    if changes:
        state.items.commit(changes)
    out: dict[str, Any] = {"UnprocessedItems": {}}
    if consumed:
        out["ConsumedCapacity"] = [c.render(mode) for c in consumed.values()]
    return out
