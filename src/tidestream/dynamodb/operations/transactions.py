"""TransactWriteItems and TransactGetItems.

On one node the event loop runs one request at a time and every commit is one atomic engine
batch, so a transaction is serializable by construction: check all conditions, then commit all
changes together. With several nodes (``--cluster``) the commit also checks that every item read
is unchanged and the transaction runs again from its reads otherwise (writes.run_checked), and
TransactGetItems reads its items in one statement (one snapshot). ClientRequestToken makes a
TransactWriteItems idempotent for 10 minutes (idempotency.py: in memory, or in the store).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ...context import RequestContext
from ...errors import AwsError, TransactionCanceledException, ValidationException
from ...storage.engine import WriteConflict
from ..attributes import from_wire_item
from ..capacity import Consumed, add_collection_metrics, item_read_units, wants_capacity
from ..idempotency import fingerprint
from ..keys import MSG_SCHEMA_MISMATCH, validate_key
from ..request import ReadExpressions, WriteExpressions
from ..sizes import check_nesting, item_size
from ..state import DynamoState, schema_of
from ..writes import (
    ConditionFailed,
    Extra,
    ItemWrite,
    Outcome,
    applied,
    attempt_all,
    conflict_reasons,
    plan_check,
    plan_delete,
    plan_put,
    plan_update,
    run_checked,
)
from . import operation

if TYPE_CHECKING:
    from ...protocol.shapes.dynamodb import TransactGetItemsInput, TransactWriteItemsInput


_INVALID = "One or more parameter values were invalid: "
_ACTIONS = ("ConditionCheck", "Put", "Delete", "Update")


def _one_action(entry: Mapping[str, Any]) -> tuple[str, dict]:
    present = [a for a in _ACTIONS if entry.get(a) is not None]
    if len(present) != 1:
        raise ValidationException("TransactItems can only contain one of Check, Put, Update or Delete")
    return present[0], entry[present[0]]


def _cancel(reasons: list[dict]) -> TransactionCanceledException:
    codes = ", ".join(r["Code"] for r in reasons)
    return TransactionCanceledException(
        f"Transaction cancelled, please refer cancellation reasons for specific reasons [{codes}]",
        extra={"CancellationReasons": reasons},
    )


_PLANNERS = {
    "Put": lambda items, t, a, ex: plan_put(items, t, a["Item"], ex),
    "Delete": lambda items, t, a, ex: plan_delete(items, t, a["Key"], ex),
    "Update": lambda items, t, a, ex: plan_update(items, t, a["Key"], ex),
    "ConditionCheck": lambda items, t, a, ex: plan_check(items, t, a["Key"], ex),
}


#: the aggregate size of a transaction's items (AWS: "cannot exceed 4 MB")
MAX_TRANSACTION_BYTES = 4 * 1024 * 1024
# Floci's TransactWriteItems handler (an emulator checked against AWS by the paritysuite
# dynamodb-conformance suite, 2026) answers with this text.
MSG_TRANSACTION_TOO_BIG = (
    "Transaction failed: The total size of all items in the transaction request cannot exceed 4 MB"
)


def _parse_actions(items: Sequence[Mapping[str, Any]]) -> list[tuple[str, dict, WriteExpressions]]:
    """Every action's kind, item nesting and expressions, checked before any table lookup and
    action by action (paritysuite dynamodb-conformance, validation-ordering/transactions,
    us-east-1 and eu-west-2 2026-10-09: a malformed condition on a later action is reported
    ahead of a missing table on an earlier one; a too deep item on the first action ahead of
    a malformed condition on the second)."""
    parsed = []
    for entry in items:
        action, a = _one_action(entry)
        if action == "Put":  # a too deep item is refused here too, in action order
            check_nesting(from_wire_item(a["Item"]))
        parsed.append((action, a, WriteExpressions.from_request(a, "Transact" + action)))
    return parsed


def _write_size(w: ItemWrite) -> int:
    return w.new_size if w.action == "Put" else item_size(w.key_item)


#: key faults an action reports as its ValidationError cancellation reason, not as a top-level
#: ValidationException (paritysuite dynamodb-conformance, TransactWriteItems error messages,
#: four-region capture 2026-06: a mistyped/non-scalar key cancels; an empty key value does not)
_CANCELLING_KEY_FAULTS = (
    MSG_SCHEMA_MISMATCH,
    _INVALID + "Type mismatch for key ",
    _INVALID + "Missing the key ",
)


def _plan_action(
    state: DynamoState, ctx: RequestContext, action: str, a: dict, ex: WriteExpressions
) -> ItemWrite | str:
    """The action's write, or the message of a key fault that cancels the transaction."""
    table = state.table(ctx, a["TableName"])
    ex.check_key_attributes(table.key_names)
    try:
        return _PLANNERS[action](state.items, table, a, ex)
    except ValidationException as err:
        if err.message.startswith(_CANCELLING_KEY_FAULTS):
            return err.message
        raise


def _plan_transaction(
    state: DynamoState, ctx: RequestContext, items: Sequence[Mapping[str, Any]]
) -> list[tuple[ItemWrite, dict]]:
    """Every action parsed and validated (no item read yet); one item at most once."""
    plans = []
    faults: list[str | None] = []
    keys_seen = set()
    total_size = 0
    for action, a, ex in _parse_actions(items):
        w = _plan_action(state, ctx, action, a, ex)
        if isinstance(w, str):
            faults.append(w)
            continue
        faults.append(None)
        if w.key in keys_seen:
            raise ValidationException("Transaction request cannot include multiple operations on one item")
        keys_seen.add(w.key)
        total_size += _write_size(w)
        plans.append((w, a))
    if any(faults):
        raise _cancel([{"Code": "ValidationError", "Message": f} if f else {"Code": "None"} for f in faults])
    if total_size > MAX_TRANSACTION_BYTES:
        raise ValidationException(MSG_TRANSACTION_TOO_BIG)
    return plans


