"""REST-JSON services (Lambda) on the same port, driven by the ``http`` blocks of botocore's model.

JSON-1.0/1.1 services are routed by ``X-Amz-Target`` on ``POST /`` (see :mod:`.app`); REST-JSON
services put the operation in the method and path instead (``POST /2015-03-31/functions/
{FunctionName}/invocations``) and spread the input over the URI, the query string, headers and
the body. This module turns each operation's ``requestUri`` into a route once, and per request:

1. matches method + path and assembles the params dict from URI labels, query parameters,
   headers and the JSON body (or the raw ``payload`` member, e.g. Invoke's blob);
2. leaves validation and the call to the caller (:class:`.app.Application`), which also owns
   authentication and durability;
3. renders the operation's result: status code from the model (or a ``statusCode`` member),
   header members, and a JSON body or the raw payload;
4. renders errors as REST-JSON services answer them: the status of the model's error shape,
   an ``x-amzn-ErrorType`` header and a ``{"Type": "User", "message": ...}`` body (with the
   member casing the error shape declares: Lambda's ResourceNotFoundException says
   ``Message``).

No service logic here: an operation is the same plain ``op(ctx, params) -> dict`` as for the JSON
services, and it never sees HTTP. Every operation of the model is routed, so one the service does
not implement yet is answered UnknownOperationException, not a bare 404.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

import orjson

from ..errors import AwsError, SerializationException
from ..protocol.models import load_model
from .app import dumps
from .messages import Response

#: scalar shape types a URI label, query parameter or header may carry, and their parsers
_TEXT_PARSERS: dict[str, Callable[[str], Any]] = {
    "integer": int,
    "long": int,
    "boolean": lambda text: {"true": True, "false": False}[text.lower()],
    "double": float,
    "float": float,
}


@dataclass(slots=True)
class Member:
    """A request member that does not travel in the JSON body."""

    name: str
    #: where it is on the wire: a URI label, a query parameter or header name
    wire_name: str
    shape_type: str
    #: for lists in the query string (``tagKeys=a&tagKeys=b``)
    is_list: bool = False


@dataclass(slots=True)
class Route:
    """One operation's request and response layout, compiled from its ``http`` block."""

    operation: str
    method: str
    pattern: re.Pattern[str]
    #: query parameters fixed by the requestUri itself (``?versions``)
    fixed_query: tuple[str, ...]
    labels: list[Member] = field(default_factory=list)
    query: list[Member] = field(default_factory=list)
    headers: list[Member] = field(default_factory=list)
    #: ``location: headers`` maps: (member, prefix)
    header_maps: list[tuple[str, str]] = field(default_factory=list)
    #: the input member that is the whole body, and whether it is a blob (raw bytes)
    payload: str | None = None
    payload_is_blob: bool = False
    status: int = 200
    #: characters of the requestUri outside labels: more specific routes are tried first
    literal_length: int = 0
    #: output members: (member, header name), the statusCode member, the payload member
    out_headers: list[tuple[str, str]] = field(default_factory=list)
    out_status: str | None = None
    out_payload: str | None = None
    out_payload_is_blob: bool = False


