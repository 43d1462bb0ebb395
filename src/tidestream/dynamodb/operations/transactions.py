"""TransactWriteItems and TransactGetItems.

The event loop runs one request at a time and every commit is one atomic engine batch, so a
transaction is serializable by construction: check all conditions, then commit all changes
together. ClientRequestToken makes a TransactWriteItems idempotent for 10 minutes.
"""

from __future__ import annotations

from typing import Any


from ...context import RequestContext
from ...errors import (AwsError, TransactionCanceledException, ValidationException)
from ..attributes import from_wire_item
from ..idempotency import fingerprint
from ..capacity import Consumed, item_read_units, wants_capacity
from ..itemstore import Change
from ..keys import validate_item_keys, validate_key
from ..request import ReadExpressions, WriteExpressions
from ..sizes import check_item_size
from ..state import DynamoState, schema_of
from . import operation

_ACTIONS = ("ConditionCheck", "Put", "Delete", "Update")


def _one_action(entry: dict) -> tuple[str, dict]:
    present = [a for a in _ACTIONS if entry.get(a) is not None]
    if len(present) != 1:
        raise ValidationException(
            "TransactItems can only contain one of Check, Put, Update or Delete")
    return present[0], entry[present[0]]


def _cancel(reasons: list[dict]) -> TransactionCanceledException:
    codes = ", ".join(r["Code"] for r in reasons)
    return TransactionCanceledException(
        f"Transaction cancelled, please refer cancellation reasons for specific reasons [{codes}]",
        extra={"CancellationReasons": reasons})


@operation("TransactWriteItems")
def transact_write(state: DynamoState, ctx: RequestContext, p: dict) -> dict:
    token = p.get("ClientRequestToken")
    if token:
        digest = fingerprint("TransactWriteItems", p.get("TransactItems"))
        seen = state.transaction_tokens.replay(ctx.account_id, token, digest)
        if seen is not None:
            return seen
    items = p["TransactItems"]
    plans = []
    keys_seen = set()
    for entry in items:
        action, a = _one_action(entry)
        table = state.table(ctx, a["TableName"])
        schema = schema_of(table)
        ex = WriteExpressions.from_request(a, "Transact" + action, table.key_names)
        if action == "Put":
            item = from_wire_item(a["Item"])
            validate_item_keys(item, schema)
            check_item_size(item)
            key_item = item
        else:
            item = None
            key_item = from_wire_item(a["Key"])
            validate_key(key_item, schema)
        k = state.items.item_key(table, key_item)
        if k in keys_seen:
            raise ValidationException(
                "Transaction request cannot include multiple operations on one item")
        keys_seen.add(k)
        plans.append((action, a, table, ex, k, item, key_item))
    reasons: list[dict] = []
    changes: list[Change] = []
    failed = False
    for action, a, table, ex, k, item, key_item in plans:
        old = state.items.get(k)
        if not ex.condition_holds(old):
            r: dict[str, Any] = {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"}
            if a.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and old is not None:
                r["Item"] = old
            reasons.append(r)
            failed = True
            continue
        try:
            if action == "Put":
                changes.append(Change(table, k, old, item))
            elif action == "Delete":
                if old is not None:
                    changes.append(Change(table, k, old, None))
            elif action == "Update":
                new = ex.apply_update(old, key_item)
                validate_item_keys(new, schema_of(table), update=True)
                check_item_size(new)
                if new != old:
                    changes.append(Change(table, k, old, new))
        except AwsError as err:
            if err.code != "ValidationException":
                raise
            reasons.append({"Code": "ValidationError", "Message": err.message})
            failed = True
            continue
        reasons.append({"Code": "None"})
    if failed:
        raise _cancel(reasons)
    if changes:
        state.items.commit(changes)
    out: dict[str, Any] = {}
    mode = p.get("ReturnConsumedCapacity")
    if wants_capacity(mode):
        per: dict[str, Consumed] = {}
        for ch in changes:
            c = per.setdefault(ch.table.name, Consumed(ch.table.name, split="WriteCapacityUnits"))
            c.add_write(ch.old, ch.new, schema_of(ch.table), transactional=True)
        out["ConsumedCapacity"] = [c.render(mode) for c in per.values()]
    if token:
        state.transaction_tokens.remember(ctx.account_id, token, digest, out)
    return out


@operation("TransactGetItems")
def transact_get(state: DynamoState, ctx: RequestContext, p: dict) -> dict:
    plans = []
    for entry in p["TransactItems"]:
        g = entry.get("Get")
        if g is None:
            raise ValidationException("1 validation error detected: Value null at 'transactItems.1.member.get' "
                                      "failed to satisfy constraint: Member must not be null")
        table = state.table(ctx, g["TableName"])
        ex = ReadExpressions.from_request(g, "TransactGet")
        key = from_wire_item(g["Key"])
        validate_key(key, schema_of(table))
        plans.append((table, ex, state.items.item_key(table, key)))
    responses = []
    per: dict[str, Consumed] = {}
    mode = p.get("ReturnConsumedCapacity")
    for table, ex, k in plans:
        item = state.items.get(k)
        responses.append({"Item": ex.project(item)} if item is not None else {})
        if wants_capacity(mode):
            c = per.setdefault(table.name, Consumed(table.name, split="ReadCapacityUnits"))
            c.add_table(item_read_units(item, True, transactional=True))
    out: dict[str, Any] = {"Responses": responses}
    if per:
        out["ConsumedCapacity"] = [c.render(mode) for c in per.values()]
    return out
