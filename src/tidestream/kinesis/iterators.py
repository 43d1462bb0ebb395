"""Shard iterators: opaque, authenticated, expiring tokens.

An iterator is base64 of ``version | stream id | shard index | next counter | created ms | stream
name`` plus an
HMAC-SHA256 tag (truncated to 16 bytes) keyed by a secret stored in the data directory, so a
forged or altered iterator is refused (InvalidArgumentException) and one issued before a restart
still works. Iterators expire 5 minutes after they were issued, as on AWS.
"""

from __future__ import annotations

import base64
import binascii
import struct
from typing import NamedTuple

from .. import signing
from ..errors import ExpiredIteratorException
from .messages import amz_time, invalid_iterator

TTL_MS = 300_000
_VERSION = 1
_BODY = struct.Struct(">BIIQQ")
_TAG = 16


class Position(NamedTuple):
    stream_id: int
    shard_index: int
    counter: int
    created_ms: int
    #: the stream's name, so errors can name a stream that has since been deleted
    stream_name: str


def issue(
    secret: bytes, stream_id: int, shard_index: int, counter: int, now_ms: int, stream_name: str
) -> str:
    """A new iterator reading *shard_index* from *counter* on."""
    body = _BODY.pack(_VERSION, stream_id, shard_index, counter, now_ms) + stream_name.encode()
    tag = signing.tag(secret, body, _TAG)
    return base64.b64encode(body + tag).decode("ascii")


def _decode(token: str) -> bytes:
    """The iterator's bytes. AWS also accepts an iterator wrapped in double quotes (LocalStack's
    ``test_get_records_shard_iterator_with_surrounding_quotes``, validated against AWS); the
    quotes are only looked for once plain base64 has failed, so valid iterators pay nothing."""
    try:
        return base64.b64decode(token, validate=True)
    except (binascii.Error, ValueError, TypeError):
        pass
    if isinstance(token, str) and len(token) > 2 and token[0] == token[-1] == '"':
        try:
            return base64.b64decode(token[1:-1], validate=True)
        except (binascii.Error, ValueError):
            pass
    raise invalid_iterator()


def open_(secret: bytes, token: str, now_ms: int) -> Position:
    """Verify and decode *token*; raise InvalidArgument (forged) or ExpiredIterator (old)."""
    raw = _decode(token)
    if len(raw) < _BODY.size + _TAG:
        raise invalid_iterator()
    body, tag = raw[:-_TAG], raw[-_TAG:]
    if len(tag) != _TAG or not signing.verify(secret, body, tag):
        raise invalid_iterator()
    version, stream_id, shard_index, counter, created = _BODY.unpack_from(body)
    if version != _VERSION:
        raise invalid_iterator()
    if now_ms - created > TTL_MS:
        raise ExpiredIteratorException(
            f"Iterator expired. The iterator was created at time {amz_time(created)} while right "
            f"now it is {amz_time(now_ms)} which is further in the future than the tolerated "
            f"delay of {TTL_MS} milliseconds."
        )
    return Position(stream_id, shard_index, counter, created, body[_BODY.size :].decode("utf-8", "replace"))
