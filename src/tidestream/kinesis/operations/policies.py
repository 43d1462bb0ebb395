"""Resource policies: PutResourcePolicy, GetResourcePolicy, DeleteResourcePolicy.

Stored with the stream (a consumer ARN resolves to its stream) and returned as given; nothing
enforces them (tidestream has no IAM). GetResourcePolicy answers ``{}`` when none is set, as
AWS does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import orjson

from ...context import RequestContext
from ...errors import InvalidArgumentException
from ..state import KinesisState
from . import operation

if TYPE_CHECKING:
    from ...protocol.shapes.kinesis import (
        DeleteResourcePolicyInput,
        GetResourcePolicyInput,
        PutResourcePolicyInput,
    )


def _stream(state, ctx, params: Mapping[str, Any]):
    return state.resolve(ctx, {"StreamARN": params.get("ResourceARN")})


@operation("PutResourcePolicy")
def put_resource_policy(state: KinesisState, ctx: RequestContext, params: PutResourcePolicyInput) -> None:
    stream = _stream(state, ctx, params)
    policy = params["Policy"]
    try:
        doc = orjson.loads(policy)
    except orjson.JSONDecodeError:
        doc = None
    if not isinstance(doc, dict):
        raise InvalidArgumentException("Invalid policy document.")
    stream.policy = policy
    state.save(stream)
    return None


@operation("GetResourcePolicy")
def get_resource_policy(state: KinesisState, ctx: RequestContext, params: GetResourcePolicyInput) -> dict:
    stream = _stream(state, ctx, params)
    return {"Policy": stream.policy or "{}"}


@operation("DeleteResourcePolicy")
def delete_resource_policy(
    state: KinesisState, ctx: RequestContext, params: DeleteResourcePolicyInput
) -> None:
    stream = _stream(state, ctx, params)
    stream.policy = None
    state.save(stream)
    return None
