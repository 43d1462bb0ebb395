"""ExecuteStatement, BatchExecuteStatement and ExecuteTransaction (PartiQL).

Statements are parsed by :mod:`tidestream.dynamodb.partiql` and run by its executor; every write
goes through ``ItemStore.commit`` so change data capture sees it. A transaction checks every
statement against the current items and commits all changes in one atomic batch (the event loop
serializes requests, as for TransactWriteItems; with several nodes the commit checks the items
are still as read and the transaction runs again otherwise).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from ...context import RequestContext
from ...errors import (
    AwsError,
    ConditionalCheckFailedException,
    ResourceNotFoundException,
    TransactionCanceledException,
    ValidationException,
)
from ...storage.engine import WriteConflict
from ..capacity import Consumed, read_units, wants_capacity
from ..idempotency import Lookup, fingerprint
from ..itemstore import Item
from ..state import DynamoState
from ..writes import conflict_reasons, run_checked
from . import Statement, is_read, parse
from .errors import (
    MSG_BATCH_SELECT_KEY,
    MSG_EXISTS_ONLY_IN_TX,
    MSG_TX_INDEX,
    MSG_TX_RETURNING,
    MSG_TX_SELECT_KEY,
    DuplicateItemException,
    KeyFault,
)
from .execute import (
    SelectPlan,
    StatementFailure,
    change_for,
    get_one,
    plan_select,
    plan_write,
    run_select,
    write_capacity,
)
from .parameters import bind_parameters
from .parser import parse_bound

MSG_MIXED = (
    "Unsupported operation: A request must contain either only read statements or only write statements"
)

if TYPE_CHECKING:
    from ...protocol.shapes.dynamodb import (
        BatchExecuteStatementInput,
        ExecuteStatementInput,
        ExecuteTransactionInput,
    )


def _failure_error(f: StatementFailure, rv: str | None) -> AwsError:
    if f.code == "DuplicateItem":
        return DuplicateItemException(f.message)
    extra = {}
    if rv == "ALL_OLD" and f.item is not None:
        extra["Item"] = f.item
    return ConditionalCheckFailedException(f.message, extra=extra)


def execute_statement(state: DynamoState, ctx: RequestContext, p: ExecuteStatementInput) -> dict:
    stmt = parse(p["Statement"], p.get("Parameters"))
    mode = p.get("ReturnConsumedCapacity")
    if stmt.kind == "EXISTS":
        raise ValidationException(MSG_EXISTS_ONLY_IN_TX)
    if stmt.kind == "SELECT":
        select = plan_select(state, ctx, stmt, bool(p.get("ConsistentRead")))
        return run_select(
            state, select, p["Statement"], p.get("Parameters"), p.get("Limit"), p.get("NextToken"), mode
        )
    plan = plan_write(state, ctx, stmt)

    def attempt(checked: bool) -> tuple[Item | None, Item | None]:
        old = state.items.get(plan.key)
        try:
            writes, new = plan.run(old)
        except StatementFailure as f:
            raise _failure_error(f, p.get("ReturnValuesOnConditionCheckFailure")) from None
        if writes:
            state.items.commit([change_for(plan, old, new)], reads=[(plan.key, old)] if checked else None)
        return old, new

    old, new = run_checked(state.items, attempt)
    out: dict[str, Any] = {"Items": plan.returned(old, new)}
    if wants_capacity(mode):
        per: dict[str, Consumed] = {}
        write_capacity(per, plan, old, new)
        out["ConsumedCapacity"] = per[plan.table.name].render(mode)
    return out


# ---------------------------------------------------------------------------- batches
def _error_entry(err: AwsError, table: str | None = None) -> dict:
    code = err.code[: -len("Exception")] if err.code.endswith("Exception") else err.code
    if code == "Validation":
        code = "ValidationError"
    entry: dict[str, Any] = {"Error": {"Code": code, "Message": err.message}}
    if table is not None and code != "ResourceNotFound":
        entry["TableName"] = table
    return entry


def batch_execute_statement(state: DynamoState, ctx: RequestContext, p: BatchExecuteStatementInput) -> dict:
    requests = p["Statements"]
    parsed: list[Statement | None] = []
    responses: list[dict | None] = []
    for r in requests:
        try:
            parsed.append(parse(r["Statement"], r.get("Parameters")))
            responses.append(None)
        except AwsError as err:
            parsed.append(None)
            responses.append(_error_entry(err))
    kinds = {is_read(s) for s in parsed if s is not None}
    if len(kinds) > 1:
        raise ValidationException(MSG_MIXED)
    mode = p.get("ReturnConsumedCapacity")
    per: dict[str, Consumed] = {}
    for i, (r, stmt) in enumerate(zip(requests, parsed)):
        if stmt is not None:
            responses[i] = _batch_statement(state, ctx, stmt, r, per)
    out: dict[str, Any] = {"Responses": responses}
    if wants_capacity(mode) and per:
        out["ConsumedCapacity"] = [c.render(mode) for c in per.values()]
    return out


def _batch_statement(state: DynamoState, ctx: RequestContext, stmt, r: Mapping[str, Any], per: dict) -> dict:
    """One statement's response entry: a batch reports each statement's failure in its place."""
    try:
        if stmt.kind == "EXISTS":
            raise ValidationException(MSG_EXISTS_ONLY_IN_TX)
        if stmt.kind == "SELECT":
            return _batch_read(state, ctx, stmt, r, per)
        return _batch_write(state, ctx, stmt, r, per)
    except AwsError as err:
        return _error_entry(err, stmt.table)
    except StatementFailure as f:
        return {"Error": _failure_reason(f, r), "TableName": stmt.table}


def _failure_reason(f: StatementFailure, r: Mapping[str, Any]) -> dict[str, Any]:
    """A failed condition's code and message, with the old item when the statement asked for it."""
    reason: dict[str, Any] = {"Code": f.code, "Message": f.message}
    if r.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and f.item is not None:
        reason["Item"] = f.item
    return reason


