"""Appending records to a stream: the one write path for PutRecords and change capture.

Planning and committing are separate so a caller can add its own writes to the same atomic
batch: the CDC publisher deletes the outbox entries of exactly the records that were accepted,
in the batch that appends them.
"""

from __future__ import annotations

from binascii import a2b_base64
from collections.abc import Iterable, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from ..errors import InvalidArgumentException, ValidationException
from . import records, sequence
from .messages import rate_exceeded
from .shards import HASH_MAX, md5
from .streams import Stream

if TYPE_CHECKING:
    from ..protocol.shapes.kinesis import PutRecordInput, PutRecordsRequestEntry

THROTTLED = "ProvisionedThroughputExceededException"


def blob(value: Any) -> bytes:
    """Record data: bytes from the validator; base64 text if a request skipped validation."""
    if type(value) is bytes:
        return value
    if isinstance(value, str):
        return a2b_base64(value)
    return bytes(value)


def explicit_hash_key(text: str) -> int:
    try:
        key = int(text)
    except (TypeError, ValueError):
        key = -1
    if not 0 <= key <= HASH_MAX:
        raise InvalidArgumentException(
            "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. "
            f"Specified value was {text}"
        )
    return key


def check_record_sizes(
    stream: Stream, entries: Sequence[PutRecordInput] | Sequence[PutRecordsRequestEntry], single: bool
) -> None:
    """Records over the stream's MaxRecordSizeInKiB (partition key + data) are refused whole,
    worded like AWS's validation of the ``data`` member."""
    limit = stream.max_record_bytes
    for i, entry in enumerate(entries, 1):
        data = entry.get("Data") or b""
        if type(data) is not bytes:  # base64 text when a request skipped validation
            data = entry["Data"] = blob(data)
        size = len(data) + len(entry.get("PartitionKey", "").encode())
        if size > limit:
            where = "data" if single else f"records.{i}.member.data"
            raise ValidationException(
                f"1 validation error detected: Value 'java.nio.HeapByteBuffer[pos=0 lim={len(data)} "
                f"cap={len(data)}]' at '{where}' failed to satisfy constraint: Member must have "
                f"length less than or equal to {limit}"
            )


class _ShardBatch:
    """What one append does to one shard: where its records go and how far its counter moves.

    Attribute reads on a ``__slots__`` class cost what the list indexing they replace did; the
    loop in :func:`plan_append` touches one of these per record."""

    __slots__ = (
        "counter_cell",
        "key_prefix",
        "sequence_base",
        "limiter",
        "next_counter",
        "ms",
        "shard_id",
        "refused",
        "first_counter",
        "bytes_accepted",
    )

    def __init__(
        self, counter_cell: list, key_prefix: bytes, sequence_base: int, limiter: Any, ms: int, shard_id: str
    ) -> None:
        self.counter_cell = counter_cell  # state.counters cell: [last counter, last ms]
        self.key_prefix = key_prefix  # records.shard_prefix(stream, shard)
        self.sequence_base = sequence_base  # stream/shard bits | ms bits of sequence numbers
        self.limiter = limiter  # write limiter, or None without --kinesis-limits
        self.next_counter = counter_cell[0]  # last counter used by this append
        self.ms = ms  # arrival time of every record of this append
        self.shard_id = shard_id
        self.refused = False  # a record was throttled: refuse the rest too
        self.first_counter = counter_cell[0]
        self.bytes_accepted = 0


class AppendPlan:
    """Writes and per-record results of an append, not yet committed."""

    __slots__ = ("writes", "results", "failed", "_touched", "_wake", "_observe")

    def __init__(self) -> None:
        self.writes: list[tuple[bytes, bytes | None]] = []
        self.results: list[dict[str, Any]] = []
        self.failed = 0
        self._touched: dict[int, _ShardBatch] = {}
        self._wake: Any = None
        #: ON_DEMAND write-rate tracking (state.observe_writes), called once committed
        self._observe: Any = None

    def applied(self) -> None:
        """Call once the writes are committed: advances the in-memory shard counters and the
        shards' readable tails (which wake the stream's SubscribeToShard sessions)."""
        for t in self._touched.values():
            t.counter_cell[0], t.counter_cell[1] = t.next_counter, t.ms
        if self._wake is not None and self._touched:
            self._wake(self._touched)
        if self._observe is not None and self._touched:
            self._observe(
                {
                    idx: [t.next_counter - t.first_counter, t.bytes_accepted]
                    for idx, t in self._touched.items()
                }
            )


