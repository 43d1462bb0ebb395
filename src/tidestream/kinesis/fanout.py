"""SubscribeToShard: pushing a shard's records to an enhanced fan-out consumer.

A subscription is an async generator of event-stream messages (see
:mod:`tidestream.http.eventstream`): the ``initial-response`` event, then
``SubscribeToShardEvent`` events as records arrive, an empty event (a heartbeat carrying the
ContinuationSequenceNumber) at least every ``heartbeat`` seconds while idle, and -- when a closed
shard is drained -- a last event with ``ChildShards`` and no ContinuationSequenceNumber (the
end-of-shard signal consumers such as the KCL look for). It ends after ``session`` seconds
(AWS: 5 minutes), when a newer subscription of the same consumer and shard takes over, or when
the consumer or stream goes away.

Waking up: every append (PutRecord, PutRecords, change capture) calls :meth:`FanOut.appended`
for its stream, which sets and replaces that stream's :class:`asyncio.Event` (see
:mod:`tidestream.wakeups`); idle subscribers -- and Lambda event source mappings reading the
stream -- wait on it with a timeout, so a new record is pushed at once and nothing polls.

Payloads follow the request's protocol, as the AWS SDKs expect: JSON (Data base64, timestamps
epoch seconds) for boto3/CLI; CBOR (Data raw bytes, timestamps tag 1 epoch milliseconds) when
the SubscribeToShard request came as CBOR (Java SDK v2 / KCL parse event payloads with the
same CBOR codec as responses).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import orjson

from ..errors import AwsError, InvalidArgumentException, ResourceInUseException, ResourceNotFoundException
from ..http import eventstream
from ..storage.engine import StorageError
from ..wakeups import Wakeups
from . import records, sequence
from .consumers import parse_consumer_arn
from .messages import shard_missing
from .shards import child_shards, parse_shard_id, shard_id

log = logging.getLogger("tidestream.kinesis")

#: records per event at most (plus read_page's 10 MB cap)
EVENT_RECORDS = 10000


class Subscription:
    __slots__ = (
        "consumer_arn",
        "stream_id",
        "shard_index",
        "counter",
        "started",
        "superseded",
        "done",
        "claim",
    )

    def __init__(
        self, consumer_arn: str, stream_id: int, shard_index: int, counter: int, started: float
    ) -> None:
        self.consumer_arn = consumer_arn
        self.stream_id = stream_id
        self.shard_index = shard_index
        self.counter = counter
        self.started = started
        self.superseded = False
        self.done = False
        #: cluster mode: the subscription's record in the store (kinesis/cluster.py), which
        #: a newer subscription on any node replaces; None on one node
        self.claim: bytes | None = None


class FanOut(Wakeups):
    """Append notifications per stream (keyed by stream id; also what Lambda's mapping pollers
    wait on) and the live subscriptions (one per consumer+shard)."""

    #: records were appended to the stream: wake its subscribers (and mapping pollers); bound
    #: directly, as it runs on every append
    appended = Wakeups.notify

    def __init__(self, config: Any = None) -> None:
        super().__init__()
        self.session = float(getattr(config, "efo_session_seconds", None) or 300.0)
        self.heartbeat = float(getattr(config, "efo_heartbeat_seconds", None) or 5.0)
        #: a second subscription of the same consumer and shard within this many seconds fails
        self.takeover = 5.0
        self.subs: dict[tuple[str, int], Subscription] = {}

    def claim(self, sub: Subscription, now: float, checked: bool = True) -> None:
        """Register *sub*; ResourceInUse if a live one for the same consumer+shard is < 5 s old
        (``checked=False``: a cluster node, whose store already checked that across nodes)."""
        key = (sub.consumer_arn, sub.shard_index)
        old = self.subs.get(key)
        if old is not None and not old.done and now - old.started < self.session:
            if checked and now - old.started < self.takeover:
                raise ResourceInUseException(
                    f"Another active subscription exists for consumer {sub.consumer_arn} "
                    f"and shard {shard_id(sub.shard_index)}."
                )
            old.superseded = True
            self.appended(old.stream_id)
        self.subs[key] = sub

    def reset(self) -> None:
        """End every live subscription (the state was wiped: POST /_tidestream/reset)."""
        for sub in self.subs.values():
            sub.superseded = True
        self.subs.clear()
        super().reset()

    def release(self, sub: Subscription) -> None:
        sub.done = True
        key = (sub.consumer_arn, sub.shard_index)
        if self.subs.get(key) is sub:
            del self.subs[key]

    def taken_over(self, consumer_arn: str, shard_index: int, claim: bytes | None) -> None:
        """Cluster mode: the stored subscription of this consumer and shard is now ``claim``
        (made on another node): a live one here that is not it ends, as a takeover ends it."""
        sub = self.subs.get((consumer_arn, shard_index))
        if sub is not None and claim is not None and sub.claim != claim:
            sub.superseded = True
            del self.subs[(consumer_arn, shard_index)]
            self.appended(sub.stream_id)


# starting positions --------------------------------------------------------------------------
def start_counter(state, stream, shard, position: dict) -> int:
    """The first counter to deliver for a StartingPosition (same rules as GetShardIterator)."""
    kind = position.get("Type")
    seq = position.get("SequenceNumber")
    last = state.readable_last(stream.id, shard.index)
    if kind in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"):
        if seq is None:
            raise InvalidArgumentException(
                f"StartingPosition.SequenceNumber is required for StartingPosition.Type {kind}."
            )
        d = sequence.parse(seq)
        if d is None or d.stream_id != stream.id or d.shard_index != shard.index:
            raise InvalidArgumentException(
                f"Invalid StartingSequenceNumber {seq} for shard {shard.id} in stream "
                f"{stream.name} under account {stream.account}."
            )
        if kind == "AT_SEQUENCE_NUMBER":
            return max(d.counter, 1)
        return min(d.counter, sequence.COUNTER_MAX - 1) + 1
    if kind == "TRIM_HORIZON":
        return 1
    if kind == "LATEST":
        return last + 1
    if kind == "AT_TIMESTAMP":
        stamp = position.get("Timestamp")
        if stamp is None:
            raise InvalidArgumentException(
                "StartingPosition.Timestamp is required for StartingPosition.Type AT_TIMESTAMP."
            )
        ts_ms = int(round(float(stamp) * 1000))
        return records.counter_at_time(
            state.engine, records.shard_prefix(stream.id, shard.index), last, ts_ms
        )
    raise InvalidArgumentException(f"Invalid StartingPosition.Type {kind}.")


# the operation -------------------------------------------------------------------------------
def open_subscription(state, ctx, params: Mapping[str, Any]) -> tuple[Subscription, AsyncIterator[bytes]]:
    """Validate a SubscribeToShard call and return its subscription and event generator."""
    arn = params["ConsumerARN"]
    parsed = parse_consumer_arn(arn)
    now_ms = state.now_ms()
    if parsed is None:
        raise ResourceNotFoundException(f"Consumer {arn} not found.")
    account, region, stream_name, cname, epoch = parsed
    stream = state.lookup(account, region, stream_name)
    if stream is not None:
        stream = state.settle(stream)
    consumer = None
    if stream is not None:
        consumer = state.consumers.get(stream.id, cname, now_ms)
    if consumer is None or consumer.created_ms // 1000 != epoch:
        raise ResourceNotFoundException(f"Consumer {arn} not found.")
    if consumer.status != "ACTIVE":
        raise ResourceInUseException(f"Consumer {arn} is not ACTIVE, instead in state {consumer.status}.")
    text = params["ShardId"]
    idx = parse_shard_id(text)
    shard = stream.shards.get(idx) if idx is not None else None
    if shard is None:
        raise shard_missing(shard_id(idx) if idx is not None else text, stream.name, stream.account)
    counter = start_counter(state, stream, shard, params.get("StartingPosition") or {})
    if params.get("DryRun"):
        raise AwsError(
            "Request would have succeeded, but DryRun flag is set.", code="DryRunOperationException"
        )
    loop = asyncio.get_running_loop()
    sub = Subscription(consumer.arn, stream.id, shard.index, counter, loop.time())
    if state.shared is not None:  # the 5-second rule and the takeover hold across nodes
        state.shared.claim_subscription(sub, consumer.name)
    state.fanout.claim(sub, sub.started, checked=state.shared is None)
    return sub, _events(state, sub, ctx.cbor, state.ts(ctx))


async def _events(state, sub: Subscription, cbor: bool, ts) -> AsyncIterator[bytes]:
    fan: FanOut = state.fanout
    dump, ctype = _codec(cbor)
    loop = asyncio.get_running_loop()
    deadline = sub.started + fan.session
    pos = sub.counter
    last_seq: str | None = None
    last_sent = float("-inf")
    try:
        yield eventstream.event("initial-response", dump({}), ctype)
        while not sub.superseded:
            if loop.time() >= deadline:  # also when records keep coming (or the reader stalled)
                return
            live = _live_shard(state, sub)
            if live is None:
                yield eventstream.exception(
                    "ResourceNotFoundException",
                    dump(
                        {
                            "message": f"Consumer {sub.consumer_arn} or shard {shard_id(sub.shard_index)} "
                            "no longer exists."
                        }
                    ),
                    ctype,
                )
                return
            stream, shard = live
            wake = fan.waiter(stream.id)  # taken before reading: no append can slip in between
            now_ms = state.now_ms()
            prefix = records.shard_prefix(stream.id, shard.index)
            cutoff = now_ms - stream.retention_hours * 3_600_000
            last = state.readable_last(stream.id, shard.index)
            recs, nxt, _size, last_ms, last_counter = records.read_page(
                state.engine,
                prefix,
                max(pos, 1),
                EVENT_RECORDS,
                cutoff,
                stream.base(shard),
                cbor,
                ts,
                None,
                cipher=getattr(state, "cipher", None),
                json_wire=not cbor,  # the events are always bytes on the wire, even in process
                last=last,
            )
            pos = max(pos, nxt)
            if recs:
                last_seq = sequence.make(stream.base(shard), last_counter, last_ms)
                yield eventstream.event(
                    "SubscribeToShardEvent",
                    dump(
                        {
                            "Records": recs if cbor else records.json_records(recs),
                            "ContinuationSequenceNumber": last_seq,
                            "MillisBehindLatest": _millis_behind(state, prefix, pos, last, now_ms),
                        }
                    ),
                    ctype,
                )
                last_sent = loop.time()
                continue
            if not shard.open and pos > (shard.end_counter or 0):
                yield eventstream.event(
                    "SubscribeToShardEvent",
                    dump(
                        {"Records": [], "MillisBehindLatest": 0, "ChildShards": child_shards(stream, shard)}
                    ),
                    ctype,
                )
                return
            now = loop.time()
            if now >= deadline:
                return
            if now - last_sent >= fan.heartbeat:
                if last_seq is None:
                    last_seq = _sequence_before(state, stream, shard, pos)
                yield eventstream.event(
                    "SubscribeToShardEvent",
                    dump({"Records": [], "ContinuationSequenceNumber": last_seq, "MillisBehindLatest": 0}),
                    ctype,
                )
                last_sent = now = loop.time()
            await _woken_or_timeout(wake, min(deadline, last_sent + fan.heartbeat) - now)
    except StorageError as err:  # a damaged store: the modelled failure event, never a quiet end
        log.error("kinesis SubscribeToShard %s failed: %s", sub.consumer_arn, err)
        yield eventstream.exception(
            "InternalFailureException", dump({"message": "Internal server error"}), ctype
        )
    finally:
        fan.release(sub)
        if state.shared is not None and not sub.superseded:
            state.shared.release_subscription(sub)


def _codec(cbor: bool) -> tuple[Callable[[Any], bytes], str]:
    """The events' encoder and content type: CBOR for CBOR clients, else JSON."""
    if cbor:
        from ..protocol import cbor as cbor_codec

        return cbor_codec.dumps, eventstream.CBOR
    return orjson.dumps, eventstream.JSON


