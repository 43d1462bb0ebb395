"""Capture: item changes become outbox entries in the same atomic commit as the items.

Called by the item store for every commit (puts, updates, deletes, batches, transactions, TTL).
It decides per change whether a feed wants it (an ACTIVE destination, the item really changed),
stamps it with a per-item strictly increasing ApproximateCreationDateTime, and returns the
outbox writes that the item store adds to its batch. It never waits for anything.
"""

from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import Callable
from time import monotonic_ns
from typing import Any, Protocol

import orjson

from ..dynamodb.sizes import item_size
from ..ids import event_id
from ..storage import keyspace
from ..storage.engine import Engine
from . import destinations as D
from .metrics import Metrics
from .records import fill, partition_key, record_template
from .sequencing import ClusterSequencer

OUTBOX = keyspace.CDC_OUTBOX
OUTBOX_END = keyspace.CDC_OUTBOX_END
_CAPTURING = (D.ACTIVE, D.UPDATING)
_SETTLING = (D.ENABLING, D.UPDATING, D.DISABLING)
#: past this many remembered items, forget those whose last timestamp is already in the past
_PRUNE_AT = 4096


class StreamFeed(Protocol):
    """DynamoDB Streams as the capture sees it (``dynamodbstreams.state.StreamsState``)."""

    #: the next record number of this process's sequence (a cluster's sequencer starts above it)
    counter: int

    def feed(self, ch: Any, now: float, counter: int | None = None) -> list[tuple[bytes, bytes | None]]: ...
    def committed(self) -> None: ...
    def abandoned(self) -> None: ...


def outbox_key(seq: int) -> bytes:
    return OUTBOX + struct.pack(">Q", seq)


def outbox_value(fields: dict, data: bytes) -> bytes:
    """An outbox entry as stored: its fields as one JSON line, then the record's Data as is
    (JSON already: the images are not encoded a second time). orjson escapes every newline
    inside a string, so the first newline ends the fields. Read back by
    :func:`tidestream.cdc.publisher.entry_from_disk`."""
    return orjson.dumps(fields) + b"\n" + data


