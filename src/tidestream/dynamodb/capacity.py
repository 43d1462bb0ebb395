"""Consumed capacity: DynamoDB's unit rules and the ``ConsumedCapacity`` response shape.

Units (developer guide, "read and write operations"):

* write: 1 unit per started 1 KB of the larger of the old and new item (a write that finds and
  leaves nothing still costs 1);
* read: 1 unit per started 4 KB, halved for eventually consistent reads; reading a missing item
  still costs the minimum;
* transactional reads and writes cost double;
* Query / Scan add up the sizes of the items read and round the sum up per 4 KB once;
  BatchGetItem rounds every item on its own, like GetItem;
* secondary indexes are charged for the *change* to what they store: nothing if the stored
  entry is unchanged or the item is in the index neither before nor after, one write (by size)
  to insert, update in place or remove an entry, and a delete plus a put when its key moves.

Response shape (what real DynamoDB returns; numbers are JSON doubles, e.g. ``1.0``):

* ``TOTAL``: ``{"TableName", "CapacityUnits"}``;
* ``INDEXES``: adds ``"Table": {"CapacityUnits"}`` and, for the indexes touched,
  ``"GlobalSecondaryIndexes"`` / ``"LocalSecondaryIndexes"``: ``{name: {"CapacityUnits"}}``;
* transactional operations (TransactWriteItems, TransactGetItems, ExecuteTransaction) also carry
  ``ReadCapacityUnits`` or ``WriteCapacityUnits`` beside every ``CapacityUnits``; single-item,
  batch, Query and Scan responses do not.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .keys import IndexSchema, TableSchema, index_entry, index_key
from .sizes import item_size
from .writes import applied

if TYPE_CHECKING:
    from .writes import ItemWrite, Outcome

Item = dict[str, dict[str, Any]]

WRITE_UNIT_BYTES = 1024
READ_UNIT_BYTES = 4096

TOTAL = "TOTAL"
INDEXES = "INDEXES"
NONE = "NONE"


# --------------------------------------------------------------------------- units


def write_units(size: int) -> int:
    """Write units for one item of ``size`` bytes (at least 1)."""
    return max(1, -(-size // WRITE_UNIT_BYTES))


def read_units(size: int, consistent: bool = False) -> float:
    """Read units for reading ``size`` bytes in one go (at least one unit, 0.5 if eventual)."""
    units = max(1, -(-size // READ_UNIT_BYTES))
    return float(units) if consistent else units / 2


def item_write_units(old: Item | None, new: Item | None, *, transactional: bool = False) -> int:
    """Table write units of a put/update/delete: by the larger of the old and new item."""
    size = max(item_size(old) if old else 0, item_size(new) if new else 0)
    units = write_units(size)
    return units * 2 if transactional else units


def item_read_units(item: Item | None, consistent: bool = False, *, transactional: bool = False) -> float:
    """Read units of a GetItem-style single read (a missing item costs the minimum)."""
    size = item_size(item) if item else 0
    if transactional:
        return 2.0 * max(1, -(-size // READ_UNIT_BYTES))
    return read_units(size, consistent)


def query_read_units(total_size: int, consistent: bool = False) -> float:
    """Read units of a Query/Scan page: the sum of item sizes read, rounded up once."""
    return read_units(total_size, consistent)


def index_write_units(old: Item | None, new: Item | None, index: IndexSchema) -> int:
    """Write units ``index`` consumes when ``old`` becomes ``new`` (either may be None)."""
    before = index_entry(old, index)
    after = index_entry(new, index)
    if before is None:
        return 0 if after is None else write_units(item_size(after))
    if after is None:
        return write_units(item_size(before))
    if index_key(old, index) != index_key(new, index):  # type: ignore[arg-type]
        return write_units(item_size(before)) + write_units(item_size(after))
    if before == after:
        return 0
    return write_units(max(item_size(before), item_size(after)))


def index_write_units_by_index(
    old: Item | None, new: Item | None, schema: TableSchema
) -> tuple[dict[str, int], dict[str, int]]:
    """Per-index write units of one item write: ({gsi: units}, {lsi: units}), zeros left out."""
    gsis: dict[str, int] = {}
    lsis: dict[str, int] = {}
    for index in schema.gsis:
        units = index_write_units(old, new, index)
        if units:
            gsis[index.name] = units
    for index in schema.lsis:
        units = index_write_units(old, new, index)
        if units:
            lsis[index.name] = units
    return gsis, lsis


# --------------------------------------------------------------------------- response shape


def _arm(units: float, split: str | None) -> dict[str, float]:
    arm = {"CapacityUnits": float(units)}
    if split:
        arm[split] = float(units)
    return arm


@dataclass(slots=True)
class Consumed:
    """Capacity one request consumed on one table, built up as the operation runs.

    ``split`` is ``"ReadCapacityUnits"`` or ``"WriteCapacityUnits"`` for transactional
    operations (AWS reports the split there only), else None.
    """

    table_name: str
    table: float = 0.0
    gsis: dict[str, float] = field(default_factory=dict)
    lsis: dict[str, float] = field(default_factory=dict)
    split: str | None = None

    def add_table(self, units: float) -> None:
        self.table += units

    def add_index(self, name: str, units: float, is_global: bool) -> None:
        arms = self.gsis if is_global else self.lsis
        arms[name] = arms.get(name, 0.0) + units

    def add_write(
        self,
        old: Item | None,
        new: Item | None,
        schema: TableSchema | None = None,
        *,
        transactional: bool = False,
    ) -> None:
        """Charge one item write: the table, and every index whose stored entry changes."""
        self.table += item_write_units(old, new, transactional=transactional)
        if schema is not None and (schema.gsis or schema.lsis):
            gsis, lsis = index_write_units_by_index(old, new, schema)
            for name, units in gsis.items():
                self.add_index(name, units, True)
            for name, units in lsis.items():
                self.add_index(name, units, False)

    @property
    def total(self) -> float:
        return self.table + sum(self.gsis.values()) + sum(self.lsis.values())

    def render(self, mode: str | None) -> dict[str, Any] | None:
        """The ``ConsumedCapacity`` member for ReturnConsumedCapacity ``mode`` (None if NONE)."""
        return consumed_capacity(
            mode, self.table_name, self.table, gsis=self.gsis, lsis=self.lsis, split=self.split
        )


def consumed_capacity(
    mode: str | None,
    table_name: str,
    table_units: float,
    *,
    gsis: dict[str, float] | None = None,
    lsis: dict[str, float] | None = None,
    split: str | None = None,
) -> dict[str, Any] | None:
    """Shape a ``ConsumedCapacity`` object; None when ``mode`` is NONE or absent.

    ``table_units`` is the base table's share; index units come on top of it in the total.
    """
    if mode != TOTAL and mode != INDEXES:
        return None
    total = table_units + sum((gsis or {}).values()) + sum((lsis or {}).values())
    out: dict[str, Any] = {"TableName": table_name, "CapacityUnits": float(total)}
    if split:
        out[split] = float(total)
    if mode == INDEXES:
        out["Table"] = _arm(table_units, split)
        if gsis:
            out["GlobalSecondaryIndexes"] = {n: _arm(u, split) for n, u in gsis.items()}
        if lsis:
            out["LocalSecondaryIndexes"] = {n: _arm(u, split) for n, u in lsis.items()}
    return out


def wants_capacity(mode: str | None) -> bool:
    """Whether the request asked for ConsumedCapacity at all (skip the sizing work if not)."""
    return mode in (TOTAL, INDEXES)


def collection_metrics(hash_key: str, item: Mapping[str, Any]) -> dict[str, Any]:
    """One ItemCollectionMetrics entry: the item's collection (its partition key value) and
    AWS's estimate for a collection far below its 10 GB limit."""
    return {"ItemCollectionKey": {hash_key: item[hash_key]}, "SizeEstimateRangeGB": [0.0, 1.0]}


