"""Request-body decoding, response compression and framing-level error answers, shared by
HTTP/1.1 and HTTP/2.

What AWS does (DynamoDB, verified against it by ScyllaDB's Alternator suite,
``test/alternator/test_compressed_request.py`` and ``test_compressed_response.py``, 2025):

* request bodies may be ``Content-Encoding: gzip`` or ``deflate`` (zlib format); gzip members
  may be concatenated, and bytes after the last member that do not start another one are
  ignored (Java's ``GZIPInputStream``); a deflate body ends with its first stream;
* an unknown encoding, or a body that does not decode (garbage, truncated, empty): AWS answers
  HTTP 500 ``InternalServerError``; tidestream answers HTTP 400 ``SerializationException``
  naming the problem, and nothing is done (a deliberate difference, docs/fidelity.md: the fault
  is the client's, and a 500 makes every SDK retry a request that can never succeed);
* a response of at least 4,096 bytes is compressed with gzip or deflate when the request's
  ``Accept-Encoding`` allows it (RFC 9110 q-values, see :func:`negotiate`); the response's
  ``x-amz-crc32`` is then the checksum of the compressed bytes (SDKs check it before inflating).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

from ..errors import AwsError
from .messages import Request, Response

MAX_BODY = 16 * 1024 * 1024
#: Lambda's CreateFunction / UpdateFunctionCode carry a zip of up to 50 MB, base64 in JSON: AWS
#: takes requests smaller than this many bytes on those paths (and only there)
MAX_CODE_BODY = 69905067
_CODE_PATH = b"/2015-03-31/functions"


def body_limit(url: bytes) -> int:
    """The largest request body for *url*: :data:`MAX_CODE_BODY` where a deployment package is
    uploaded, :data:`MAX_BODY` everywhere else (one prefix test per request)."""
    return MAX_CODE_BODY if url.startswith(_CODE_PATH) else MAX_BODY


def too_large_message(url: bytes) -> tuple[str, str]:
    """The error code and text for an oversized body on *url* (AWS's for Lambda code)."""
    if url.startswith(_CODE_PATH):
        operation = "CreateFunction" if url.rstrip(b"/").endswith(b"/functions") else "UpdateFunctionCode"
        return (
            "RequestEntityTooLargeException",
            f"Request must be smaller than {MAX_CODE_BODY} bytes for the {operation} operation",
        )
    return "RequestEntityTooLarge", "Request entity too large"


#: responses shorter than this leave uncompressed whatever the client accepts (DynamoDB's 4 KiB)
COMPRESS_AT = 4096
_GZIP_MAGIC = b"\x1f\x8b"


class BodyTooLarge(Exception):
    """The (decoded) body is over :data:`MAX_BODY`: answered 413."""


class BadBody(Exception):
    """The body claims an encoding it does not have, or an unknown one: answered 400 (see
    :func:`undecodable`)."""


def _inflate_one(data: bytes, wbits: int, room: int) -> tuple[bytes, bytes]:
    """One compressed stream from *data*: (its bytes, what follows it). At most *room* + 1
    bytes are inflated, so a small bomb can't exhaust memory."""
    inflater = zlib.decompressobj(wbits=wbits)
    try:
        out = inflater.decompress(data, room + 1)
    except zlib.error as err:
        raise BadBody(str(err)) from None
    if len(out) > room:
        raise BodyTooLarge()
    if not inflater.eof:
        raise BadBody("truncated compressed body")
    return out, inflater.unused_data


def _gunzip(body: bytes) -> bytes:
    """All gzip members of *body*; trailing bytes that start no member are ignored, as AWS
    ignores them."""
    parts: list[bytes] = []
    size = 0
    rest = body
    while True:
        out, rest = _inflate_one(rest, 31, MAX_BODY - size)
        parts.append(out)
        size += len(out)
        if not rest.startswith(_GZIP_MAGIC):
            return b"".join(parts)


def _inflate(body: bytes) -> bytes:
    """A zlib-format (RFC 1950) body: its first stream only, as AWS reads it."""
    return _inflate_one(body, 15, MAX_BODY)[0]


_DECODERS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": _gunzip,
    "deflate": _inflate,
    "identity": lambda body: body,
    # the AWS JSON services' own "no encoding" token, in AWS's request examples (SWF, CloudWatch,
    # the tagging API) and so in hand-written clients: AWS accepts it
    "amz-1.0": lambda body: body,
}


