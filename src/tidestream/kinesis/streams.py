"""Stream metadata and the catalog of streams (per account and region).

A stream's metadata (settings, tags and its shard list) is one engine value under
``\\x00KS<account>/<region>/<name>``; the catalog keeps every stream in memory too, since all
requests run on one event loop and must not pay a decode per call. Status changes
(CREATING/UPDATING/DELETING -> ACTIVE/gone) are evaluated lazily against the clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from ..arns import parse_arn as parse_any_arn
from ..storage import keyspace
from . import sequence
from .shards import Router, Shard

STREAM_PREFIX = keyspace.KINESIS_STREAMS
NEXT_ID_KEY = keyspace.KINESIS_NEXT_STREAM_ID
ALL_METRICS = [
    "IncomingBytes",
    "IncomingRecords",
    "OutgoingBytes",
    "OutgoingRecords",
    "WriteProvisionedThroughputExceeded",
    "ReadProvisionedThroughputExceeded",
    "IteratorAgeMilliseconds",
]


def stream_key(account: str, region: str, name: str) -> bytes:
    return STREAM_PREFIX + f"{account}/{region}/{name}".encode()


def stream_arn(account: str, region: str, name: str) -> str:
    return f"arn:aws:kinesis:{region}:{account}:stream/{name}"


def parse_arn(arn: str) -> tuple[str, str, str] | None:
    """(account, region, name) of a stream ARN (consumer ARNs resolve to their stream)."""
    parsed = parse_any_arn(arn)
    if parsed is None or parsed.service != "kinesis" or parsed.resource_type != "stream":
        return None
    return parsed.account, parsed.region, parsed.resource.split("/", 1)[0]


@dataclass
class Stream:
    id: int
    account: str
    region: str
    name: str
    created_ms: int
    mode: str = "PROVISIONED"
    status: str = "CREATING"
    #: when the current transitional status ends (ms); None when settled
    status_until: int | None = None
    retention_hours: int = 24
    tags: dict[str, str] = field(default_factory=dict)
    encryption: str = "NONE"
    key_id: str | None = None
    metrics: list[str] = field(default_factory=list)
    shards: dict[int, Shard] = field(default_factory=dict)
    next_index: int = 0
    #: resharding requested but not yet applied: AWS shows the old shards while the stream is
    #: UPDATING and the new ones once it is ACTIVE again (see operations/shards.apply_pending)
    pending: list[dict[str, Any]] = field(default_factory=list)
    #: resource policy (PutResourcePolicy), a JSON document as text
    policy: str | None = None
    #: largest record (partition key + data) the stream accepts, KiB (MaxRecordSizeInKiB)
    max_record_kib: int = 1024
    #: warm throughput target of an on-demand stream, MiB/s (UpdateStreamWarmThroughput)
    warm_mibps: int | None = None
    # runtime only -------------------------------------------------------------------------
    #: derived from the shards by rebuild_router (empty until the first rebuild)
    router: Router = field(default_factory=lambda: Router(()), compare=False)
    #: the record last read from or written to the store (None: never saved); a cluster node
    #: writes the stream, or appends to it, only while the store still holds exactly this
    stored: bytes | None = field(default=None, compare=False)

    @property
    def max_record_bytes(self) -> int:
        return self.max_record_kib * 1024

    @property
    def arn(self) -> str:
        return stream_arn(self.account, self.region, self.name)

    @property
    def key(self) -> bytes:
        return stream_key(self.account, self.region, self.name)

    def open_shards(self) -> list[Shard]:
        return [s for s in self.shards.values() if s.open]

    def rebuild_router(self) -> None:
        self.router = Router(self.shards.values())

    def base(self, shard: Shard) -> int:
        return sequence.shard_base(self.id, shard.index)

    def starting_sequence(self, shard: Shard) -> str:
        return sequence.make(self.base(shard), 0, shard.created_ms)

    def ending_sequence(self, shard: Shard) -> str | None:
        if shard.open:
            return None
        return sequence.make(self.base(shard), sequence.COUNTER_MAX, shard.closed_ms or 0)

    def to_json(self) -> bytes:
        return orjson.dumps(
            {
                "id": self.id,
                "account": self.account,
                "region": self.region,
                "name": self.name,
                "created": self.created_ms,
                "mode": self.mode,
                "status": self.status,
                "until": self.status_until,
                "retention": self.retention_hours,
                "tags": self.tags,
                "encryption": self.encryption,
                "key_id": self.key_id,
                "metrics": self.metrics,
                "shards": [s.to_json() for s in self.shards.values()],
                "next_index": self.next_index,
                "pending": self.pending,
                "policy": self.policy,
                "max_record_kib": self.max_record_kib,
                "warm_mibps": self.warm_mibps,
            }
        )

    @classmethod
    def from_json(cls, raw: bytes) -> Stream:
        d = orjson.loads(raw)
        s = cls(
            d["id"],
            d["account"],
            d["region"],
            d["name"],
            d["created"],
            d["mode"],
            d["status"],
            d["until"],
            d["retention"],
            d["tags"],
            d["encryption"],
            d["key_id"],
            d["metrics"],
            {},
            d["next_index"],
            pending=d.get("pending") or [],
            policy=d.get("policy"),
            max_record_kib=d.get("max_record_kib", 1024),
            warm_mibps=d.get("warm_mibps"),
        )
        for sj in d["shards"]:
            sh = Shard.from_json(sj)
            s.shards[sh.index] = sh
        s.rebuild_router()
        s.stored = raw
        return s


class Catalog:
    """All streams, indexed by (account, region, name) and by storage id."""

    def __init__(self) -> None:
        self.by_key: dict[tuple[str, str, str], Stream] = {}
        self.by_id: dict[int, Stream] = {}

    def add(self, stream: Stream) -> None:
        self.by_key[(stream.account, stream.region, stream.name)] = stream
        self.by_id[stream.id] = stream

    def remove(self, stream: Stream) -> None:
        self.by_key.pop((stream.account, stream.region, stream.name), None)
        self.by_id.pop(stream.id, None)

    def get(self, account: str, region: str, name: str) -> Stream | None:
        return self.by_key.get((account, region, name))

    def in_region(self, account: str, region: str) -> list[Stream]:
        """Streams of one account and region, sorted by name (ListStreams order)."""
        return sorted(
            (s for (a, r, _), s in self.by_key.items() if a == account and r == region), key=lambda s: s.name
        )

    def __iter__(self) -> Iterator[Stream]:
        return iter(list(self.by_id.values()))


def summary(stream: Stream, ts: Any) -> dict[str, Any]:
    """ListStreams' StreamSummaries entry."""
    return {
        "StreamName": stream.name,
        "StreamARN": stream.arn,
        "StreamStatus": stream.status,
        "StreamModeDetails": {"StreamMode": stream.mode},
        "StreamCreationTimestamp": ts(stream.created_ms),
    }


def shard_view(stream: Stream, shard: Shard) -> dict[str, Any]:
    """A shard as DescribeStream and ListShards print it."""
    out: dict[str, Any] = {"ShardId": shard.id}
    if shard.parent is not None:
        out["ParentShardId"] = f"shardId-{shard.parent:012d}"
    if shard.adjacent_parent is not None:
        out["AdjacentParentShardId"] = f"shardId-{shard.adjacent_parent:012d}"
    out["HashKeyRange"] = {"StartingHashKey": str(shard.start), "EndingHashKey": str(shard.end)}
    rng = {"StartingSequenceNumber": stream.starting_sequence(shard)}
    ending = stream.ending_sequence(shard)
    if ending is not None:
        rng["EndingSequenceNumber"] = ending
    out["SequenceNumberRange"] = rng
    return out
