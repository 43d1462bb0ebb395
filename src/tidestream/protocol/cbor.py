"""CBOR bodies (``application/x-amz-cbor-1.1``), the Java SDK's and KCL's default for Kinesis.

Blobs travel as CBOR byte strings (no base64). Timestamps travel as tag 1 holding **epoch
milliseconds** as an integer: that is what AWS and every AWS Java SDK (v1 and v2) send and expect,
although RFC 8949 defines tag 1 in seconds (aws/aws-sdk-java-v2#184, #979, #4661). Services hand
timestamps to :func:`dumps` already as ``CBORTag(1, millis)`` (see :func:`timestamp`), since
cbor2 would write a ``datetime`` as an RFC 3339 string (tag 0), which AWS clients do not read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import cbor2

from ..errors import SerializationException

CBORTag = cbor2.CBORTag


def timestamp(seconds: float) -> cbor2.CBORTag:
    """A timestamp as AWS's CBOR protocol writes it: tag 1, integer epoch milliseconds."""
    return cbor2.CBORTag(1, int(round(seconds * 1000)))


def _default(encoder: Any, value: Any) -> None:
    if isinstance(value, datetime):  # pragma: no cover - cbor2 encodes datetimes itself
        encoder.encode(timestamp(value.timestamp()))
        return
    if isinstance(value, (set, frozenset)):
        encoder.encode(list(value))
        return
    raise TypeError(f"cannot encode {type(value).__name__} as CBOR")


def _keep_tag1(value: Any, immutable: bool = False) -> cbor2.CBORTag:
    # cbor2 would read tag 1 as RFC seconds (and fail on AWS's milliseconds): keep it raw
    return cbor2.CBORTag(1, value)


_SEMANTIC = {1: _keep_tag1}


def loads(body: bytes) -> dict:
    """Decode a request body; malformed CBOR is AWS's SerializationException.

    Tag 1 values come back as ``CBORTag(1, millis)`` for the validator to convert."""
    try:
        value = cbor2.loads(body, semantic_decoders=_SEMANTIC)
    except Exception:
        raise SerializationException("Start of structure or map found where not expected.") from None
    if not isinstance(value, dict):
        raise SerializationException("Start of structure or map found where not expected.")
    return value


def _fix_datetimes(value: Any) -> Any:
    t = type(value)
    if t is dict:
        return {k: _fix_datetimes(v) for k, v in value.items()}
    if t is list:
        return [_fix_datetimes(v) for v in value]
    if t is datetime:
        return timestamp(value.timestamp())
    return value


def dumps(value: dict) -> bytes:
    """Encode a response body."""
    try:
        return cbor2.dumps(value, default=_default)
    except Exception:
        return cbor2.dumps(_fix_datetimes(value), default=_default)