def _batch_read(state: DynamoState, ctx: RequestContext, stmt, r: Mapping[str, Any], per: dict) -> dict:
    consistent = bool(r.get("ConsistentRead"))
    plan = plan_select(state, ctx, stmt, consistent)
    if plan.full_key() is None:
        raise ValidationException(MSG_BATCH_SELECT_KEY)
    item, size = get_one(state, plan)
    c = per.setdefault(plan.table.name, Consumed(plan.table.name))
    c.add_table(read_units(size, consistent))
    entry: dict[str, Any] = {"TableName": plan.table.name}
    if item is not None:
        entry["Item"] = item
    return entry


def _batch_write(state: DynamoState, ctx: RequestContext, stmt, r: Mapping[str, Any], per: dict) -> dict:
    plan = plan_write(state, ctx, stmt)

    def attempt(checked: bool) -> tuple[Item | None, Item | None]:
        old = state.items.get(plan.key)
        writes, new = plan.run(old)
        if writes:
            state.items.commit([change_for(plan, old, new)], reads=[(plan.key, old)] if checked else None)
        return old, new

    old, new = run_checked(state.items, attempt)
    write_capacity(per, plan, old, new)
    return {"TableName": plan.table.name}


# ---------------------------------------------------------------------------- transactions
def _tx_invalid(i: int, message: str) -> ValidationException:
    return ValidationException(f"Validation failed in TransactStatements[{i}]: {message}")


def execute_transaction(state: DynamoState, ctx: RequestContext, p: ExecuteTransactionInput) -> dict:
    token = p.get("ClientRequestToken")
    tokens = state.transaction_tokens
    digest = fingerprint("ExecuteTransaction", p.get("TransactStatements")) if token else b""
    found = tokens.lookup(ctx.account_id, "partiql:" + token, digest) if token else None
    if found is not None and found.answer is not None:
        return found.answer
    requests = p["TransactStatements"]
    statements = _tx_parse(requests)
    if len({is_read(s) for s in statements}) > 1:
        raise ValidationException(MSG_MIXED)
    mode = p.get("ReturnConsumedCapacity")
    if statements and is_read(statements[0]):
        out = _tx_read(state, ctx, statements, mode)
    else:
        out = _tx_write(state, ctx, requests, statements, mode, found)
    if token:
        tokens.remember(ctx.account_id, "partiql:" + token, digest, out)
    return out


def _tx_parse(requests: list) -> list[Statement]:
    """Every statement's parameters checked first (their faults are reported bare, whichever
    statement they belong to), then the statements parsed in order."""
    bound = [bind_parameters(r.get("Parameters")) for r in requests]
    statements: list[Statement] = []
    for i, (r, params) in enumerate(zip(requests, bound)):
        try:
            statements.append(parse_bound(r["Statement"], params))
        except ValidationException as err:
            raise _tx_invalid(i, err.message) from None
    return statements


def _tx_read(state: DynamoState, ctx: RequestContext, statements: list, mode) -> dict:
    plans = _tx_read_plans(state, ctx, statements)
    responses = []
    per: dict[str, Consumed] = {}
    for plan in plans:
        item, size = get_one(state, plan)
        responses.append({"Item": item} if item is not None else {})
        c = per.setdefault(plan.table.name, Consumed(plan.table.name, split="ReadCapacityUnits"))
        c.add_table(2.0 * read_units(size, True))
    out: dict[str, Any] = {"Responses": responses}
    if wants_capacity(mode):
        out["ConsumedCapacity"] = [c.render(mode) for c in per.values()]
    return out


