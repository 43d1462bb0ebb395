"""Items and index entries in the engine, written atomically with their side effects.

Key layout (all components order-preserving, see :mod:`tidestream.storage.keys`):
- item:        ITEMS + table uid (4) + bucket(partition) + partition + [sort]
- index entry: INDEX + index uid (4) + bucket(index partition) + index partition + [index sort]
               + table partition + [table sort]      (value: the projected item)
One commit writes an item, every index entry it moves, the table's statistics and whatever the
change-capture hook adds (the CDC outbox), so none of them can disagree after a crash.
"""

from __future__ import annotations

import os
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import cbor2

from ..storage.engine import Engine, StorageError, TableChanged, WriteConflict, Writes
from ..storage.keys import bucket, encode_component, prefix_end
from ..storage.keyspace import CDC_ITEM_STAMPS as STAMPS
from .keys import fits_index_key_limits
from .pitr import forget as forget_history
from .pitr import history_write
from .tables import INDEX, ITEMS, STATS, Catalog, Index, Table

Item = dict[str, dict[str, Any]]
#: cluster mode: items per checked batch of an index backfill, and attempts per batch (each
#: lost race means another node changed one of its items; the batch is read again)
BACKFILL_BATCH = 500
BACKFILL_ATTEMPTS = 100


@dataclass(slots=True)
class Change:
    """One item-level change: old and new images (None when absent)."""

    table: Table
    key: bytes
    old: Item | None
    new: Item | None
    #: set by TTL expiry, so change capture can label the record as the service's
    by_ttl: bool = False
    #: item sizes, when the caller already computed them (-1: not yet); commit fills them in
    old_size: int = -1
    new_size: int = -1


class CaptureHook(Protocol):
    """Change capture: extra writes for a batch, then told whether the batch was written."""

    def __call__(self, changes: list[Change], now: float) -> list[tuple[bytes, bytes | None]]: ...
    def checked_reads(self) -> list[tuple[bytes, Any]]: ...
    def committed(self) -> None: ...
    def abandoned(self) -> None: ...


def _uid(uid: int) -> bytes:
    return struct.pack(">I", uid)


def _component(av: dict) -> bytes:
    for kind, value in av.items():
        return encode_component(kind, value)
    raise ValueError("empty attribute value")


def encode_item(item: Item) -> bytes:
    return cbor2.dumps(item)


def decode_item(raw: bytes) -> Item:
    return cbor2.loads(raw)


def project(ix: Index, table: Table, item: Item) -> Item:
    """The attributes an index stores for an item, by its projection type."""
    if ix.projection_type == "ALL":
        return item
    keep = set(table.key_names) | {n for n, _ in ix.key_schema}
    if ix.projection_type == "INCLUDE":
        keep.update(ix.non_key_attributes)
    return {k: v for k, v in item.items() if k in keep}


@dataclass(slots=True, eq=False)
class TableCheck:
    """In a cluster commit's reads: a table whose stored definition must still be ``expected``
    (compared as bytes; locked shared, so a definition change waits for the commit)."""

    table: Table
    key: bytes
    expected: bytes


def table_checks(changes: list[Change]) -> list[tuple[bytes, Any]]:
    """Cluster mode: the definitions of the tables ``changes`` write to, as this node knows
    them; a node that has not heard of another node's change to one retries with the new one."""
    seen: dict[int, Table] = {}
    for ch in changes:
        seen.setdefault(id(ch.table), ch.table)
    checks: list[tuple[bytes, Any]] = []
    for table in seen.values():
        key = Catalog.key_of(table)
        checks.append((key, TableCheck(table, key, table.stored_record)))
    return checks


def _decoded(values: list[bytes | None]) -> list[Item | None]:
    return [None if raw is None else cbor2.loads(raw) for raw in values]


def _count(deltas: dict[int, list], owner: Table | Index, count: int, size: int) -> None:
    cell = deltas.get(owner.uid)
    if cell is None:
        deltas[owner.uid] = [owner, count, size]
    else:
        cell[1] += count
        cell[2] += size


def _apply_deltas(deltas: dict[int, list]) -> None:
    """Statistics follow a committed batch (never a refused one)."""
    for owner, count, size in deltas.values():
        owner.item_count += count
        owner.size_bytes += size


