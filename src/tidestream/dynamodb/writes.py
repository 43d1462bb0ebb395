"""The one read-modify-write path for item writes.

Every item write has the same shape (ScyllaDB Alternator's, see DESIGN.md): the request is
parsed and validated without looking at any item (:func:`plan_put`, :func:`plan_update`,
:func:`plan_delete`, :func:`plan_check` build an :class:`ItemWrite`), then
:func:`read_modify_write` reads each old item, checks its condition, computes ``apply(old) ->
new`` and the item store commits every change in one atomic batch (items, index entries,
statistics and change capture together). PutItem, UpdateItem, DeleteItem, BatchWriteItem and
TransactWriteItems build their writes here; PartiQL's ``WritePlan`` has the same ``apply`` and
TTL expiry is a delete of an item it just read. A request refused at any step writes nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

from ..errors import AwsError, ResourceNotFoundException, TransactionConflictException, ValidationException
from ..storage.engine import TableChanged, WriteConflict, Writes
from .attributes import from_wire_item
from .itemstore import Change, Item, ItemStore
from .keys import validate_item_keys, validate_key
from .request import WriteExpressions
from .sizes import MSG_ITEM_TOO_BIG, check_item_size
from .state import schema_of
from .tables import Table

PUT, UPDATE, DELETE, CHECK = "Put", "Update", "Delete", "ConditionCheck"
#: cluster mode: reads of a write retried when another node changed an item in between (each
#: lost race means another write succeeded, so this bounds only pathological contention).
#: ``TIDESTREAM_CHECKED_WRITE_ATTEMPTS`` lowers it (the tests use 1 to make conflicts answer)
ATTEMPTS = max(1, int(os.environ.get("TIDESTREAM_CHECKED_WRITE_ATTEMPTS", "50")))
#: the message DynamoDB gives a write contending with a transaction on its item, both as
#: TransactionConflictException and as a TransactionConflict cancellation reason
MSG_TRANSACTION_CONFLICT = "Transaction is ongoing for the item"
T = TypeVar("T")


class ConditionFailed(Exception):
    """The write's condition does not hold for the stored item (``old``)."""

    def __init__(self, old: Item | None) -> None:
        super().__init__("The conditional request failed")
        self.old = old


class ItemWrite:
    """One item's write, validated without state; :meth:`apply` maps the old item to the new."""

    __slots__ = ("action", "table", "key", "key_item", "item", "expressions", "new_size")

    def __init__(
        self,
        action: str,
        table: Table,
        key: bytes,
        key_item: Item,
        expressions: WriteExpressions | None,
        item: Item | None = None,
        new_size: int = -1,
    ) -> None:
        self.action = action
        self.table = table
        self.key = key
        self.key_item = key_item
        self.expressions = expressions
        self.item = item
        self.new_size = new_size

    def apply(self, old: Item | None) -> Item | None:
        """The item after this write (None: no item). Raises :class:`ConditionFailed`, or a
        ValidationException when an update makes an invalid item."""
        ex = self.expressions
        if ex is not None and not ex.condition_holds(old):
            raise ConditionFailed(old)
        if self.action == PUT:
            return self.item
        if self.action == DELETE:
            return None
        if self.action == CHECK:
            return old
        assert ex is not None
        if old is None and ex.only_removes():
            return None
        new = ex.apply_update(old, self.key_item)
        validate_item_keys(new, schema_of(self.table), update=True)
        try:
            self.new_size = check_item_size(new)
        except ValidationException as err:
            if err.message == MSG_ITEM_TOO_BIG:  # UpdateItem's own wording (dynalite found it)
                raise ValidationException(
                    "Item size to update has exceeded the maximum allowed size"
                ) from None
            raise
        return new

    def change(self, old: Item | None, new: Item | None) -> Change | None:
        """The change to commit, or None when the item stays as it is."""
        if self.action == CHECK or new == old:
            return None
        return Change(self.table, self.key, old, new, new_size=self.new_size if new is not None else -1)


# planning: no state beyond the table's schema ------------------------------------------------
def plan_put(
    items: ItemStore,
    table: Table,
    wire_item: dict,
    expressions: WriteExpressions | None,
    *,
    schema_mismatch: bool = False,
) -> ItemWrite:
    item = from_wire_item(wire_item)
    validate_item_keys(item, schema_of(table), schema_mismatch=schema_mismatch)
    size = check_item_size(item)
    return ItemWrite(PUT, table, items.item_key(table, item), item, expressions, item, size)


def _keyed(
    action: str, items: ItemStore, table: Table, wire_key: dict, expressions: WriteExpressions | None
) -> ItemWrite:
    key = from_wire_item(wire_key)
    validate_key(key, schema_of(table))
    return ItemWrite(action, table, items.item_key(table, key), key, expressions)


def plan_delete(
    items: ItemStore, table: Table, wire_key: dict, expressions: WriteExpressions | None
) -> ItemWrite:
    return _keyed(DELETE, items, table, wire_key, expressions)


def plan_update(items: ItemStore, table: Table, wire_key: dict, expressions: WriteExpressions) -> ItemWrite:
    return _keyed(UPDATE, items, table, wire_key, expressions)


def plan_check(items: ItemStore, table: Table, wire_key: dict, expressions: WriteExpressions) -> ItemWrite:
    return _keyed(CHECK, items, table, wire_key, expressions)


# running ------------------------------------------------------------------------------------
def read_modify_write(items: ItemStore, write: ItemWrite) -> tuple[Item | None, Item | None]:
    """One write: read, check, apply, commit. Returns (old, new)."""
    if items.write_checked is not None:
        check_again = planned_check([write])

        def attempt(checked: bool) -> tuple[Item | None, Item | None]:
            check_again()
            return read_modify_write_checked(items, write)

        return run_checked(items, attempt)
    old = items.get(write.key)
    new = write.apply(old)
    change = write.change(old, new)
    if change is not None:
        items.commit([change])
    return old, new


