"""Writing and reading records: PutRecord, PutRecords, GetShardIterator, GetRecords.

The hot paths: PutRecords routes, numbers and encodes a whole batch in one loop and commits it
(records plus the touched shards' counters) as one atomic engine write; GetRecords is one
engine scan rendered straight into response dicts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ...context import RequestContext
from ...errors import (
    InvalidArgumentException,
    ProvisionedThroughputExceededException,
    ResourceNotFoundException,
    ValidationException,
)
from .. import iterators, records, sequence
from ..append import blob, check_record_sizes, explicit_hash_key, plan_append
from ..messages import rate_exceeded, shard_missing, shard_not_found, stream_not_found
from ..shards import Shard, child_shards, md5, parse_shard_id, shard_id
from ..state import KinesisState
from ..streams import Stream, parse_arn
from . import operation

if TYPE_CHECKING:
    from ...protocol.shapes.kinesis import (
        GetRecordsInput,
        GetShardIteratorInput,
        PutRecordInput,
        PutRecordsInput,
    )


_WRITABLE = ("ACTIVE", "UPDATING")


def _writable(state, ctx, params: Mapping[str, Any]) -> Stream:
    stream = state.resolve(ctx, params)
    if stream.status not in _WRITABLE:
        raise stream_not_found(stream.name, stream.account)
    return stream


def _sizes_checked(state: KinesisState, stream: Stream, entries: Any, single: bool) -> Stream:
    """The records' sizes checked against the stream's MaxRecordSizeInKiB. A cluster node
    refusing one reads the stream again first: UpdateMaxRecordSize through another node a
    moment ago may not have reached this node's copy (only the refusal pays the round trip)."""
    try:
        check_record_sizes(stream, entries, single)
    except ValidationException:
        fresh = (
            None if state.shared is None else state.shared.lookup(stream.account, stream.region, stream.name)
        )
        if fresh is None or fresh.max_record_kib == stream.max_record_kib:
            raise
        check_record_sizes(fresh, entries, single)
        return fresh
    return stream


def _enc(stream: Stream, out: dict) -> dict:
    if stream.encryption != "NONE":
        out["EncryptionType"] = stream.encryption
    return out


@operation("PutRecord")
def put_record(state: KinesisState, ctx: RequestContext, params: PutRecordInput) -> dict:
    stream = _sizes_checked(state, _writable(state, ctx, params), [params], single=True)
    pk = params["PartitionKey"]
    ehk = params.get("ExplicitHashKey")
    key = explicit_hash_key(ehk) if ehk is not None else int.from_bytes(md5(pk.encode()).digest(), "big")
    ordering = params.get("SequenceNumberForOrdering")
    if ordering is not None and sequence.parse(ordering) is None and ordering != "0":
        raise InvalidArgumentException(
            f"ExclusiveMinimumSequenceNumber {ordering} used in PutRecord on stream {stream.name} "
            f"under account {stream.account} is invalid."
        )
    # ordering holds by construction: counters only grow and child shards sort after parents
    if state.shared is not None:
        return _put_record_shared(state, stream, params)
    shard = stream.router.route(key)
    data = blob(params["Data"])
    pkb = pk.encode()
    now = state.now_ms()
    if state.limits.applies(stream.mode):
        lim = state.limits.shard(stream.id, shard.index, now / 1000)
        lim.refill_write(now / 1000)
        if not lim.take_write(len(data) + len(pkb)):
            raise ProvisionedThroughputExceededException(rate_exceeded(shard.id, stream.name, stream.account))
    ctr = state.counters[(stream.id, shard.index)]
    c = ctr[0] + 1
    ms = now if now > ctr[1] else ctr[1]
    record_key = records.shard_prefix(stream.id, shard.index) + c.to_bytes(8, "big")
    value = (
        records.encode(ms, pkb, data)
        if stream.encryption == "NONE"
        else state.cipher.seal(record_key, ms, pkb, data)
    )
    state.engine.write(
        [(record_key, value), (records.counter_key(stream.id, shard.index), records.encode_counter(c, ms))]
    )
    ctr[0], ctr[1] = c, ms
    state.tails.written((stream.id, shard.index), c)
    if stream.mode == "ON_DEMAND":
        state.observe_writes(stream, {shard.index: [1, len(data) + len(pkb)]})
    return _enc(stream, {"ShardId": shard.id, "SequenceNumber": sequence.make(stream.base(shard), c, ms)})