async def _woken_or_timeout(wake: asyncio.Event, timeout: float) -> None:
    """Until the next append (or the timeout: a heartbeat or the session's end is due)."""
    if timeout <= 0:
        return
    try:
        await asyncio.wait_for(wake.wait(), timeout)
    except TimeoutError:
        pass


def _millis_behind(state, prefix: bytes, pos: int, last: int, now_ms: int) -> int:
    """How old the next undelivered record (counter *pos*) is; 0 when all were delivered."""
    if pos > last:
        return 0
    return max(0, now_ms - (records.arrival_of(state.engine, prefix, pos) or now_ms))


def _live_shard(state, sub: Subscription):
    """The subscription's stream and shard, or None once its consumer, stream or shard is gone."""
    stream = state.catalog.by_id.get(sub.stream_id)
    if stream is None:
        return None
    stream = state.settle(stream)
    shard = stream.shards.get(sub.shard_index)
    parsed = parse_consumer_arn(sub.consumer_arn)  # checked when the subscription was made
    consumer = state.consumers.get(stream.id, parsed[3], state.now_ms()) if parsed is not None else None
    if shard is None or consumer is None or consumer.arn != sub.consumer_arn:
        return None
    return stream, shard


def _sequence_before(state, stream, shard, pos: int) -> str:
    """The sequence number of record ``pos - 1`` (exact when it is stored), so that
    AFTER_SEQUENCE_NUMBER with it resumes at *pos* and it never sorts below a delivered one."""
    c = pos - 1
    if c <= 0:
        return stream.starting_sequence(shard)
    ms = records.arrival_of(state.engine, records.shard_prefix(stream.id, shard.index), c)
    if ms is None:
        ctr = state.counters.get((stream.id, shard.index), [0, 0])
        ms = ctr[1] if c == ctr[0] else 0
    return sequence.make(stream.base(shard), c, ms)