def plan_append(state: Any, stream: Stream, entries: Iterable[Mapping[str, Any]]) -> AppendPlan:
    """Route, number and encode records (dicts with PartitionKey, Data, ExplicitHashKey).

    Records over a shard's write limit get AWS's per-record ProvisionedThroughputExceeded
    result instead of a sequence number; once a shard refuses a record, it refuses the rest of
    the call too, so records for one shard are never accepted out of order.
    """
    plan = AppendPlan()
    route = stream.router.route
    now = state.now_ms()
    limited = state.limits.applies(stream.mode)
    sid = stream.id
    touched = plan._touched
    append = plan.writes.append
    res = plan.results.append
    pack = records._HDR.pack
    shift_c = sequence._SHIFT_COUNTER
    seal = state.cipher.seal if stream.encryption != "NONE" else None
    if hasattr(state, "records_committed"):  # readable once fsynced; wakes the readers then
        plan._wake = partial(state.records_committed, sid)
    if stream.mode == "ON_DEMAND" and hasattr(state, "observe_writes"):
        plan._observe = partial(state.observe_writes, stream)
    for entry in entries:
        pk = entry["PartitionKey"]
        pkb = pk.encode()
        ehk = entry.get("ExplicitHashKey")
        key = int.from_bytes(md5(pkb).digest(), "big") if ehk is None else explicit_hash_key(ehk)
        shard = route(key)
        t = touched.get(shard.index)
        if t is None:
            t = touched[shard.index] = _start_shard(state, stream, shard, now, limited)
        data = entry["Data"]
        if type(data) is not bytes:
            data = blob(data)
        if limited and (t.refused or not t.limiter.take_write(len(data) + len(pkb))):
            t.refused = True
            plan.failed += 1
            res(
                {
                    "ErrorCode": THROTTLED,
                    "ErrorMessage": rate_exceeded(t.shard_id, stream.name, stream.account),
                }
            )
            continue
        c = t.next_counter = t.next_counter + 1
        t.bytes_accepted += len(data) + len(pkb)
        if seal is None:
            append((t.key_prefix + c.to_bytes(8, "big"), pack(t.ms, len(pkb)) + pkb + data))
        else:
            rkey = t.key_prefix + c.to_bytes(8, "big")
            append((rkey, seal(rkey, t.ms, pkb, data)))
        res({"SequenceNumber": str(t.sequence_base | (c << shift_c)), "ShardId": t.shard_id})
    for idx, t in touched.items():
        if t.next_counter != t.counter_cell[0]:
            append((records.counter_key(sid, idx), records.encode_counter(t.next_counter, t.ms)))
    return plan


def _start_shard(state: Any, stream: Stream, shard: Any, now: int, limited: bool) -> _ShardBatch:
    """The first record of an append for ``shard``: its counter, clock and write limiter."""
    sid = stream.id
    counter_cell = state.counters[(sid, shard.index)]
    limiter = None
    if limited:
        limiter = state.limits.shard(sid, shard.index, now / 1000)
        limiter.refill_write(now / 1000)
    ms = now if now > counter_cell[1] else counter_cell[1]  # never behind a previous append
    base = stream.base(shard) | ((ms & 0xFFFFFFFFFFFF) << sequence._SHIFT_TIME)
    return _ShardBatch(counter_cell, records.shard_prefix(sid, shard.index), base, limiter, ms, shard.id)


class SingleAppend:
    """One record appended to its shard by :func:`append_one`, not yet committed."""

    __slots__ = ("writes", "state", "stream", "shard", "counter", "ms", "size")

    def __init__(
        self,
        writes: list,
        state: Any,
        stream: Stream,
        shard: tuple[int, int],
        counter: int,
        ms: int,
        size: int,
    ) -> None:
        self.writes = writes
        self.state = state
        self.stream = stream
        self.shard = shard  # (stream id, shard index): the key of state.counters and the tails
        self.counter = counter
        self.ms = ms
        self.size = size

    def applied(self) -> None:
        """As :meth:`AppendPlan.applied`, for the one record: the shard's counter, its readable
        tail (readable once the commit is fsynced under strict durability), ON_DEMAND rates
        (counted straight into the hot-shard tracker: no per-record dict of observations)."""
        state, stream, shard = self.state, self.stream, self.shard
        cell = state.counters[shard]
        cell[0], cell[1] = self.counter, self.ms
        state.tails.written(shard, self.counter)
        if (
            stream.mode == "ON_DEMAND"
            and state.limits.enabled
            and state.limits.hot.observe(shard[0], shard[1], 1, self.size, state.clock())
        ):
            state.split_hot(stream, [shard[1]])


def append_one(state: Any, stream: Stream, partition_key: str, data: bytes) -> SingleAppend | None:
    """:func:`plan_append` for one record without an explicit hash key (change capture appends
    a change in its item's own commit); None when the shard's write limit refuses it. The same
    routing, numbering, limits and encoding without a batch's set-up (an AppendPlan, partials,
    a result dict with the sequence number as text), which costs ~4x the work for one record.
    At most one per engine batch: the counter moves only when :meth:`SingleAppend.applied`.
    The shard counter's row is not written (``records.last_counter`` recovers it at start):
    only for single-node stores, whose state reloads from the records themselves."""
    pkb = partition_key.encode()
    shard = stream.router.route(int.from_bytes(md5(pkb).digest(), "big"))
    idx = shard.index
    sid = stream.id
    now = int(state.clock() * 1000)  # state.now_ms() without its frame: this runs per change
    size = len(data) + len(pkb)
    if state.limits.applies(stream.mode):
        limiter = state.limits.shard(sid, idx, now / 1000)
        limiter.refill_write(now / 1000)
        if not limiter.take_write(size):
            return None
    cell_key = (sid, idx)
    last_counter, last_ms = state.counters[cell_key]
    ms = now if now > last_ms else last_ms  # never behind a previous append
    counter = last_counter + 1
    # records.shard_prefix(sid, idx) + the counter's 8 bytes, as one integer's 16 bytes
    key = records.PREFIX + ((sid << 96) | (idx << 64) | counter).to_bytes(16, "big")
    if stream.encryption == "NONE":
        value = records._HDR.pack(ms, len(pkb)) + pkb + data
    else:
        value = state.cipher.seal(key, ms, pkb, data)
    # no counter row: the record's key is the counter, recovered from it at start (records.py)
    return SingleAppend([(key, value)], state, stream, cell_key, counter, ms, size)