class ItemStore:
    def __init__(
        self, engine: Engine, size_of: Callable[[Item], int], capture: CaptureHook | None = None
    ) -> None:
        self.engine = engine
        self.size_of = size_of
        self.capture = capture
        #: several nodes share the store: a commit must check that what it read is unchanged
        #: (the engine's ``write_checked``); None on RocksDB and on one PostgreSQL node
        self.write_checked: Callable | None = (
            getattr(engine, "write_checked", None) if getattr(engine, "cluster", False) else None
        )
        #: cluster mode: this node's own share of each table's and index's statistics (uid ->
        #: [count, bytes]), stored under STATS + uid + node id and summed on read, so nodes never
        #: overwrite each other's counts; None on one node (one row per table, its total)
        self._node_stats: dict[int, list[int]] | None = None if self.write_checked is None else {}
        self._node_id = os.urandom(8)
        #: cluster mode: re-reads a table's definition in place (False: it is gone), given by
        #: DynamoDB's state, which holds the catalog
        self.refresh_table: Callable[[Table], bool] | None = None

    # keys ---------------------------------------------------------------------------------
    @staticmethod
    def partition_prefix(uid: int, parts: list[dict]) -> bytes:
        """Prefix of all keys of one partition (one or more partition key values)."""
        # one part (every table key) without a generator: a third of the prefix's cost
        enc = _component(parts[0]) if len(parts) == 1 else b"".join(_component(av) for av in parts)
        return _uid(uid) + bucket(enc) + enc

    def item_key(self, table: Table, item: Item) -> bytes:
        key = ITEMS + self.partition_prefix(table.uid, [item[table.hash_key]])
        rk = table.range_key
        if rk is not None:
            key += _component(item[rk])
        return key

    def index_key(self, table: Table, ix: Index, item: Item) -> bytes | None:
        """The index entry key for an item, or None if the item is not in the (sparse) index."""
        parts = []
        types = table.attribute_types
        for name, _ in ix.key_schema:
            av = item.get(name)
            if av is None or types.get(name, "") not in av:
                return None  # sparse: every key attribute must be present, with its type
            parts.append(av)
        nh = len(ix.hash_keys)
        key = INDEX + self.partition_prefix(ix.uid, parts[:nh])
        for av in parts[nh:]:
            key += _component(av)
        key += _component(item[table.hash_key])
        rk = table.range_key
        if rk is not None:
            key += _component(item[rk])
        return key

    # reads --------------------------------------------------------------------------------
    def get(self, key: bytes) -> Item | None:
        raw = self.engine.get(key)
        return None if raw is None else cbor2.loads(raw)

    def get_many(self, keys: list[bytes]) -> list[Item | None]:
        """Several items as of one moment (TransactGetItems). On RocksDB reads made without an
        await between them already are; a store several nodes share answers them with one
        statement, whose snapshot is one moment for every key."""
        get_many = getattr(self.engine, "get_many", None)
        if get_many is None or len(keys) < 2:
            return [self.get(key) for key in keys]
        return [None if raw is None else cbor2.loads(raw) for raw in get_many(keys)]

    def scan_range(self, start: bytes, end: bytes, reverse: bool = False) -> Iterator[tuple[bytes, Item]]:
        for k, v in self.engine.scan(start, end, reverse):
            yield k, cbor2.loads(v)

    @staticmethod
    def table_bounds(table: Table) -> tuple[bytes, bytes]:
        p = ITEMS + _uid(table.uid)
        return p, prefix_end(p)

    @staticmethod
    def index_bounds(ix: Index) -> tuple[bytes, bytes]:
        p = INDEX + _uid(ix.uid)
        return p, prefix_end(p)

    # writes -------------------------------------------------------------------------------
    def commit(
        self,
        changes: list[Change],
        now: float | None = None,
        reads: list[tuple[bytes, Any]] | None = None,
        also: Writes = (),
    ) -> None:
        """Write changes (possibly across tables) in one atomic batch.

        Table and index statistics change in memory only once the batch is written: a refused
        write (full disk, I/O error) must leave ItemCount where the data is. ``reads``: the
        (key, decoded value) pairs the changes were computed from, given only when
        :attr:`write_checked` is set; the batch is then written only if they are unchanged,
        else WriteConflict. ``also``: writes that go in the same checked batch (a transaction's
        ClientRequestToken record: only cluster mode has them, so only with ``reads``).
        """
        now = time.time() if now is None else now
        writes: list[tuple[bytes, bytes | None]] = []
        #: uid -> [table or index, item count delta, size delta]
        deltas: dict[int, list] = {}
        if reads is not None:  # before capture, which may settle (rewrite) a table's record
            reads = reads + table_checks(changes)
        for ch in changes:
            self._change_writes(ch, writes, deltas)
            if ch.table.pitr:  # point-in-time recovery: the old image, in the same batch
                writes.append(history_write(ch, now))
        if self._node_stats is None:
            for owner, count, size in deltas.values():
                writes.append(
                    (
                        STATS + _uid(owner.uid),
                        struct.pack(">qq", owner.item_count + count, owner.size_bytes + size),
                    )
                )
        else:
            writes.extend(self._node_stats_writes(self._node_stats, deltas))
        capture = self.capture
        if capture is not None:
            try:
                writes.extend(capture(changes, now))
                if reads is None:
                    self.engine.write(writes)
                else:  # cluster mode: the item stamps change capture read are checked too
                    self._write_if_unchanged(writes, reads + capture.checked_reads(), also, deltas)
            except BaseException:
                capture.abandoned()
                raise
            _apply_deltas(deltas)
            capture.committed()
            return
        if reads is None:
            self.engine.write(writes)
        else:
            self._write_if_unchanged(writes, reads, also, deltas)
        _apply_deltas(deltas)

    def _write_if_unchanged(
        self,
        writes: list[tuple[bytes, bytes | None]],
        reads: list[tuple[bytes, Any]],
        also: Writes,
        deltas: dict[int, list],
    ) -> None:
        """Cluster mode: another node may have written these items since they were read. Once
        written, this node's own share of the statistics follows."""
        assert self.write_checked is not None and self._node_stats is not None
        writes.extend(also)
        changed: list[bytes] = []
        stale: list[Table] = []
        item_reads = [read for read in reads if not isinstance(read[1], TableCheck)]
        checks = [read[1] for read in reads if isinstance(read[1], TableCheck)]

        def unchanged(values: list[bytes | None]) -> bool:
            """Compared as items, not bytes: an item's encoding is not promised to be canonical.
            The keys that changed are kept: a transaction that loses every race names them.
            A table's definition is compared as stored (the bytes this node read or wrote)."""
            stale.extend(c.table for c, raw in zip(checks, values[len(item_reads) :]) if raw != c.expected)
            if stale:
                return False
            changed.extend(
                key
                for (key, old), raw in zip(item_reads, values)
                if (None if raw is None else cbor2.loads(raw)) != old
            )
            return not changed

        try:
            self.write_checked(
                writes, [key for key, _ in item_reads], unchanged, [c.key for c in checks] or None
            )
        except WriteConflict as conflict:
            if stale:
                raise self._refreshed(stale) from None
            conflict.keys = changed or None
            raise
        for owner, count, size in deltas.values():
            own = self._node_stats.setdefault(owner.uid, [0, 0])
            own[0] += count
            own[1] += size

    def _refreshed(self, stale: list[Table]) -> TableChanged:
        """Another node changed these tables' definitions since this node read them: read them
        again in place (the write's next attempt then writes the new index's entries, the
        point-in-time history, or finds the table gone)."""
        gone = False
        for table in stale:
            if self.refresh_table is None or not self.refresh_table(table):
                gone = True
        return TableChanged(gone)

    def _change_writes(
        self, ch: Change, writes: list[tuple[bytes, bytes | None]], deltas: dict[int, list]
    ) -> None:
        """One change's item and index writes; its statistics go into ``deltas``."""
        t, old, new = ch.table, ch.old, ch.new
        size_of = self.size_of
        writes.append((ch.key, None if new is None else cbor2.dumps(new)))
        for ix in t.indexes:  # tables without indexes pay nothing here
            self._index_change_writes(t, ix, old, new, writes, deltas)
        count = size = 0
        if old is not None:
            if ch.old_size < 0:
                ch.old_size = size_of(old)
            count, size = -1, -ch.old_size
        if new is not None:
            if ch.new_size < 0:
                ch.new_size = size_of(new)
            count, size = count + 1, size + ch.new_size
        _count(deltas, t, count, size)

    def _index_change_writes(
        self,
        t: Table,
        ix: Index,
        old: dict | None,
        new: dict | None,
        writes: list[tuple[bytes, bytes | None]],
        deltas: dict[int, list],
    ) -> None:
        """One index's entry moves with the item: the old entry goes, the new one is written."""
        size_of = self.size_of
        ok = None
        if old is not None:
            ok = self._indexed_key(t, ix, old)
            if ok is not None:
                _count(deltas, ix, -1, -size_of(project(ix, t, old)))
        nk = self.index_key(t, ix, new) if new is not None else None
        if ok is not None and ok != nk:
            writes.append((ok, None))
        if nk is not None and new is not None:
            entry = project(ix, t, new)
            writes.append((nk, cbor2.dumps(entry)))
            _count(deltas, ix, 1, size_of(entry))

    def _indexed_key(self, t: Table, ix: Index, old: dict) -> bytes | None:
        """The index entry an existing item has, if any (items over the index key limits were
        left out by the backfill: there is no entry to remove)."""
        ok = self.index_key(t, ix, old)
        if (
            ok is not None
            and t.index_key_violations
            and not fits_index_key_limits(old, ix.key_schema, t.attribute_types)
        ):
            return None
        return ok

    def _node_stats_writes(self, node_stats: dict[int, list[int]], deltas: dict[int, list]) -> Writes:
        """This node's statistics rows after a batch (cluster mode), one per table or index."""
        rows = []
        for owner, count, size in deltas.values():
            own = node_stats.get(owner.uid) or (0, 0)
            rows.append(
                (STATS + _uid(owner.uid) + self._node_id, struct.pack(">qq", own[0] + count, own[1] + size))
            )
        return rows

    def _summed_stats(self, uid: int) -> tuple[int, int]:
        """Cluster mode: every node's share of ``uid``'s statistics (and the total a single
        node left before, under STATS + uid itself), added up; this node's own share is taken
        as stored (after a reset, ids start again: a share kept in memory would count a
        dropped table's items in the new table of the same id)."""
        assert self._node_stats is not None
        prefix = STATS + _uid(uid)
        own_key = prefix + self._node_id
        count = size = 0
        self._node_stats.pop(uid, None)
        for key, raw in self.engine.scan(prefix, prefix_end(prefix)):
            node_count, node_size = struct.unpack(">qq", raw)
            count += node_count
            size += node_size
            if key == own_key:
                self._node_stats[uid] = [node_count, node_size]
        return count, size

    def forget_stats(self) -> None:
        """Before a reload of every table: this node's shares are read again from the store
        (cluster mode), none kept for an id a reset may give to another table."""
        if self._node_stats is not None:
            self._node_stats.clear()

    def load_stats(self, table: Table) -> None:
        """The table's and its indexes' statistics from the store (in cluster mode: summed over
        the nodes; DescribeTable calls this there, each node counting only its own writes)."""
        if self._node_stats is not None:
            owners: list[Table | Index] = [table, *table.indexes]
            for owner in owners:
                owner.item_count, owner.size_bytes = self._summed_stats(owner.uid)
            return
        raw = self.engine.get(STATS + _uid(table.uid))
        if raw:
            table.item_count, table.size_bytes = struct.unpack(">qq", raw)
        for ix in table.indexes:
            raw = self.engine.get(STATS + _uid(ix.uid))
            ix.item_count, ix.size_bytes = struct.unpack(">qq", raw) if raw else (0, 0)

    def drop(self, table: Table) -> None:
        """Delete a table's items, index entries and statistics (range deletes: cheap)."""
        start, end = self.table_bounds(table)
        self.engine.delete_range(start, end)
        for ix in table.indexes:
            s, e = self.index_bounds(ix)
            self.engine.delete_range(s, e)
        self._drop_stats([table.uid] + [ix.uid for ix in table.indexes])
        forget_history(self.engine, table)
        if self.write_checked is not None:  # cluster mode: the items' change stamps go too
            self.engine.delete_range(STAMPS + start, STAMPS + end)

    def drop_index(self, ix: Index) -> None:
        s, e = self.index_bounds(ix)
        self.engine.delete_range(s, e)
        self._drop_stats([ix.uid])

    def _drop_stats(self, uids: list[int]) -> None:
        """Statistics of dropped tables or indexes (in cluster mode every node's row)."""
        if self._node_stats is None:
            self.engine.write([(STATS + _uid(uid), None) for uid in uids])
            return
        for uid in uids:
            self._node_stats.pop(uid, None)
            self.engine.delete_range(STATS + _uid(uid), prefix_end(STATS + _uid(uid)))

    def backfill(self, table: Table, ix: Index) -> None:
        """Index every existing item (for a GSI added by UpdateTable). Items whose index key
        values exceed the key size limits are left out of the index, as DynamoDB's backfill
        does (it reports them as index key violations)."""
        if self.write_checked is not None:
            self._backfill_across_nodes(table, ix)
            return
        start, end = self.table_bounds(table)
        batch: list[tuple[bytes, bytes | None]] = []
        count = size = violations = 0
        for _, item in self.scan_range(start, end):
            k = self.index_key(table, ix, item)
            if k is not None and not fits_index_key_limits(item, ix.key_schema, table.attribute_types):
                violations += 1
                continue
            if k is not None:
                entry = project(ix, table, item)
                batch.append((k, cbor2.dumps(entry)))
                count += 1
                size += self.size_of(entry)
            if len(batch) >= 1000:
                self.engine.write(batch)
                batch = []
        batch.append((STATS + _uid(ix.uid), struct.pack(">qq", count, size)))
        self.engine.write(batch)
        ix.item_count, ix.size_bytes = count, size
        if violations:
            table.index_key_violations[ix.uid] = violations

    # cluster mode: index backfill while other nodes write ------------------------------------
    def _backfill_across_nodes(self, table: Table, ix: Index) -> None:
        """Cluster mode's :meth:`backfill`. The table's new definition is stored first (under
        its lock: every write made without the index has committed, every later one writes
        its entries, see Catalog._write_definition); each batch of entries is written only if
        its items are still as scanned (an item another node changed meanwhile is read again),
        and the index's statistics are counted from the entries at the end, with writes held."""
        start, end = self.table_bounds(table)
        batch: list[tuple[bytes, Item]] = []
        violations = 0
        for key, item in self.scan_range(start, end):
            batch.append((key, item))
            if len(batch) >= BACKFILL_BATCH:
                violations += self._index_checked(table, ix, batch)
                batch = []
        if batch:
            violations += self._index_checked(table, ix, batch)
        if violations:
            table.index_key_violations[ix.uid] = violations
        self._recount_index(table, ix)

    def _index_checked(self, table: Table, ix: Index, batch: list[tuple[bytes, Item]]) -> int:
        """One batch of index entries, committed only if its items are unchanged; returns the
        items left out for the index key limits."""
        assert self.write_checked is not None
        keys = [key for key, _ in batch]
        for _ in range(BACKFILL_ATTEMPTS):
            writes: list[tuple[bytes, bytes | None]] = []
            violations = 0
            for _, item in batch:
                entry_key = self.index_key(table, ix, item)
                if entry_key is None:
                    continue
                if not fits_index_key_limits(item, ix.key_schema, table.attribute_types):
                    violations += 1
                else:
                    writes.append((entry_key, cbor2.dumps(project(ix, table, item))))
            expected = [item for _, item in batch]
            try:
                self.write_checked(
                    writes, keys, lambda values, expected=expected: _decoded(values) == expected
                )
                return violations
            except WriteConflict:  # read again: deleted items drop out, changed ones are current
                current = self.engine.get_many(keys)  # type: ignore[attr-defined]
                batch = [(key, cbor2.loads(raw)) for key, raw in zip(keys, current) if raw is not None]
                keys = [key for key, _ in batch]
        raise StorageError(f"index backfill of {ix.name}: other nodes kept changing the same items")

    def _recount_index(self, table: Table, ix: Index) -> None:
        """The index's item count and size from its entries, under the table's lock taken alone
        (no write commits meanwhile), stored as the base row that brings the sum of every
        node's share (ItemStore._summed_stats) to the count; the definition is written in the
        same commit (its key violations)."""
        base = STATS + _uid(ix.uid)

        def count_entries(_: list) -> tuple[int, int]:
            count = size = 0
            lo, hi = self.index_bounds(ix)
            for _key, raw in self.engine.scan(lo, hi):
                count += 1
                size += self.size_of(cbor2.loads(raw))
            others_count = others_size = 0
            for key, raw in self.engine.scan(base, prefix_end(base)):
                if key != base:
                    node_count, node_size = struct.unpack(">qq", raw)
                    others_count += node_count
                    others_size += node_size
            self.engine.write(
                [(base, struct.pack(">qq", count - others_count, size - others_size)), Catalog.record(table)]
            )
            return count, size

        ix.item_count, ix.size_bytes = self.engine.write_locked(  # type: ignore[attr-defined]
            [Catalog.key_of(table)], [], count_entries
        )
