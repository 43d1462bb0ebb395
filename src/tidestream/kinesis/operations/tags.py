"""Stream tags: the stream-named API (AddTagsToStream...) and the ARN-named one (TagResource...)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ...context import RequestContext
from ...errors import InvalidArgumentException
from ...tagging import is_valid_tag_text
from ..state import KinesisState
from ..streams import Stream
from . import operation

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


def _add(stream: Stream, tags: dict[str, str], account: str) -> None:
    check_tag_text([*tags.keys(), *tags.values()], "add", stream)
    merged = dict(stream.tags)
    merged.update(tags)
    if len(merged) > MAX_TAGS:
        raise InvalidArgumentException(
            f"Failed to add tags to stream {stream.name} under account {account} because a given "
            f"stream cannot have more than {MAX_TAGS} tags associated with it."
        )
    stream.tags = merged


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


def _by_arn(state, ctx, params: Mapping[str, Any]) -> Stream:
    return state.resolve(ctx, {"StreamARN": params.get("ResourceARN")})


@operation("TagResource")
def tag_resource(state: KinesisState, ctx: RequestContext, params: TagResourceInput) -> None:
    stream = _by_arn(state, ctx, params)
    _add(stream, params.get("Tags") or {}, stream.account)
    state.save(stream)
    return None


@operation("UntagResource")
def untag_resource(state: KinesisState, ctx: RequestContext, params: UntagResourceInput) -> None:
    stream = _by_arn(state, ctx, params)
    for key in params.get("TagKeys") or []:
        stream.tags.pop(key, None)
    state.save(stream)
    return None


@operation("ListTagsForResource")
def list_tags_for_resource(
    state: KinesisState, ctx: RequestContext, params: ListTagsForResourceInput
) -> dict:
    stream = _by_arn(state, ctx, params)
    tags: list[dict[str, Any]] = [{"Key": k, "Value": stream.tags[k]} for k in sorted(stream.tags)]
    return {"Tags": tags}
