"""The publisher: moves outbox entries onto their destination streams.

It drains the outbox in commit order. For each destination stream it renders the AWS record,
appends the accepted records and deletes exactly their outbox entries **in one atomic batch**,
so a crash can neither lose a change nor publish it twice (duplicates appear only when the
chaos switch asks for them). Throttled records stay in the outbox and are retried with back-off;
a shard that refuses one record refuses the rest of the batch, so one item's changes keep their
order. Entries for a stream that no longer exists, records over the stream's size limit and
entries older than the retry horizon are dropped and counted (FailedToReplicateRecordCount).
The table's write path never waits for any of this. In strict durability, an entry is published
only after its commit was fsynced, so a consumer never sees a change that a power loss could
undo (the published record itself may still be lost; the outbox entry then publishes it again).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import OrderedDict, defaultdict
from dataclasses import dataclass
from typing import Any

import cbor2

from ..kinesis.append import plan_append
from ..kinesis.streams import parse_arn
from ..storage.engine import StorageError, StorageTrouble
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


def entry_from_disk(stored: dict) -> dict:
    """An outbox entry read back from the store. Releases before 2026-11-30 stored the change
    (images, one-letter keys) and rendered it at publication; those are rendered now, once."""
    if "data" in stored:
        return stored
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
        "partition_key": partition_key(stored["tid"], stored["k"]),
        "data": data,
        "captured_at": stored["at"],
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
        #: outbox key -> [entry, rendered record or None], in commit order
        self._pending: OrderedDict[bytes, list] = OrderedDict()
        #: True when entries exist on disk that are not in the mirror
        self._overflow = False
        self._held: dict[bytes, float] = {}  # reorder chaos: outbox key -> not before
        self._duplicates: list[tuple[float, str, dict]] = []  # (due, stream arn, record)
        capture.on_committed = self._add
        self.metrics.outbox_depth = sum(1 for _ in engine.scan(OUTBOX, OUTBOX_END))
        self._overflow = self.metrics.outbox_depth > 0

    def _add(self, staged: list[tuple[bytes, dict]]) -> None:
        if self._overflow or len(self._pending) >= MIRROR_LIMIT:
            self._overflow = True  # the disk has them; refill when the mirror drains
            return
        for key, entry in staged:
            self._pending[key] = [entry, None]

    def _refill(self) -> None:
        """Load pending entries from disk (startup, or after more piled up than the mirror holds)."""
        self._pending.clear()
        for key, raw in self.engine.scan(OUTBOX, OUTBOX_END):
            if len(self._pending) >= MIRROR_LIMIT:
                return
            self._pending[key] = [entry_from_disk(cbor2.loads(raw)), None]
        self._overflow = False

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
                trouble.ok()
            except StorageError as err:  # full disk, corruption: the entries stay; retry later
                trouble.failed(err)
                backoff = STORAGE_RETRY_WAIT
                continue
            except Exception:  # never let one bad entry stop delivery for everyone
                log.exception("change publisher failed; retrying")
                progress, throttled = False, True
            pending = bool(self._pending) or self._overflow
            if throttled:
                backoff = THROTTLE_WAIT  # limits refill over time; don't spin
            elif pending or self._held or self._duplicates:
                backoff = 0.0 if progress else min(max(backoff * 2, 0.01), 1.0)
                if progress:
                    wake.set()
            else:
                backoff = 0.0
            if self._held or self._duplicates:
                backoff = min(backoff or 1.0, self.chaos.delay_ms / 1000)

    def drain_once(self) -> tuple[bool, bool]:
        """Publish what can be published now. Returns (made progress, something was throttled)."""
        if not self._pending and self._overflow:
            self._refill()
        now = time.time()
        progress = self._publish_duplicates(now)
        by_stream: dict[str, list[tuple[bytes, list]]] = defaultdict(list)
        for n, (key, cell) in enumerate(self._pending.items()):
            if n >= BATCH:
                break
            held = self._held.get(key)
            if held is not None and held > now:
                continue
            by_stream[cell[0]["destination"]].append((key, cell))
        throttled = False
        for arn, entries in by_stream.items():
            p, t = self._publish(arn, entries, now)
            progress |= p
            throttled |= t
        if self._pending:
            first = next(iter(self._pending.values()))
            self.metrics.oldest_pending_at = first[0]["captured_at"]
        else:
            self.metrics.oldest_pending_at = None
        return progress, throttled

    # ---------------------------------------------------------------------------------------
    def _stream(self, arn: str) -> tuple[Any, str | None]:
        parsed = parse_arn(arn)
        if parsed is None:
            return None, f"Invalid stream ARN: {arn}"
        account, region, name = parsed
        stream = self.kinesis.catalog.get(account, region, name)
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

    def _drop(self, entries: list[tuple[bytes, list]], reason: str) -> None:
        self.engine.write([(k, None) for k, _ in entries])
        self._forget([k for k, _ in entries])
        for _, cell in entries:
            self.metrics.failed_total[cell[0]["table"]] += 1
        log.warning("dropped %d change records: %s", len(entries), reason)

    def _fail_destination(self, entry: dict, reason: str) -> None:
        table = self.dynamodb.catalog.get(entry["account"], entry["region"], entry["table"])
        if table is None:
            return
        for d in table.kinesis_destinations:
            if d["arn"] == entry["destination"] and d["status"] in (D.ACTIVE, D.UPDATING):
                D.fail(d, reason)
                self.dynamodb.catalog.put(table)

    @staticmethod
    def _record(e: dict) -> dict:
        return {"PartitionKey": e["partition_key"], "Data": e["data"]}

    def _publish(self, arn: str, entries: list[tuple[bytes, list]], now: float) -> tuple[bool, bool]:
        stream, problem = self._stream(arn)
        if stream is None:
            self._fail_destination(entries[0][1][0], problem or "stream unavailable")
            self._drop(entries, problem or "stream unavailable")
            return True, False
        if stream.status not in _WRITABLE:
            return False, True  # CREATING: try again a little later
        sendable: list[tuple[bytes, dict, dict]] = []
        dropped: list[tuple[bytes, list]] = []
        for key, cell in entries:
            e, rec = cell
            if now - e["captured_at"] > RETRY_HORIZON:
                dropped.append((key, cell))
                continue
            if self.chaos.reorder and key not in self._held and random.random() < self.chaos.reorder:
                self._held[key] = now + self.chaos.delay_ms / 1000
                continue
            if rec is None:
                rec = cell[1] = self._record(e)
            if len(rec["Data"]) + len(rec["PartitionKey"]) > stream.max_record_bytes:
                dropped.append((key, cell))
                continue
            sendable.append((key, e, rec))
        if dropped:
            self._drop(dropped, "over the stream's record size limit or retry horizon")
        if not sendable:
            return bool(dropped), False
        plan = plan_append(self.kinesis, stream, [r for _, _, r in sendable])
        writes = plan.writes
        done: list[bytes] = []
        throttled = False
        published = self.metrics.published_total
        for (key, e, rec), result in zip(sendable, plan.results):
            if "SequenceNumber" in result:
                writes.append((key, None))
                done.append(key)
                published[e["table"]] += 1
                if self.chaos.duplicate and random.random() < self.chaos.duplicate:
                    self._duplicates.append((now + self.chaos.delay_ms / 1000, arn, rec))
            else:
                throttled = True
                self.metrics.throttled_total[e["table"]] += 1
        if writes:
            self.engine.write(writes)
            plan.applied()
        self._forget(done)
        return bool(done) or bool(dropped), throttled

    def _publish_duplicates(self, now: float) -> bool:
        due = [d for d in self._duplicates if d[0] <= now]
        if not due:
            return False
        self._duplicates = [d for d in self._duplicates if d[0] > now]
        for _, arn, rec in due:
            stream, _ = self._stream(arn)
            if stream is None or stream.status not in _WRITABLE:
                continue
            plan = plan_append(self.kinesis, stream, [rec])
            if plan.writes:
                self.engine.write(plan.writes)
                plan.applied()
                self.metrics.duplicates_total += 1
        return True
