"""UpdateTimeToLive, DescribeTimeToLive."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...context import RequestContext
from ...errors import ValidationException
from ..state import DynamoState
from . import operation

if TYPE_CHECKING:
    from ...protocol.shapes.dynamodb import DescribeTimeToLiveInput, UpdateTimeToLiveInput


@operation("UpdateTimeToLive")
def update_ttl(state: DynamoState, ctx: RequestContext, p: UpdateTimeToLiveInput) -> dict:
    t = state.table(ctx, p["TableName"], control=True)
    spec = p["TimeToLiveSpecification"]
    enabled = bool(spec["Enabled"])
    attr = spec["AttributeName"]
    if not enabled and t.ttl_status != "ENABLED":
        raise ValidationException("TimeToLive is already disabled")
    # enabling or disabling another attribute than the active one names the active one (AWS,
    # us-east-1 and us-west-2, 2026-10-09: ack-api-quirks' val_ttl_already_enabled_other_attr)
    if t.ttl_status == "ENABLED" and attr != t.ttl_attribute:
        raise ValidationException(
            f"TimeToLive is active on a different AttributeName: current AttributeName is {t.ttl_attribute}"
        )
    if enabled and t.ttl_status == "ENABLED":
        raise ValidationException("TimeToLive is already enabled")
    t.ttl_status = "ENABLED" if enabled else "DISABLED"
    t.ttl_attribute = attr if enabled else ""
    state.catalog.put(t)
    return {"TimeToLiveSpecification": {"Enabled": enabled, "AttributeName": attr}}


@operation("DescribeTimeToLive")
def describe_ttl(state: DynamoState, ctx: RequestContext, p: DescribeTimeToLiveInput) -> dict:
    t = state.table(ctx, p["TableName"], control=True)
    d = {"TimeToLiveStatus": t.ttl_status}
    if t.ttl_status == "ENABLED":
        d["AttributeName"] = t.ttl_attribute
    return {"TimeToLiveDescription": d}
