"""The Kinesis Data Streams for DynamoDB record, byte for byte.

Data is compact UTF-8 JSON (raw non-ASCII) with keys in AWS's order; binary values are base64
encoded twice, as AWS does; ``SizeBytes`` is the item size of Keys + NewImage + OldImage with
binaries counted raw. See ../shared/reference/kds-for-dynamodb.md section 2.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import orjson

from ..dynamodb.sizes import item_size

TTL_IDENTITY = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}


def _b64twice(raw: bytes) -> str:
    return base64.b64encode(base64.b64encode(raw)).decode("ascii")


def _wire_value(av: dict) -> dict:
    for kind, v in av.items():
        if kind == "B":
            return {"B": _b64twice(v)}
        if kind == "BS":
            return {"BS": [_b64twice(x) for x in v]}
        if kind == "M":
            return {"M": wire_image(v)}
        if kind == "L":
            return {"L": [_wire_value(x) for x in v]}
        return av
    return av


def _has_binary(av: dict) -> bool:
    for kind, v in av.items():
        if kind in ("B", "BS"):
            return True
        if kind == "M":
            return any(_has_binary(x) for x in v.values())
        if kind == "L":
            return any(_has_binary(x) for x in v)
    return False


def wire_image(item: dict) -> dict:
    """An image as it appears in the record (binaries double-base64); shares unchanged parts."""
    out = None
    for name, av in item.items():
        if _has_binary(av):
            if out is None:
                out = dict(item)
            out[name] = _wire_value(av)
    return item if out is None else out


def size_bytes(keys: dict, new: dict | None, old: dict | None) -> int:
    return item_size(keys) + (item_size(new) if new else 0) + (item_size(old) if old else 0)


def event_name(old: dict | None, new: dict | None) -> str:
    if old is None:
        return "INSERT"
    if new is None:
        return "REMOVE"
    return "MODIFY"


def partition_key(table_id: str, item_key: bytes) -> str:
    """32 upper-case hex characters, stable per item, so one item's changes stay on one shard."""
    return hashlib.md5(table_id.encode() + b"|" + item_key).hexdigest().upper()


def render(
    *,
    region: str,
    event_id: str,
    table_name: str,
    keys: dict,
    old: dict | None,
    new: dict | None,
    timestamp: int,
    by_ttl: bool,
    microseconds: bool,
    size: int | None = None,
) -> bytes:
    """The record's Data: the change as AWS writes it into the Kinesis stream.

    ``size`` is SizeBytes when the caller already knows the image sizes."""
    dynamodb: dict[str, Any] = {"ApproximateCreationDateTime": timestamp, "Keys": wire_image(keys)}
    if new is not None:
        dynamodb["NewImage"] = wire_image(new)
    if old is not None:
        dynamodb["OldImage"] = wire_image(old)
    dynamodb["SizeBytes"] = size_bytes(keys, new, old) if size is None else size
    if microseconds:
        dynamodb["ApproximateCreationDateTimePrecision"] = "MICROSECOND"
    record = {
        "awsRegion": region,
        "eventID": event_id,
        "eventName": event_name(old, new),
        "userIdentity": TTL_IDENTITY if by_ttl else None,
        "recordFormat": "application/json",
        "tableName": table_name,
        "dynamodb": dynamodb,
        "eventSource": "aws:dynamodb",
    }
    return orjson.dumps(record)
