"""Enhanced fan-out consumers: registration records and their in-memory index.

A consumer is one engine value under ``\\x00KF | stream id (4, BE) | consumer name`` (JSON).
Keying by the stream's storage id (never reused) means a consumer can never outlive its stream
into a new stream of the same name, and one range delete drops every consumer of a stream.
Status changes (CREATING -> ACTIVE, DELETING -> gone) are lazy against the clock, like streams.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import orjson

from ..arns import parse_arn
from ..storage import keyspace
from ..storage.engine import Engine, WriteConflict

PREFIX = keyspace.KINESIS_CONSUMERS
#: AWS's default quota of registered consumers per stream
MAX_PER_STREAM = 20


def consumer_key(stream_id: int, name: str) -> bytes:
    return PREFIX + stream_id.to_bytes(4, "big") + name.encode()


def stream_range(stream_id: int) -> tuple[bytes, bytes]:
    p = PREFIX + stream_id.to_bytes(4, "big")
    return p, PREFIX + (stream_id + 1).to_bytes(4, "big")


def consumer_arn(stream_arn: str, name: str, created_ms: int) -> str:
    return f"{stream_arn}/consumer/{name}:{created_ms // 1000}"


def parse_consumer_arn(arn: str) -> tuple[str, str, str, str, int] | None:
    """(account, region, stream name, consumer name, creation epoch seconds) of a consumer ARN."""
    parsed = parse_arn(arn)
    if parsed is None or parsed.service != "kinesis" or parsed.resource_type != "stream":
        return None
    stream_name, _, rest = parsed.resource.partition("/consumer/")  # <name>/consumer/<cname>:<epoch>
    cname, _, epoch = rest.rpartition(":")
    if not stream_name or not cname or not epoch.isdigit():
        return None
    return parsed.account, parsed.region, stream_name, cname, int(epoch)


@dataclass
class Consumer:
    stream_id: int
    stream_arn: str
    name: str
    created_ms: int
    status: str = "CREATING"
    status_until: int | None = None
    tags: dict[str, str] = field(default_factory=dict)
    #: resource policy (PutResourcePolicy on the consumer's ARN), a JSON document as text
    policy: str | None = None
    #: the record as last read or written (cluster mode checks a save against it)
    stored: bytes | None = field(default=None, compare=False, repr=False)

    @property
    def arn(self) -> str:
        return consumer_arn(self.stream_arn, self.name, self.created_ms)

    @property
    def key(self) -> bytes:
        return consumer_key(self.stream_id, self.name)

    def to_json(self) -> bytes:
        return orjson.dumps(
            {
                "stream_id": self.stream_id,
                "stream_arn": self.stream_arn,
                "name": self.name,
                "created": self.created_ms,
                "status": self.status,
                "until": self.status_until,
                "tags": self.tags,
                "policy": self.policy,
            }
        )

    @classmethod
    def from_json(cls, raw: bytes) -> Consumer:
        d = orjson.loads(raw)
        return cls(
            d["stream_id"],
            d["stream_arn"],
            d["name"],
            d["created"],
            d["status"],
            d["until"],
            d.get("tags") or {},
            d.get("policy"),
            raw,
        )


class Consumers:
    """Every registered consumer, by stream id then name (registration order kept)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.by_stream: dict[int, dict[str, Consumer]] = {}
        #: cluster mode (kinesis/cluster.py): tells the other nodes a consumer's key changed,
        #: and reads a consumer this node has not heard of yet; None on one node
        self.announce: Callable[[bytes], None] | None = None
        self.lookup: Callable[[int, str], Consumer | None] | None = None

    @classmethod
    def load(cls, engine: Engine) -> Consumers:
        out = cls(engine)
        found = [Consumer.from_json(v) for _, v in engine.scan(PREFIX, PREFIX + b"\xff")]
        for c in sorted(found, key=lambda c: (c.created_ms, c.name)):
            out.by_stream.setdefault(c.stream_id, {})[c.name] = c
        return out

    def reload_stream(self, stream_id: int) -> None:
        """Cluster mode: the stream's consumers as stored, for a control-plane call (a consumer
        registered or deregistered through another node a moment ago, before its notification)."""
        start, end = stream_range(stream_id)
        found = [Consumer.from_json(v) for _, v in self.engine.scan(start, end)]
        group = {c.name: c for c in sorted(found, key=lambda c: (c.created_ms, c.name))}
        if group:
            self.by_stream[stream_id] = group
        else:
            self.by_stream.pop(stream_id, None)

    def settle(self, c: Consumer, now_ms: int) -> Consumer | None:
        """Finish CREATING/DELETING whose time has come; None once a deregistration is done."""
        if c.status_until is not None and now_ms >= c.status_until:
            try:
                if c.status == "DELETING":
                    self.remove(c)
                    return None
                c.status = "ACTIVE"
                c.status_until = None
                self.save(c)
            except WriteConflict:  # cluster: another node settled or changed it first
                return self._reread(c)
        return c

    def of_stream(self, stream_id: int, now_ms: int) -> list[Consumer]:
        """The stream's consumers (settled), in registration order."""
        return [
            c for c in list(self.by_stream.get(stream_id, {}).values()) if self.settle(c, now_ms) is not None
        ]

    def get(self, stream_id: int, name: str, now_ms: int) -> Consumer | None:
        c = self.by_stream.get(stream_id, {}).get(name)
        if c is None and self.lookup is not None:  # registered on another node a moment ago?
            c = self.lookup(stream_id, name)
            if c is not None:
                self.by_stream.setdefault(stream_id, {})[name] = c
        return None if c is None else self.settle(c, now_ms)

    def add(self, c: Consumer) -> None:
        """Register ``c``; in cluster mode only if no node registered its name meanwhile
        (WriteConflict: the operation runs again and finds it: ResourceInUseException)."""
        self.save(c)
        self.by_stream.setdefault(c.stream_id, {})[c.name] = c

    def save(self, c: Consumer) -> None:
        self._write(c, c.to_json())

    def remove(self, c: Consumer) -> None:
        self._write(c, None)
        group = self.by_stream.get(c.stream_id)
        if group is not None and group.get(c.name) is c:
            del group[c.name]
            if not group:
                del self.by_stream[c.stream_id]

    def _write(self, c: Consumer, value: bytes | None) -> None:
        """One node writes; a cluster node writes only if the record is still the one it read
        (``c.stored``; None: absent), else WriteConflict, nothing written, and the other
        nodes hear of the change."""
        if self.announce is None:
            self.engine.write([(c.key, value)])
        else:
            seen = c.stored
            checked = self.engine.write_checked  # type: ignore[attr-defined]  # a cluster engine
            checked([(c.key, value)], [c.key], lambda values: values[0] == seen)
            self.announce(c.key)
        c.stored = value

    def _reread(self, c: Consumer) -> Consumer | None:
        """Cluster mode: ``c`` as stored now (None: gone), replacing this node's copy."""
        group = self.by_stream.setdefault(c.stream_id, {})
        fresh = self.lookup(c.stream_id, c.name) if self.lookup is not None else None
        if fresh is None:
            group.pop(c.name, None)
        else:
            group[c.name] = fresh
        if not group:
            del self.by_stream[c.stream_id]
        return fresh

    def drop_stream(self, stream_id: int) -> None:
        """Forget every consumer of a stream (DeleteStream)."""
        self.by_stream.pop(stream_id, None)
        self.engine.delete_range(*stream_range(stream_id))
