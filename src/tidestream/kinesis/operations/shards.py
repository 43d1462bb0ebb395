"""Shard listing and resharding: ListShards, SplitShard, MergeShards, UpdateShardCount."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import orjson

from ...errors import (ExpiredNextTokenException, InvalidArgumentException, LimitExceededException,
                       ValidationException)
from .. import records
from ..messages import not_active, shard_not_found
from ..shards import Shard, even_ranges, parse_shard_id, uniform_lineage
from ..streams import Stream, shard_view
from . import operation
from .streams import check_shard_limit

TOKEN_TTL_MS = 300_000
LIST_MAX = 1000


# ListShards ------------------------------------------------------------------------------------
def _sign(state, body: bytes) -> str:
    tag = hmac.new(state.secret, body, hashlib.sha256).digest()[:12]
    return base64.urlsafe_b64encode(body + tag).decode()


def _unsign(state, token: str) -> dict:
    try:
        raw = base64.urlsafe_b64decode(token.encode())
        body, tag = raw[:-12], raw[-12:]
        if hmac.compare_digest(hmac.new(state.secret, body, hashlib.sha256).digest()[:12], tag):
            return orjson.loads(body)
    except Exception:
        pass
    raise InvalidArgumentException("Invalid NextToken.")


def _filtered(state, stream: Stream, flt: dict | None) -> list[Shard]:
    """The shards a ShardFilter selects (FROM_TRIM_HORIZON, the default, is every kept shard)."""
    shards = sorted(stream.shards.values(), key=lambda s: s.index)
    if not flt:
        return shards
    kind = flt.get("Type")
    now = state.now_ms()
    horizon = max(now - stream.retention_hours * 3_600_000, stream.created_ms)
    if kind == "AFTER_SHARD_ID":
        if not flt.get("ShardId"):
            raise InvalidArgumentException("ShardId must be provided for AFTER_SHARD_ID filter type.")
        idx = parse_shard_id(flt["ShardId"])
        return [s for s in shards if idx is None or s.index > idx]
    if kind == "AT_LATEST":
        return [s for s in shards if s.open]
    if kind == "FROM_TRIM_HORIZON":
        return shards
    if kind == "AT_TRIM_HORIZON":
        return [s for s in shards if s.created_ms <= horizon and (s.open or s.closed_ms > horizon)]
    if kind in ("AT_TIMESTAMP", "FROM_TIMESTAMP"):
        if flt.get("Timestamp") is None:
            raise InvalidArgumentException(f"Timestamp must be provided for {kind} filter type.")
        t = int(float(flt["Timestamp"]) * 1000)
        if kind == "AT_TIMESTAMP":
            t = max(t, stream.created_ms)
            return [s for s in shards if s.created_ms <= t and (s.open or s.closed_ms >= t)]
        t = max(t, horizon)
        return [s for s in shards if s.open or s.closed_ms >= t]
    raise InvalidArgumentException(f"Invalid ShardFilter type {kind}.")


@operation("ListShards")
def list_shards(state, ctx, params: dict) -> dict:
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
        out["NextToken"] = _sign(state, orjson.dumps(
            {"arn": stream.arn, "f": flt, "x": page[-1].index, "t": state.now_ms()}))
    return out


# resharding ------------------------------------------------------------------------------------
def _reshardable(state, ctx, params: dict) -> Stream:
    stream = state.resolve(ctx, params)
    if stream.mode == "ON_DEMAND":
        raise ValidationException(
            f"Request is invalid. Stream {stream.name} under account {stream.account} is in On-Demand mode.")
    if stream.status != "ACTIVE":
        raise not_active(stream.name, stream.account, stream.status)
    return stream


def _shard(stream: Stream, text: str) -> Shard:
    idx = parse_shard_id(text)
    shard = stream.shards.get(idx) if idx is not None else None
    if shard is None:
        raise shard_not_found(text, stream.name, stream.account)
    if not shard.open:
        raise InvalidArgumentException(
            f"Shard {shard.id} in stream {stream.name} under account {stream.account} has already "
            "been merged or split, and thus is not eligible for merging or splitting.")
    return shard


def _commit(state, stream: Stream, new: list[Shard]) -> None:
    stream.rebuild_router()
    state.transition(stream, "UPDATING")
    state.save(stream, [(records.counter_key(stream.id, s.index), records.encode_counter(0, s.created_ms))
                        for s in new])


@operation("SplitShard")
def split_shard(state, ctx, params: dict) -> dict:
    stream = _reshardable(state, ctx, params)
    shard = _shard(stream, params["ShardToSplit"])
    raw = params["NewStartingHashKey"]
    key = int(raw)
    if not shard.start + 1 <= key <= shard.end:
        raise InvalidArgumentException(
            f"NewStartingHashKey {raw} used in SplitShard() on shard {shard.id} in stream "
            f"{stream.name} under account {stream.account} is not both greater than one plus the "
            f"shard's StartingHashKey {shard.start} and less than the shard's EndingHashKey {shard.end}.")
    check_shard_limit(state, stream.account, stream.region, 1)
    now = state.now_ms()
    state.close_shard(stream, shard, now)
    new = [state.open_shard(stream, shard.start, key - 1, now, parent=shard.index),
           state.open_shard(stream, key, shard.end, now, parent=shard.index)]
    _commit(state, stream, new)
    return {}


@operation("MergeShards")
def merge_shards(state, ctx, params: dict) -> dict:
    stream = _reshardable(state, ctx, params)
    a = _shard(stream, params["ShardToMerge"])
    b = _shard(stream, params["AdjacentShardToMerge"])
    if not (a.end + 1 == b.start or b.end + 1 == a.start):
        raise InvalidArgumentException(
            f"Shards {a.id} and {b.id} in stream {stream.name} under account {stream.account} are "
            "not an adjacent pair of shards eligible for merging")
    now = state.now_ms()
    state.close_shard(stream, a, now)
    state.close_shard(stream, b, now)
    new = [state.open_shard(stream, min(a.start, b.start), max(a.end, b.end), now,
                            parent=a.index, adjacent=b.index)]
    _commit(state, stream, new)
    return {}


@operation("UpdateShardCount")
def update_shard_count(state, ctx, params: dict) -> dict:
    stream = _reshardable(state, ctx, params)
    target = params["TargetShardCount"]
    old = sorted(stream.open_shards(), key=lambda s: s.start)
    current = len(old)
    if target > current * 2:
        raise LimitExceededException(
            "UpdateShardCount cannot scale up over double your current open shard count. "
            f"Current open shard count: {current}, Target shard count: {target}")
    if target * 2 < current:
        raise LimitExceededException(
            "UpdateShardCount cannot scale down below half your current open shard count. "
            f"Current open shard count: {current}, Target shard count: {target}")
    if target > current:
        check_shard_limit(state, stream.account, stream.region, target - current)
    result = {"StreamName": stream.name, "CurrentShardCount": current,
              "TargetShardCount": target, "StreamARN": stream.arn}
    if target == current:
        return result
    now = state.now_ms()
    ranges = even_ranges(target)
    lineage = uniform_lineage(old, ranges)
    for s in old:
        state.close_shard(stream, s, now)
    new = [state.open_shard(stream, lo, hi, now, parent=p, adjacent=q)
           for (lo, hi), (p, q) in zip(ranges, lineage)]
    for s in old:  # every overlapped child, even a third one the two parent fields cannot name
        s.children = [n.index for n in new if n.start <= s.end and n.end >= s.start]
    _commit(state, stream, new)
    return result
