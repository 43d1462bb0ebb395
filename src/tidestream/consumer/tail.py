"""``tidestream consume``: tail a Kinesis stream or a table's changes in the terminal.

Reads every shard with plain GetShardIterator/GetRecords (a child shard once all its parents
reached SHARD_END, so one item's changes stay in order across a reshard), decodes DynamoDB
change records into :class:`~tidestream.consumer.changes.Change` (KPL aggregates are
de-aggregated first) and prints one line per change on stdout; a live count and the lag
(MillisBehindLatest) go to stderr.
"""

from __future__ import annotations

import argparse
import base64
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TextIO

import orjson

from .changes import Change, NotAChange, decode_kinesis_record, decode_stream_record, table_from_stream_arn
from .kpl import UserRecord, deaggregate_all

POSITIONS = {"trim-horizon": "TRIM_HORIZON", "latest": "LATEST", "at-timestamp": "AT_TIMESTAMP"}
#: a round reads each shard once; AWS allows 5 GetRecords per second per shard, so rounds are
#: at least this far apart (and a throttled read is retried in the next round)
ROUND_SECONDS = 0.21
STATUS_EVERY = 1.0
#: re-list shards this often too, for children that were not listed yet when their parent ended
RELIST_EVERY = 10.0
_CAPTURING = ("ACTIVE", "UPDATING")
_THROTTLED = ("ProvisionedThroughputExceededException", "LimitExceededException")


class ConsumeError(Exception):
    """A usage problem the user can fix (named in the message); the command exits 2."""


@dataclass(frozen=True)
class Position:
    """Where to start reading each shard."""

    kind: str  # TRIM_HORIZON | LATEST | AT_TIMESTAMP
    timestamp: datetime | None = None


@dataclass
class Page:
    """One GetRecords answer, decoded."""

    items: list[Change | UserRecord]
    next_iterator: str | None
    millis_behind: int | None
    last_sequence: str | None


class KinesisFeed:
    """A Kinesis stream (by name or ARN), its records de-aggregated and decoded where they are changes."""

    def __init__(self, client: Any, stream: str) -> None:
        self.client = client
        self.ref = {"StreamARN": stream} if stream.startswith("arn:") else {"StreamName": stream}

    def shards(self) -> list[dict]:
        shards, kw = [], dict(self.ref)
        while True:
            page = self.client.list_shards(**kw)
            shards += page["Shards"]
            if not page.get("NextToken"):
                return shards
            kw = {"NextToken": page["NextToken"]}

    def iterator(self, shard_id: str, position: Position, after: str | None = None) -> str:
        kw: dict[str, Any] = {**self.ref, "ShardId": shard_id, "ShardIteratorType": position.kind}
        if after is not None:
            kw.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=after)
        elif position.timestamp is not None:
            kw["Timestamp"] = position.timestamp
        return self.client.get_shard_iterator(**kw)["ShardIterator"]

    def read(self, iterator: str) -> Page:
        page = self.client.get_records(ShardIterator=iterator, Limit=1000)
        records = page["Records"]
        items = [_decode_user_record(r) for r in deaggregate_all(records)]
        last = records[-1]["SequenceNumber"] if records else None
        return Page(items, page.get("NextShardIterator"), page.get("MillisBehindLatest"), last)


def _decode_user_record(user: UserRecord) -> Change | UserRecord:
    try:
        return decode_kinesis_record(user.as_record())
    except NotAChange:
        return user


class StreamsFeed:
    """A DynamoDB stream (its ARN); it has no MillisBehindLatest, so the lag is left unknown."""

    def __init__(self, client: Any, arn: str) -> None:
        self.client = client
        self.arn = arn
        self.table = table_from_stream_arn(arn)

    def shards(self) -> list[dict]:
        shards, kw = [], {"StreamArn": self.arn}
        while True:
            desc = self.client.describe_stream(**kw)["StreamDescription"]
            shards += desc["Shards"]
            if not desc.get("LastEvaluatedShardId"):
                return shards
            kw["ExclusiveStartShardId"] = desc["LastEvaluatedShardId"]

    def iterator(self, shard_id: str, position: Position, after: str | None = None) -> str:
        kw: dict[str, Any] = {"StreamArn": self.arn, "ShardId": shard_id, "ShardIteratorType": position.kind}
        if after is not None:
            kw.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=after)
        elif position.timestamp is not None:
            kw["Timestamp"] = position.timestamp
        return self.client.get_shard_iterator(**kw)["ShardIterator"]

    def read(self, iterator: str) -> Page:
        page = self.client.get_records(ShardIterator=iterator, Limit=1000)
        records = page["Records"]
        items: list[Change | UserRecord] = [decode_stream_record(r, self.table) for r in records]
        last = records[-1]["dynamodb"]["SequenceNumber"] if records else None
        return Page(items, page.get("NextShardIterator"), None, last)


