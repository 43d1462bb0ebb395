"""Invoke: RequestResponse (wait for the result), Event (run in the background), DryRun."""

from __future__ import annotations

import asyncio
import base64
import logging

import orjson

from ...context import RequestContext
from ...ids import hex128, uuid4_text
from ..messages import InvalidRequestContentException, RequestEntityTooLargeException
from ..sandboxes import Invocation
from ..state import LambdaState
from . import REGISTRY

log = logging.getLogger("tidestream.lambda")

#: AWS's payload limits: synchronous invocations, asynchronous (Event) invocations
MAX_SYNC_PAYLOAD = 6 * 1024 * 1024
MAX_EVENT_PAYLOAD = 1024 * 1024


def _payload(params: dict, limit: int) -> bytes:
    """The event as the function receives it: JSON, as AWS demands of Invoke payloads."""
    payload = params.get("Payload") or b"{}"
    if len(payload) > limit:
        raise RequestEntityTooLargeException(
            f"Request must be smaller than {limit} bytes for the InvokeFunction operation"
        )
    try:
        orjson.loads(payload)
    except orjson.JSONDecodeError as err:
        raise InvalidRequestContentException(
            f"Could not parse request body into json: Could not parse payload into json: {err}"
        ) from None
    return payload


def _trace_id() -> str:
    h = hex128()
    return f"Root=1-{h[:8]}-{h[8:32]};Parent={h[:16]};Sampled=0;Lineage=1:{h[16:24]}:0"


@REGISTRY.operation("Invoke")
async def invoke(state: LambdaState, ctx: RequestContext, params: dict) -> dict:
    fn = state.require(ctx, params["FunctionName"], params.get("Qualifier"))
    state.require_invocable(fn)
    kind = params.get("InvocationType") or "RequestResponse"
    if kind == "DryRun":
        return {"StatusCode": 204}
    event = kind == "Event"
    payload = _payload(params, MAX_EVENT_PAYLOAD if event else MAX_SYNC_PAYLOAD)
    inv = Invocation(
        ctx.request_id if not event else uuid4_text(),
        payload,
        fn.arn,
        float(fn.timeout),
        client_context=_client_context(params),
        trace_id=_trace_id(),
    )
    package = lambda: state.store.code(fn)  # noqa: E731 - read only when a sandbox starts
    if event:
        task = asyncio.ensure_future(_run_event(state, fn, package, inv))
        state.background.add(task)
        task.add_done_callback(state.background.discard)
        return {"StatusCode": 202}
    outcome = await state.sandboxes.invoke(fn, package, inv, wait=False)
    out: dict = {"StatusCode": 200, "Payload": outcome.payload, "ExecutedVersion": "$LATEST"}
    if outcome.function_error:
        out["FunctionError"] = outcome.function_error
    if params.get("LogType") == "Tail":
        out["LogResult"] = base64.b64encode(outcome.log.encode()).decode()
    return out


def _client_context(params: dict) -> str | None:
    """ClientContext arrives base64-encoded; the runtime gets the JSON itself."""
    raw = params.get("ClientContext")
    if not raw:
        return None
    try:
        return base64.b64decode(raw).decode()
    except (ValueError, UnicodeDecodeError):
        raise InvalidRequestContentException(
            "Client context must be a valid Base64-encoded JSON object."
        ) from None


async def _run_event(state: LambdaState, fn, package, inv: Invocation) -> None:
    """An Event invocation: waits for a free sandbox instead of being throttled; its result
    and errors only reach the function's log (no destinations or retries yet)."""
    try:
        await state.sandboxes.invoke(fn, package, inv, wait=True)
    except asyncio.CancelledError:
        raise
    except Exception as err:  # noqa: BLE001 - nobody waits for an Event invocation's answer
        log.warning("Event invocation %s of %s failed: %s", inv.request_id, fn.arn, err)