def _tx_read_plans(state: DynamoState, ctx: RequestContext, statements: list) -> list[SelectPlan]:
    """Every read planned, in DynamoDB's order (Floci's refusesTwoReadsOfOneItemInATransaction and
    cancelsATransactionThatNamesAMissingTable, captured from DynamoDB, eu-west-2, 2026-09-17):
    a statement's own faults first, statement by statement; then a missing table or a mistyped
    key cancels with every statement's reason; then one item read twice is refused."""
    plans: list[SelectPlan] = []
    reasons: dict[int, dict] = {}
    for i, stmt in enumerate(statements):
        try:
            state.table(ctx, stmt.table)
        except ResourceNotFoundException as err:
            reasons[i] = {"Code": "ResourceNotFound", "Message": err.message}
            continue
        if stmt.index is not None:
            raise _tx_invalid(i, MSG_TX_INDEX)
        try:
            plan = plan_select(state, ctx, stmt, True)
        except KeyFault as err:
            reasons[i] = {"Code": "ValidationError", "Message": err.in_transaction}
            continue
        except ValidationException as err:
            raise _tx_invalid(i, err.message) from None
        if plan.full_key() is None:
            raise _tx_invalid(i, MSG_TX_SELECT_KEY)
        plans.append(plan)
    if reasons:
        raise _cancelled([reasons.get(i, {"Code": "None"}) for i in range(len(statements))])
    _refuse_repeated_items([state.items.item_key(p.table, cast(dict, p.full_key())) for p in plans])
    return plans


def _refuse_repeated_items(keys: list[bytes]) -> None:
    if len(set(keys)) != len(keys):
        raise ValidationException("Transaction request cannot include multiple operations on one item")


def _cancelled(reasons: list[dict]) -> TransactionCanceledException:
    codes = ", ".join(r["Code"] for r in reasons)
    return TransactionCanceledException(
        f"Transaction cancelled, please refer cancellation reasons for specific reasons [{codes}]",
        extra={"CancellationReasons": reasons},
    )


def _tx_write(
    state: DynamoState, ctx: RequestContext, requests: list, statements: list, mode, found: Lookup | None
) -> dict:
    """Every statement checked against the current items, then all changes in one commit; in
    cluster mode again from the reads while another node changed one of the items in between
    (and the token, ``found``, is looked up again: another node may have run it meanwhile)."""
    plans = _tx_write_plans(state, ctx, statements)
    tried: list[bool] = []

    def attempt(checked: bool) -> dict:
        nonlocal found
        if tried and found is not None:
            found = state.transaction_tokens.lookup(*found.asked)
            if found.answer is not None:
                return found.answer
        tried.append(checked)
        return _tx_write_attempt(state, requests, plans, mode, found, checked)

    def lost_every_race(conflict: WriteConflict) -> AwsError:
        return _cancelled(conflict_reasons([plan.key for plan in plans], conflict))

    return run_checked(state.items, attempt, lost_every_race)


def _tx_write_attempt(
    state: DynamoState, requests: list, plans: list, mode, found: Lookup | None, checked: bool
) -> dict:
    """One attempt of :func:`_tx_write`: read, check every statement, commit (with the token's
    record in cluster mode) or cancel with every statement's reason."""
    reasons: list[dict] = []
    changes = []
    olds_news = []
    for r, plan in zip(requests, plans):
        old = state.items.get(plan.key)
        try:
            writes, new = plan.run(old)
        except StatementFailure as f:
            reasons.append(_failure_reason(f, r))
            continue
        except ValidationException as err:
            reasons.append({"Code": "ValidationError", "Message": err.message})
            continue
        reasons.append({"Code": "None"})
        olds_news.append((plan, old, new))
        if writes:
            changes.append(change_for(plan, old, new))
    if len(olds_news) != len(plans):
        raise _cancelled(reasons)
    out: dict[str, Any] = {"Responses": []}
    if wants_capacity(mode):
        per: dict[str, Consumed] = {}
        for plan, old, new in olds_news:
            write_capacity(per, plan, old, new, transactional=True)
        out["ConsumedCapacity"] = [c.render(mode) for c in per.values()]
    also = state.transaction_tokens.record(*found.asked, out) if found is not None else ()
    if changes or also:
        reads = None
        if checked:
            reads = [(plan.key, old) for plan, old, _ in olds_news] + (found.reads if found else [])
        state.items.commit(changes, reads=reads, also=also)
    return out


def _tx_write_plans(state: DynamoState, ctx: RequestContext, statements: list) -> list:
    """Every statement planned before any runs, in DynamoDB's order (Floci's
    cancelsATransactionThatNamesAMissingTable and cancelsATransactionWhoseWriteDoesNotNameOneItem,
    captured from DynamoDB, eu-west-2, 2026-09-17): a statement's own faults first, statement by
    statement; then a missing table or a key that names no item cancels with every statement's
    reason; then a transaction touching one item twice is refused."""
    plans = []
    reasons: dict[int, dict] = {}
    for i, stmt in enumerate(statements):
        try:
            plan = plan_write(state, ctx, stmt, in_transaction=True)
        except ResourceNotFoundException as err:
            reasons[i] = {"Code": "ResourceNotFound", "Message": err.message}
            continue
        except KeyFault as err:
            reasons[i] = {"Code": "ValidationError", "Message": err.in_transaction}
            continue
        except ValidationException as err:
            raise _tx_invalid(i, err.message) from None
        if plan.returning is not None:
            raise _tx_invalid(i, MSG_TX_RETURNING)
        plans.append(plan)
    if reasons:
        raise _cancelled([reasons.get(i, {"Code": "None"}) for i in range(len(statements))])
    _refuse_repeated_items([plan.key for plan in plans])
    return plans