@dataclass
class ShardState:
    iterator: str
    last_sequence: str | None = None
    millis_behind: int | None = None


@dataclass
class Tail:
    """Reads all shards round-robin until ``limit`` items were emitted (or forever)."""

    feed: Any
    position: Position
    emit: Callable[[str, Change | UserRecord], None]
    limit: int | None = None
    status: Callable[[int, list[ShardState], bool], None] = lambda count, shards, final: None
    count: int = 0
    active: dict[str, ShardState] = field(default_factory=dict)
    finished: set[str] = field(default_factory=set)
    started: set[str] = field(default_factory=set)

    def run(self) -> int:
        shards = self.feed.shards()
        if self.position.kind == "LATEST":  # closed shards hold nothing newer than now
            self.finished |= {s["ShardId"] for s in shards if _closed(s)}
        self._start_ready(shards)
        last_status = 0.0
        last_listing = time.monotonic()
        while not self._done():
            round_started = time.monotonic()
            self._poll_round()
            now = time.monotonic()
            if now - last_status >= STATUS_EVERY:
                self.status(self.count, list(self.active.values()), False)
                last_status = now
            if now - last_listing >= RELIST_EVERY:
                self._start_ready(self.feed.shards())
                last_listing = now
            if not self._done():
                time.sleep(max(0.0, ROUND_SECONDS - (time.monotonic() - round_started)))
        self.status(self.count, list(self.active.values()), True)
        return self.count

    def _done(self) -> bool:
        return self.limit is not None and self.count >= self.limit

    def _start_ready(self, shards: list[dict]) -> None:
        """Start every shard whose parents (those still listed) have all been read to the end."""
        listed = {s["ShardId"] for s in shards}
        for shard in shards:
            shard_id = shard["ShardId"]
            if shard_id in self.started or shard_id in self.finished:
                continue
            parents = {shard.get("ParentShardId"), shard.get("AdjacentParentShardId")} & listed
            if parents <= self.finished:
                self.started.add(shard_id)
                self.active[shard_id] = ShardState(self.feed.iterator(shard_id, self.position))

    def _poll_round(self) -> None:
        for shard_id in list(self.active):
            page = self._read(shard_id)
            state = self.active[shard_id]
            state.millis_behind = page.millis_behind
            state.last_sequence = page.last_sequence or state.last_sequence
            for item in page.items:
                if self._done():
                    return
                self.emit(shard_id, item)
                self.count += 1
            if page.next_iterator is None:  # SHARD_END: hand over to the children
                del self.active[shard_id]
                self.finished.add(shard_id)
                self._start_ready(self.feed.shards())
            else:
                state.iterator = page.next_iterator

    def _read(self, shard_id: str) -> Page:
        state = self.active[shard_id]
        try:
            return self.feed.read(state.iterator)
        except Exception as err:
            code = _error_code(err)
            if code in _THROTTLED:  # try this shard again next round
                return Page([], state.iterator, state.millis_behind, None)
            if code != "ExpiredIteratorException":
                raise
            # an iterator unused for 5 minutes: take up after the last record read
            state.iterator = self.feed.iterator(shard_id, self.position, after=state.last_sequence)
            return self.feed.read(state.iterator)


def _closed(shard: dict) -> bool:
    return bool(shard.get("SequenceNumberRange", {}).get("EndingSequenceNumber"))


def _error_code(err: Exception) -> str | None:
    response = getattr(err, "response", None)
    return response.get("Error", {}).get("Code") if isinstance(response, dict) else None


