"""AWS event-stream messages (``application/vnd.amazon.eventstream``), the encoder side.

SubscribeToShard answers with a stream of these binary messages (over HTTP/1.1 chunked
transfer or HTTP/2 DATA frames). One message::

    total length (4, BE) | headers length (4, BE) | prelude CRC32 (4, BE)
    headers: name length (1) | name | value type (1) | value
    payload
    message CRC32 (4, BE)  -- over everything before it

Only string header values (type 7: length (2, BE) | UTF-8) are written; that is all the event
headers AWS services send (``:message-type``, ``:event-type``, ``:exception-type``,
``:error-code``, ``:error-message``, ``:content-type``). botocore's
``botocore.eventstream.EventStreamBuffer`` is the test oracle for this module.
"""

from __future__ import annotations

import struct
from zlib import crc32

_PRELUDE = struct.Struct(">II")
_CRC = struct.Struct(">I")
_STRING = 7
#: the prelude (12 bytes) plus the trailing message CRC (4 bytes)
_OVERHEAD = 16
MAX_HEADERS = 128 * 1024
MAX_PAYLOAD = 16 * 1024 * 1024

JSON = "application/json"
CBOR = "application/x-amz-cbor-1.1"


def _headers(headers: list[tuple[str, str]] | dict[str, str]) -> bytes:
    items = headers.items() if isinstance(headers, dict) else headers
    out = bytearray()
    for name, value in items:
        nb = name.encode("utf-8")
        vb = value.encode("utf-8")
        if len(nb) > 255 or len(vb) > 0xFFFF:
            raise ValueError(f"event-stream header too long: {name}")
        out += bytes((len(nb),)) + nb + bytes((_STRING,)) + len(vb).to_bytes(2, "big") + vb
    return bytes(out)


def encode(headers: list[tuple[str, str]] | dict[str, str], payload: bytes = b"") -> bytes:
    """One complete message with string-valued *headers* and *payload*."""
    hb = _headers(headers)
    if len(hb) > MAX_HEADERS or len(payload) > MAX_PAYLOAD:
        raise ValueError("event-stream message too large")
    prelude = _PRELUDE.pack(len(hb) + len(payload) + _OVERHEAD, len(hb))
    head = prelude + _CRC.pack(crc32(prelude))
    crc = crc32(payload, crc32(hb, crc32(head)))
    return b"".join((head, hb, payload, _CRC.pack(crc)))


def event(event_type: str, payload: bytes, content_type: str = JSON) -> bytes:
    """An ``event`` message (``initial-response`` or a modeled event such as
    ``SubscribeToShardEvent``)."""
    return encode(
        [(":event-type", event_type), (":content-type", content_type), (":message-type", "event")], payload
    )


def exception(exception_type: str, payload: bytes, content_type: str = JSON) -> bytes:
    """A modeled exception inside the stream (e.g. ``ResourceInUseException``); the payload is
    the error structure (``{"message": ...}``)."""
    return encode(
        [
            (":exception-type", exception_type),
            (":content-type", content_type),
            (":message-type", "exception"),
        ],
        payload,
    )


def error(code: str, message: str) -> bytes:
    """An unmodeled ``error`` message (``:error-code`` / ``:error-message``, empty payload)."""
    return encode([(":error-code", code), (":error-message", message), (":message-type", "error")])
