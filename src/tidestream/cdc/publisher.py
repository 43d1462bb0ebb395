"""The publisher: moves outbox entries onto their destination streams.

It drains the outbox in commit order. For each destination stream it renders the AWS record,
appends the accepted records and deletes exactly their outbox entries **in one atomic batch**,
so a crash can neither lose a change nor publish it twice (duplicates appear only when the
chaos switch asks for them). Throttled records stay in the outbox and are retried with back-off;
a shard that refuses one record refuses the rest of the batch, so one item's changes keep their
order. Entries for a stream that no longer exists, records over the stream's size limit and
entries older than the retry horizon are dropped and counted (FailedToReplicateRecordCount).
The table's write path never waits for any of this.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import cbor2

from ..kinesis.append import plan_append
from ..kinesis.streams import parse_arn
from . import destinations as D
from .capture import OUTBOX, OUTBOX_END, Capture
from .metrics import Metrics
from .records import partition_key, render

log = logging.getLogger("tidestream.cdc")

BATCH = 1000
#: how long an undeliverable change is retried before it is dropped and counted
RETRY_HORIZON = 24 * 3600.0
_WRITABLE = ("ACTIVE", "UPDATING")
#: Kinesis's default maximum record (data + partition key); streams don't yet configure it
MAX_RECORD_BYTES = 1024 * 1024


@dataclass
class Chaos:
    """``--cdc-chaos duplicate=0.05,reorder=0.05,delay-ms=200``: AWS's caveats, on purpose."""

    duplicate: float = 0.0
    reorder: float = 0.0
    delay_ms: float = 200.0

    @classmethod
    def parse(cls, text: str | None) -> "Chaos":
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


class Publisher:
    def __init__(self, engine: Any, capture: Capture, kinesis: Any, dynamodb: Any,
                 metrics: Metrics, chaos: Chaos | None = None) -> None:
        self.engine = engine
        self.capture = capture
        self.kinesis = kinesis
        self.dynamodb = dynamodb
        self.metrics = metrics
        self.chaos = chaos or Chaos()
        self._held: dict[bytes, float] = {}  # reorder chaos: outbox key -> not before
        self._duplicates: list[tuple[float, str, dict]] = []  # (due, stream arn, record entry)
        self.metrics.outbox_depth = sum(1 for _ in engine.scan(OUTBOX, OUTBOX_END))

    async def run(self, stopping: asyncio.Event) -> None:
        backoff = 0.0
        wake = self.capture.wake
        while not stopping.is_set():
            if backoff:
                try:
                    await asyncio.wait_for(wake.wait(), timeout=backoff)
                except asyncio.TimeoutError:
                    pass
            else:
                await wake.wait()
            wake.clear()
            try:
                progress, pending = self.drain_once()
            except Exception:  # never let one bad entry stop delivery for everyone
                log.exception("change publisher failed; retrying")
                progress, pending = False, True
            if pending or self._held or self._duplicates:
                backoff = 0.0 if progress else min(max(backoff * 2, 0.01), 1.0)
                if self._held or self._duplicates:
                    backoff = min(backoff or 0.01, self.chaos.delay_ms / 1000)
                if progress:
                    wake.set()  # more to do right away
            else:
                backoff = 0.0

    def reset(self) -> None:
        """After POST /_tidestream/reset wiped the store."""
        self._held.clear()
        self._duplicates.clear()
        self.metrics.outbox_depth = 0
        self.metrics.oldest_pending_at = None

    def drain_once(self) -> tuple[bool, bool]:
        """Publish what can be published now. Returns (made progress, entries still pending)."""
        now = time.time()
        by_stream: dict[str, list[tuple[bytes, dict]]] = defaultdict(list)
        scanned = 0
        oldest: float | None = None
        for key, raw in self.engine.scan(OUTBOX, OUTBOX_END):
            scanned += 1
            if scanned > BATCH:
                break
            held = self._held.get(key)
            if held is not None and held > now:
                continue
            entry = cbor2.loads(raw)
            if oldest is None:
                oldest = entry["at"]
            by_stream[entry["d"]].append((key, entry))
        progress = self._publish_duplicates(now)
        for arn, entries in by_stream.items():
            progress |= self._publish(arn, entries, now)
        remaining = max(0, self.metrics.outbox_depth)
        self.metrics.oldest_pending_at = None if remaining == 0 else oldest
        return progress, remaining > 0

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

    def _drop(self, entries: list[tuple[bytes, dict]], reason: str) -> None:
        self.engine.write([(k, None) for k, _ in entries])
        self.metrics.outbox_depth -= len(entries)
        for _, e in entries:
            self.metrics.failed_total[e["n"]] += 1
        log.warning("dropped %d change records: %s", len(entries), reason)

    def _fail_destination(self, entry: dict, reason: str) -> None:
        table = self.dynamodb.catalog.get(entry["a"], entry["r"], entry["n"])
        if table is None:
            return
        for d in table.kinesis_destinations:
            if d["arn"] == entry["d"] and d["status"] in (D.ACTIVE, D.UPDATING):
                D.fail(d, reason)
                self.dynamodb.catalog.put(table)

    def _record(self, e: dict) -> dict:
        data = render(region=e["r"], event_id=e["id"], table_name=e["n"], keys=e["keys"], old=e["old"],
                      new=e["new"], timestamp=e["ts"], by_ttl=e["ttl"], microseconds=e["us"])
        return {"PartitionKey": partition_key(e["tid"], e["k"]), "Data": data}

    def _publish(self, arn: str, entries: list[tuple[bytes, dict]], now: float) -> bool:
        stream, problem = self._stream(arn)
        if stream is None:
            self._fail_destination(entries[0][1], problem or "stream unavailable")
            self._drop(entries, problem or "stream unavailable")
            return True
        if stream.status not in _WRITABLE:
            return False  # CREATING: try again later
        limit = MAX_RECORD_BYTES
        sendable: list[tuple[bytes, dict, dict]] = []
        dropped: list[tuple[bytes, dict]] = []
        for key, e in entries:
            if now - e["at"] > RETRY_HORIZON:
                dropped.append((key, e))
                continue
            if self.chaos.reorder and key not in self._held and random.random() < self.chaos.reorder:
                self._held[key] = now + self.chaos.delay_ms / 1000
                continue
            rec = self._record(e)
            if len(rec["Data"]) + len(rec["PartitionKey"]) > limit:
                dropped.append((key, e))
                continue
            sendable.append((key, e, rec))
        if dropped:
            self._drop(dropped, "over the stream's record size limit or retry horizon")
        if not sendable:
            return bool(dropped)
        plan = plan_append(self.kinesis, stream, [r for _, _, r in sendable])
        writes = plan.writes
        published = 0
        for (key, e, rec), result in zip(sendable, plan.results):
            if "SequenceNumber" in result:
                writes.append((key, None))
                self._held.pop(key, None)
                published += 1
                self.metrics.published_total[e["n"]] += 1
                if self.chaos.duplicate and random.random() < self.chaos.duplicate:
                    self._duplicates.append((now + self.chaos.delay_ms / 1000, arn, rec))
            else:
                self.metrics.throttled_total[e["n"]] += 1
        if writes:
            self.engine.write(writes)
            plan.applied()
        self.metrics.outbox_depth -= published
        return published > 0 or bool(dropped)

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
