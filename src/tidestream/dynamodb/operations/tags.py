"""TagResource, UntagResource, ListTagsOfResource (tables by ARN)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...context import RequestContext
from ...errors import AccessDeniedException, ResourceNotFoundException, ValidationException
from ..state import DynamoState
from ..tables import Table
from . import operation

if TYPE_CHECKING:
    from ...protocol.shapes.dynamodb import ListTagsOfResourceInput, TagResourceInput, UntagResourceInput


MAX_TAGS = 50


def _table_by_arn(state: DynamoState, ctx: RequestContext, arn: str) -> Table:
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "dynamodb" or not parts[5].startswith("table/"):
        raise ValidationException(f"Invalid TableArn: Invalid ResourceArn provided as input {arn}")
    if parts[4] != ctx.account_id:
        raise AccessDeniedException(
            f"User: arn:aws:iam::{ctx.account_id}:root is not authorized to perform: "
            f"dynamodb:{ctx.operation} on resource: {arn}"
        )
    t = state.catalog.get(parts[4], parts[3], parts[5][6:])
    if t is None:
        raise ResourceNotFoundException(f"Requested resource not found: ResourcArn: {arn} not found")
    return t


@operation("TagResource")
def tag_resource(state: DynamoState, ctx: RequestContext, p: TagResourceInput) -> dict:
    t = _table_by_arn(state, ctx, p["ResourceArn"])
    tags = dict(t.tags)
    for tag in p["Tags"]:
        tags[tag["Key"]] = tag["Value"]
    if len(tags) > MAX_TAGS:
        raise ValidationException("One or more parameter values were invalid: Too many tags")
    t.tags = tags
    state.catalog.put(t)
    return {}


@operation("UntagResource")
def untag_resource(state: DynamoState, ctx: RequestContext, p: UntagResourceInput) -> dict:
    t = _table_by_arn(state, ctx, p["ResourceArn"])
    for k in p["TagKeys"]:
        t.tags.pop(k, None)
    state.catalog.put(t)
    return {}


@operation("ListTagsOfResource")
def list_tags(state: DynamoState, ctx: RequestContext, p: ListTagsOfResourceInput) -> dict:
    t = _table_by_arn(state, ctx, p["ResourceArn"])
    items = [{"Key": k, "Value": v} for k, v in t.tags.items()]
    return {"Tags": items}
