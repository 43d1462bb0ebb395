"""Request-body decoding and framing-level error answers, shared by HTTP/1.1 and HTTP/2."""

from __future__ import annotations

import zlib

from .messages import Response

MAX_BODY = 16 * 1024 * 1024


class BodyTooLarge(Exception):
    """The (decoded) body is over :data:`MAX_BODY`: answered 413."""


class BadBody(Exception):
    """The body claims an encoding it does not have: answered 400."""


def decode(body: bytes, content_encoding: str) -> bytes:
    """The body with ``Content-Encoding: gzip`` undone, inflating at most MAX_BODY + 1 bytes
    so a small gzip bomb can't exhaust memory."""
    if not body or content_encoding.lower() != "gzip":
        return body
    try:
        inflater = zlib.decompressobj(wbits=47)  # gzip or zlib header
        out = inflater.decompress(body, MAX_BODY + 1)
        if not inflater.eof and len(out) <= MAX_BODY:
            raise BadBody("truncated gzip body")
    except zlib.error as err:
        raise BadBody(str(err)) from None
    if len(out) > MAX_BODY:
        raise BodyTooLarge()
    return out


def error_response(status: int, code: str, message: str) -> Response:
    """An AWS-shaped error for problems found before any service sees the request."""
    body = ('{"__type":"%s","message":"%s"}' % (code, message)).encode()
    return Response(status, body, [("Content-Type", "application/x-amz-json-1.0")])