def _json_default(value: Any) -> Any:
    """Decimal -> int when integral, float when exact, else its text; bytes -> base64; sets -> sorted lists."""
    if isinstance(value, Decimal):
        if value == value.to_integral_value():
            return int(value)
        as_float = float(value)
        return as_float if Decimal(repr(as_float)) == value else str(value)
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"cannot print {type(value).__name__}")


def change_json(change: Change, shard_id: str) -> dict[str, Any]:
    """The ``--json`` line of one change."""
    identity = change.user_identity
    return {
        "eventName": change.event_name,
        "tableName": change.table_name,
        "keys": change.keys,
        "newImage": change.new_image,
        "oldImage": change.old_image,
        "approximateCreationDateTime": change.approximate_creation.isoformat(),
        "precision": change.precision,
        "isTtlExpiry": change.is_ttl_expiry,
        "userIdentity": None
        if identity is None
        else {"type": identity.type, "principalId": identity.principal_id},
        "eventID": change.event_id,
        "awsRegion": change.region,
        "sizeBytes": change.size_bytes,
        "source": change.source,
        "shardId": shard_id,
        "sequenceNumber": change.sequence_number,
        "subSequenceNumber": change.sub_sequence_number,
    }


def raw_json(record: UserRecord, shard_id: str) -> dict[str, Any]:
    """The ``--json`` line of a Kinesis record that is not a DynamoDB change."""
    try:
        data: dict[str, Any] = {"data": record.data.decode("utf-8")}
    except UnicodeDecodeError:
        data = {"dataBase64": base64.b64encode(record.data).decode("ascii")}
    return {
        "source": "kinesis",
        "shardId": shard_id,
        "sequenceNumber": record.sequence_number,
        "subSequenceNumber": record.sub_sequence_number,
        "partitionKey": record.partition_key,
        **data,
    }


def _dumps(value: Any) -> str:
    return orjson.dumps(value, default=_json_default).decode("utf-8")


def human_line(shard_id: str, item: Change | UserRecord) -> str:
    if isinstance(item, UserRecord):
        return f"{shard_id} {item.sequence_number} {item.partition_key} {item.data!r}"
    ttl = " (ttl)" if item.is_ttl_expiry else ""
    image = item.old_image if item.event_name == "REMOVE" else item.new_image
    return (
        f"{item.approximate_creation.isoformat()} {item.event_name}{ttl} {item.table_name or ''} "
        f"{_dumps(item.keys)} {_dumps(image)}"
    )


def json_line(shard_id: str, item: Change | UserRecord) -> str:
    body = raw_json(item, shard_id) if isinstance(item, UserRecord) else change_json(item, shard_id)
    return _dumps(body)


def status_printer(err: TextIO) -> Callable[[int, list[ShardState], bool], None]:
    """Live ``N changes, lag`` on stderr: rewritten in place on a terminal, one line per tick otherwise."""
    tty = err.isatty()

    def show(count: int, shards: list[ShardState], final: bool) -> None:
        lags = [s.millis_behind for s in shards if s.millis_behind is not None]
        lag = f"{max(lags)} ms behind latest" if lags else "lag unknown"
        text = f"tidestream consume: {count} changes, {lag}, {len(shards)} shards open"
        err.write(("\r" + text + ("\n" if final else "")) if tty else text + "\n")
        err.flush()

    return show


def parse_position(words: list[str]) -> Position:
    kind = POSITIONS.get(words[0])
    if kind is None:
        raise ConsumeError(f"--from must be trim-horizon, latest or at-timestamp ISO-TIME, not {words[0]!r}")
    if kind != "AT_TIMESTAMP":
        return Position(kind)
    if len(words) != 2:
        raise ConsumeError("--from at-timestamp needs a time, e.g. --from at-timestamp 2026-01-31T12:00:00Z")
    try:
        when = datetime.fromisoformat(words[1].replace("Z", "+00:00"))
    except ValueError as err:
        raise ConsumeError(f"--from at-timestamp: {words[1]!r} is not an ISO 8601 time") from err
    return Position(kind, when if when.tzinfo else when.replace(tzinfo=UTC))


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("stream", nargs="?", help="Kinesis stream name or ARN, or a DynamoDB stream ARN")
    p.add_argument(
        "--table", help="read this table's changes (its Kinesis destination, else its DynamoDB stream)"
    )
    p.add_argument(
        "--from",
        dest="position",
        nargs="+",
        default=["latest"],
        metavar="POSITION",
        help="trim-horizon, latest (default) or at-timestamp ISO-TIME",
    )
    p.add_argument("--endpoint-url", default="http://127.0.0.1:4566")
    p.add_argument("--region", default="us-east-1")
    p.add_argument("--limit", type=int, default=None, help="stop after N changes")
    p.add_argument("--json", action="store_true", help="one JSON object per line")