def add_collection_metrics(
    out: dict[str, Any], p: Mapping[str, Any], writes: Sequence[ItemWrite], outcomes: Sequence[Outcome]
) -> None:
    """BatchWriteItem's and TransactWriteItems' ItemCollectionMetrics, when asked for and any."""
    if p.get("ReturnItemCollectionMetrics") == "SIZE":
        metrics = collection_metrics_by_table(writes, outcomes)
        if metrics:
            out["ItemCollectionMetrics"] = metrics


def collection_metrics_by_table(
    writes: Sequence[ItemWrite], outcomes: Sequence[Outcome]
) -> dict[str, list[dict[str, Any]]]:
    """BatchWriteItem's and TransactWriteItems' ItemCollectionMetrics: for each table that has a
    local secondary index, one entry per item collection written (the API reference: "for each
    table, information about any item collections that were affected"); tables without one, and
    deletes that found nothing, are left out, as PutItem and DeleteItem leave them out."""
    out: dict[str, list[dict[str, Any]]] = {}
    seen: set[tuple[str, str]] = set()
    for w, outcome in zip(writes, outcomes):
        if not w.table.lsis or w.action == "ConditionCheck" or applied(outcome) == (None, None):
            continue
        hash_key = w.table.hash_key
        collection = (w.table.name, repr(w.key_item[hash_key]))
        if collection not in seen:
            seen.add(collection)
            out.setdefault(w.table.name, []).append(collection_metrics(hash_key, w.key_item))
    return out
