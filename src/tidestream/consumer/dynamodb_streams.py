"""DynamoDB Streams as a source for the worker, as AWS's DynamoDB Streams Kinesis Adapter does it.

``DynamoDBStreamsAdapter`` wraps a boto3 ``dynamodbstreams`` client in the three Kinesis calls
the worker makes (ListShards, GetShardIterator, GetRecords), so the same worker, lease table and
processors consume a table's stream:

    adapter = DynamoDBStreamsAdapter(boto3.client("dynamodbstreams"))
    config = ConsumerConfig("my-app", table["LatestStreamArn"])     # the stream ARN as stream name
    Worker(config, MyProcessor, adapter, boto3.client("dynamodb")).run()

Each delivered record's ``data`` is the JSON of the DynamoDB Streams record in the wire format
(``eventName``, ``dynamodb.Keys``/``NewImage``/``OldImage`` as AttributeValues, binaries base64,
``ApproximateCreationDateTime`` in epoch seconds), as the adapter's record mapper writes it;
``decode_stream_record(json.loads(record.data))`` turns it into a ``Change``.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

STREAMS_MAX_RECORDS = 1000  # GetRecords' Limit ceiling in DynamoDB Streams (Kinesis: 10000)
TOKEN_SEPARATOR = "|"


class DynamoDBStreamsAdapter:
    """The Kinesis calls of the worker, answered by DynamoDB Streams (polling only: DynamoDB
    Streams has no enhanced fan-out)."""

    def __init__(self, streams: Any) -> None:
        self.streams = streams

    def list_shards(
        self, StreamName: str | None = None, NextToken: str | None = None, MaxResults: int = 100
    ) -> dict[str, Any]:
        """DescribeStream, one page; the token carries the stream ARN, since ListShards with a
        NextToken names no stream."""
        if NextToken is not None:
            StreamName, _, last_shard = NextToken.partition(TOKEN_SEPARATOR)
            params = {"ExclusiveStartShardId": last_shard}
        else:
            params = {}
        description = self.streams.describe_stream(
            StreamArn=StreamName, Limit=min(MaxResults, 100), **params
        )["StreamDescription"]
        page: dict[str, Any] = {"Shards": [_shard(shard) for shard in description.get("Shards", [])]}
        last = description.get("LastEvaluatedShardId")
        if last:
            page["NextToken"] = f"{StreamName}{TOKEN_SEPARATOR}{last}"
        return page

    def get_shard_iterator(
        self,
        StreamName: str,
        ShardId: str,
        ShardIteratorType: str,
        StartingSequenceNumber: str | None = None,
        **unsupported: Any,
    ) -> dict[str, Any]:
        if ShardIteratorType == "AT_TIMESTAMP" or unsupported:
            raise ValueError("DynamoDB Streams cannot start AT_TIMESTAMP: use TRIM_HORIZON or LATEST")
        params = {"SequenceNumber": StartingSequenceNumber} if StartingSequenceNumber else {}
        return self.streams.get_shard_iterator(
            StreamArn=StreamName, ShardId=ShardId, ShardIteratorType=ShardIteratorType, **params
        )

    def get_records(self, ShardIterator: str, Limit: int = STREAMS_MAX_RECORDS) -> dict[str, Any]:
        page = self.streams.get_records(ShardIterator=ShardIterator, Limit=min(Limit, STREAMS_MAX_RECORDS))
        result: dict[str, Any] = {"Records": [kinesis_record(record) for record in page.get("Records", [])]}
        if page.get("NextShardIterator"):
            result["NextShardIterator"] = page["NextShardIterator"]
        return result


def _shard(shard: dict[str, Any]) -> dict[str, Any]:
    """A DynamoDB Streams shard in ListShards' shape: lineage and range, no hash keys."""
    out = {"ShardId": shard["ShardId"], "SequenceNumberRange": shard.get("SequenceNumberRange", {})}
    if shard.get("ParentShardId"):
        out["ParentShardId"] = shard["ParentShardId"]
    return out


def kinesis_record(record: dict[str, Any]) -> dict[str, Any]:
    """A DynamoDB Streams record as the Kinesis record the adapter delivers: the sequence number
    and creation time of the change, and the record itself as JSON in ``Data``."""
    body = record.get("dynamodb", {})
    return {
        "SequenceNumber": body["SequenceNumber"],
        "PartitionKey": "",
        "Data": json.dumps(record, default=_wire_value, separators=(",", ":")).encode(),
        "ApproximateArrivalTimestamp": body.get("ApproximateCreationDateTime"),
    }


def _wire_value(value: Any) -> Any:
    """boto3 parsed the wire JSON into bytes and datetimes; this puts them back."""
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")
