"""The AWS Query protocol (STS): a form-encoded ``Action=...`` POST answered in XML.

The application hands this endpoint the POSTs to ``/`` that carry no ``X-Amz-Target`` and a
form body (``application/x-www-form-urlencoded``), so the JSON fast path never sees it. Input
is decoded by botocore's model for the action (``Name.member.N`` lists, integers, booleans),
checked by the same validator as the JSON services, and the result rendered from the output
shape in AWS's XML (``<XResponse><XResult>...</XResult><ResponseMetadata>``). Errors use the
Query protocol's ``<ErrorResponse>`` with its own codes (``ValidationError``,
``InvalidClientTokenId``, ``SignatureDoesNotMatch``...).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from ..context import RequestContext
from ..errors import AwsError
from ..ids import uuid4_text
from ..protocol import load_model, validator
from .auth import account_for, parse_credential
from .messages import Request, Response

#: JSON-service error codes -> (Query protocol code, HTTP status)
_QUERY_ERRORS = {
    "ValidationException": ("ValidationError", 400),
    "SerializationException": ("ValidationError", 400),
    "MissingAuthenticationTokenException": ("MissingAuthenticationToken", 403),
    "UnrecognizedClientException": ("InvalidClientTokenId", 403),
    "InvalidSignatureException": ("SignatureDoesNotMatch", 403),
    "IncompleteSignatureException": ("IncompleteSignature", 400),
}


def escape(text: str) -> str:
    """``&``, ``<`` and ``>`` as XML entities (what ``xml.sax.saxutils.escape`` does; importing
    that module loads urllib, http.client and email: ~3 MiB of an idle server's memory)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def is_query_request(req: Request) -> bool:
    """A Query-protocol call: a form body (what every AWS SDK sends for STS)."""
    return "x-www-form-urlencoded" in req.headers.get("content-type", "")


def _scalar(shape: dict, text: str) -> Any:
    kind = shape["type"]
    if kind in ("integer", "long"):
        try:
            return int(text)
        except ValueError:
            return text  # the validator names the member and the expected type
    if kind == "boolean":
        return text.lower() == "true"
    return text


def stems(form: dict[str, str]) -> set[str]:
    """Every key of the form and every dotted prefix of one (``A.member.1`` of
    ``A.member.1.Key``): list members are found by lookups, in time linear in the body."""
    out = set(form)
    for key in form:
        dot = key.find(".")
        while dot > 0:
            out.add(key[:dot])
            dot = key.find(".", dot + 1)
    return out


def _decode(shapes: dict, shape: dict, prefix: str, form: dict[str, str], present: set[str]) -> Any:
    """The value at ``prefix`` of a flattened Query form, shaped by the model."""
    kind = shape["type"]
    if kind == "structure":
        out = {}
        for name, ref in shape["members"].items():
            path = f"{prefix}.{name}" if prefix else name
            if path in present:
                out[name] = _decode(shapes, shapes[ref["shape"]], path, form, present)
        return out
    if kind == "list":
        items, n = [], 1
        member = shapes[shape["member"]["shape"]]
        while f"{prefix}.member.{n}" in present:
            items.append(_decode(shapes, member, f"{prefix}.member.{n}", form, present))
            n += 1
        return items
    return _scalar(shape, form.get(prefix, ""))


def _timestamp(value: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(value))


def _xml(shapes: dict, shape: dict, value: Any) -> str:
    kind = shape["type"]
    if kind == "structure":
        return "".join(
            f"<{name}>{_xml(shapes, shapes[ref['shape']], value[name])}</{name}>"
            for name, ref in shape["members"].items()
            if value.get(name) is not None
        )
    if kind == "list":
        member = shapes[shape["member"]["shape"]]
        return "".join(f"<member>{_xml(shapes, member, v)}</member>" for v in value)
    if kind == "timestamp":
        return _timestamp(value)
    if kind == "boolean":
        return "true" if value else "false"
    return escape(str(value))


class QueryEndpoint:
    """One Query-protocol service (STS) as a request handler."""

    def __init__(
        self,
        service_name: str,
        operations: dict[str, Callable[[RequestContext, dict], dict]],
        *,
        region: str,
        account_id: str,
        authenticator: Callable[[Request], tuple[str, str]] | None = None,
        before: Callable[[], None] | None = None,
    ) -> None:
        model = load_model(service_name)
        self.service_name = service_name
        self.shapes = model["shapes"]
        self.model_operations = model["operations"]
        self.namespace = model["metadata"]["xmlNamespace"]
        self.version = model["metadata"]["apiVersion"]
        self.operations = operations
        self.region = region
        self.account_id = account_id
        self.authenticator = authenticator
        self.before = before

    def __call__(self, req: Request) -> Response:
        request_id = uuid4_text()
        form = dict(parse_qsl(req.body.decode("utf-8", "replace"), keep_blank_values=True))
        action = form.get("Action", "")
        try:
            if action not in self.operations:
                raise AwsError(
                    f"Could not find operation {action} for version {form.get('Version', self.version)}",
                    code="InvalidAction",
                )
            ctx = self._context(req, request_id, action)
            op = self.model_operations[action]
            params = _decode(self.shapes, self.shapes[op["input"]["shape"]], "", form, stems(form))
            params = validator(self.service_name, action)(params)
            if self.before is not None:
                self.before()
            result = self.operations[action](ctx, params)
        except AwsError as err:
            return self._error(err, request_id)
        return self._ok(action, op, result, request_id)

    def _context(self, req: Request, request_id: str, action: str) -> RequestContext:
        cred = parse_credential(req.headers.get("authorization", ""))
        access_key, region = cred if cred else ("", self.region)
        if self.authenticator is not None:
            account, region = self.authenticator(req)
        else:
            account = account_for(access_key, self.account_id)
        return RequestContext(account, region, request_id, action, access_key=access_key)

    def _ok(self, action: str, op: dict, result: dict, request_id: str) -> Response:
        shape = self.shapes[op["output"]["shape"]]
        wrapper = op["output"].get("resultWrapper", f"{action}Result")
        body = (
            f'<{action}Response xmlns="{self.namespace}"><{wrapper}>'
            f"{_xml(self.shapes, shape, result)}</{wrapper}>"
            f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>"
            f"</{action}Response>"
        )
        return Response(200, body.encode(), [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)])

    def _error(self, err: AwsError, request_id: str) -> Response:
        code, status = _QUERY_ERRORS.get(err.code, (err.code, err.status))
        body = (
            f'<ErrorResponse xmlns="{self.namespace}"><Error><Type>Sender</Type>'
            f"<Code>{escape(code)}</Code><Message>{escape(err.message)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        )
        return Response(
            status, body.encode(), [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)]
        )