def _reason(outcome: Outcome, a: dict) -> dict:
    """A CancellationReasons entry, as DynamoDB gives one for every action."""
    if isinstance(outcome, ConditionFailed):
        r: dict[str, Any] = {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"}
        if a.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and outcome.old is not None:
            r["Item"] = outcome.old
        return r
    if isinstance(outcome, AwsError):
        if outcome.code != "ValidationException":
            raise outcome
        return {"Code": "ValidationError", "Message": outcome.message}
    return {"Code": "None"}


def _capacity(changes: list[tuple[ItemWrite, Outcome]], mode: str | None) -> list[dict | None]:
    per: dict[str, Consumed] = {}
    for w, outcome in changes:
        old, new = applied(outcome)  # only called when nothing was refused
        if w.action == "ConditionCheck" or (w.action != "Put" and old == new):
            continue  # a Put is charged even when it changes nothing
        c = per.setdefault(w.table.name, Consumed(w.table.name, split="WriteCapacityUnits"))
        c.add_write(old, new, schema_of(w.table), transactional=True)
    return [c.render(mode) for c in per.values()]


@operation("TransactWriteItems")
def transact_write(state: DynamoState, ctx: RequestContext, p: TransactWriteItemsInput) -> dict:
    token = p.get("ClientRequestToken")
    tokens = state.transaction_tokens
    digest = fingerprint("TransactWriteItems", p.get("TransactItems")) if token else b""
    found = tokens.lookup(ctx.account_id, token, digest) if token else None
    if found is not None and found.answer is not None:
        return found.answer
    plans = _plan_transaction(state, ctx, p["TransactItems"])
    writes = [w for w, _ in plans]
    mode = p.get("ReturnConsumedCapacity")
    out: dict[str, Any] = {}

    def cancel_unless_all_applied(outcomes: list[Outcome]) -> Extra | None:
        """Cancel with every action's reason, else the answer (and the token's record with it)."""
        reasons = [_reason(o, a) for o, (_, a) in zip(outcomes, plans)]
        if any(r["Code"] != "None" for r in reasons):
            raise _cancel(reasons)
        out.clear()
        if wants_capacity(mode):
            out["ConsumedCapacity"] = _capacity(list(zip(writes, outcomes)), mode)
        add_collection_metrics(out, p, writes, outcomes)
        if found is None:
            return None
        return tokens.record(*found.asked, out), found.reads

    def attempt(checked: bool) -> dict:
        nonlocal found
        if tried and found is not None:  # a retry (cluster mode): another node may have used the token
            found = tokens.lookup(*found.asked)
            if found.answer is not None:
                return found.answer
        tried.append(checked)
        attempt_all(state.items, writes, cancel_unless_all_applied, checked)
        return out

    def lost_every_race(conflict: WriteConflict) -> AwsError:
        return _cancel(conflict_reasons([w.key for w in writes], conflict))

    tried: list[bool] = []
    answer = run_checked(state.items, attempt, lost_every_race)
    if token:
        tokens.remember(ctx.account_id, token, digest, answer)
    return answer


def _parse_gets(items: Sequence[Mapping[str, Any]]) -> list[tuple[dict, ReadExpressions]]:
    """Every Get's expressions, checked before any table lookup (AWS's order)."""
    parsed = []
    for entry in items:
        g = entry.get("Get")
        if g is None:
            raise ValidationException(
                "1 validation error detected: Value null at 'transactItems.1.member.get' "
                "failed to satisfy constraint: Member must not be null"
            )
        parsed.append((g, ReadExpressions.from_request(g, "TransactGet")))
    return parsed


@operation("TransactGetItems")
def transact_get(state: DynamoState, ctx: RequestContext, p: TransactGetItemsInput) -> dict:
    plans = []
    reasons: list[dict] = []
    for g, ex in _parse_gets(p["TransactItems"]):
        table = state.table(ctx, g["TableName"])
        key = from_wire_item(g["Key"])
        try:
            validate_key(key, schema_of(table))
        except ValidationException as err:
            # a key that does not match the schema cancels the transaction: AWS reports it as
            # the Get's ValidationError reason (Floci's TransactGetItems, checked against AWS)
            reasons.append({"Code": "ValidationError", "Message": err.message})
            continue
        reasons.append({"Code": "None"})
        plans.append((table, ex, state.items.item_key(table, key)))
    if len(plans) != len(reasons):
        raise _cancel(reasons)
    responses = []
    per: dict[str, Consumed] = {}
    mode = p.get("ReturnConsumedCapacity")
    found = state.items.get_many([k for _, _, k in plans])  # one snapshot (cluster mode too)
    for (table, ex, _), item in zip(plans, found):
        responses.append({"Item": ex.project(item)} if item is not None else {})
        if wants_capacity(mode):
            c = per.setdefault(table.name, Consumed(table.name, split="ReadCapacityUnits"))
            c.add_table(item_read_units(item, True, transactional=True))
    out: dict[str, Any] = {"Responses": responses}
    if per:
        out["ConsumedCapacity"] = [c.render(mode) for c in per.values()]
    return out
