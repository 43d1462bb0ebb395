"""Enhanced fan-out: RegisterStreamConsumer, DescribeStreamConsumer, ListStreamConsumers,
DeregisterStreamConsumer, SubscribeToShard (the push itself lives in :mod:`..fanout`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ... import nexttokens
from ...context import RequestContext
from ...errors import (
    ExpiredNextTokenException,
    InvalidArgumentException,
    LimitExceededException,
    ResourceInUseException,
    ResourceNotFoundException,
)
from ...service import Streaming
from ..consumers import MAX_PER_STREAM, Consumer, parse_consumer_arn
from ..fanout import open_subscription
from ..messages import stream_not_found
from ..state import KinesisState
from ..streams import parse_arn
from . import operation

if TYPE_CHECKING:
    from ...protocol.shapes.kinesis import (
        DeregisterStreamConsumerInput,
        DescribeStreamConsumerInput,
        ListStreamConsumersInput,
        RegisterStreamConsumerInput,
        SubscribeToShardInput,
    )


TOKEN_TTL_MS = 300_000


def _view(state, ctx, c: Consumer, with_stream: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ConsumerName": c.name,
        "ConsumerARN": c.arn,
        "ConsumerStatus": c.status,
        "ConsumerCreationTimestamp": state.ts(ctx)(c.created_ms),
    }
    if with_stream:
        out["StreamARN"] = c.stream_arn
    return out


def _not_found(what: str) -> ResourceNotFoundException:
    return ResourceNotFoundException(f"Consumer {what} not found.")


def _stream_of(state, arn: str):
    parsed = parse_arn(arn)
    if parsed is None:
        raise ResourceNotFoundException(f"Stream {arn} not found.")
    stream = state.lookup(*parsed)
    if stream is not None:
        stream = state.settle(stream)
    if stream is None:
        raise stream_not_found(parsed[2], parsed[0])
    _fresh_consumers(state, stream.id)
    return stream


def _consumer_of(state, stream, name: str, now: int) -> Consumer | None:
    if stream is None:
        return None
    _fresh_consumers(state, stream.id)
    return state.consumers.get(stream.id, name, now)


def _fresh_consumers(state, stream_id: int) -> None:
    """On a cluster node, a stream's consumers as stored (changes through another node are
    seen before their notification arrives); one read per consumer call, none on one node."""
    if state.shared is not None:
        state.consumers.reload_stream(stream_id)


def find_consumer(state, params: Mapping[str, Any]) -> Consumer:
    """The consumer named by ConsumerARN, or by StreamARN + ConsumerName (all three may be
    given as long as they agree)."""
    arn = params.get("ConsumerARN")
    stream_arn = params.get("StreamARN")
    name = params.get("ConsumerName")
    now = state.now_ms()
    if arn:
        parsed = parse_consumer_arn(arn)
        if parsed is None:
            raise _not_found(arn)
        account, region, sname, cname, epoch = parsed
        if name is not None and name != cname:
            raise InvalidArgumentException(
                f"ConsumerName {name} does not match the consumer in ConsumerARN {arn}."
            )
        stream = state.lookup(account, region, sname)
        if stream is not None:
            stream = state.settle(stream)
        if stream_arn and (stream is None or stream_arn != stream.arn):
            raise InvalidArgumentException(
                f"StreamARN {stream_arn} does not match the stream in ConsumerARN {arn}."
            )
        c = _consumer_of(state, stream, cname, now)
        if c is None or c.created_ms // 1000 != epoch:
            raise _not_found(arn)
        return c
    if not stream_arn or not name:
        raise InvalidArgumentException(
            "Either ConsumerARN or both StreamARN and ConsumerName must be provided."
        )
    stream = _stream_of(state, stream_arn)
    c = state.consumers.get(stream.id, name, now)
    if c is None:
        raise _not_found(f"{name} under stream {stream_arn}")
    return c


@operation("RegisterStreamConsumer")
def register_stream_consumer(
    state: KinesisState, ctx: RequestContext, params: RegisterStreamConsumerInput
) -> dict:
    stream = _stream_of(state, params["StreamARN"])
    if stream.status not in ("ACTIVE", "UPDATING"):
        raise ResourceInUseException(
            f"Stream {stream.name} under account {stream.account} not ACTIVE, instead in state "
            f"{stream.status}"
        )
    name = params["ConsumerName"]
    now = state.now_ms()
    existing = state.consumers.of_stream(stream.id, now)
    if any(c.name == name for c in existing):
        raise ResourceInUseException(f"Consumer {name} under stream {stream.arn} already exists.")
    if len(existing) >= MAX_PER_STREAM:
        raise LimitExceededException(f"Consumer limit of {MAX_PER_STREAM} exceeded for stream {stream.arn}.")
    c = Consumer(
        stream.id,
        stream.arn,
        name,
        now,
        "CREATING",
        now + int(state.status_delay * 1000),
        dict(params.get("Tags") or {}),
    )
    state.consumers.add(c)
    return {"Consumer": _view(state, ctx, c)}


@operation("DescribeStreamConsumer")
def describe_stream_consumer(
    state: KinesisState, ctx: RequestContext, params: DescribeStreamConsumerInput
) -> dict:
    return {"ConsumerDescription": _view(state, ctx, find_consumer(state, params), with_stream=True)}


@operation("DeregisterStreamConsumer")
def deregister_stream_consumer(
    state: KinesisState, ctx: RequestContext, params: DeregisterStreamConsumerInput
) -> None:
    c = find_consumer(state, params)
    if c.status != "DELETING":
        c.status = "DELETING"
        c.status_until = state.now_ms() + int(state.status_delay * 1000)
        state.consumers.save(c)
        state.consumers.settle(c, state.now_ms())
        state.fanout.appended(c.stream_id)  # live subscriptions notice and end
    return None


def _token(stream_id: int, after: str, now: int) -> str:
    return nexttokens.encode({"s": stream_id, "a": after, "t": now})


def _untoken(token: str, now: int) -> tuple[int, str]:
    try:
        d = nexttokens.decode(token)
        sid, after, issued = int(d["s"]), str(d["a"]), int(d["t"])
    except (ValueError, KeyError, TypeError):  # nexttokens.BadToken is a ValueError
        raise InvalidArgumentException("Invalid NextToken.") from None
    if now - issued > TOKEN_TTL_MS:
        raise ExpiredNextTokenException(f"NextToken has expired: {token}")
    return sid, after


@operation("ListStreamConsumers")
def list_stream_consumers(state: KinesisState, ctx: RequestContext, params: ListStreamConsumersInput) -> dict:
    stream = _stream_of(state, params["StreamARN"])
    now = state.now_ms()
    limit = min(params.get("MaxResults") or 100, 100)
    consumers = state.consumers.of_stream(stream.id, now)
    token = params.get("NextToken")
    if token:
        sid, after = _untoken(token, now)
        if sid != stream.id:
            raise InvalidArgumentException("Invalid NextToken.")
        names = [c.name for c in consumers]
        consumers = (
            consumers[names.index(after) + 1 :]
            if after in names
            else [c for c in consumers if c.name > after]
        )
    page = consumers[:limit]
    out: dict[str, Any] = {"Consumers": [_view(state, ctx, c) for c in page]}
    if len(consumers) > len(page):
        out["NextToken"] = _token(stream.id, page[-1].name, now)
    return out


@operation("SubscribeToShard")
def subscribe_to_shard(state: KinesisState, ctx: RequestContext, params: SubscribeToShardInput) -> Streaming:
    _sub, events = open_subscription(state, ctx, params)
    return Streaming({}, events)
