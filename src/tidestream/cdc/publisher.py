"""The publisher: moves outbox entries onto their destination streams.

It drains the outbox in commit order. For each destination stream it renders the AWS record,
appends the accepted records and deletes exactly their outbox entries **in one atomic batch**,
so a crash can neither lose a change nor publish it twice (duplicates appear only when the
chaos switch asks for them). Throttled records stay in the outbox and are retried with back-off;
a shard that refuses one record refuses the rest of the batch, so one item's changes keep their
order. Entries for a stream that no longer exists, records over the stream's size limit and
entries older than the retry horizon are dropped and counted (FailedToReplicateRecordCount).
The table's write path never waits for any of this. In strict durability, an entry is published
only after its commit was fsynced, and the published record is readable only once its own
append is fsynced (the shard's readable tail), so a consumer never sees a change that a power
loss could undo.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import OrderedDict, defaultdict
from dataclasses import dataclass
from itertools import islice
from typing import Any

import cbor2
import orjson

from ..kinesis import records as kinesis_records
from ..kinesis.append import SingleAppend, append_one, plan_append
from ..kinesis.streams import parse_arn
from ..storage.engine import StorageError, StorageTrouble, WriteConflict
from . import destinations as D
from .capture import OUTBOX, OUTBOX_END, Capture
from .metrics import Metrics
from .records import partition_key, render

log = logging.getLogger("tidestream.cdc")

BATCH = 1000
#: most pending entries kept decoded in memory; beyond it they are read back from disk
MIRROR_LIMIT = 50_000
#: wait after a stream refused records for its limits (they refill continuously)
THROTTLE_WAIT = 0.05
#: wait after the store refused a read or write (full disk, corruption) before trying again
STORAGE_RETRY_WAIT = 1.0
#: how long an undeliverable change is retried before it is dropped and counted
RETRY_HORIZON = 24 * 3600.0
#: cluster mode: seconds between reads of the outbox when idle (other nodes' commits don't wake
#: this node's publisher)
CLUSTER_POLL = 0.1
_WRITABLE = ("ACTIVE", "UPDATING")


@dataclass
class Chaos:
    """``--cdc-chaos duplicate=0.05,reorder=0.05,delay-ms=200``: AWS's caveats, on purpose."""

    duplicate: float = 0.0
    reorder: float = 0.0
    delay_ms: float = 200.0

    @classmethod
    def parse(cls, text: str | None) -> Chaos:
        c = cls()
        for part in (text or "").split(","):
            if not part.strip():
                continue
            k, _, v = part.partition("=")
            k = k.strip().replace("-", "_")
            if k not in ("duplicate", "reorder", "delay_ms"):
                raise ValueError(f"unknown --cdc-chaos setting {k!r}")
            setattr(c, k, float(v))
        return c

    @property
    def on(self) -> bool:
        return self.duplicate > 0 or self.reorder > 0


def entry_from_disk(raw: bytes) -> dict:
    """An outbox entry read back from the store (today's layout: :func:`.capture.outbox_value`).
    Entries of earlier releases are CBOR: the rendered record with snake_case fields, or (before
    2026-11-30) the change itself with one-letter keys, rendered here, once."""
    if raw[:1] == b"{":
        header, _, data = raw.partition(b"\n")
        entry = orjson.loads(header)
        entry["Data"] = data
        return entry
    stored = cbor2.loads(raw)
    if "data" in stored:
        return {
            "destination": stored["destination"],
            "account": stored["account"],
            "region": stored["region"],
            "table": stored["table"],
            "PartitionKey": stored["partition_key"],
            "captured_at": stored["captured_at"],
            "Data": stored["data"],
        }
    data = render(
        region=stored["r"],
        event_id=stored["id"],
        table_name=stored["n"],
        keys=stored["keys"],
        old=stored["old"],
        new=stored["new"],
        timestamp=stored["ts"],
        by_ttl=stored["ttl"],
        microseconds=stored["us"],
        size=stored.get("sz"),
    )
    return {
        "destination": stored["d"],
        "account": stored["a"],
        "region": stored["r"],
        "table": stored["n"],
        "PartitionKey": partition_key(stored["tid"], stored["k"]),
        "captured_at": stored["at"],
        "Data": data,
    }


