"""Routing and the AWS JSON envelope: X-Amz-Target -> service operation -> JSON (or CBOR).

This is the only place that knows both HTTP and the services. It parses the body, validates it
against the botocore model, calls the operation, waits for durability when the operation wrote
something (group commit), and renders results and errors the way AWS does.
"""

from __future__ import annotations

import base64
import logging
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from .. import __version__
from ..context import RequestContext
from ..errors import AwsError, SerializationException
from ..ids import event_id, uuid4_text
from ..service import ServiceSpec, Streaming
from ..storage.engine import StorageError
from .auth import ADMIN_HEADER, account_for, browser_refusal, parse_credential
from .messages import Deferred, Request, Response
from .query import is_query_request

if TYPE_CHECKING:
    from .restjson import RestJsonRouter

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

#: the answer to a write refused because the server's disk is full (see docs/storage-failures.md)
DISK_FULL_MESSAGE = (
    "Internal server error: the server's disk is full; writes are refused until "
    "space is freed (reads still work)"
)


#: what a refused operator request is told to send
ADMIN_HINT = (
    f"Operator routes (/_tidestream/*, /metrics) are not for web pages. Send POSTs with "
    f"the header '{ADMIN_HEADER}: 1' and no foreign Origin; under --auth enforce sign "
    "the request with SigV4 using a key from the --credentials file (any service and "
    "region). See docs/security.md."
)


@dataclass(frozen=True, slots=True)
class AdminRoute:
    """An operator route (``/_tidestream/*``, ``/metrics``) and what it demands of a caller."""

    handler: Callable[[Request], Response | Awaitable[Response]]
    #: under ``--auth enforce``, a valid SigV4 signature (health stays open for liveness probes)
    signed: bool = True
    #: refuses what a web page could send (see :func:`.auth.browser_refusal`)
    changes_state: bool = False


def is_admin_path(path: str) -> bool:
    """Operator routes: never under the AWS API's CORS rules, checked by :class:`AdminRoute`."""
    return path.startswith("/_tidestream/") or path == "/metrics"


def _not_found() -> Response:
    return Response(404, b'{"message":"Not Found"}', [("Content-Type", "application/json")])


