"""Where event source mappings read: Kinesis streams (or an enhanced fan-out consumer's stream)
and DynamoDB Streams, through their service operations, in-process (no HTTP to ourselves).

A :class:`Reader` hides the two services' differences from the pollers: listing shards with
their parents, opening an iterator at a checkpoint or starting position, reading a page, and
rendering a record the way Lambda hands it to a function (``aws:kinesis`` / ``aws:dynamodb``).
"""

from __future__ import annotations

import asyncio
import base64
import inspect
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from ..context import RequestContext
from ..errors import AwsError
from ..ids import uuid4_text
from .mappings import Checkpoint, EventSourceMapping
from .messages import InvalidParameterValueException

#: ARN service -> mapping source kind; these are read by pollers
KINESIS = "kinesis"
DYNAMODB = "dynamodb"


#: stream ARN -> an event set at the stream's next append (None: unknown stream)
Waiter = Callable[[str], "asyncio.Event | None"]


def source_kind(arn: str) -> str | None:
    """``kinesis`` for a stream or consumer ARN, ``dynamodb`` for a table's stream ARN."""
    parts = arn.split(":", 5)
    if len(parts) != 6:
        return None
    if parts[2] == "kinesis" and parts[5].startswith("stream/"):
        return KINESIS
    if parts[2] == "dynamodb" and "/stream/" in parts[5]:
        return DYNAMODB
    return None


def is_consumer_arn(arn: str) -> bool:
    return "/consumer/" in arn


@dataclass(frozen=True)
class ShardInfo:
    shard_id: str
    parents: tuple[str, ...]


class Sources:
    """The Kinesis and DynamoDB Streams operations (``op(ctx, params)``) the pollers call."""

    def __init__(self) -> None:
        self.ops: dict[str, dict[str, Any]] = {KINESIS: {}, DYNAMODB: {}}
        self.waiters: dict[str, Waiter] = {}

    def attach(
        self,
        kinesis: dict[str, Any],
        streams: dict[str, Any],
        kinesis_waiter: Waiter | None = None,
        streams_waiter: Waiter | None = None,
    ) -> None:
        self.ops = {KINESIS: kinesis, DYNAMODB: streams}
        self.waiters = {k: w for k, w in ((KINESIS, kinesis_waiter), (DYNAMODB, streams_waiter)) if w}

    def append_waiter(self, kind: str, stream_arn: str) -> asyncio.Event | None:
        """What a caught-up poller waits on besides its poll interval (None: the interval only)."""
        waiter = self.waiters.get(kind)
        return None if waiter is None else waiter(stream_arn)

    async def call(self, kind: str, name: str, account: str, region: str, params: dict) -> dict:
        ctx = RequestContext(account, region, uuid4_text(), name)
        result = self.ops[kind][name](ctx, params)
        if inspect.isawaitable(result):
            result = await result
        return result or {}

    async def stream_arn(self, account: str, region: str, arn: str) -> str:
        """The stream an EventSourceArn reads; AWS's error when it does not exist."""
        kind = source_kind(arn)
        try:
            if kind == KINESIS and is_consumer_arn(arn):
                out = await self.call(kind, "DescribeStreamConsumer", account, region, {"ConsumerARN": arn})
                return out["ConsumerDescription"]["StreamARN"]
            if kind == KINESIS:
                await self.call(kind, "DescribeStreamSummary", account, region, {"StreamARN": arn})
                return arn
            if kind == DYNAMODB:
                await self.call(kind, "DescribeStream", account, region, {"StreamArn": arn, "Limit": 1})
                return arn
        except AwsError:
            pass
        raise InvalidParameterValueException(f"Stream not found: {arn}")

    def reader(self, mapping: EventSourceMapping, stream_arn: str, role: str) -> Reader:
        cls = KinesisReader if mapping.source_kind == KINESIS else StreamsReader
        return cls(self, mapping, stream_arn, role)


