"""A stored change as the DynamoDB Streams ``Record`` (GetRecords).

The stored entry already holds only the images the stream's view type keeps; ``SizeBytes`` is the
item size of what the record carries (Keys plus the images present), which matches every
recorded AWS response (e.g. a KEYS_ONLY INSERT of ``{"Username": "Fred"}`` is 12 bytes, a
NEW_AND_OLD_IMAGES INSERT of ``{"id": "Fred"}`` is 6 + 6 = 12).
"""

from __future__ import annotations

from typing import Any

from ..dynamodb.sizes import item_size
from .state import StreamMeta, sequence_number

TTL_IDENTITY = {"PrincipalId": "dynamodb.amazonaws.com", "Type": "Service"}


def size_bytes(entry: dict) -> int:
    n = item_size(entry["keys"])
    if "new" in entry:
        n += item_size(entry["new"])
    if "old" in entry:
        n += item_size(entry["old"])
    return n


def render(m: StreamMeta, counter: int, entry: dict) -> dict[str, Any]:
    dynamodb: dict[str, Any] = {
        # epoch seconds, rounded down (AWS: "rounded down to the closest second")
        "ApproximateCreationDateTime": int(entry["created_at"]),
        "Keys": entry["keys"],
    }
    if "new" in entry:
        dynamodb["NewImage"] = entry["new"]
    if "old" in entry:
        dynamodb["OldImage"] = entry["old"]
    dynamodb["SequenceNumber"] = sequence_number(counter)
    dynamodb["SizeBytes"] = size_bytes(entry)
    dynamodb["StreamViewType"] = m.view_type
    record: dict[str, Any] = {
        "eventID": entry["event_id"],
        "eventName": entry["event_name"],
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": m.region,
        "dynamodb": dynamodb,
    }
    if entry.get("ttl"):
        record["userIdentity"] = TTL_IDENTITY
    return record
