"""Stream tags: the stream-named API (AddTagsToStream...) and the ARN-named one (TagResource...)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...context import RequestContext
from ...errors import InvalidArgumentException
from ...tagging import is_valid_tag_text
from ..consumers import Consumer, parse_consumer_arn
from ..state import KinesisState
from ..streams import Stream
from . import operation
from .consumers import find_consumer

if TYPE_CHECKING:
    from ...protocol.shapes.kinesis import (
        AddTagsToStreamInput,
        ListTagsForResourceInput,
        ListTagsForStreamInput,
        RemoveTagsFromStreamInput,
        TagResourceInput,
        UntagResourceInput,
    )


MAX_TAGS = 50

_INVALID_CHARS = InvalidArgumentException(
    "Some tags contain invalid characters. Valid characters: "
    "Unicode letters, digits, white space, _ . / = + - % @."
)


#: Kinesis's punctuation in tag keys and values (kinesalite's tag tests, run against AWS)
KINESIS_TAG_PUNCTUATION = "_./=+-%@"


def check_tag_text(texts, verb: str, stream: Stream) -> None:
    """AWS's two checks of tag keys/values, in its order and words (verb: 'add' or 'remove')."""
    for t in texts:
        if not is_valid_tag_text(t, KINESIS_TAG_PUNCTUATION):
            raise _INVALID_CHARS
    for t in texts:
        if "%" in t:
            prep = "to" if verb == "add" else "from"
            raise InvalidArgumentException(
                f"Failed to {verb} tags {prep} stream {stream.name} under account {stream.account} "
                "because some tags contained illegal characters. The allowed characters are "
                "Unicode letters, white-spaces, '_',',','/','=','+','-','@'."
            )


def _add(stream: Stream, tags: dict[str, str], account: str, holder: Stream | Consumer | None = None) -> None:
    """Merge *tags* into the holder's (the stream's unless a consumer is named), after AWS's
    checks, which name the stream."""
    holder = holder or stream
    check_tag_text([*tags.keys(), *tags.values()], "add", stream)
    merged = dict(holder.tags)
    merged.update(tags)
    if len(merged) > MAX_TAGS:
        raise InvalidArgumentException(
            f"Failed to add tags to stream {stream.name} under account {account} because a given "
            f"stream cannot have more than {MAX_TAGS} tags associated with it."
        )
    holder.tags = merged


@operation("AddTagsToStream")
def add_tags_to_stream(state: KinesisState, ctx: RequestContext, params: AddTagsToStreamInput) -> None:
    stream = state.resolve(ctx, params)
    _add(stream, params.get("Tags") or {}, stream.account)
    state.save(stream)
    return None


@operation("RemoveTagsFromStream")
def remove_tags_from_stream(
    state: KinesisState, ctx: RequestContext, params: RemoveTagsFromStreamInput
) -> None:
    stream = state.resolve(ctx, params)
    check_tag_text(params.get("TagKeys") or [], "remove", stream)
    for key in params.get("TagKeys") or []:
        stream.tags.pop(key, None)
    state.save(stream)
    return None


@operation("ListTagsForStream")
def list_tags_for_stream(state: KinesisState, ctx: RequestContext, params: ListTagsForStreamInput) -> dict:
    stream = state.resolve(ctx, params)
    limit = params.get("Limit") or 50
    after = params.get("ExclusiveStartTagKey")
    keys = sorted(stream.tags)
    if after:
        keys = [k for k in keys if k > after]
    page = keys[:limit]
    return {"Tags": [{"Key": k, "Value": stream.tags[k]} for k in page], "HasMoreTags": len(keys) > len(page)}


def resource_by_arn(
    state: KinesisState, ctx: RequestContext, arn: str | None
) -> tuple[Stream | Consumer, Stream]:
    """(what a ResourceARN names, its stream): a stream, or one of its enhanced fan-out consumers,
    which AWS tags and guards apart from the stream (TagResource's reference: "a data stream, a
    queue, or an enhanced fan-out consumer"). A consumer ARN used to reach its stream's tags."""
    if arn and parse_consumer_arn(arn) is not None:
        consumer = find_consumer(state, {"ConsumerARN": arn})
        return consumer, state.resolve(ctx, {"StreamARN": consumer.stream_arn})
    stream = state.resolve(ctx, {"StreamARN": arn})
    return stream, stream


def save_resource(state: KinesisState, resource: Stream | Consumer) -> None:
    if isinstance(resource, Consumer):
        state.consumers.save(resource)
    else:
        state.save(resource)


@operation("TagResource")
def tag_resource(state: KinesisState, ctx: RequestContext, params: TagResourceInput) -> None:
    resource, stream = resource_by_arn(state, ctx, params.get("ResourceARN"))
    _add(stream, params.get("Tags") or {}, stream.account, resource)
    save_resource(state, resource)
    return None


@operation("UntagResource")
def untag_resource(state: KinesisState, ctx: RequestContext, params: UntagResourceInput) -> None:
    resource, _ = resource_by_arn(state, ctx, params.get("ResourceARN"))
    for key in params.get("TagKeys") or []:
        resource.tags.pop(key, None)
    save_resource(state, resource)
    return None


@operation("ListTagsForResource")
def list_tags_for_resource(
    state: KinesisState, ctx: RequestContext, params: ListTagsForResourceInput
) -> dict:
    resource, _ = resource_by_arn(state, ctx, params.get("ResourceARN"))
    tags: list[dict[str, Any]] = [{"Key": k, "Value": resource.tags[k]} for k in sorted(resource.tags)]
    return {"Tags": tags}