class Publisher:
    """Drains the outbox. Keeps an in-memory mirror of pending entries (filled by the capture
    after each commit, or from disk at startup and after an overflow) so retries neither rescan
    nor re-decode nor re-render anything."""

    def __init__(
        self,
        engine: Any,
        capture: Capture,
        kinesis: Any,
        dynamodb: Any,
        metrics: Metrics,
        chaos: Chaos | None = None,
    ) -> None:
        self.engine = engine
        self.capture = capture
        self.kinesis = kinesis
        self.dynamodb = dynamodb
        self.metrics = metrics
        self.chaos = chaos or Chaos()
        #: outbox key -> entry (also the record to append), in commit order
        self._pending: OrderedDict[bytes, dict] = OrderedDict()
        #: True when entries exist on disk that are not in the mirror
        self._overflow = False
        self._held: dict[bytes, float] = {}  # reorder chaos: outbox key -> not before
        self._duplicates: list[tuple[float, str, dict]] = []  # (due, stream arn, entry)
        #: several nodes share the store (--cluster): this node publishes only while it holds
        #: the publisher's lease (runtime.py), reads the outbox from the store each round (other
        #: nodes' changes are there) and publishes with a checked write (see _write_published);
        #: their appends are numbered elsewhere, so changes always go through the outbox
        self.shared = bool(getattr(engine, "cluster", False))
        capture.on_committed = self._uncount if self.shared else self._add
        #: destination ARN -> (account, region, stream name), for inline appends
        self._arns: dict[str, tuple[str, str, str]] = {}
        capture.append_inline = self.append_inline
        #: chaos reorders and duplicates only what the outbox holds; a cluster numbers elsewhere
        self._outbox_only = self.chaos.on or self.shared
        self.metrics.outbox_depth = sum(1 for _ in engine.scan(OUTBOX, OUTBOX_END))
        self._overflow = self.metrics.outbox_depth > 0

    def _uncount(self, staged: list[tuple[bytes, dict]]) -> None:
        """Cluster mode: the leader, whichever node it is, reads these from the store and
        counts them (``Capture.committed`` added them to this node's gauge)."""
        self.metrics.outbox_depth -= len(staged)

    def append_inline(self, arn: str, table: str, pk: str, data: bytes) -> SingleAppend | None:
        """The change's record, appended in the capturing commit itself, or None to use the
        outbox: when anything waits in it (no change may overtake an earlier one of its item),
        the stream is not plainly writable, the record is over its size limit, the shard is
        throttled, or chaos is on. The record is readable once the commit is fsynced (tails);
        the capture calls the append's ``applied`` and counts it published once committed."""
        if self._pending or self._overflow or self._outbox_only:
            return None
        where = self._arns.get(arn)
        if where is None:
            where = parse_arn(arn)
            if where is None:
                return None
            self._arns[arn] = where
        stream = self.kinesis.catalog.get(*where)
        if stream is None or stream.status_until is not None or stream.status not in _WRITABLE:
            return None  # missing, settling, CREATING: the outbox path handles each
        if len(data) + len(pk) > stream.max_record_bytes:
            return None
        append = append_one(self.kinesis, stream, pk, data)
        if append is None:
            self.metrics.throttled_total[table] += 1
        return append

    def _add(self, staged: list[tuple[bytes, dict]]) -> None:
        if self._overflow or len(self._pending) >= MIRROR_LIMIT:
            self._overflow = True  # the disk has them; refill when the mirror drains
            return
        self._pending.update(staged)

    def _refill(self) -> None:
        """Load pending entries from disk (startup, or after more piled up than the mirror holds)."""
        self._pending.clear()
        for key, raw in self.engine.scan(OUTBOX, OUTBOX_END):
            if len(self._pending) >= MIRROR_LIMIT:
                return
            self._pending[key] = entry_from_disk(raw)
        self._overflow = False

    def _read_head(self) -> None:
        """Cluster mode: the first BATCH entries of the outbox, in one statement: one snapshot,
        so an item's later change is never read without its earlier one (which committed
        first). Paged reads could miss an earlier change that committed between two pages."""
        self._pending.clear()
        for key, raw in self.engine.scan_page(OUTBOX, OUTBOX_END, BATCH):
            self._pending[key] = entry_from_disk(raw)
        self._overflow = False
        self.metrics.outbox_depth = len(self._pending)

    def reset(self) -> None:
        """After POST /_tidestream/reset wiped the store."""
        self._pending.clear()
        self._overflow = False
        self._held.clear()
        self._duplicates.clear()
        self.metrics.outbox_depth = 0
        self.metrics.oldest_pending_at = None

    async def run(self, stopping: asyncio.Event) -> None:
        backoff = 0.0
        wake = self.capture.wake
        trouble = StorageTrouble(log, "change publisher")
        if self._overflow or self._pending:
            wake.set()  # changes left in the outbox by a crash go out now, not at the next write
        while not stopping.is_set():
            if backoff:
                try:
                    await asyncio.wait_for(wake.wait(), timeout=backoff)
                except TimeoutError:
                    pass
            else:
                await wake.wait()
            wake.clear()
            try:
                # publish only changes whose commit is on disk: a consumer must never see a
                # change that a power loss could take back (strict mode; relaxed returns at
                # once). Waiting for the group commit also gathers concurrent commits.
                await self.engine.durable()
                progress, throttled = self.drain_once()
                # the appended records become readable when their own fsync completes (the
                # shards' readable tails, storage/tails.py): ask for it now, as a request would
                await self.engine.durable()
                trouble.ok()
            except StorageError as err:  # full disk, corruption: the entries stay; retry later
                trouble.failed(err)
                backoff = STORAGE_RETRY_WAIT
                continue
            except Exception:  # never let one bad entry stop delivery for everyone
                log.exception("change publisher failed; retrying")
                progress, throttled = False, True
            backoff = self._next_backoff(backoff, progress, throttled)

    def _next_backoff(self, backoff: float, progress: bool, throttled: bool) -> float:
        """How long to wait before the next round (0: until woken); with work left and
        progress made, the next round starts at once."""
        pending = bool(self._pending) or self._overflow
        if throttled:
            backoff = THROTTLE_WAIT  # limits refill over time; don't spin
        elif pending or self._held or self._duplicates:
            backoff = 0.0 if progress else min(max(backoff * 2, 0.01), 1.0)
            if progress:
                self.capture.wake.set()
        else:
            backoff = 0.0
        if self.shared and not backoff:
            backoff = CLUSTER_POLL  # nothing wakes this node for other nodes' changes
        if self._held or self._duplicates:
            backoff = min(backoff or 1.0, self.chaos.delay_ms / 1000)
        return backoff

    def drain_once(self) -> tuple[bool, bool]:
        """Publish what can be published now. Returns (made progress, something was throttled)."""
        if self.shared:
            self._read_head()
        elif not self._pending and self._overflow:
            self._refill()
        now = time.time()
        progress = self._publish_duplicates(now)
        by_stream: dict[str, list[tuple[bytes, dict]]] = defaultdict(list)
        held = self._held
        for key, entry in islice(self._pending.items(), BATCH):
            if held and held.get(key, 0) > now:
                continue
            by_stream[entry["destination"]].append((key, entry))
        throttled = False
        for arn, entries in by_stream.items():
            p, t = self._publish(arn, entries, now)
            progress |= p
            throttled |= t
        if self._pending:
            first = next(iter(self._pending.values()))
            self.metrics.oldest_pending_at = first["captured_at"]
        else:
            self.metrics.oldest_pending_at = None
        return progress, throttled

    # ---------------------------------------------------------------------------------------
    def _stream(self, arn: str) -> tuple[Any, str | None]:
        parsed = parse_arn(arn)
        if parsed is None:
            return None, f"Invalid stream ARN: {arn}"
        account, region, name = parsed
        # on a cluster node, a stream created through another node since this one loaded is read
        # from the store (not a reload of everything, which would end this node's subscriptions)
        stream = self.kinesis.lookup(account, region, name)
        if stream is not None:
            stream = self.kinesis.settle(stream)
        if stream is None or stream.status == "DELETING":
            return None, f"Kinesis stream {arn} not found"
        return stream, None

    def _forget(self, keys: list[bytes]) -> None:
        for k in keys:
            self._pending.pop(k, None)
            self._held.pop(k, None)
        self.metrics.outbox_depth -= len(keys)

    def _drop(self, entries: list[tuple[bytes, dict]], reason: str) -> None:
        self.engine.write([(k, None) for k, _ in entries])
        self._forget([k for k, _ in entries])
        for _, entry in entries:
            self.metrics.failed_total[entry["table"]] += 1
        log.warning("dropped %d change records: %s", len(entries), reason)

    def _fail_destination(self, entry: dict, reason: str) -> None:
        table = self.dynamodb.catalog.get(entry["account"], entry["region"], entry["table"])
        if table is None:
            return
        for d in table.kinesis_destinations:
            if d["arn"] == entry["destination"] and d["status"] in (D.ACTIVE, D.UPDATING):
                D.fail(d, reason)
                self.dynamodb.catalog.put(table)

    def _publish(self, arn: str, entries: list[tuple[bytes, dict]], now: float) -> tuple[bool, bool]:
        stream, problem = self._stream(arn)
        if stream is None:
            self._fail_destination(entries[0][1], problem or "stream unavailable")
            self._drop(entries, problem or "stream unavailable")
            return True, False
        if stream.status not in _WRITABLE:
            return False, True  # CREATING: try again a little later
        sendable, dropped = self._sendable(entries, stream.max_record_bytes, now)
        if dropped:
            self._drop(dropped, "over the stream's record size limit or retry horizon")
        if not sendable:
            return bool(dropped), False
        plan = plan_append(self.kinesis, stream, [e for _, e in sendable])
        writes = plan.writes
        done: list[bytes] = []
        throttled = False
        published = self.metrics.published_total
        duplicate = self.chaos.duplicate
        for (key, e), result in zip(sendable, plan.results):
            if "SequenceNumber" in result:
                writes.append((key, None))
                done.append(key)
                published[e["table"]] += 1
                if duplicate and random.random() < duplicate:
                    self._duplicates.append((now + self.chaos.delay_ms / 1000, arn, e))
            else:
                throttled = True
                self.metrics.throttled_total[e["table"]] += 1
        if writes and not self._commit(writes, done, stream, plan):
            return bool(dropped), True
        self._forget(done)
        return bool(done) or bool(dropped), throttled

    def _commit(
        self, writes: list[tuple[bytes, bytes | None]], done: list[bytes], stream: Any, plan: Any
    ) -> bool:
        """Append and delete the published entries in one batch (checked in cluster mode);
        False: another node got there first and nothing was written."""
        if self.shared:
            if not self._write_published(writes, done, stream):
                return False
        else:
            self.engine.write(writes)
        plan.applied()
        return True

    def _write_published(
        self, writes: list[tuple[bytes, bytes | None]], done: list[bytes], stream: Any
    ) -> bool:
        """Cluster mode: append and delete the outbox entries only if the entries are still
        there and the stream's shard counters are what this node holds. Else another node
        published them, or appended to the stream, since: nothing is written (so nothing is
        published twice and no record number is reused), the counters are read again, and the
        next round starts over from the outbox. Returns whether it was written."""
        counters = self.kinesis.counters
        keys = list(done)
        expected: list[int] = []  # each touched shard's last record counter, as this node holds it
        for key, _ in writes:
            if key.startswith(kinesis_records.COUNTER_PREFIX):
                keys.append(key)
                expected.append(
                    counters[(int.from_bytes(key[3:7], "big"), int.from_bytes(key[7:11], "big"))][0]
                )
        outbox_count = len(done)
        keys.append(stream.key)  # last: resharded or re-encrypted through another node?

        def unchanged(values: list[bytes | None]) -> bool:
            if any(v is None for v in values[:outbox_count]) or values[-1] != stream.stored:
                return False
            stored = [
                0 if v is None else kinesis_records.decode_counter(v)[0] for v in values[outbox_count:-1]
            ]
            return stored == expected

        try:
            self.engine.write_checked(writes, keys, unchanged)
        except WriteConflict:
            log.info("change publisher: another node wrote to %s meanwhile; reading again", stream.name)
            self._reload_counters(stream.id)
            if self.kinesis.shared is not None:
                self.kinesis.shared.reload_stream(stream.key)
            return False
        return True

    def _reload_counters(self, stream_id: int) -> None:
        """The stream's shard counters as stored (another node appended to it)."""
        start = kinesis_records.counter_key(stream_id, 0)
        end = kinesis_records.counter_key(stream_id + 1, 0)
        for key, raw in self.engine.scan(start, end):
            self.kinesis.counters[(stream_id, int.from_bytes(key[7:11], "big"))] = list(
                kinesis_records.decode_counter(raw)
            )

    def _sendable(
        self, entries: list[tuple[bytes, dict]], max_record_bytes: int, now: float
    ) -> tuple[list[tuple[bytes, dict]], list[tuple[bytes, dict]]]:
        """(entries to append now, entries to drop: too old or over the record size limit);
        the reorder chaos holds some back for later."""
        sendable: list[tuple[bytes, dict]] = []
        dropped: list[tuple[bytes, dict]] = []
        horizon = now - RETRY_HORIZON
        reorder = self.chaos.reorder
        for key, e in entries:
            if e["captured_at"] < horizon or len(e["Data"]) + len(e["PartitionKey"]) > max_record_bytes:
                dropped.append((key, e))
            elif reorder and key not in self._held and random.random() < reorder:
                self._held[key] = now + self.chaos.delay_ms / 1000
            else:
                sendable.append((key, e))
        return sendable, dropped

    def _publish_duplicates(self, now: float) -> bool:
        due = [d for d in self._duplicates if d[0] <= now]
        if not due:
            return False
        self._duplicates = [d for d in self._duplicates if d[0] > now]
        for _, arn, entry in due:
            stream, _ = self._stream(arn)
            if stream is None or stream.status not in _WRITABLE:
                continue
            plan = plan_append(self.kinesis, stream, [entry])
            if plan.writes:
                self.engine.write(plan.writes)
                plan.applied()
                self.metrics.duplicates_total += 1
        return True
