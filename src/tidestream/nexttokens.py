"""The one NextToken codec: a JSON object in base64, optionally tagged (``signing``) so it cannot
be edited.

Tokens carry their own position (the server keeps nothing per token). Each service keeps the
wire form its tokens have always had, so tokens issued before an upgrade stay valid: Kinesis
uses the URL-safe alphabet (ListShards' tokens are tagged, as they name a stream and carry their
issue time for the 300-second expiry), PartiQL the standard one. A token that does not decode
raises :class:`BadToken`; the service answers with its own error ("Invalid NextToken.", ...).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson

from . import signing

#: bytes of HMAC tag on a signed token
TAG_BYTES = 12


class BadToken(ValueError):
    """Not a token this server issued: garbled, edited, or tagged with another secret."""


def encode(fields: dict[str, Any], *, secret: bytes | None = None, urlsafe: bool = True) -> str:
    """``fields`` as a token; with ``secret``, tagged so :func:`decode` refuses any edit."""
    body = orjson.dumps(fields)
    if secret is not None:
        body += signing.tag(secret, body, TAG_BYTES)
    return (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(body).decode("ascii")


def decode(token: str, *, secret: bytes | None = None, urlsafe: bool = True) -> dict[str, Any]:
    """The fields of a token :func:`encode` made with the same ``secret`` and alphabet."""
    try:
        raw = (
            base64.urlsafe_b64decode(token.encode())
            if urlsafe
            else base64.b64decode(token.encode("ascii"), validate=True)
        )
    except (ValueError, TypeError, AttributeError, binascii.Error):  # AttributeError: not a str
        raise BadToken(token) from None
    if secret is not None:
        raw, tag = raw[:-TAG_BYTES], raw[-TAG_BYTES:]
        if len(tag) != TAG_BYTES or not signing.verify(secret, raw, tag):
            raise BadToken(token)
    try:
        fields = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadToken(token) from None
    if not isinstance(fields, dict):
        raise BadToken(token)
    return fields
