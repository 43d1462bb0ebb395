"""Resource policies: PutResourcePolicy, GetResourcePolicy, DeleteResourcePolicy.

Stored with the stream or the enhanced fan-out consumer the ARN names, and returned as given; nothing
enforces them (tidestream has no IAM). GetResourcePolicy answers ``{}`` when none is set, as
AWS does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import orjson

from ...context import RequestContext
from ...errors import InvalidArgumentException
from ..consumers import Consumer
from ..state import KinesisState
from ..streams import Stream
from . import operation
from .tags import resource_by_arn, save_resource

if TYPE_CHECKING:
    from ...protocol.shapes.kinesis import (
        DeleteResourcePolicyInput,
        GetResourcePolicyInput,
        PutResourcePolicyInput,
    )


def _resource(state: KinesisState, ctx: RequestContext, params: Mapping[str, Any]) -> Stream | Consumer:
    """The stream or the consumer the ResourceARN names (each has its own policy)."""
    return resource_by_arn(state, ctx, params.get("ResourceARN"))[0]


@operation("PutResourcePolicy")
def put_resource_policy(state: KinesisState, ctx: RequestContext, params: PutResourcePolicyInput) -> None:
    resource = _resource(state, ctx, params)
    policy = params["Policy"]
    try:
        doc = orjson.loads(policy)
    except orjson.JSONDecodeError:
        doc = None
    if not isinstance(doc, dict):
        raise InvalidArgumentException("Invalid policy document.")
    resource.policy = policy
    save_resource(state, resource)
    return None


@operation("GetResourcePolicy")
def get_resource_policy(state: KinesisState, ctx: RequestContext, params: GetResourcePolicyInput) -> dict:
    return {"Policy": _resource(state, ctx, params).policy or "{}"}


@operation("DeleteResourcePolicy")
def delete_resource_policy(
    state: KinesisState, ctx: RequestContext, params: DeleteResourcePolicyInput
) -> None:
    resource = _resource(state, ctx, params)
    resource.policy = None
    save_resource(state, resource)
    return None