class Reader:
    """One mapping's view of its stream; subclasses know one service."""

    kind = ""
    batch_info = ""

    def __init__(self, sources: Sources, mapping: EventSourceMapping, stream_arn: str, role: str) -> None:
        self.sources = sources
        self.mapping = mapping
        self.stream_arn = stream_arn
        self.role = role

    async def _call(self, name: str, params: dict) -> dict:
        m = self.mapping
        return await self.sources.call(self.kind, name, m.account, m.region, params)

    async def iterator(self, shard_id: str, checkpoint: Checkpoint | None) -> str:
        """Where to read *shard_id*: after its checkpoint, else at the StartingPosition. A child
        shard starts only once its parents are read to the end (see :mod:`.pollers`); all its
        records arrived after the parents' last one, so the StartingPosition takes all of them
        that the mapping is meant to see."""
        if checkpoint is not None and checkpoint.sequence_number is not None:
            try:
                return await self._iterator(shard_id, "AFTER_SEQUENCE_NUMBER", checkpoint.sequence_number)
            except AwsError:  # trimmed past the checkpoint: what is left, as AWS does
                return await self._iterator(shard_id, "TRIM_HORIZON", None)
        return await self._starting_iterator(shard_id)

    async def _iterator(
        self, shard_id: str, kind: str, sequence: str | None, stamp: float | None = None
    ) -> str:
        raise NotImplementedError

    async def _starting_iterator(self, shard_id: str) -> str:
        """LATEST is read as "arrived since the mapping was created", so records written while
        the poller starts, or while the server was down before the first checkpoint, count."""
        m = self.mapping
        if m.starting_position == "TRIM_HORIZON":
            return await self._iterator(shard_id, "TRIM_HORIZON", None)
        stamp = m.starting_position_timestamp if m.starting_position == "AT_TIMESTAMP" else m.created
        return await self._iterator(shard_id, "AT_TIMESTAMP", None, min(float(stamp or 0), time.time()))

    async def shards(self) -> list[ShardInfo]:
        raise NotImplementedError

    async def read(self, iterator: str, limit: int) -> tuple[list[dict], str | None]:
        raise NotImplementedError

    def event_record(self, raw: dict, shard_id: str) -> dict:
        raise NotImplementedError

    def filter_view(self, record: dict) -> dict:
        """The record as filters see it (Kinesis ``data`` decoded)."""
        return record

    def append_waiter(self) -> asyncio.Event | None:
        """Set at the stream's next append; take it *before* reading (see :mod:`tidestream.wakeups`)."""
        return self.sources.append_waiter(self.kind, self.stream_arn)

    @staticmethod
    def sequence(raw: dict) -> str:
        raise NotImplementedError

    @staticmethod
    def arrival(raw: dict) -> float:
        raise NotImplementedError

    @staticmethod
    def partition_key(raw: dict) -> str:
        raise NotImplementedError


