"""TagResource, UntagResource, ListTags: of functions and of event source mappings."""

from __future__ import annotations

from dataclasses import replace

from ...context import RequestContext
from ..functions import Function
from ..mappings import EventSourceMapping
from ..messages import ResourceNotFoundException
from ..state import LambdaState
from . import REGISTRY

#: what an event source mapping's ARN holds in place of ``function:<name>``
MAPPING_ARN_PART = ":event-source-mapping:"


def _mapping(state: LambdaState, ctx: RequestContext, arn: str) -> EventSourceMapping:
    mapping = state.mappings.get(arn.rpartition(MAPPING_ARN_PART)[2])
    if mapping is None or mapping.arn != arn or mapping.account != ctx.account_id:
        raise ResourceNotFoundException("The resource you requested does not exist.")
    return mapping


def _resource(state: LambdaState, ctx: RequestContext, arn: str) -> Function | EventSourceMapping:
    if MAPPING_ARN_PART in arn:
        return _mapping(state, ctx, arn)
    return state.require(ctx, arn)


def _save(state: LambdaState, resource: Function | EventSourceMapping, tags: dict[str, str]) -> None:
    if isinstance(resource, EventSourceMapping):
        state.mappings.put(replace(resource, tags=tags))
    else:
        state.store.put(replace(resource, tags=tags), previous=resource)


@REGISTRY.operation("TagResource")
def tag_resource(state: LambdaState, ctx: RequestContext, params: dict) -> dict:
    resource = _resource(state, ctx, params["Resource"])
    _save(state, resource, {**resource.tags, **params["Tags"]})
    return {}


@REGISTRY.operation("UntagResource")
def untag_resource(state: LambdaState, ctx: RequestContext, params: dict) -> dict:
    resource = _resource(state, ctx, params["Resource"])
    gone = set(params["TagKeys"])
    _save(state, resource, {k: v for k, v in resource.tags.items() if k not in gone})
    return {}


@REGISTRY.operation("ListTags")
def list_tags(state: LambdaState, ctx: RequestContext, params: dict) -> dict:
    return {"Tags": dict(_resource(state, ctx, params["Resource"]).tags)}
