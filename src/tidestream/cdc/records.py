"""The Kinesis Data Streams for DynamoDB record, byte for byte.

Data is compact UTF-8 JSON (raw non-ASCII) with keys in AWS's order; binary values are base64
encoded twice, as AWS does; ``SizeBytes`` is the item size of Keys + NewImage + OldImage with
binaries counted raw. See ../shared/reference/kds-for-dynamodb.md section 2.
"""

from __future__ import annotations

import base64
from typing import Any

import orjson

from ..dynamodb.sizes import item_size
from ..kinesis.shards import md5

TTL_IDENTITY = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}


def _b64twice(raw: bytes) -> str:
    return base64.b64encode(base64.b64encode(raw)).decode("ascii")


def _binary_twice(value: object) -> str:
    """orjson's hook for what JSON has no type for: in an internal image that is only a binary
    (``B`` values and ``BS`` members), written base64 twice. orjson walks the images in C and
    calls this only for binaries, so an image needs no Python pass to find them."""
    if type(value) is bytes:
        return _b64twice(value)
    raise TypeError(f"{type(value).__name__} in a change image")


def size_bytes(keys: dict, new: dict | None, old: dict | None) -> int:
    return item_size(keys) + (item_size(new) if new else 0) + (item_size(old) if old else 0)


def partition_key(table_id: str, item_key: bytes) -> str:
    """32 upper-case hex characters, stable per item, so one item's changes stay on one shard."""
    return md5(table_id.encode() + b"|" + item_key).hexdigest().upper()


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

    ``size`` is SizeBytes when the caller already knows the image sizes. Each event's
    ``dynamodb`` is one dict display in AWS's key order (cheaper than growing a dict per field:
    this runs for every captured change)."""
    if size is None:
        size = size_bytes(keys, new, old)
    if old is None:
        name = "INSERT"
        dynamodb: dict[str, Any] = {
            "ApproximateCreationDateTime": timestamp,
            "Keys": keys,
            "NewImage": new,
            "SizeBytes": size,
        }
    elif new is None:
        name = "REMOVE"
        dynamodb = {
            "ApproximateCreationDateTime": timestamp,
            "Keys": keys,
            "OldImage": old,
            "SizeBytes": size,
        }
    else:
        name = "MODIFY"
        dynamodb = {
            "ApproximateCreationDateTime": timestamp,
            "Keys": keys,
            "NewImage": new,
            "OldImage": old,
            "SizeBytes": size,
        }
    if microseconds:
        dynamodb["ApproximateCreationDateTimePrecision"] = "MICROSECOND"
    return orjson.dumps(
        {
            "awsRegion": region,
            "eventID": event_id,
            "eventName": name,
            "userIdentity": TTL_IDENTITY if by_ttl else None,
            "recordFormat": "application/json",
            "tableName": table_name,
            "dynamodb": dynamodb,
            "eventSource": "aws:dynamodb",
        },
        default=_binary_twice,
    )
