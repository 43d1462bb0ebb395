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


#: record templates by (region, table name, event name, by TTL, microsecond precision)
_templates: dict[tuple[str, str, str, bool, bool], bytes] = {}
#: past this many, start again (tables come and go; a template costs one render to rebuild)
_TEMPLATES_MAX = 4096
#: placeholders no table name or region can contain ("@" is outside both alphabets)
_SLOTS = {
    b'"@ID@"': b'"%s"',
    b'"@TS@"': b"%d",
    b'"@KEYS@"': b"%s",
    b'"@NEW@"': b"%s",
    b'"@OLD@"': b"%s",
    b'"@SIZE@"': b"%d",
}


def event_name(old: dict | None, new: dict | None) -> str:
    return "INSERT" if old is None else "REMOVE" if new is None else "MODIFY"


def record_template(region: str, table_name: str, name: str, by_ttl: bool, microseconds: bool) -> bytes:
    """The record's bytes with %-slots for what differs per change: eventID, the timestamp,
    Keys, NewImage and/or OldImage, SizeBytes (in that order, as :func:`fill` passes them).

    The fixed parts (region, table, event name, identity, precision) are the same for every
    change of a table, so they are rendered once, by orjson from the dict form (key order
    and escaping are the dict form's), and a change is one %-format of five or six values:
    a third cheaper than building and walking the record's two dicts per change."""
    key = (region, table_name, name, by_ttl, microseconds)
    template = _templates.get(key)
    if template is None:
        if len(_templates) >= _TEMPLATES_MAX:
            _templates.clear()
        template = _templates[key] = _build_template(*key)
    return template


def _build_template(region: str, table_name: str, name: str, by_ttl: bool, microseconds: bool) -> bytes:
    dynamodb: dict[str, Any] = {"ApproximateCreationDateTime": "@TS@", "Keys": "@KEYS@"}
    if name != "REMOVE":
        dynamodb["NewImage"] = "@NEW@"
    if name != "INSERT":
        dynamodb["OldImage"] = "@OLD@"
    dynamodb["SizeBytes"] = "@SIZE@"
    if microseconds:
        dynamodb["ApproximateCreationDateTimePrecision"] = "MICROSECOND"
    rendered = orjson.dumps(
        {
            "awsRegion": region,
            "eventID": "@ID@",
            "eventName": name,
            "userIdentity": TTL_IDENTITY if by_ttl else None,
            "recordFormat": "application/json",
            "tableName": table_name,
            "dynamodb": dynamodb,
            "eventSource": "aws:dynamodb",
        }
    ).replace(b"%", b"%%")
    for placeholder, slot in _SLOTS.items():
        rendered = rendered.replace(placeholder, slot)
    return rendered


def fill(
    template: bytes, event_id: str, timestamp: int, keys: dict, old: dict | None, new: dict | None, size: int
) -> bytes:
    """A change's record from its table's :func:`record_template`. Binary values are written
    base64 twice by orjson's ``default`` hook (the images need no Python pass)."""
    dumps = orjson.dumps
    if old is None or new is None:  # one image: the new one of an INSERT, the old of a REMOVE
        return template % (
            event_id.encode(),
            timestamp,
            dumps(keys, default=_binary_twice),
            dumps(new if old is None else old, default=_binary_twice),
            size,
        )
    return template % (
        event_id.encode(),
        timestamp,
        dumps(keys, default=_binary_twice),
        dumps(new, default=_binary_twice),
        dumps(old, default=_binary_twice),
        size,
    )


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
    if size is None:
        size = size_bytes(keys, new, old)
    template = record_template(region, table_name, event_name(old, new), by_ttl, microseconds)
    return fill(template, event_id, timestamp, keys, old, new, size)
