"""ListStreams, DescribeStream, GetShardIterator, GetRecords.

Request shapes and constraints are checked by the model-driven validator before these run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..arns import parse_arn
from ..context import RequestContext
from ..errors import AwsError, ResourceNotFoundException, ValidationException
from . import iterators
from .records import render, size_bytes
from .state import StreamMeta, StreamsState, parse_sequence_number, sequence_number

if TYPE_CHECKING:
    from ..protocol.shapes.dynamodbstreams import (
        DescribeStreamInput,
        GetRecordsInput,
        GetShardIteratorInput,
        ListStreamsInput,
    )


MAX_LIST = 100
MAX_RECORDS = 1000
MAX_BYTES = 1024 * 1024

TrimmedDataAccessException = type(
    "TrimmedDataAccessException",
    (AwsError,),
    {"code": "TrimmedDataAccessException", "status": 400, "namespace": None},
)

OPERATIONS: dict[str, Callable[[StreamsState, RequestContext, dict], dict]] = {}


def operation(name: str):
    def register(fn):
        OPERATIONS[name] = fn
        return fn

    return register


def stream_not_found(arn: str) -> ResourceNotFoundException:
    return ResourceNotFoundException(f"Requested resource not found: Stream: {arn} not found")


def trimmed() -> AwsError:
    return TrimmedDataAccessException("The data you are trying to access has been trimmed")


def _is_stream_arn(arn: str) -> bool:
    """arn:<partition>:dynamodb:<region>:<account>:table/<name>/stream/<label>"""
    parsed = parse_arn(arn)
    if parsed is None or parsed.service != "dynamodb" or not parsed.region or not parsed.account:
        return False
    resource = parsed.resource.split("/")
    return (
        parsed.resource_type == "table"
        and len(resource) == 3
        and resource[1] == "stream"
        and bool(resource[0])
        and bool(resource[2])
    )


def _at_most(limit: int | None, maximum: int) -> int:
    """*limit*, or *maximum* when absent; above *maximum* AWS refuses it (Alternator's suite,
    run against AWS: ListStreams Limit 101 and GetRecords Limit 1001 are ValidationExceptions)."""
    if limit is None:
        return maximum
    if limit > maximum:
        raise ValidationException(
            f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: "
            f"Member must have value less than or equal to {maximum}"
        )
    return limit


def _stream(state: StreamsState, ctx: RequestContext, arn: str) -> StreamMeta:
    """The stream named by ``arn``; a malformed ARN is refused before the lookup, as AWS does
    (aws-sdk-js's integration suite, run against AWS: DescribeStream('fake-stream') answers
    ValidationException "Invalid StreamArn")."""
    if not _is_stream_arn(arn):
        raise ValidationException("Invalid StreamArn")
    m = state.get(ctx.account_id, ctx.region, arn)
    if m is None:
        raise stream_not_found(arn)
    return m


def _shard(m: StreamMeta) -> dict[str, Any]:
    rng = {"StartingSequenceNumber": sequence_number(m.start)}
    if m.closed:
        rng["EndingSequenceNumber"] = sequence_number(m.ending)
    return {"ShardId": m.shard_id, "SequenceNumberRange": rng}


@operation("ListStreams")
def list_streams(state: StreamsState, ctx: RequestContext, p: ListStreamsInput) -> dict:
    limit = _at_most(p.get("Limit"), MAX_LIST)
    after = p.get("ExclusiveStartStreamArn")
    if after is not None and not _is_stream_arn(after):  # Alternator's suite, run against AWS
        raise ValidationException("Invalid StreamArn")
    table = p.get("TableName")
    streams = sorted(
        (m for m in state.visible(ctx.account_id, ctx.region) if table is None or m.table == table),
        key=lambda m: m.arn,
    )
    if after:
        streams = [m for m in streams if m.arn > after]
    page = streams[:limit]
    out: dict[str, Any] = {
        "Streams": [{"StreamArn": m.arn, "TableName": m.table, "StreamLabel": m.label} for m in page]
    }
    if len(streams) > limit:
        out["LastEvaluatedStreamArn"] = page[-1].arn
    return out


@operation("DescribeStream")
def describe_stream(state: StreamsState, ctx: RequestContext, p: DescribeStreamInput) -> dict:
    # a Limit above 100 is refused before the lookup, as ListStreams' is (the API reference
    # gives both the same upper limit; AWS's member checks come before existence checks)
    limit = _at_most(p.get("Limit"), MAX_LIST)
    m = _stream(state, ctx, p["StreamArn"])
    shards = [m]  # one shard per stream
    flt = p.get("ShardFilter")
    if flt and flt.get("Type") == "CHILD_SHARDS":
        shards = []  # a single shard has no children
    after = p.get("ExclusiveStartShardId")
    if after:
        shards = [s for s in shards if s.shard_id > after]
    page = shards[:limit]
    desc: dict[str, Any] = {
        "StreamArn": m.arn,
        "StreamLabel": m.label,
        "StreamStatus": m.status,
        "StreamViewType": m.view_type,
        "CreationRequestDateTime": m.created,
        "TableName": m.table,
        "KeySchema": [{"AttributeName": n, "KeyType": t} for n, t in m.key_schema],
        "Shards": [_shard(s) for s in page],
    }
    if len(shards) > limit:
        desc["LastEvaluatedShardId"] = page[-1].shard_id
    return {"StreamDescription": desc}


def _check_iterator_request(kind: str, seq: str | None, p: Mapping[str, Any]) -> None:
    """The iterator type's companion parameters: no stream needed, so before the lookup."""
    if kind in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"):
        if not seq:
            raise ValidationException(f"Must provide SequenceNumber for ShardIteratorType {kind}")
    elif seq:
        raise ValidationException(f"SequenceNumber must not be provided for ShardIteratorType {kind}")
    elif kind == "AT_TIMESTAMP" and p.get("Timestamp") is None:
        raise ValidationException("Must provide Timestamp for ShardIteratorType AT_TIMESTAMP")


