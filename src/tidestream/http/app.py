"""Routing and the AWS JSON envelope: X-Amz-Target -> service operation -> JSON (or CBOR).

This is the only place that knows both HTTP and the services. It parses the body, validates it
against the botocore model, calls the operation, waits for durability when the operation wrote
something (group commit), and renders results and errors the way AWS does.
"""

from __future__ import annotations

import base64
import logging
import zlib
from typing import Any, Awaitable, Callable

import orjson

from ..ids import uuid4_text
from .. import __version__
from ..context import RequestContext
from ..errors import AwsError
from ..service import ServiceSpec, Streaming
from .auth import account_for, parse_credential
from .messages import Deferred, Request, Response

log = logging.getLogger("tidestream")

_CORS = [
    ("Access-Control-Allow-Origin", "*"),
    ("Access-Control-Allow-Methods", "HEAD,GET,PUT,POST,DELETE,OPTIONS,PATCH"),
    ("Access-Control-Allow-Headers", "*"),
    ("Access-Control-Expose-Headers", "x-amzn-RequestId,x-amz-crc32,x-amz-id-2"),
    ("Access-Control-Max-Age", "172800"),
]
_CORE_NAMESPACE = {
    "ValidationException": "com.amazon.coral.validate#",
    "SerializationException": "com.amazon.coral.service#",
    "UnknownOperationException": "com.amazon.coral.service#",
    "MissingAuthenticationTokenException": "com.amazon.coral.service#",
    "UnrecognizedClientException": "com.amazon.coral.service#",
    "InvalidSignatureException": "com.amazon.coral.service#",
    "IncompleteSignatureException": "com.amazon.coral.service#",
    "AccessDeniedException": "com.amazon.coral.service#",
    "InternalFailure": "com.amazon.coral.service#",
    "RequestEntityTooLarge": "com.amazon.coral.service#",
}


def _json_default(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, (set, frozenset)):
        return list(value)
    raise TypeError


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, default=_json_default)


