"""The Lambda Runtime API, served to one sandbox's runtime interface client on a loopback port.

AWS's runtime clients (``awslambdaric``, ``aws-lambda-ric``, ``provided`` bootstraps) long-poll
``GET /2018-06-01/runtime/invocation/next``, then post the result to ``.../{id}/response`` or
``.../{id}/error``, or report a failed start on ``/init/error``. Every sandbox gets a server of
its own (an ``AWS_LAMBDA_RUNTIME_API`` of its own, as on AWS), so a request needs no sandbox id.
The headers AWS always sends are always sent: awslambdaric fails without ``Lambda-Runtime-Trace-Id``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson

from ..http.messages import Request, Response

if TYPE_CHECKING:
    from .sandboxes import Sandbox

PREFIX = "/2018-06-01/runtime/"
#: AWS's limit on a synchronous invocation's response
MAX_RESPONSE_BYTES = 6 * 1024 * 1024
_ACCEPTED = Response(202, b'{"status":"OK"}', [("Content-Type", "application/json")])


def _runtime_error(status: int, error_type: str, message: str) -> Response:
    body = orjson.dumps({"errorMessage": message, "errorType": error_type})
    return Response(status, body, [("Content-Type", "application/json")])


class RuntimeApi:
    """The HTTP handler of one sandbox's Runtime API (see :func:`tidestream.http.server.serve`)."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    async def __call__(self, req: Request) -> Response:
        path = req.path.partition("?")[0]
        if not path.startswith(PREFIX):
            return _runtime_error(404, "InvalidRequest", "Not found")
        rest = path[len(PREFIX) :]
        if req.method == "GET" and rest == "invocation/next":
            return await self._next()
        if req.method == "POST" and rest == "init/error":
            self.sandbox.init_failed(
                req.body or b"{}", req.headers.get("lambda-runtime-function-error-type", "Runtime.Unknown")
            )
            return _ACCEPTED
        parts = rest.split("/")
        if (
            req.method == "POST"
            and len(parts) == 3
            and parts[0] == "invocation"
            and parts[2] in ("response", "error")
        ):
            return self._result(parts[1], parts[2] == "error", req)
        return _runtime_error(404, "InvalidRequest", "Not found")

    async def _next(self) -> Response:
        inv = await self.sandbox.next_invocation()
        if inv is None:  # the sandbox was stopped while the runtime waited
            return _runtime_error(410, "SandboxStopped", "The sandbox is shutting down")
        headers = [
            ("Content-Type", "application/json"),
            ("Lambda-Runtime-Aws-Request-Id", inv.request_id),
            ("Lambda-Runtime-Deadline-Ms", str(inv.deadline_ms)),
            ("Lambda-Runtime-Invoked-Function-Arn", inv.function_arn),
            ("Lambda-Runtime-Trace-Id", inv.trace_id),
        ]
        if inv.client_context:
            headers.append(("Lambda-Runtime-Client-Context", inv.client_context))
        return Response(200, inv.payload, headers)

    def _result(self, request_id: str, is_error: bool, req: Request) -> Response:
        body = req.body
        if len(body) > MAX_RESPONSE_BYTES:
            message = (
                f"Response payload size ({len(body)} bytes) exceeded maximum allowed "
                f"payload size ({MAX_RESPONSE_BYTES} bytes)."
            )
            too_large = orjson.dumps({"errorMessage": message, "errorType": "Function.ResponseSizeTooLarge"})
            self.sandbox.complete(request_id, too_large, "Function.ResponseSizeTooLarge")
            return _runtime_error(413, "RequestEntityTooLarge", message)
        error_type = req.headers.get("lambda-runtime-function-error-type", "Unhandled") if is_error else None
        if not self.sandbox.complete(request_id, body, error_type):
            return _runtime_error(400, "InvalidRequestID", "Invalid request ID")
        return _ACCEPTED