@operation("GetShardIterator")
def get_shard_iterator(state: StreamsState, ctx: RequestContext, p: GetShardIteratorInput) -> dict:
    arn = p["StreamArn"]
    kind = p["ShardIteratorType"]
    seq = p.get("SequenceNumber")
    _check_iterator_request(kind, seq, p)
    m = _stream(state, ctx, arn)
    if p["ShardId"] != m.shard_id:
        raise ResourceNotFoundException(
            f"Requested resource not found: Shard: {p['ShardId']} in Stream: {arn} not found"
        )
    if kind in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"):
        c = parse_sequence_number(seq) if seq else None  # required for these types: checked above
        if c is None or c < m.start or (m.closed and c > m.ending):
            raise ValidationException(
                f"Invalid SequenceNumber: {seq} is not a sequence number of shard {m.shard_id}"
            )
        if c < m.trimmed_to:
            raise trimmed()
        position = c if kind == "AT_SEQUENCE_NUMBER" else c + 1
    elif kind == "TRIM_HORIZON":
        position = m.horizon
    elif kind == "LATEST":
        position = max(state.readable_last(m) + 1, m.start)
    else:  # AT_TIMESTAMP
        when = p["Timestamp"]
        position = state.first_at_or_after(m, float(when))
    now_ms = int(state.clock() * 1000)
    return {"ShardIterator": iterators.issue(state.secret, m.arn, m.id, position, now_ms)}


@operation("GetRecords")
def get_records(state: StreamsState, ctx: RequestContext, p: GetRecordsInput) -> dict:
    limit = _at_most(p.get("Limit"), MAX_RECORDS)
    now_ms = int(state.clock() * 1000)
    pos = iterators.open_(state.secret, p["ShardIterator"], now_ms)
    m = state.get(ctx.account_id, ctx.region, pos.arn)
    if m is None or m.id != pos.stream_id:
        raise stream_not_found(pos.arn)
    if pos.counter < m.trimmed_to:
        raise trimmed()
    records: list[dict[str, Any]] = []
    total = 0
    position = pos.counter
    for c, entry in state.read(m, pos.counter, limit):
        size = size_bytes(entry)
        if records and total + size > MAX_BYTES:
            break
        records.append(render(m, c, entry))
        total += size
        position = c + 1
        if len(records) >= limit:
            break
    out: dict[str, Any] = {"Records": records}
    if not m.exhausted(position):
        out["NextShardIterator"] = iterators.issue(state.secret, m.arn, m.id, position, now_ms)
    return out
