"""Items and index entries in the engine, written atomically with their side effects.

Key layout (all components order-preserving, see :mod:`tidestream.storage.keys`):
- item:        ITEMS + table uid (4) + bucket(partition) + partition + [sort]
- index entry: INDEX + index uid (4) + bucket(index partition) + index partition + [index sort]
               + table partition + [table sort]      (value: the projected item)
One commit writes an item, every index entry it moves, the table's statistics and whatever the
change-capture hook adds (the CDC outbox), so none of them can disagree after a crash.
"""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import cbor2

from ..storage.engine import Engine
from ..storage.keys import bucket, encode_component, prefix_end
from .tables import INDEX, ITEMS, STATS, Index, Table

Item = dict[str, dict[str, Any]]


@dataclass(slots=True)
class Change:
    """One item-level change: old and new images (None when absent)."""

    table: Table
    key: bytes
    old: Item | None
    new: Item | None
    #: set by TTL expiry, so change capture can label the record as the service's
    by_ttl: bool = False


#: change-capture hook: given committed changes and the commit time, extra writes to add
CaptureHook = Callable[[list[Change], float], list[tuple[bytes, bytes | None]]]


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


class ItemStore:
    def __init__(self, engine: Engine, size_of: Callable[[Item], int]) -> None:
        self.engine = engine
        self.size_of = size_of
        self.capture: CaptureHook | None = None

    # keys ---------------------------------------------------------------------------------
    @staticmethod
    def partition_prefix(uid: int, parts: list[dict]) -> bytes:
        """Prefix of all keys of one partition (one or more partition key values)."""
        enc = b"".join(_component(av) for av in parts)
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
        for name, _ in ix.key_schema:
            av = item.get(name)
            if av is None:
                return None
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
    def commit(self, changes: list[Change], now: float | None = None) -> None:
        """Write changes (possibly across tables) in one atomic batch."""
        now = time.time() if now is None else now
        writes: list[tuple[bytes, bytes | None]] = []
        touched: dict[int, Table] = {}
        for ch in changes:
            t = ch.table
            touched[t.uid] = t
            old, new = ch.old, ch.new
            writes.append((ch.key, None if new is None else cbor2.dumps(new)))
            for ix in t.indexes:
                ok = self.index_key(t, ix, old) if old is not None else None
                nk = self.index_key(t, ix, new) if new is not None else None
                if ok is not None and ok != nk:
                    writes.append((ok, None))
                if nk is not None:
                    writes.append((nk, cbor2.dumps(project(ix, t, new))))
            if old is not None:
                t.item_count -= 1
                t.size_bytes -= self.size_of(old)
            if new is not None:
                t.item_count += 1
                t.size_bytes += self.size_of(new)
        for t in touched.values():
            writes.append((STATS + _uid(t.uid), struct.pack(">qq", t.item_count, t.size_bytes)))
        if self.capture is not None:
            writes.extend(self.capture(changes, now))
        self.engine.write(writes)

    def load_stats(self, table: Table) -> None:
        raw = self.engine.get(STATS + _uid(table.uid))
        if raw:
            table.item_count, table.size_bytes = struct.unpack(">qq", raw)

    def drop(self, table: Table) -> None:
        """Delete a table's items, index entries and statistics (range deletes: cheap)."""
        start, end = self.table_bounds(table)
        self.engine.delete_range(start, end)
        for ix in table.indexes:
            s, e = self.index_bounds(ix)
            self.engine.delete_range(s, e)
        self.engine.write([(STATS + _uid(table.uid), None)])

    def drop_index(self, ix: Index) -> None:
        s, e = self.index_bounds(ix)
        self.engine.delete_range(s, e)

    def backfill(self, table: Table, ix: Index) -> None:
        """Index every existing item (for a GSI added by UpdateTable)."""
        start, end = self.table_bounds(table)
        batch: list[tuple[bytes, bytes | None]] = []
        for _, item in self.scan_range(start, end):
            k = self.index_key(table, ix, item)
            if k is not None:
                batch.append((k, cbor2.dumps(project(ix, table, item))))
            if len(batch) >= 1000:
                self.engine.write(batch)
                batch = []
        if batch:
            self.engine.write(batch)