def decode(body: bytes, content_encoding: str) -> bytes:
    """The body with its ``Content-Encoding`` undone (codings listed in the order they were
    applied). Without the header this is one test, nothing more."""
    if not content_encoding:
        return body
    codings = [c.strip().lower() for c in content_encoding.split(",")]
    for coding in reversed(codings):
        decoder = _DECODERS.get(coding)
        if decoder is None:
            raise BadBody("unsupported Content-Encoding %r" % coding)
        body = decoder(body)
    return body


def undecodable(handler: object, headers: dict[str, str], reason: BadBody) -> Response:
    """The answer to a body that cannot be decoded: the service's SerializationException (400)
    naming why, in the service's error shape."""
    message = "The request body could not be decoded: %s" % reason
    render = getattr(handler, "error_for", None)
    if render is None:
        return error_response(400, "SerializationException", message)
    return render(
        Request("POST", "/", headers, b""), AwsError(message, code="SerializationException", status=400)
    )


# response compression -------------------------------------------------------------------
def _quality(params: list[str]) -> float:
    """The first ``q`` parameter's value as AWS reads it: absent or unparsable is 1, above 1
    is 1, zero or below refuses the coding."""
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                q = float(value.strip())
            except ValueError:
                return 1.0
            return min(q, 1.0) if q > 0 else 0.0
    return 1.0


def negotiate(accept_encoding: str) -> str | None:
    """``gzip``, ``deflate`` or None for an ``Accept-Encoding`` value, ranked as DynamoDB ranks
    them: higher q first; at equal q a coding named outright before one allowed by ``*``, then
    the one named first, then gzip. Unknown codings and ``identity`` are ignored."""
    named: dict[str, tuple[float, int]] = {}
    wildcard = 0.0
    for position, element in enumerate(accept_encoding.split(",")):
        token, *params = element.split(";")
        coding = token.strip().lower()
        if coding in ("gzip", "deflate"):
            q = _quality(params)
            earlier = named.get(coding)
            if earlier is None:
                named[coding] = (q, position)
            elif q > earlier[0]:  # a coding listed twice counts with its best q
                named[coding] = (q, earlier[1])
        elif coding == "*":
            wildcard = _quality(params)
    ranked = []
    for preference, coding in enumerate(("gzip", "deflate")):
        q, position = named.get(coding, (-1.0, 0))
        if q < 0:
            ranked.append((-wildcard, 1, 0, preference, coding))
        else:
            ranked.append((-q, 0, position, preference, coding))
    best = min(ranked)
    return best[4] if best[0] < 0 else None


def compressed(resp: Response, accept_encoding: str | None) -> tuple[bytes, list[tuple[str, str]]]:
    """*resp*'s body and headers as they go on the wire: compressed when the client accepts
    it and the body is long enough, with ``x-amz-crc32`` over the bytes sent."""
    body = resp.body
    if not accept_encoding or len(body) < COMPRESS_AT:
        return body, resp.headers
    coding = negotiate(accept_encoding)
    if coding is None:
        return body, resp.headers
    wbits = 31 if coding == "gzip" else 15
    packer = zlib.compressobj(1, zlib.DEFLATED, wbits)
    body = packer.compress(body) + packer.flush()
    headers = [
        (name, str(zlib.crc32(body))) if name.lower() == "x-amz-crc32" else (name, value)
        for name, value in resp.headers
    ]
    headers.append(("Content-Encoding", coding))
    return body, headers


def error_response(status: int, code: str, message: str) -> Response:
    """An AWS-shaped error for problems found before any service sees the request."""
    body = ('{"__type":"%s","message":"%s"}' % (code, message)).encode()
    return Response(status, body, [("Content-Type", "application/x-amz-json-1.0")])
