"""TagResource, UntagResource, ListTags (functions; event source mappings come later)."""

from __future__ import annotations

from ...context import RequestContext
from ..functions import Function
from ..state import LambdaState
from . import REGISTRY


def _function(state: LambdaState, ctx: RequestContext, arn: str) -> Function:
    return state.require(ctx, arn)


@REGISTRY.operation("TagResource")
def tag_resource(state: LambdaState, ctx: RequestContext, params: dict) -> dict:
    fn = _function(state, ctx, params["Resource"])
    state.store.put(Function(**{**fn.__dict__, "tags": {**fn.tags, **params["Tags"]}}))
    return {}


@REGISTRY.operation("UntagResource")
def untag_resource(state: LambdaState, ctx: RequestContext, params: dict) -> dict:
    fn = _function(state, ctx, params["Resource"])
    gone = set(params["TagKeys"])
    state.store.put(Function(**{**fn.__dict__, "tags": {k: v for k, v in fn.tags.items() if k not in gone}}))
    return {}


@REGISTRY.operation("ListTags")
def list_tags(state: LambdaState, ctx: RequestContext, params: dict) -> dict:
    return {"Tags": dict(_function(state, ctx, params["Resource"]).tags)}