class KinesisReader(Reader):
    kind = KINESIS
    batch_info = "KinesisBatchInfo"

    async def shards(self) -> list[ShardInfo]:
        out: list[ShardInfo] = []
        params: dict[str, Any] = {"StreamARN": self.stream_arn}
        while True:
            page = await self._call("ListShards", params)
            for s in page.get("Shards", []):
                parents = tuple(p for p in (s.get("ParentShardId"), s.get("AdjacentParentShardId")) if p)
                out.append(ShardInfo(s["ShardId"], parents))
            if not page.get("NextToken"):
                return out
            params = {"NextToken": page["NextToken"]}

    async def _iterator(
        self, shard_id: str, kind: str, sequence: str | None, stamp: float | None = None
    ) -> str:
        params: dict[str, Any] = {
            "StreamARN": self.stream_arn,
            "ShardId": shard_id,
            "ShardIteratorType": kind,
        }
        if sequence is not None:
            params["StartingSequenceNumber"] = sequence
        if stamp is not None:
            params["Timestamp"] = stamp
        return (await self._call("GetShardIterator", params))["ShardIterator"]

    async def read(self, iterator: str, limit: int) -> tuple[list[dict], str | None]:
        out = await self._call("GetRecords", {"ShardIterator": iterator, "Limit": limit})
        return out.get("Records", []), out.get("NextShardIterator")

    def event_record(self, raw: dict, shard_id: str) -> dict:
        m = self.mapping
        return {
            "kinesis": {
                "kinesisSchemaVersion": "1.0",
                "partitionKey": raw["PartitionKey"],
                "sequenceNumber": raw["SequenceNumber"],
                "data": raw["Data"],
                "approximateArrivalTimestamp": raw["ApproximateArrivalTimestamp"],
            },
            "eventSource": "aws:kinesis",
            "eventVersion": "1.0",
            "eventID": f"{shard_id}:{raw['SequenceNumber']}",
            "eventName": "aws:kinesis:record",
            "invokeIdentityArn": self.role,
            "awsRegion": m.region,
            "eventSourceARN": self.stream_arn,
        }

    def filter_view(self, record: dict) -> dict:
        data = base64.b64decode(record["kinesis"]["data"])
        try:
            decoded: Any = orjson.loads(data)
        except orjson.JSONDecodeError:
            decoded = data.decode("utf-8", "replace")
        return {**record, "kinesis": {**record["kinesis"], "data": decoded}}

    @staticmethod
    def sequence(raw: dict) -> str:
        return raw["SequenceNumber"]

    @staticmethod
    def arrival(raw: dict) -> float:
        return float(raw["ApproximateArrivalTimestamp"])

    @staticmethod
    def partition_key(raw: dict) -> str:
        return raw["PartitionKey"]


class StreamsReader(Reader):
    kind = DYNAMODB
    batch_info = "DDBStreamBatchInfo"

    async def shards(self) -> list[ShardInfo]:
        out: list[ShardInfo] = []
        params: dict[str, Any] = {"StreamArn": self.stream_arn}
        while True:
            desc = (await self._call("DescribeStream", params))["StreamDescription"]
            for s in desc.get("Shards", []):
                out.append(ShardInfo(s["ShardId"], (s["ParentShardId"],) if s.get("ParentShardId") else ()))
            if not desc.get("LastEvaluatedShardId"):
                return out
            params = {"StreamArn": self.stream_arn, "ExclusiveStartShardId": desc["LastEvaluatedShardId"]}

    async def _iterator(
        self, shard_id: str, kind: str, sequence: str | None, stamp: float | None = None
    ) -> str:
        params: dict[str, Any] = {
            "StreamArn": self.stream_arn,
            "ShardId": shard_id,
            "ShardIteratorType": kind,
        }
        if sequence is not None:
            params["SequenceNumber"] = sequence
        if stamp is not None:
            params["Timestamp"] = stamp
        return (await self._call("GetShardIterator", params))["ShardIterator"]

    async def read(self, iterator: str, limit: int) -> tuple[list[dict], str | None]:
        out = await self._call("GetRecords", {"ShardIterator": iterator, "Limit": min(limit, 1000)})
        return out.get("Records", []), out.get("NextShardIterator")

    def event_record(self, raw: dict, shard_id: str) -> dict:
        record = {k: v for k, v in raw.items() if k != "userIdentity"}
        identity = raw.get("userIdentity")
        if identity:  # Lambda's events spell the identity's members in lower camel case
            record["userIdentity"] = {
                "type": identity.get("Type"),
                "principalId": identity.get("PrincipalId"),
            }
        record["eventSourceARN"] = self.stream_arn
        return record

    @staticmethod
    def sequence(raw: dict) -> str:
        return raw["dynamodb"]["SequenceNumber"]

    @staticmethod
    def arrival(raw: dict) -> float:
        return float(raw["dynamodb"]["ApproximateCreationDateTime"])

    @staticmethod
    def partition_key(raw: dict) -> str:
        return orjson.dumps(raw["dynamodb"]["Keys"], option=orjson.OPT_SORT_KEYS).decode()