class Application:
    """The request handler given to the HTTP servers."""

    def __init__(self, services: list[ServiceSpec], engine: Any, *, region: str, account_id: str,
                 reset: Callable[[], None] | None, storage_name: str,
                 validator: Callable[[str, str, bool], Callable[[dict], dict]] | None = None,
                 authenticator: Callable[[Request], tuple[str, str] | None] | None = None,
                 extra_routes: dict[tuple[str, str], Callable[[Request], Response]] | None = None) -> None:
        self.by_prefix = {s.target_prefix: s for s in services}
        self.engine = engine
        self.region = region
        self.account_id = account_id
        self.reset = reset
        self.storage_name = storage_name
        self.validator = validator
        self.authenticator = authenticator
        self.extra_routes = extra_routes or {}

    async def __call__(self, req: Request) -> Response:
        method = req.method
        if method == "POST" and (req.path in ("/", "") or req.path.startswith("/?")):
            target = req.headers.get("x-amz-target")
            if target:
                r = self._dispatch(req, target)
                if isinstance(r, Response):
                    return r
                if isinstance(r, Deferred):
                    await r.future
                    return r.response
                return await r
            return self._service_error(None, AwsError("", code="UnknownOperationException"),
                                       uuid4_text())
        if method == "OPTIONS":
            return Response(200, b"", list(_CORS))
        route = self.extra_routes.get((method, req.path.split("?", 1)[0]))
        if route is not None:
            return route(req)
        if method == "GET" and req.path.split("?", 1)[0] in ("/", ""):
            return Response(200, b"healthy: dynamodb.%s.amazonaws.com " % self.region.encode(),
                            [("Content-Type", "text/plain")])
        if method == "GET" and req.path == "/_tidestream/health":
            body = dumps({"status": "ok", "version": __version__, "storage": self.storage_name,
                          "services": sorted(s.name for s in self.by_prefix.values())})
            return Response(200, body, [("Content-Type", "application/json")])
        if method == "POST" and req.path == "/_tidestream/reset" and self.reset is not None:
            self.reset()
            await self.engine.durable()
            return Response(200, b'{"reset":true}', [("Content-Type", "application/json")])
        return Response(404, b'{"message":"Not Found"}', [("Content-Type", "application/json")])

    def dispatch(self, req: Request) -> Response | Deferred | Awaitable[Response]:
        """Handle a request without awaiting when possible (the HTTP/1.1 fast path).

        Returns a Response ready to send; a Deferred whose future must finish first (group
        commit); or an awaitable for everything that really is asynchronous.
        """
        if req.method == "POST" and (req.path in ("/", "") or req.path.startswith("/?")):
            target = req.headers.get("x-amz-target")
            if target:
                return self._dispatch(req, target)
        return self(req)

    def _dispatch(self, req: Request, target: str) -> Response | Deferred | Awaitable[Response]:
        request_id = uuid4_text()
        prefix, _, op_name = target.partition(".")
        spec = self.by_prefix.get(prefix)
        if spec is None or op_name not in spec.operations:
            return self._service_error(spec, AwsError("", code="UnknownOperationException"), request_id)
        cbor = "cbor" in req.headers.get("content-type", "")
        try:
            if self.authenticator is not None:
                who = self.authenticator(req)
            else:
                who = None
            if who is None:
                cred = parse_credential(req.headers.get("authorization", ""))
                access_key, region = cred if cred else ("", self.region)
                who = (account_for(access_key, self.account_id), region)
            ctx = RequestContext(who[0], who[1], request_id, op_name, cbor)
            params = self._parse(req.body, cbor)
            if self.validator is not None:
                params = self.validator(spec.name, op_name, cbor)(params)
            before = self.engine.written
            result = spec.operations[op_name](ctx, params)
        except AwsError as err:
            return self._service_error(spec, err, request_id, cbor)
        if hasattr(result, "__await__"):  # an async operation: finish on the event loop
            return self._finish(spec, result, before, request_id, cbor)
        resp = self._streaming(spec, result, request_id) if isinstance(result, Streaming) \
            else self._ok(spec, result, request_id, cbor)
        if self.engine.written != before:
            fut = self.engine.sync_future()
            if fut is not None:
                return Deferred(resp, fut)
        return resp

    async def _finish(self, spec: ServiceSpec, pending: Any, before: int, request_id: str,
                      cbor: bool) -> Response:
        try:
            result = await pending
            if self.engine.written != before:
                await self.engine.durable()
        except AwsError as err:
            return self._service_error(spec, err, request_id, cbor)
        if isinstance(result, Streaming):
            return self._streaming(spec, result, request_id)
        return self._ok(spec, result, request_id, cbor)

    @staticmethod
    def _parse(body: bytes, cbor: bool) -> dict:
        from ..errors import SerializationException

        if not body:
            return {}
        if cbor:
            from ..protocol import cbor as cbor_codec

            params = cbor_codec.loads(body)
        else:
            try:
                params = orjson.loads(body)
            except orjson.JSONDecodeError:
                raise SerializationException("Start of structure or map found where not expected.")
        if not isinstance(params, dict):
            raise SerializationException("Start of structure or map found where not expected.")
        return params

    def _ok(self, spec: ServiceSpec, result: dict | None, request_id: str, cbor: bool) -> Response:
        if cbor:
            from ..protocol import cbor as cbor_codec

            body = cbor_codec.dumps(result or {})
            ctype = "application/x-amz-cbor-1.1"
        else:
            body = dumps(result or {})
            ctype = "application/x-amz-json-" + spec.json_version
        headers = [("Content-Type", ctype), ("x-amzn-RequestId", request_id)]
        if spec.crc32:
            headers.append(("x-amz-crc32", str(zlib.crc32(body))))
        return Response(200, body, headers)

    def _streaming(self, spec: ServiceSpec, result: Streaming, request_id: str) -> Response:
        headers = [("Content-Type", "application/vnd.amazon.eventstream"),
                   ("x-amzn-RequestId", request_id)]
        return Response(200, b"", headers, stream=result.events)

    def error_for(self, req: Request, err: AwsError) -> Response:
        """*err* rendered for *req*'s service, as AWS would (the HTTP layer's own refusals)."""
        spec = self.by_prefix.get(req.headers.get("x-amz-target", "").partition(".")[0])
        return self._service_error(spec, err, uuid4_text(), "cbor" in req.headers.get("content-type", ""))

    def _service_error(self, spec: ServiceSpec | None, err: AwsError, request_id: str,
                       cbor: bool = False) -> Response:
        code = err.code
        if spec is None or spec.error_namespace:
            ns = err.namespace or _CORE_NAMESPACE.get(code) or (
                spec.error_namespace if spec else "com.amazon.coral.service#")
        else:
            ns = ""
        body_obj: dict[str, Any] = {"__type": ns + code}
        if err.message or code != "UnknownOperationException":
            # Kinesis's deserializer answers type errors with a capitalised ``Message``
            key = ("Message" if code == "SerializationException" and spec is not None
                   and spec.name == "kinesis" else "message")
            body_obj[key] = err.message
        body_obj.update(err.extra)
        if cbor:  # a CBOR request (Java SDK, KCL) gets its error as CBOR too, as AWS answers
            from ..protocol import cbor as cbor_codec

            body = cbor_codec.dumps(body_obj)
            ctype = "application/x-amz-cbor-1.1"
        else:
            body = dumps(body_obj)
            ctype = "application/x-amz-json-" + (spec.json_version if spec else "1.0")
        headers = [("Content-Type", ctype), ("x-amzn-RequestId", request_id)]
        if spec is not None and spec.crc32:
            headers.append(("x-amz-crc32", str(zlib.crc32(body))))
        return Response(err.status, body, headers)