class RestJsonRouter:
    """The routes of one REST-JSON service, built once from its botocore model."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.routes: dict[str, list[Route]] = {}
        self.shapes: dict[str, dict[str, Any]] = {}
        self.error_status: dict[str, int] = {}
        self.error_message_key: dict[str, str] = {}
        self._prefixes: tuple[str, ...] | None = None

    @property
    def prefixes(self) -> tuple[str, ...]:
        """Path prefixes this service answers (``/2015-03-31/``), for a cheap first check.

        The model is read on first use, not at startup (reading Lambda's costs ~50 ms)."""
        if self._prefixes is None:
            self._build(load_model(self.service))
        assert self._prefixes is not None
        return self._prefixes

    def _build(self, model: dict[str, Any]) -> None:
        self.shapes = model["shapes"]
        ops = {n: op for n, op in model["operations"].items() if "http" in op}
        for name, op in sorted(ops.items()):
            route = self._compile(name, op)
            self.routes.setdefault(route.method, []).append(route)
        for routes in self.routes.values():  # specific first: /functions/{F}/code, ?find=
            routes.sort(key=lambda r: (-r.literal_length, -len(r.fixed_query)))
        for name, shape in self.shapes.items():
            if shape.get("exception"):
                self.error_status[name] = shape.get("error", {}).get("httpStatusCode", 400)
                self.error_message_key[name] = (
                    "Message" if "Message" in shape.get("members", {}) else "message"
                )
        self._prefixes = tuple(
            sorted({"/" + op["http"]["requestUri"].lstrip("/").split("/")[0] + "/" for op in ops.values()})
        )

    # compiling ----------------------------------------------------------------------------------
    def _compile(self, name: str, op: dict[str, Any]) -> Route:
        http = op["http"]
        uri, _, fixed = http["requestUri"].partition("?")
        regex = "".join(self._uri_part(part) for part in re.split(r"(\{[^}]+\})", uri))
        route = Route(
            name,
            http["method"],
            re.compile(regex + "/?$"),
            tuple(q.partition("=")[0] for q in fixed.split("&") if q),
            status=http.get("responseCode", 200),
            literal_length=len(re.sub(r"\{[^}]+\}", "", uri)),
        )
        if "input" in op:
            self._compile_input(route, self.shapes[op["input"]["shape"]])
        if "output" in op:
            self._compile_output(route, self.shapes[op["output"]["shape"]])
        return route

    @staticmethod
    def _uri_part(part: str) -> str:
        if not part.startswith("{"):
            return re.escape(part)
        label = part[1:-1]
        if label.endswith("+"):
            return f"(?P<{label[:-1]}>.+)"
        return f"(?P<{label}>[^/]+)"

    def _compile_input(self, route: Route, shape: dict[str, Any]) -> None:
        route.payload = shape.get("payload")
        if route.payload:
            target = self.shapes[shape["members"][route.payload]["shape"]]
            route.payload_is_blob = target["type"] in ("blob", "string")
        for member, ref in shape.get("members", {}).items():
            location = ref.get("location")
            if location is None:
                continue
            target = self.shapes[ref["shape"]]
            wire = ref.get("locationName", member)
            stype = target["type"]
            if stype == "list":
                stype = self.shapes[target["member"]["shape"]]["type"]
            entry = Member(member, wire, stype, target["type"] == "list")
            if location == "uri":
                route.labels.append(entry)
            elif location == "querystring":
                route.query.append(entry)
            elif location == "header":
                route.headers.append(Member(member, wire.lower(), stype))
            elif location == "headers":
                route.header_maps.append((member, wire.lower()))

    def _compile_output(self, route: Route, shape: dict[str, Any]) -> None:
        route.out_payload = shape.get("payload")
        if route.out_payload:
            target = self.shapes[shape["members"][route.out_payload]["shape"]]
            route.out_payload_is_blob = target["type"] in ("blob", "string")
        for member, ref in shape.get("members", {}).items():
            location = ref.get("location")
            if location == "header":
                route.out_headers.append((member, ref.get("locationName", member)))
            elif location == "statusCode":
                route.out_status = member

    # requests -----------------------------------------------------------------------------------
    def match(self, method: str, path: str, query: str = "") -> tuple[Route, dict[str, str]] | None:
        """The route for *method*, *path* and *query*, with its raw URI labels."""
        if self._prefixes is None:
            self._build(load_model(self.service))
        for route in self.routes.get(method, ()):
            m = route.pattern.match(path)
            if m is not None and all(_has_param(query, name) for name in route.fixed_query):
                return route, m.groupdict()
        return None

    def params(
        self, route: Route, labels: dict[str, str], query: str, headers: dict[str, str], body: bytes
    ) -> dict[str, Any]:
        """The operation's input as a plain dict (values typed; validation comes after)."""
        params = self._body(route, body)
        for member in route.labels:
            value = labels.get(member.wire_name)
            if value is not None:
                params[member.name] = _typed(unquote(value), member.shape_type)
        if route.query and query:
            self._query_params(route, query, params)
        self._header_params(route, headers, params)
        return params

    @staticmethod
    def _query_params(route: Route, query: str, params: dict[str, Any]) -> None:
        """A repeated query key is a list member's items; otherwise the last one wins."""
        pairs = parse_qsl(query, keep_blank_values=True)
        for member in route.query:
            values = [_typed(v, member.shape_type) for k, v in pairs if k == member.wire_name]
            if values:
                params[member.name] = values if member.is_list else values[-1]

    @staticmethod
    def _header_params(route: Route, headers: dict[str, str], params: dict[str, Any]) -> None:
        """Single headers, then prefixed header maps (``X-Amz-Meta-*`` style)."""
        for member in route.headers:
            value = headers.get(member.wire_name)
            if value is not None:
                params[member.name] = _typed(value, member.shape_type)
        for name, prefix in route.header_maps:
            found = {k[len(prefix) :]: v for k, v in headers.items() if k.startswith(prefix)}
            if found:
                params[name] = found

    @staticmethod
    def _body(route: Route, body: bytes) -> dict[str, Any]:
        if route.payload is not None:
            if route.payload_is_blob:
                return {route.payload: body} if body else {}
            return {route.payload: _json_object(body)} if body else {}
        return _json_object(body) if body else {}

    # responses ----------------------------------------------------------------------------------
    def render(self, route: Route, result: dict[str, Any] | None, request_id: str) -> Response:
        """The operation's result as the service sends it."""
        result = dict(result or {})
        status = route.status
        if route.out_status is not None and route.out_status in result:
            status = int(result.pop(route.out_status))
        headers = [("x-amzn-RequestId", request_id)]
        for member, header in route.out_headers:
            value = result.pop(member, None)
            if value is not None:
                headers.append((header, _header_text(value)))
        if route.out_payload is not None:
            payload = result.get(route.out_payload)
            if route.out_payload_is_blob:
                body = payload if isinstance(payload, bytes) else (payload or "").encode()
                headers.append(("Content-Type", "application/json"))
            else:
                body = dumps(payload) if payload is not None else b""
                headers.append(("Content-Type", "application/json"))
        elif status == 204:
            body = b""
        else:
            body = dumps(result)
            headers.append(("Content-Type", "application/json"))
        return Response(status, body, headers)

    def error(self, err: AwsError, request_id: str) -> Response:
        """An error as REST-JSON services send it (botocore reads ``x-amzn-ErrorType`` first)."""
        if self._prefixes is None:
            self._build(load_model(self.service))
        code = err.code
        status = self.error_status.get(code, err.status)
        key = self.error_message_key.get(code, "message")
        body: dict[str, Any] = {"Type": "Service" if status >= 500 else "User", key: err.message}
        body.update(err.extra)
        headers = [
            ("x-amzn-RequestId", request_id),
            ("x-amzn-ErrorType", code),
            ("Content-Type", "application/json"),
        ]
        return Response(status, dumps(body), headers)


def _has_param(query: str, name: str) -> bool:
    return any(part.partition("=")[0] == name for part in query.split("&"))


def _typed(text: str, shape_type: str) -> Any:
    """A URI, query or header value as its shape's type; left as text when it does not parse,
    so the validator reports it the way it reports any value of the wrong type."""
    parse = _TEXT_PARSERS.get(shape_type)
    if parse is None:
        return text
    try:
        return parse(text)
    except (ValueError, KeyError):
        return text


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise SerializationException(
            "Could not parse request body into json: Unexpected character; expected a valid value"
        ) from None
    if not isinstance(value, dict):
        raise SerializationException("Start of structure or map found where not expected.")
    return value


def _header_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