def _admin_refusal(status: int, code: str, message: str) -> Response:
    body = dumps({"__type": code, "message": message, "hint": ADMIN_HINT})
    return Response(status, body, [("Content-Type", "application/json")])


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

    def __init__(
        self,
        services: list[ServiceSpec],
        engine: Any,
        *,
        region: str,
        account_id: str,
        reset: Callable[[], None] | None,
        storage_name: str,
        validator: Callable[[str, str, bool], Callable[[dict], dict]] | None = None,
        authenticator: Callable[[Request], tuple[str, str] | None] | None = None,
        admin_authenticator: Callable[[Request], tuple[str, str]] | None = None,
        admin_routes: dict[tuple[str, str], AdminRoute] | None = None,
        rest_services: list[tuple[ServiceSpec, RestJsonRouter]] | None = None,
        query: Callable[[Request], Response] | None = None,
    ) -> None:
        #: the Query-protocol endpoint (STS): form-encoded POSTs without X-Amz-Target
        self.query = query
        self.by_prefix = {s.target_prefix: s for s in services}
        #: REST-JSON services (Lambda), routed by method and path; see :mod:`.restjson`
        self.rest = rest_services or []
        #: their path prefixes, read from their models on the first request off ``/``
        self.rest_prefixes: tuple[str, ...] | None = None
        self.engine = engine
        self.region = region
        self.account_id = account_id
        self.reset = reset
        self.storage_name = storage_name
        self.validator = validator
        self.authenticator = authenticator
        self.admin_authenticator = admin_authenticator
        self.admin_routes: dict[tuple[str, str], AdminRoute] = {
            ("GET", "/_tidestream/health"): AdminRoute(self._health, signed=False)
        }
        if reset is not None:
            self.admin_routes[("POST", "/_tidestream/reset")] = AdminRoute(self._reset, changes_state=True)
        self.admin_routes.update(admin_routes or {})

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
            return self._untargeted_post(req)
        return await self._by_path(req, method)

    def _untargeted_post(self, req: Request) -> Response:
        """A POST to / without X-Amz-Target: the Query protocol (STS) or an unknown operation."""
        if self.query is not None and is_query_request(req):
            return self.query(req)
        return self._service_error(None, AwsError("", code="UnknownOperationException"), uuid4_text())

    async def _by_path(self, req: Request, method: str) -> Response:
        """Everything but JSON-protocol calls: operator routes, CORS preflight, REST-JSON
        services and the health text, routed by path (off the JSON hot path)."""
        path = req.path.split("?", 1)[0]
        if is_admin_path(path):
            return await self._admin(req, path)
        if method == "OPTIONS":
            return Response(200, b"", list(_CORS))
        if self.rest:
            if self.rest_prefixes is None:
                self.rest_prefixes = tuple(p for _, router in self.rest for p in router.prefixes)
            if path.startswith(self.rest_prefixes):
                return await self._rest(req, path)
        if method == "GET" and path in ("/", ""):
            return Response(
                200,
                b"healthy: dynamodb.%s.amazonaws.com " % self.region.encode(),
                [("Content-Type", "text/plain")],
            )
        return _not_found()

    async def _admin(self, req: Request, path: str) -> Response:
        """An operator route, after the checks its :class:`AdminRoute` asks for.

        A CORS preflight is refused outright (no ``Access-Control-Allow-*``), so no browser
        lets a page on another origin send these routes the header they demand."""
        if req.method == "OPTIONS":
            return _admin_refusal(
                403, "AccessDeniedException", "Cross-origin requests to operator routes are not allowed."
            )
        route = self.admin_routes.get((req.method, path))
        if route is None:
            return _not_found()
        if route.changes_state:
            why = browser_refusal(req.headers)
            if why is not None:
                return _admin_refusal(403, "AccessDeniedException", "Refused " + why + ".")
        if route.signed and self.admin_authenticator is not None:
            try:
                self.admin_authenticator(req)
            except AwsError as err:
                return _admin_refusal(403, err.code, err.message)
        result = route.handler(req)
        return await result if hasattr(result, "__await__") else result

    def _health(self, req: Request) -> Response:
        """200 "ok", or 503 "degraded" with the reason while the store refuses writes."""
        database = getattr(self.engine, "health", None)
        # an external store (PostgreSQL) is checked first, with one round trip
        details = database() if database is not None else None
        problem = getattr(self.engine, "write_problem", None)
        health = {
            "status": "degraded" if problem else "ok",
            "version": __version__,
            "storage": self.storage_name,
            "services": sorted(
                [s.name for s in self.by_prefix.values()]
                + [s.name for s, _ in self.rest]
                + (["sts"] if self.query is not None else [])  # the Query-protocol endpoint
            ),
        }
        if details is not None:
            health["database"] = details
        if problem:
            health["reason"] = problem
        return Response(503 if problem else 200, dumps(health), [("Content-Type", "application/json")])

    async def _reset(self, req: Request) -> Response:
        assert self.reset is not None
        self.reset()
        await self.engine.durable()
        return Response(200, b'{"reset":true}', [("Content-Type", "application/json")])

    async def _rest(self, req: Request, path: str) -> Response:
        """A REST-JSON request: route by method and path, then as :meth:`_dispatch` does."""
        request_id = uuid4_text()
        query = req.path.partition("?")[2]
        for spec, router in self.rest:  # noqa: B007 - the match found is used after the loop
            found = router.match(req.method, path, query)
            if found is not None:
                break
        else:
            return _not_found()
        route, labels = found
        try:
            account, region = self._rest_caller(req, router.service)
            if route.operation not in spec.operations:
                raise AwsError(
                    f"tidestream does not implement {route.operation} yet", code="UnknownOperationException"
                )
            ctx = RequestContext(account, region, request_id, route.operation)
            params = router.params(route, labels, query, req.headers, req.body)
            if self.validator is not None:
                params = self.validator(spec.name, route.operation, False)(params)
            before = self.engine.written
            result = spec.operations[route.operation](ctx, params)
            if hasattr(result, "__await__"):
                result = await result
            if self.engine.written != before:
                await self.engine.durable()
        except AwsError as err:
            return router.error(err, request_id)
        except StorageError as err:
            log.log(
                logging.DEBUG if err.disk_full else logging.ERROR,
                "%s %s failed (request %s): %s",
                spec.name,
                route.operation,
                request_id,
                err,
            )
            message = DISK_FULL_MESSAGE if err.disk_full else "Internal server error"
            return router.error(AwsError(message, code="ServiceException", status=500), request_id)
        return router.render(route, result, request_id)

    def _rest_caller(self, req: Request, service: str) -> tuple[str, str]:
        """(account id, region) of a REST-JSON request: verified under ``--auth enforce``
        (signed for *service*, as AWS's signature scope names it), else from the credential."""
        if self.authenticator is not None:
            verify = getattr(self.authenticator, "verify", None)
            who = (
                verify(req, service, "Missing Authentication Token")
                if verify is not None
                else self.authenticator(req)
            )
            if who is not None:
                return who
        cred = parse_credential(req.headers.get("authorization", ""))
        access_key, region = cred if cred else ("", self.region)
        return account_for(access_key, self.account_id), region

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
        request_id = event_id()  # counted, not drawn: a request id needs uniqueness, not chance
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
            ctx = RequestContext(who[0], who[1], request_id, op_name, cbor, wire=True)
            params = self._parse(req.body, cbor)
            if self.validator is not None:
                params = self.validator(spec.name, op_name, cbor)(params)
            before = self.engine.written
            result = spec.operations[op_name](ctx, params)
        except AwsError as err:
            return self._service_error(spec, err, request_id, cbor)
        except StorageError as err:
            return self._storage_error(spec, err, op_name, request_id, cbor)
        if hasattr(result, "__await__"):  # an async operation: finish on the event loop
            return self._finish(spec, result, before, request_id, cbor)
        resp = (
            self._streaming(spec, result, request_id)
            if isinstance(result, Streaming)
            else self._ok(spec, result, request_id, cbor)
        )
        if self.engine.written != before:
            fut = self.engine.sync_future()
            if fut is not None:
                return Deferred(resp, fut)
        return resp

    async def _finish(
        self, spec: ServiceSpec, pending: Any, before: int, request_id: str, cbor: bool
    ) -> Response:
        try:
            result = await pending
            if self.engine.written != before:
                await self.engine.durable()
        except AwsError as err:
            return self._service_error(spec, err, request_id, cbor)
        except StorageError as err:
            return self._storage_error(spec, err, "async operation", request_id, cbor)
        if isinstance(result, Streaming):
            return self._streaming(spec, result, request_id)
        return self._ok(spec, result, request_id, cbor)

    @staticmethod
    def _parse(body: bytes, cbor: bool) -> dict:
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
        if result is None:  # an operation without output: AWS sends an empty body
            body, ctype = (
                b"",
                ("application/x-amz-cbor-1.1" if cbor else "application/x-amz-json-" + spec.json_version),
            )
        elif cbor:
            from ..protocol import cbor as cbor_codec

            body = cbor_codec.dumps(result)
            ctype = "application/x-amz-cbor-1.1"
        else:
            body = dumps(result)
            ctype = "application/x-amz-json-" + spec.json_version
        headers = [("Content-Type", ctype), ("x-amzn-RequestId", request_id)]
        if spec.crc32:
            headers.append(("x-amz-crc32", str(zlib.crc32(body))))
        return Response(200, body, headers)

    def _streaming(self, spec: ServiceSpec, result: Streaming, request_id: str) -> Response:
        headers = [("Content-Type", "application/vnd.amazon.eventstream"), ("x-amzn-RequestId", request_id)]
        return Response(200, b"", headers, stream=result.events)

    def _storage_error(
        self, spec: ServiceSpec, err: StorageError, op_name: str, request_id: str, cbor: bool
    ) -> Response:
        """A refused read or write: logged with its cause, answered as the service's internal
        error (AWS has no disk-full error; its message says what to do). A full disk is logged
        once by the engine when it fills, not once per refused request."""
        log.log(
            logging.DEBUG if err.disk_full else logging.ERROR,
            "%s %s failed (request %s): %s",
            spec.name,
            op_name,
            request_id,
            err,
        )
        message = DISK_FULL_MESSAGE if err.disk_full else "Internal server error"
        code = "InternalFailure" if spec.name == "kinesis" else "InternalServerError"
        return self._service_error(spec, AwsError(message, code=code, status=500), request_id, cbor)

    def error_for(self, req: Request, err: AwsError) -> Response:
        """*err* rendered for *req*'s service, as AWS would (the HTTP layer's own refusals)."""
        spec = self.by_prefix.get(req.headers.get("x-amz-target", "").partition(".")[0])
        return self._service_error(spec, err, uuid4_text(), "cbor" in req.headers.get("content-type", ""))

    def _service_error(
        self, spec: ServiceSpec | None, err: AwsError, request_id: str, cbor: bool = False
    ) -> Response:
        code = err.code
        if spec is None or spec.error_namespace:
            ns = (
                err.namespace
                or _CORE_NAMESPACE.get(code)
                or (spec.error_namespace if spec else "com.amazon.coral.service#")
            )
        else:
            ns = ""
        body_obj: dict[str, Any] = {"__type": ns + code}
        if err.message or code != "UnknownOperationException":
            # Kinesis's deserializer answers type errors with a capitalised ``Message``
            key = (
                "Message"
                if code == "SerializationException" and spec is not None and spec.name == "kinesis"
                else "message"
            )
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
