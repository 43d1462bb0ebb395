"""PutFunctionConcurrency, GetFunctionConcurrency, DeleteFunctionConcurrency.

Reserved concurrency is stored in the function's record (durable, gone with the function) and
bounds its sandboxes (:meth:`..sandboxes.Sandboxes.bound`); 0 throttles every invocation."""

from __future__ import annotations

import dataclasses

from ...context import RequestContext
from ..messages import InvalidParameterValueException
from ..state import LambdaState
from . import REGISTRY

#: AWS's default concurrency quota per account and region, and the part no reservation may take
ACCOUNT_CONCURRENCY = 1000
MIN_UNRESERVED = 100


@REGISTRY.operation("PutFunctionConcurrency")
def put_function_concurrency(state: LambdaState, ctx: RequestContext, params: dict) -> dict:
    fn = state.require(ctx, params["FunctionName"])
    wanted = params["ReservedConcurrentExecutions"]
    others = sum(
        other.reserved_concurrency or 0
        for other in state.store.listing(ctx.account_id, ctx.region)
        if other.name != fn.name
    )
    if ACCOUNT_CONCURRENCY - others - wanted < MIN_UNRESERVED:
        raise InvalidParameterValueException(
            "Specified ReservedConcurrentExecutions for function decreases account's "
            f"UnreservedConcurrentExecution below its minimum value of [{MIN_UNRESERVED}]."
        )
    state.store.put(dataclasses.replace(fn, reserved_concurrency=wanted), previous=fn)
    return {"ReservedConcurrentExecutions": wanted}


@REGISTRY.operation("GetFunctionConcurrency")
def get_function_concurrency(state: LambdaState, ctx: RequestContext, params: dict) -> dict:
    fn = state.require(ctx, params["FunctionName"])
    if fn.reserved_concurrency is None:
        return {}
    return {"ReservedConcurrentExecutions": fn.reserved_concurrency}


@REGISTRY.operation("DeleteFunctionConcurrency")
def delete_function_concurrency(state: LambdaState, ctx: RequestContext, params: dict) -> dict:
    fn = state.require(ctx, params["FunctionName"])
    if fn.reserved_concurrency is not None:
        state.store.put(dataclasses.replace(fn, reserved_concurrency=None), previous=fn)
    return {}
