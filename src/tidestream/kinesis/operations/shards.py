"""Shard listing and resharding: ListShards, SplitShard, MergeShards, UpdateShardCount."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ... import nexttokens
from ...context import RequestContext
from ...errors import (
    ExpiredNextTokenException,
    InvalidArgumentException,
    LimitExceededException,
    ValidationException,
)
from .. import records
from ..messages import not_active, shard_not_found
from ..shards import Shard, even_ranges, parse_shard_id, shard_id, uniform_lineage
from ..state import KinesisState
from ..streams import Stream, parse_arn, shard_view
from . import operation
from .streams import account_shard_limit, check_shard_limit

if TYPE_CHECKING:
    from ...protocol.shapes.kinesis import (
        ListShardsInput,
        MergeShardsInput,
        SplitShardInput,
        UpdateShardCountInput,
    )


TOKEN_TTL_MS = 300_000
LIST_MAX = 1000


# ListShards ------------------------------------------------------------------------------------
def _unsign(state, token: str) -> dict:
    try:
        return nexttokens.decode(token, secret=state.secret)
    except nexttokens.BadToken:
        raise InvalidArgumentException("Invalid NextToken.") from None


def _filtered(state, stream: Stream, flt: Mapping[str, Any] | None) -> list[Shard]:
    """The shards a ShardFilter selects (FROM_TRIM_HORIZON, the default, is every kept shard)."""
    shards = sorted(stream.shards.values(), key=lambda s: s.index)
    if not flt:
        return shards
    kind = flt.get("Type")
    select = _SHARD_FILTERS.get(kind or "")
    if select is None:
        raise InvalidArgumentException(f"Invalid ShardFilter type {kind}.")
    return select(state, stream, flt, shards)


def _trim_horizon_ms(state, stream: Stream) -> int:
    """The oldest moment still retained: retention back from now, never before the stream."""
    return max(state.now_ms() - stream.retention_hours * 3_600_000, stream.created_ms)


def _after_shard_id(state, stream: Stream, flt: Mapping[str, Any], shards: list[Shard]) -> list[Shard]:
    if not flt.get("ShardId"):
        raise InvalidArgumentException("ShardId must be provided for AFTER_SHARD_ID filter type.")
    idx = parse_shard_id(flt["ShardId"])
    return [s for s in shards if idx is None or s.index > idx]


def _at_latest(state, stream: Stream, flt: Mapping[str, Any], shards: list[Shard]) -> list[Shard]:
    return [s for s in shards if s.open]


def _from_trim_horizon(state, stream: Stream, flt: Mapping[str, Any], shards: list[Shard]) -> list[Shard]:
    return shards


def _at_trim_horizon(state, stream: Stream, flt: Mapping[str, Any], shards: list[Shard]) -> list[Shard]:
    """The shards open at the trim horizon."""
    horizon = _trim_horizon_ms(state, stream)
    return [s for s in shards if s.created_ms <= horizon and (s.closed_ms is None or s.closed_ms > horizon)]


def _filter_timestamp_ms(flt: Mapping[str, Any]) -> int:
    if flt.get("Timestamp") is None:
        raise InvalidArgumentException(f"Timestamp must be provided for {flt.get('Type')} filter type.")
    return int(float(flt["Timestamp"]) * 1000)


def _at_timestamp(state, stream: Stream, flt: Mapping[str, Any], shards: list[Shard]) -> list[Shard]:
    """The shards open at the moment (not before the stream existed)."""
    t = max(_filter_timestamp_ms(flt), stream.created_ms)
    return [s for s in shards if s.created_ms <= t and (s.closed_ms is None or s.closed_ms >= t)]


def _from_timestamp(state, stream: Stream, flt: Mapping[str, Any], shards: list[Shard]) -> list[Shard]:
    """The shards open at or after the moment (not before the trim horizon)."""
    t = max(_filter_timestamp_ms(flt), _trim_horizon_ms(state, stream))
    return [s for s in shards if s.closed_ms is None or s.closed_ms >= t]


_SHARD_FILTERS: dict[str, Callable[[Any, Stream, Mapping[str, Any], list[Shard]], list[Shard]]] = {
    "AFTER_SHARD_ID": _after_shard_id,
    "AT_LATEST": _at_latest,
    "FROM_TRIM_HORIZON": _from_trim_horizon,
    "AT_TRIM_HORIZON": _at_trim_horizon,
    "AT_TIMESTAMP": _at_timestamp,
    "FROM_TIMESTAMP": _from_timestamp,
}


@operation("ListShards")
def list_shards(state: KinesisState, ctx: RequestContext, params: ListShardsInput) -> dict:
    token = params.get("NextToken")
    named = params.get("StreamName") or params.get("StreamARN")
    if token and named:
        raise InvalidArgumentException("NextToken and StreamName cannot be provided together.")
    if not token and not named:
        raise InvalidArgumentException("Either NextToken or StreamName should be provided.")
    max_results = min(params.get("MaxResults") or LIST_MAX, LIST_MAX)
    flt = params.get("ShardFilter")
    after = None
    if token:
        data = _unsign(state, token)
        if state.now_ms() - data["t"] > TOKEN_TTL_MS:
            raise ExpiredNextTokenException("The NextToken has expired. NextToken is valid for 300 seconds.")
        stream = state.resolve(ctx, {"StreamARN": data["arn"]})
        flt, after = data["f"], data["x"]
    else:
        stream = state.resolve(ctx, params)
        if params.get("ExclusiveStartShardId"):
            after = parse_shard_id(params["ExclusiveStartShardId"])
    shards = _filtered(state, stream, flt)
    if after is not None:
        shards = [s for s in shards if s.index > after]
    page = shards[:max_results]
    out: dict[str, Any] = {"Shards": [shard_view(stream, s) for s in page]}
    if len(shards) > len(page):
        out["NextToken"] = nexttokens.encode(
            {"arn": stream.arn, "f": flt, "x": page[-1].index, "t": state.now_ms()}, secret=state.secret
        )
    return out


# resharding ------------------------------------------------------------------------------------
#
# A resharding request is checked at once, but applied when the stream's UPDATING period ends
# (``--status-delay``; 0 applies it at the next look): until then DescribeStream and ListShards
# show the old shards and records keep going to them, as on AWS.


def _named(ctx, params: Mapping[str, Any]) -> str:
    """The stream name for messages raised before the stream is looked up."""
    if params.get("StreamName"):
        return params["StreamName"]
    parsed = parse_arn(params.get("StreamARN") or "")
    return parsed[2] if parsed else str(params.get("StreamARN"))


def _index(ctx, params: Mapping[str, Any], field: str) -> int:
    """The shard index in *field*; AWS checks it before it looks the stream up."""
    idx = parse_shard_id(params[field])
    if idx is None:
        raise shard_not_found(params[field], _named(ctx, params), ctx.account_id)
    return idx


def _reshardable(state, ctx, params: Mapping[str, Any]) -> Stream:
    stream = state.resolve(ctx, params)
    if stream.mode == "ON_DEMAND":
        raise ValidationException(
            f"Request is invalid. Stream {stream.name} under account {stream.account} is in On-Demand mode."
        )
    if stream.status != "ACTIVE":
        raise not_active(stream.name, stream.account, stream.status)
    return stream


def _shard(stream: Stream, idx: int) -> Shard:
    shard = stream.shards.get(idx)
    if shard is None:
        raise shard_not_found(shard_id(idx), stream.name, stream.account)
    if not shard.open:
        raise InvalidArgumentException(
            f"Shard {shard.id} in stream {stream.name} under account {stream.account} has already "
            "been merged or split, and thus is not eligible for merging or splitting."
        )
    return shard


def _request(state, stream: Stream, change: dict) -> None:
    """Queue a checked resharding; the stream is UPDATING until it applies."""
    stream.pending.append(change)
    state.transition(stream, "UPDATING")
    state.save(stream)


def split(state, stream: Stream, shard: Shard, key: int, now: int) -> list[Shard]:
    state.close_shard(stream, shard, now)
    return [
        state.open_shard(stream, shard.start, key - 1, now, parent=shard.index),
        state.open_shard(stream, key, shard.end, now, parent=shard.index),
    ]


def merge(state, stream: Stream, a: Shard, b: Shard, now: int) -> list[Shard]:
    state.close_shard(stream, a, now)
    state.close_shard(stream, b, now)
    return [
        state.open_shard(
            stream, min(a.start, b.start), max(a.end, b.end), now, parent=a.index, adjacent=b.index
        )
    ]


def scale(state, stream: Stream, target: int, now: int) -> list[Shard]:
    old = sorted(stream.open_shards(), key=lambda s: s.start)
    ranges = even_ranges(target)
    lineage = uniform_lineage(old, ranges)
    for s in old:
        state.close_shard(stream, s, now)
    new = [
        state.open_shard(stream, lo, hi, now, parent=p, adjacent=q)
        for (lo, hi), (p, q) in zip(ranges, lineage)
    ]
    for s in old:  # every overlapped child, even a third one the two parent fields cannot name
        s.children = [n.index for n in new if n.start <= s.end and n.end >= s.start]
    return new


def commit(state, stream: Stream, new: list[Shard]) -> None:
    """Persist new shards (and their counters) with the stream; route to them from now on."""
    stream.rebuild_router()
    state.save(
        stream,
        [(records.counter_key(stream.id, s.index), records.encode_counter(0, s.created_ms)) for s in new],
    )


def apply_pending(state, stream: Stream) -> None:
    """Apply the queued reshardings (called when the stream's UPDATING period ends)."""
    now = state.now_ms()
    new: list[Shard] = []
    for change in stream.pending:
        op = change["op"]
        if op == "split":
            shard = stream.shards.get(change["shard"])
            if shard is not None and shard.open:
                new += split(state, stream, shard, int(change["key"]), now)
        elif op == "merge":
            a, b = stream.shards.get(change["a"]), stream.shards.get(change["b"])
            if a is not None and b is not None and a.open and b.open:
                new += merge(state, stream, a, b, now)
        elif op == "scale" and len(stream.open_shards()) != change["target"]:
            new += scale(state, stream, change["target"], now)
    stream.pending = []
    commit(state, stream, [s for s in new if s.open])


@operation("SplitShard")
def split_shard(state: KinesisState, ctx: RequestContext, params: SplitShardInput) -> None:
    idx = _index(ctx, params, "ShardToSplit")
    stream = _reshardable(state, ctx, params)
    shard = _shard(stream, idx)
    raw = params["NewStartingHashKey"]
    key = int(raw)
    if not shard.start + 1 < key < shard.end:
        raise InvalidArgumentException(
            f"NewStartingHashKey {raw} used in SplitShard() on shard {shard.id} in stream "
            f"{stream.name} under account {stream.account} is not both greater than one plus the "
            f"shard's StartingHashKey {shard.start} and less than the shard's EndingHashKey {shard.end}."
        )
    check_shard_limit(state, stream.account, stream.region, 1)
    _request(state, stream, {"op": "split", "shard": shard.index, "key": str(key)})
    return None


@operation("MergeShards")
def merge_shards(state: KinesisState, ctx: RequestContext, params: MergeShardsInput) -> None:
    ia = _index(ctx, params, "ShardToMerge")
    ib = _index(ctx, params, "AdjacentShardToMerge")
    stream = _reshardable(state, ctx, params)
    a = _shard(stream, ia)
    b = _shard(stream, ib)
    if a.end + 1 != b.start:  # AWS wants the adjacent shard *after* ShardToMerge
        raise InvalidArgumentException(
            f"Shards {a.id} and {b.id} in stream {stream.name} under account {stream.account} are "
            "not an adjacent pair of shards eligible for merging"
        )
    _request(state, stream, {"op": "merge", "a": a.index, "b": b.index})
    return None


@operation("UpdateShardCount")
def update_shard_count(state: KinesisState, ctx: RequestContext, params: UpdateShardCountInput) -> dict:
    stream = _reshardable(state, ctx, params)
    target = params["TargetShardCount"]
    current = len(stream.open_shards())
    if state.limits.enabled:
        limit = account_shard_limit(stream.region)
        if target > limit or state.open_shard_count(stream.account, stream.region) - current + target > limit:
            raise LimitExceededException(
                f"Target shard count or number of open shards cannot be greater than {limit}. "
                f"Current open shard count: {current}, Target shard count: {target}"
            )
    if target > current * 2:
        raise LimitExceededException(
            "UpdateShardCount cannot scale up over double your current open shard count. "
            f"Current open shard count: {current}, Target shard count: {target}"
        )
    if target * 2 < current:
        raise LimitExceededException(
            "UpdateShardCount cannot scale down below half your current open shard count. "
            f"Current open shard count: {current}, Target shard count: {target}"
        )
    result = {
        "StreamName": stream.name,
        "CurrentShardCount": current,
        "TargetShardCount": target,
        "StreamARN": stream.arn,
    }
    if target == current:
        return result
    _request(state, stream, {"op": "scale", "target": target})
    return result