def _split_position(args: argparse.Namespace) -> list[str]:
    """``--from trim-horizon STREAM`` puts STREAM into --from's list: give it back."""
    words = list(args.position)
    keep = 2 if words[0] == "at-timestamp" else 1
    extra = words[keep:]
    if extra and args.stream is None and len(extra) == 1:
        args.stream = extra[0]
    elif extra:
        raise ConsumeError(f"unexpected arguments after --from: {' '.join(extra)}")
    return words[:keep]


def _client(service: str, args: argparse.Namespace) -> Any:
    import botocore.session
    from botocore.config import Config

    session = botocore.session.get_session()
    keys = {}
    if session.get_credentials() is None:  # a local server without --auth takes any key
        keys = {"aws_access_key_id": "tidestream", "aws_secret_access_key": "tidestream"}
    return session.create_client(
        service,
        endpoint_url=args.endpoint_url,
        region_name=args.region,
        config=Config(retries={"max_attempts": 3}),
        **keys,
    )


def resolve_feed(args: argparse.Namespace) -> Any:
    """STREAM (Kinesis name/ARN or DynamoDB stream ARN), or ``--table``: its ACTIVE Kinesis
    destination first, else its DynamoDB stream."""
    if args.table and args.stream:
        raise ConsumeError("give either STREAM or --table, not both")
    if args.stream:
        if args.stream.startswith("arn:") and ":dynamodb:" in args.stream:
            return StreamsFeed(_client("dynamodbstreams", args), args.stream)
        return KinesisFeed(_client("kinesis", args), args.stream)
    if not args.table:
        raise ConsumeError("give a STREAM or --table TABLE")
    ddb = _client("dynamodb", args)
    destinations = ddb.describe_kinesis_streaming_destination(TableName=args.table)[
        "KinesisDataStreamDestinations"
    ]
    for destination in destinations:
        if destination["DestinationStatus"] in _CAPTURING:
            return KinesisFeed(_client("kinesis", args), destination["StreamArn"])
    table = ddb.describe_table(TableName=args.table)["Table"]
    if table.get("StreamSpecification", {}).get("StreamEnabled") and table.get("LatestStreamArn"):
        return StreamsFeed(_client("dynamodbstreams", args), table["LatestStreamArn"])
    raise ConsumeError(
        f"table {args.table} has no ACTIVE Kinesis streaming destination and no DynamoDB "
        "stream: enable one (EnableKinesisStreamingDestination or a StreamSpecification)"
    )


def run(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """The ``consume`` command; returns the exit code."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        position = parse_position(_split_position(args))
        if args.limit is not None and args.limit < 1:
            raise ConsumeError("--limit must be at least 1")
        feed = resolve_feed(args)
        line = json_line if args.json else human_line

        def emit(shard_id: str, item: Change | UserRecord) -> None:
            out.write(line(shard_id, item) + "\n")
            out.flush()

        Tail(feed, position, emit, args.limit, status_printer(err)).run()
        return 0
    except ConsumeError as problem:
        err.write(f"tidestream consume: {problem}\n")
        return 2
    except ClientError as problem:
        err.write(
            f"tidestream consume: {problem.response['Error'].get('Code')}: "
            f"{problem.response['Error'].get('Message')}\n"
        )
        return 1
    except BotoCoreError as problem:
        err.write(f"tidestream consume: {problem} (is a server listening at {args.endpoint_url}?)\n")
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `tidestream consume ... | head`: quiet exit, no flush error at shutdown
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def main(argv: list[str]) -> int:
    """``tidestream consume ...`` (wired in :mod:`tidestream.cli`)."""
    parser = argparse.ArgumentParser(
        prog="tidestream consume", description="Tail a Kinesis stream or a table's changes, decoded"
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))