def _put_record_shared(state: KinesisState, stream: Stream, params: PutRecordInput) -> dict:
    """PutRecord on a cluster node: numbered under the shard's lock in the store (cluster.py)."""
    assert state.shared is not None
    plan = state.shared.append(stream, [params])
    plan.applied()
    result = plan.results[0]
    if "ErrorCode" in result:
        raise ProvisionedThroughputExceededException(result["ErrorMessage"])
    return _enc(stream, dict(result))


@operation("PutRecords")
def put_records(state: KinesisState, ctx: RequestContext, params: PutRecordsInput) -> dict:
    stream = _sizes_checked(state, _writable(state, ctx, params), params["Records"], single=False)
    if state.shared is not None:
        plan = state.shared.append(stream, params["Records"])
        plan.applied()
        return _enc(stream, {"FailedRecordCount": plan.failed, "Records": plan.results})
    plan = plan_append(state, stream, params["Records"])
    if plan.writes:
        state.engine.write(plan.writes)
        plan.applied()
    return _enc(stream, {"FailedRecordCount": plan.failed, "Records": plan.results})


_COMBO = (
    "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and "
    "StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. "
    "Request specified {} and {} StartingSequenceNumber."
)


def _name_of(params: Mapping[str, Any]) -> str:
    if params.get("StreamName"):
        return params["StreamName"]
    parsed = parse_arn(params.get("StreamARN") or "")
    return parsed[2] if parsed else str(params.get("StreamARN"))


def _shard_for(stream: Stream, text: str) -> Shard:
    idx = parse_shard_id(text)
    shard = stream.shards.get(idx) if idx is not None else None
    if shard is None:
        shown = shard_id(idx) if idx is not None else text
        raise shard_missing(shown, stream.name, stream.account)
    return shard


@operation("GetShardIterator")
def get_shard_iterator(state: KinesisState, ctx: RequestContext, params: GetShardIteratorInput) -> dict:
    # AWS reads the shard id first ("Could not find shard X" even for an unknown stream), and
    # words an unknown stream as an unknown shard of it
    idx = parse_shard_id(params["ShardId"])
    if idx is None:
        raise shard_not_found(params["ShardId"], _name_of(params), ctx.account_id)
    try:
        stream = _writable(state, ctx, params)
    except ResourceNotFoundException:
        raise shard_missing(shard_id(idx), _name_of(params), ctx.account_id) from None
    shard = _shard_for(stream, params["ShardId"])
    kind = params["ShardIteratorType"]
    seq = params.get("StartingSequenceNumber")
    last = state.readable_last(stream.id, shard.index)
    now = state.now_ms()
    if kind in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"):
        if seq is None:
            raise InvalidArgumentException(_COMBO.format(kind, "no"))
        d = sequence.parse(seq)
        where = (
            f"used in GetShardIterator on shard {shard.id} in stream {stream.name} "
            f"under account {stream.account} is invalid"
        )
        if d is None:
            raise InvalidArgumentException(f"StartingSequenceNumber {seq} {where}.")
        if d.stream_id != stream.id:
            raise InvalidArgumentException(
                f"StartingSequenceNumber {seq} {where} because it did not come from this stream."
            )
        if d.shard_index != shard.index:
            raise InvalidArgumentException(
                f"Invalid StartingSequenceNumber. It encodes {shard_id(d.shard_index)}, while it "
                f"was used in a call to a shard with {shard.id}"
            )
        counter = d.counter if kind == "AT_SEQUENCE_NUMBER" else min(d.counter, sequence.COUNTER_MAX - 1) + 1
    elif seq is not None:
        raise InvalidArgumentException(_COMBO.format(kind, "also a"))
    elif kind == "TRIM_HORIZON":
        counter = 1  # counters start at 1; 0 is the shard's StartingSequenceNumber
    elif kind == "LATEST":
        counter = last + 1
    else:  # AT_TIMESTAMP
        stamp = params.get("Timestamp")
        if stamp is None:
            raise InvalidArgumentException(
                "Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. "
                "Current request has no timestamp parameter."
            )
        ts_ms = int(round(float(stamp) * 1000))
        if ts_ms > now:
            raise InvalidArgumentException(
                "The timestampInMillis parameter cannot be greater than the currentTimestampInMillis. "
                f"timestampInMillis: {ts_ms}, currentTimestampInMillis: {now}"
            )
        counter = records.counter_at_time(
            state.engine, records.shard_prefix(stream.id, shard.index), last, ts_ms
        )
    return {"ShardIterator": iterators.issue(state.secret, stream.id, shard.index, counter, now, stream.name)}


