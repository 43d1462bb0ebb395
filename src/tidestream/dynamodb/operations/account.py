"""DescribeEndpoints, DescribeLimits: account-level answers."""

from __future__ import annotations

from ...context import RequestContext
from ..state import DynamoState
from . import operation


@operation("DescribeEndpoints")
def describe_endpoints(state: DynamoState, ctx: RequestContext, p: dict) -> dict:
    return {"Endpoints": [{"Address": f"dynamodb.{ctx.region}.amazonaws.com", "CachePeriodInMinutes": 1440}]}


@operation("DescribeLimits")
def describe_limits(state: DynamoState, ctx: RequestContext, p: dict) -> dict:
    return {
        "AccountMaxReadCapacityUnits": 80000,
        "AccountMaxWriteCapacityUnits": 80000,
        "TableMaxReadCapacityUnits": 40000,
        "TableMaxWriteCapacityUnits": 40000,
    }
