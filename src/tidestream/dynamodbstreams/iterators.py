"""Shard iterators: ``<stream arn>|1|<base64 token>``, as AWS shapes them, signed and expiring.

The token is ``version | stream id | counter | issued ms`` plus an HMAC-SHA256 tag (16 bytes)
keyed by a secret kept in the engine, so a forged or altered iterator is refused and one issued
before a restart still works. Iterators expire 15 minutes after they were issued (AWS: "A shard
iterator expires 15 minutes after it is returned to the requester").
"""

from __future__ import annotations

import base64
import binascii
import struct
from typing import NamedTuple

from .. import signing
from ..errors import ExpiredIteratorException, ValidationException

TTL_MS = 15 * 60 * 1000
#: AWS's text (DynamoDB Streams' answer quoted by spring-integration-aws pull request 59:
#: "Shard iterator has expired (Service: AmazonDynamoDBStreams; Status Code: 400 ...)")
EXPIRED = "Shard iterator has expired"
_VERSION = 1
_BODY = struct.Struct(">BIQQ")
_TAG = 16


class Position(NamedTuple):
    arn: str
    stream_id: int
    counter: int
    issued_ms: int


def invalid() -> ValidationException:
    return ValidationException("Invalid ShardIterator")


def issue(secret: bytes, arn: str, stream_id: int, counter: int, now_ms: int) -> str:
    body = _BODY.pack(_VERSION, stream_id, counter, now_ms)
    tag = signing.tag(secret, arn.encode() + body, _TAG)
    return f"{arn}|1|" + base64.b64encode(body + tag).decode("ascii")


def open_(secret: bytes, token: str, now_ms: int) -> Position:
    """Verify and decode *token*; ValidationException (forged) or ExpiredIterator (too old)."""
    arn, sep, rest = token.rpartition("|1|")
    if not sep or not arn:
        raise invalid()
    try:
        raw = base64.b64decode(rest, validate=True)
    except (binascii.Error, ValueError):
        raise invalid() from None
    if len(raw) != _BODY.size + _TAG:
        raise invalid()
    body, tag = raw[: _BODY.size], raw[_BODY.size :]
    if len(tag) != _TAG or not signing.verify(secret, arn.encode() + body, tag):
        raise invalid()
    version, stream_id, counter, issued = _BODY.unpack(body)
    if version != _VERSION:
        raise invalid()
    if now_ms - issued > TTL_MS:
        raise ExpiredIteratorException(EXPIRED)
    return Position(arn, stream_id, counter, issued)