class Capture:
    """The change-capture hook (see :class:`tidestream.dynamodb.itemstore.ItemStore.capture`)."""

    def __init__(
        self,
        engine: Engine,
        metrics: Metrics,
        stream_check: D.StreamCheck,
        table_record: Callable[[Any], tuple[bytes, bytes]],
        streams: StreamFeed | None = None,
    ) -> None:
        self.engine = engine
        self.metrics = metrics
        self.stream_check = stream_check
        #: a table's definition as one engine write (``Catalog.record``): a destination settled
        #: by a commit is saved in that commit's batch
        self.table_record = table_record
        self.seq = self._last_seq() + 1
        #: item key -> last ApproximateCreationDateTime handed out, in microseconds
        self._last_us: dict[bytes, int] = {}
        #: a clock that never steps back within the process, anchored on the wall clock:
        #: microseconds since the epoch = this + monotonic_ns() // 1000 (integers only)
        self._epoch_us = int(time.time() * 1_000_000) - monotonic_ns() // 1000
        self.wake = asyncio.Event()
        #: entries of the commit being written, handed to :attr:`on_committed` once it is durable-
        #: ordered in the engine (so a failed write never publishes a change that didn't happen)
        self._staged: list[tuple[bytes, dict]] = []
        self.on_committed: Any = None
        #: the publisher's inline append (``(arn, table, pk, data) -> appended or None``): a change
        #: appended to its stream in the item's own commit when nothing waits before it
        self.append_inline: Any = None
        #: the inline append of the commit being written, applied once it is in the engine
        self._inline: Any = None
        #: the table whose change that inline append carries (its published count)
        self._inline_table = ""
        #: DynamoDB Streams (tables with a StreamSpecification): its ``feed(change, now)``
        #: writes go in the same batch; None: no DynamoDB Streams
        self.streams = streams
        #: several nodes capture into one database (--cluster): counters and timestamps that
        #: hold across nodes (cdc/sequencing.py); None on one node
        self.sequencer: ClusterSequencer | None = None
        if getattr(engine, "cluster", False):
            floor = max(self.seq, streams.counter if streams is not None else 0)
            self.sequencer = ClusterSequencer(engine, engine.leases(), floor)  # type: ignore[attr-defined]

    def _last_seq(self) -> int:
        for k, _ in self.engine.scan(OUTBOX, OUTBOX_END, reverse=True):
            return struct.unpack(">Q", k[1:9])[0]
        return 0

    def reset(self) -> None:
        self.seq = self._last_seq() + 1
        self._last_us.clear()
        self._staged = []

    def _destination(self, table: Any, writes: list[tuple[bytes, bytes | None]]) -> dict | None:
        for d in table.kinesis_destinations:
            status = d["status"]
            if status == D.ACTIVE:  # the common case first: nothing to settle
                return d
            if status in _SETTLING and D.settle(d, self.stream_check, table):
                writes.append(self.table_record(table))
            if d["status"] in _CAPTURING:
                return d
        return None

    def _timestamp(self, item_key: bytes, micro: bool) -> int:
        """Per-item strictly increasing: +1 unit on ties, as AWS documented it.

        Only items whose last timestamp is not yet in the past need remembering, so the memory
        is bounded by the changes of about one millisecond, not by the number of items."""
        now_us = self._epoch_us + monotonic_ns() // 1000
        remembered = self._last_us
        last = remembered.get(item_key, -1)
        if micro:
            ts = now_us if now_us > last else last + 1
            stored = ts
        else:
            ts = now_us // 1000
            if ts * 1000 + 999 <= last:
                ts = last // 1000 + 1
            stored = ts * 1000 + 999
        remembered[item_key] = stored
        if len(remembered) > _PRUNE_AT:
            self._last_us = {k: v for k, v in remembered.items() if v >= now_us}
        return ts

    def __call__(self, changes: list, now: float) -> list[tuple[bytes, bytes | None]]:
        if self.sequencer is not None:
            return self._capture_across_nodes(changes, now, self.sequencer)
        writes: list[tuple[bytes, bytes | None]] = []
        for ch in changes:
            table = ch.table
            if table.stream_enabled and self.streams is not None and ch.old != ch.new:
                writes.extend(self.streams.feed(ch, now))
            dests = table.kinesis_destinations
            if not dests:
                continue
            dest = dests[0]  # an ACTIVE first destination needs no settling: the common case
            if dest["status"] != D.ACTIVE:
                dest = self._destination(table, writes)
            if dest is None or ch.old == ch.new:
                continue
            pk, data = self._record(ch, table, dest)
            inline = None
            if not self._staged and self._inline is None and self.append_inline is not None:
                # the commit's first change goes straight onto its stream when the publisher
                # can take it now (nothing waits in the outbox, the shard has capacity): no
                # outbox entry, no second batch; one per commit, so its shard counter is current
                inline = self.append_inline(dest["arn"], table.name, pk, data)
            if inline is None:
                self._stage(self._entry(table, dest, pk, now), data, writes)
                continue
            writes.extend(inline.writes)
            self._inline = inline
            self._inline_table = table.name
        return writes

    def _stage(self, entry: dict, data: bytes, writes: list[tuple[bytes, bytes | None]]) -> None:
        """An outbox entry for the change, published after the commit by the publisher."""
        key = outbox_key(self.seq)
        writes.append((key, outbox_value(entry, data)))
        entry["Data"] = data
        self._staged.append((key, entry))
        self.seq += 1

    def _capture_across_nodes(
        self, changes: list, now: float, sequencer: ClusterSequencer
    ) -> list[tuple[bytes, bytes | None]]:
        """:meth:`__call__` in cluster mode: each captured change is numbered from its item's
        stamp (read here, checked by the commit: :meth:`checked_reads`), and the stamp moves on
        in the same batch."""
        writes: list[tuple[bytes, bytes | None]] = []
        sequencer.checked_reads()  # a commit that checked nothing (a TTL delete) left its own
        for ch in changes:
            table = ch.table
            streamed = table.stream_enabled and self.streams is not None
            dest = self._destination(table, writes) if table.kinesis_destinations else None
            if ch.old == ch.new or (dest is None and not streamed):
                continue
            counter = sequencer.begin(ch.key, self._last_us)
            if streamed:
                writes.extend(self.streams.feed(ch, now, counter))  # type: ignore[union-attr]
            if dest is not None:
                pk, data = self._record(ch, table, dest)
                entry = self._entry(table, dest, pk, now)
                key = outbox_key(counter)
                writes.append((key, outbox_value(entry, data)))
                entry["Data"] = data
                self._staged.append((key, entry))
            writes.append(sequencer.finish(ch.key, self._last_us.get(ch.key, 0), counter))
        return writes

    def checked_reads(self) -> list[tuple[bytes, Any]]:
        """Cluster mode: the item stamps this commit's capture read, which its checked write
        must find unchanged (another node's change of the item in between fails the commit)."""
        return [] if self.sequencer is None else self.sequencer.checked_reads()

    def _record(self, ch: Any, table: Any, dest: dict) -> tuple[str, bytes]:
        """The change's partition key and AWS record (its ``Data``), rendered once, here: the
        inline append and the outbox entry both carry these bytes as they are."""
        micro = dest.get("precision") == "MICROSECOND"
        old, new = ch.old, ch.new
        old_size = ch.old_size if ch.old_size > 0 else 0
        new_size = ch.new_size if ch.new_size > 0 else 0
        image = new if new is not None else old
        keys: dict[str, Any] = {}
        for name, _ in table.key_schema:  # not table.key_names: a property building a tuple
            keys[name] = image[name]
        name = "INSERT" if old is None else "REMOVE" if new is None else "MODIFY"  # records.event_name
        data = fill(
            record_template(table.region, table.name, name, ch.by_ttl, micro),
            event_id(),
            self._timestamp(ch.key, micro),
            keys,
            old,
            new,
            item_size(keys) + old_size + new_size,
        )
        self.metrics.captured(table.name, old_size, new_size)
        return partition_key(table.table_id, ch.key), data

    @staticmethod
    def _entry(table: Any, dest: dict, pk: str, now: float) -> dict:
        """The outbox entry's fields: what the publisher needs to route and account for the
        record. In memory the entry is also the record to append (``PartitionKey``, ``Data``),
        so publishing builds nothing per record. Stored as one JSON line of these fields, then
        ``Data`` as is (docs/cdc.md, outbox). Built only for changes that take the outbox."""
        return {
            "destination": dest["arn"],
            "account": table.account,
            "region": table.region,
            "table": table.name,
            "PartitionKey": pk,
            "captured_at": now,
        }

    def committed(self) -> None:
        """The item store's batch (with our outbox writes) is in the engine."""
        if self.streams is not None:
            self.streams.committed()
        if self._inline is not None:
            inline, self._inline = self._inline, None
            inline.applied()
            self.metrics.published_total[self._inline_table] += 1
        if not self._staged:
            return
        staged, self._staged = self._staged, []
        self.metrics.outbox_depth += len(staged)
        if self.on_committed is not None:
            self.on_committed(staged)
        self.wake.set()

    def abandoned(self) -> None:
        """The batch failed: forget what it would have captured. A destination it settled
        stays settled in memory; the disk keeps the old status until the next save, and
        settling again after a restart gives the same result."""
        self._staged = []
        self._inline = None
        if self.streams is not None:
            self.streams.abandoned()