def _iterator_stream(state: KinesisState, ctx: RequestContext, pos: iterators.Position) -> tuple[Stream, int]:
    """The stream an iterator reads and the counter it reads from. AWS iterators name the
    stream: one issued before the stream was deleted reads a new stream of the same name (from
    its tip) if that stream has the shard."""
    stream = state.catalog.by_id.get(pos.stream_id)
    if stream is not None:
        stream = state.settle(stream)
    if stream is None:  # (a cluster node may not have heard of the stream yet: same id then)
        stream = state.lookup(ctx.account_id, ctx.region, pos.stream_name)
        if stream is not None:
            stream = state.settle(stream)
    counter = pos.counter
    if stream is not None and stream.id != pos.stream_id and pos.shard_index in stream.shards:
        counter = state.readable_last(stream.id, pos.shard_index) + 1
    if stream is None or stream.account != ctx.account_id or stream.region != ctx.region:
        raise shard_missing(shard_id(pos.shard_index), pos.stream_name, ctx.account_id)
    return stream, counter


@operation("GetRecords")
def get_records(state: KinesisState, ctx: RequestContext, params: GetRecordsInput) -> dict:
    now = state.now_ms()
    pos = iterators.open_(state.secret, params["ShardIterator"], now)
    stream, counter = _iterator_stream(state, ctx, pos)
    shard = stream.shards.get(pos.shard_index)
    if shard is None:
        raise shard_missing(shard_id(pos.shard_index), stream.name, stream.account)
    lim = None
    if state.limits.applies(stream.mode):
        lim = state.limits.shard(stream.id, shard.index, now / 1000)
        if not lim.admit_read(now / 1000):
            raise ProvisionedThroughputExceededException(rate_exceeded(shard.id, stream.name, stream.account))
    limit = params.get("Limit") or 10000
    cutoff = now - stream.retention_hours * 3_600_000
    prefix = records.shard_prefix(stream.id, shard.index)
    last = state.readable_last(stream.id, shard.index)
    # EncryptionType comes per record: KMS for records stored encrypted (see ..encryption)
    recs, nxt, size, last_ms, _last_counter = records.read_page(
        state.engine,
        prefix,
        max(counter, 1),
        limit,
        cutoff,
        stream.base(shard),
        ctx.cbor,
        state.ts(ctx),
        None,
        state.cipher,
        json_wire=ctx.wire and not ctx.cbor,
        last=last,
    )
    if lim is not None:
        lim.charge_read(size)
    if nxt <= last:
        nxt_ms = records.arrival_of(state.engine, prefix, nxt) if not recs else last_ms
        # records remain: never report 0 ("caught up"), even when they arrived this millisecond
        behind = max(1, now - (nxt_ms or now))
    else:
        nxt = max(nxt, last + 1)
        behind = 0
    out: dict[str, Any] = {"Records": records.json_records(recs) if ctx.wire and not ctx.cbor else recs}
    if not shard.open and nxt > (shard.end_counter or 0):
        out["MillisBehindLatest"] = behind
        out["ChildShards"] = child_shards(stream, shard)
        return out
    out["NextShardIterator"] = iterators.issue(state.secret, stream.id, shard.index, nxt, now, stream.name)
    out["MillisBehindLatest"] = behind
    return out
