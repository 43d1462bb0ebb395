"""Stream tags: the stream-named API (AddTagsToStream...) and the ARN-named one (TagResource...)."""

from __future__ import annotations

from typing import Any

from ...errors import InvalidArgumentException
from ..streams import Stream
from . import operation

MAX_TAGS = 50


def _add(stream: Stream, tags: dict[str, str], account: str) -> None:
    merged = dict(stream.tags)
    merged.update(tags)
    if len(merged) > MAX_TAGS:
        raise InvalidArgumentException(
            f"Failed to add tags to stream {stream.name} under account {account} because a given "
            f"stream cannot have more than {MAX_TAGS} tags.")
    stream.tags = merged


@operation("AddTagsToStream")
def add_tags_to_stream(state, ctx, params: dict) -> dict:
    stream = state.resolve(ctx, params)
    _add(stream, params.get("Tags") or {}, stream.account)
    state.save(stream)
    return {}


@operation("RemoveTagsFromStream")
def remove_tags_from_stream(state, ctx, params: dict) -> dict:
    stream = state.resolve(ctx, params)
    for key in params.get("TagKeys") or []:
        stream.tags.pop(key, None)
    state.save(stream)
    return {}


@operation("ListTagsForStream")
def list_tags_for_stream(state, ctx, params: dict) -> dict:
    stream = state.resolve(ctx, params)
    limit = params.get("Limit") or 50
    after = params.get("ExclusiveStartTagKey")
    keys = sorted(stream.tags)
    if after:
        keys = [k for k in keys if k > after]
    page = keys[:limit]
    return {"Tags": [{"Key": k, "Value": stream.tags[k]} for k in page],
            "HasMoreTags": len(keys) > len(page)}


def _by_arn(state, ctx, params: dict) -> Stream:
    return state.resolve(ctx, {"StreamARN": params.get("ResourceARN")})


@operation("TagResource")
def tag_resource(state, ctx, params: dict) -> dict:
    stream = _by_arn(state, ctx, params)
    _add(stream, params.get("Tags") or {}, stream.account)
    state.save(stream)
    return {}


@operation("UntagResource")
def untag_resource(state, ctx, params: dict) -> dict:
    stream = _by_arn(state, ctx, params)
    for key in params.get("TagKeys") or []:
        stream.tags.pop(key, None)
    state.save(stream)
    return {}


@operation("ListTagsForResource")
def list_tags_for_resource(state, ctx, params: dict) -> dict:
    stream = _by_arn(state, ctx, params)
    tags: list[dict[str, Any]] = [{"Key": k, "Value": stream.tags[k]} for k in sorted(stream.tags)]
    return {"Tags": tags}