def planned_check(writes: list[ItemWrite]) -> Callable[[], None]:
    """Cluster mode: run before each attempt, it checks a put's item again against its table's
    definition if that changed since the put was planned (another node added a GSI whose key
    the item has with another type: refused as on one node, not written unindexed)."""
    planned = [w.table.stored_record for w in writes]

    def check_again() -> None:
        for w, record in zip(writes, planned):
            if w.action == PUT and w.item is not None and w.table.stored_record is not record:
                validate_item_keys(w.item, schema_of(w.table))

    return check_again


def read_modify_write_checked(items: ItemStore, write: ItemWrite) -> tuple[Item | None, Item | None]:
    """Cluster mode's :func:`read_modify_write`: the commit checks the item is still ``old``
    (WriteConflict otherwise, and the caller reads again)."""
    old = items.get(write.key)
    new = write.apply(old)
    change = write.change(old, new)
    if change is not None:
        items.commit([change], reads=[(write.key, old)])
    return old, new


def run_checked(
    items: ItemStore,
    attempt: Callable[[bool], T],
    exhausted: Callable[[WriteConflict], AwsError] | None = None,
) -> T:
    """``attempt(checked)`` reads, computes and commits, passing its reads to the commit when
    ``checked`` (cluster mode). Run once on one node; in cluster mode again until no other node
    changed its items in between, and past ATTEMPTS, AWS's error for a write contending with
    others on the item (400: the client may retry; nothing was written): ``exhausted(last
    conflict)`` for transactions (a cancellation naming the conflicting actions), else
    TransactionConflictException."""
    if items.write_checked is None:
        return attempt(False)
    conflict = WriteConflict("no attempt")
    for _ in range(ATTEMPTS):
        try:
            return attempt(True)
        except TableChanged as changed:  # re-read in place: the next attempt uses the new one
            if changed.gone:  # dropped by another node (AWS's answer for a missing table)
                raise ResourceNotFoundException("Requested resource not found") from None
            conflict = changed
        except WriteConflict as lost:
            conflict = lost
    if exhausted is not None:
        raise exhausted(conflict)
    raise TransactionConflictException(MSG_TRANSACTION_CONFLICT)


def conflict_reasons(keys: list[bytes], conflict: WriteConflict) -> list[dict[str, Any]]:
    """TransactionCanceledException's reasons when a transaction lost every race: its actions
    whose items another node kept changing are ``TransactionConflict``, the others ``None``
    (AWS's shape). When the conflict does not say which (a deadlock), every action is named."""
    changed = set(conflict.keys or ())
    if not changed.intersection(keys):
        changed = set(keys)
    return [
        {"Code": "TransactionConflict", "Message": MSG_TRANSACTION_CONFLICT}
        if k in changed
        else {"Code": "None"}
        for k in keys
    ]


#: what one write of a group came to: (old, new) or the error that refused it
Outcome = tuple[Item | None, Item | None] | AwsError | ConditionFailed
#: what a group's caller adds to its commit once it knows the outcomes: writes for the same
#: batch, and the (key, decoded value) pairs they depend on as read (cluster mode checks them)
Extra = tuple[Writes, list[tuple[bytes, Any]]]


def read_modify_write_all(
    items: ItemStore,
    writes: list[ItemWrite],
    on_outcomes: Callable[[list[Outcome]], Extra | None] | None = None,
    exhausted: Callable[[WriteConflict], AwsError] | None = None,
) -> list[Outcome]:
    """All-or-nothing: every write is applied to its old item; only if none was refused are
    all changes committed, in one batch. ``on_outcomes`` sees every outcome first and may raise
    (TransactWriteItems cancels with the reasons of all) or return more to commit (a token).
    ``exhausted``: see :func:`run_checked`."""
    if items.write_checked is None:
        return run_checked(items, lambda checked: attempt_all(items, writes, on_outcomes, checked), exhausted)
    check_again = planned_check(writes)

    def attempt(checked: bool) -> list[Outcome]:
        check_again()
        return attempt_all(items, writes, on_outcomes, checked)

    return run_checked(items, attempt, exhausted)


def attempt_all(
    items: ItemStore,
    writes: list[ItemWrite],
    on_outcomes: Callable[[list[Outcome]], Extra | None] | None,
    checked: bool,
) -> list[Outcome]:
    """One attempt of :func:`read_modify_write_all`; ``checked``: the commit checks every item
    read (condition checks included) is unchanged."""
    outcomes: list[Outcome] = []
    changes: list[Change] = []
    for w in writes:
        old = items.get(w.key)
        try:
            new = w.apply(old)
        except (ConditionFailed, AwsError) as refused:
            outcomes.append(refused)
            continue
        outcomes.append((old, new))
        change = w.change(old, new)
        if change is not None:
            changes.append(change)
    also, also_read = (on_outcomes(outcomes) if on_outcomes is not None else None) or ((), [])
    if (changes or also) and all(isinstance(o, tuple) for o in outcomes):
        reads = None
        if checked:
            reads = [(w.key, o[0]) for w, o in zip(writes, outcomes) if isinstance(o, tuple)] + also_read
        items.commit(changes, reads=reads, also=also)
    return outcomes


def applied(outcome: Outcome) -> tuple[Item | None, Item | None]:
    """The (old, new) of an outcome the caller knows was applied (nothing was refused); a
    refusal here would be a bug, so it is raised rather than unpacked as a pair."""
    if isinstance(outcome, tuple):
        return outcome
    raise outcome
