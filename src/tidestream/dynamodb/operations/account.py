"""DescribeEndpoints, DescribeLimits: account-level answers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...context import RequestContext
from ..state import DynamoState
from . import operation

if TYPE_CHECKING:
    from ...protocol.shapes.dynamodb import DescribeEndpointsRequest, DescribeLimitsInput


@operation("DescribeEndpoints")
def describe_endpoints(state: DynamoState, ctx: RequestContext, p: DescribeEndpointsRequest) -> dict:
    return {"Endpoints": [{"Address": f"dynamodb.{ctx.region}.amazonaws.com", "CachePeriodInMinutes": 1440}]}


@operation("DescribeLimits")
def describe_limits(state: DynamoState, ctx: RequestContext, p: DescribeLimitsInput) -> dict:
    return {
        "AccountMaxReadCapacityUnits": 80000,
        "AccountMaxWriteCapacityUnits": 80000,
        "TableMaxReadCapacityUnits": 40000,
        "TableMaxWriteCapacityUnits": 40000,
    }
