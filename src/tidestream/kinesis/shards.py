"""Shards: hash-key ranges, partition-key routing, ids and resharding lineage.

A shard owns a contiguous range of the 128-bit hash-key space; a record goes to the open shard
whose range holds ``MD5(partition key)`` read as a big-endian integer (or the explicit hash key).
Resharding never changes a shard: it closes shards and opens children that name their parents.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

try:  # CPython's own MD5: half the cost of hashlib's OpenSSL one on the short inputs hashed per record
    from _md5 import md5
except ImportError:  # an interpreter built without it
    from hashlib import md5

HASH_MAX = (1 << 128) - 1


def shard_id(index: int) -> str:
    """``shardId-000000000007``: AWS's fixed 12-digit form."""
    return "shardId-%012d" % index


#: the largest shard index AWS accepts in a shard id (a Java int)
SHARD_INDEX_MAX = 2147483647


def parse_shard_id(text: str) -> int | None:
    """The index in a shard id; AWS also accepts the bare number or any ``prefix-N`` form.

    Like AWS, the number is what follows the first hyphen (``a-00002147483647`` is shard
    2147483647); anything that is not a number in ``[0, 2^31-1]`` names no shard (None), which
    AWS reports as ``Could not find shard ...``.
    """
    if not isinstance(text, str):
        return None
    parts = text.split("-")
    tail = parts[1] if len(parts) > 1 and parts[1] else text
    if not tail.isascii() or not tail.isdigit():
        return None
    idx = int(tail)
    return idx if idx <= SHARD_INDEX_MAX else None


def even_ranges(count: int, start: int = 0, end: int = HASH_MAX) -> list[tuple[int, int]]:
    """Split ``[start, end]`` into *count* contiguous ranges of (almost) equal width."""
    width = (end - start + 1) // count
    out = []
    for i in range(count):
        lo = start + i * width
        hi = end if i == count - 1 else lo + width - 1
        out.append((lo, hi))
    return out


def hash_key(partition_key: str) -> int:
    """The 128-bit hash key of a partition key (MD5, big-endian), as Kinesis routes."""
    return int.from_bytes(md5(partition_key.encode()).digest(), "big")


@dataclass
class Shard:
    """One shard's metadata (persisted with its stream)."""

    index: int
    start: int
    end: int
    created_ms: int
    parent: int | None = None
    adjacent_parent: int | None = None
    closed_ms: int | None = None
    #: the last counter written before the shard closed (its EndingSequenceNumber's counter)
    end_counter: int | None = None
    children: list[int] = field(default_factory=list)

    @property
    def id(self) -> str:
        return shard_id(self.index)

    @property
    def open(self) -> bool:
        return self.closed_ms is None

    def to_json(self) -> dict[str, Any]:
        """The persisted form: the field names, the 128-bit hash keys as decimal text."""
        return {
            "index": self.index,
            "start": str(self.start),
            "end": str(self.end),
            "created_ms": self.created_ms,
            "parent": self.parent,
            "adjacent_parent": self.adjacent_parent,
            "closed_ms": self.closed_ms,
            "end_counter": self.end_counter,
            "children": self.children,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Shard:
        return cls(
            d["index"],
            int(d["start"]),
            int(d["end"]),
            d["created_ms"],
            d["parent"],
            d["adjacent_parent"],
            d["closed_ms"],
            d["end_counter"],
            list(d["children"]),
        )


class Router:
    """Maps hash keys to open shards with a binary search over their starting keys."""

    __slots__ = ("starts", "shards")

    def __init__(self, shards: Iterable[Shard]) -> None:
        open_ = sorted((s for s in shards if s.open), key=lambda s: s.start)
        self.starts = [s.start for s in open_]
        self.shards = open_

    def route(self, key: int) -> Shard:
        return self.shards[bisect.bisect_right(self.starts, key) - 1]


def uniform_lineage(
    old: list[Shard], new_ranges: list[tuple[int, int]]
) -> list[tuple[int | None, int | None]]:
    """Parents of each new range under UNIFORM_SCALING: the (up to two) old shards it overlaps.

    AWS reaches the target through intermediate splits and merges; we go straight to the even
    layout and name the first two overlapping old shards as ParentShardId/AdjacentParentShardId.
    """
    out = []
    for lo, hi in new_ranges:
        over = [s.index for s in old if s.start <= hi and s.end >= lo]
        out.append((over[0] if over else None, over[1] if len(over) > 1 else None))
    return out


def child_shards(stream: Any, shard: Shard) -> list[dict[str, Any]]:
    """The ChildShards member at the end of a closed shard (GetRecords, SubscribeToShard)."""
    out = []
    for idx in shard.children:
        child = stream.shards.get(idx)
        if child is None:
            continue
        parents = [shard_id(p) for p in (child.parent, child.adjacent_parent) if p is not None]
        out.append(
            {
                "ShardId": child.id,
                "ParentShards": parents,
                "HashKeyRange": {"StartingHashKey": str(child.start), "EndingHashKey": str(child.end)},
            }
        )
    return out
