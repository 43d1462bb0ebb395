"""DynamoDB Streams internals that need a clock: iterator expiry, 24-hour trimming, purging."""

from __future__ import annotations

import pytest

from tidestream.context import RequestContext
from tidestream.dynamodb.itemstore import Change
from tidestream.dynamodb.state import DynamoState
from tidestream.dynamodb.tables import Table
from tidestream.dynamodbstreams import iterators
from tidestream.dynamodbstreams.operations import OPERATIONS
from tidestream.dynamodbstreams.state import DISABLED, StreamsState, parse_sequence_number, sequence_number
from tidestream.errors import AwsError, ExpiredIteratorException, ValidationException
from tidestream.storage.engine import RocksEngine

T0 = 1_700_000_000.0


@pytest.fixture
def env():
    engine = RocksEngine(None, in_memory=True)
    ddb = DynamoState(engine)
    clock = [T0]
    st = StreamsState(engine, ddb.catalog, clock=lambda: clock[0])
    t = Table(
        account="000000000000",
        region="us-east-1",
        name="tbl",
        uid=ddb.catalog.new_uid(),
        table_id="tid-1",
        key_schema=[("id", "HASH")],
        attribute_types={"id": "S"},
        attribute_order=["id"],
        created=T0,
        stream_enabled=True,
        stream_view_type="NEW_IMAGE",
        stream_label="2023-11-14T22:13:20.000",
    )
    ddb.catalog.put(t)
    yield engine, ddb, st, t, clock
    engine.close()


def _write(engine, st, t, key: str, now: float) -> None:
    item = {"id": {"S": key}}
    engine.write(st.feed(Change(t, key.encode(), None, item), now))
    st.committed()  # as the capture does once the item's commit is written


def _call(st, op: str, **p):
    return OPERATIONS[op](st, RequestContext("000000000000", "us-east-1", "r"), p)


def test_sequence_numbers_round_trip():
    assert sequence_number(1) == "100000000000000000001"
    assert len(sequence_number(10**19)) == 21
    assert parse_sequence_number(sequence_number(42)) == 42
    assert parse_sequence_number("12") is None and parse_sequence_number("x" * 21) is None


def test_iterator_expires_after_15_minutes_and_refuses_forgery():
    secret = b"s" * 32
    arn = "arn:aws:dynamodb:us-east-1:000000000000:table/tbl/stream/2023-11-14T22:13:20.000"
    it = iterators.issue(secret, arn, 7, 99, 1_000)
    assert it.startswith(arn + "|1|")
    assert iterators.open_(secret, it, 1_000 + 15 * 60_000) == (arn, 7, 99, 1_000)
    with pytest.raises(ExpiredIteratorException):
        iterators.open_(secret, it, 1_000 + 15 * 60_000 + 1)
    with pytest.raises(ValidationException):
        iterators.open_(b"t" * 32, it, 1_000)
    with pytest.raises(ValidationException):
        iterators.open_(secret, it.replace("table/tbl", "table/other"), 1_000)


def test_trim_after_24_hours_then_trimmed_errors(env):
    engine, ddb, st, t, clock = env
    for i in range(3):
        _write(engine, st, t, f"old{i}", T0 + i)
    _write(engine, st, t, "new", T0 + 20 * 3600)
    arn = t.stream_arn
    m = st.by_arn[arn]
    horizon = _call(
        st, "GetShardIterator", StreamArn=arn, ShardId=m.shard_id, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    first_seq = _call(st, "GetRecords", ShardIterator=horizon)["Records"][0]["dynamodb"]["SequenceNumber"]
    clock[0] = T0 + 24 * 3600 + 10
    assert st.trim() == 1
    # the old iterator now points at trimmed data; a new TRIM_HORIZON starts at what is left
    with pytest.raises(AwsError) as e:
        _call(st, "GetRecords", ShardIterator=_reissue(st, horizon))
    assert e.value.code == "TrimmedDataAccessException"
    with pytest.raises(AwsError) as e:
        _call(
            st,
            "GetShardIterator",
            StreamArn=arn,
            ShardId=m.shard_id,
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            SequenceNumber=first_seq,
        )
    assert e.value.code == "TrimmedDataAccessException"
    it = _call(st, "GetShardIterator", StreamArn=arn, ShardId=m.shard_id, ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]
    assert [
        r["dynamodb"]["Keys"]["id"]["S"] for r in _call(st, "GetRecords", ShardIterator=it)["Records"]
    ] == ["new"]
    # the trim point survives a reload
    st.reload()
    assert st.by_arn[arn].trimmed_to == m.trimmed_to


def _reissue(st, token: str) -> str:
    """The same position, freshly issued (so expiry doesn't mask trimming)."""
    pos = iterators.open_(st.secret, token, int(T0 * 1000))
    return iterators.issue(st.secret, pos.arn, pos.stream_id, pos.counter, int(st.clock() * 1000))


def test_disabled_stream_is_purged_after_24_hours(env):
    engine, ddb, st, t, clock = env
    _write(engine, st, t, "a", T0)
    t.stream_enabled = False
    st.sync()
    m = st.by_arn[t.stream_arn]
    assert m.status == DISABLED
    clock[0] = T0 + 23 * 3600
    st.trim()
    assert t.stream_arn in st.by_arn
    clock[0] = T0 + 24 * 3600 + 1
    st.trim()
    assert t.stream_arn not in st.by_arn
    assert list(engine.scan(b"\x06R", b"\x06S")) == []
    with pytest.raises(AwsError) as e:
        _call(st, "DescribeStream", StreamArn=t.stream_arn)
    assert e.value.code == "ResourceNotFoundException"


def test_at_timestamp(env):
    engine, ddb, st, t, clock = env
    for i in range(4):
        _write(engine, st, t, f"k{i}", T0 + 10 * i)
    m = st.by_arn[t.stream_arn]
    it = _call(
        st,
        "GetShardIterator",
        StreamArn=t.stream_arn,
        ShardId=m.shard_id,
        ShardIteratorType="AT_TIMESTAMP",
        Timestamp=T0 + 15,
    )["ShardIterator"]
    assert [
        r["dynamodb"]["Keys"]["id"]["S"] for r in _call(st, "GetRecords", ShardIterator=it)["Records"]
    ] == ["k2", "k3"]


def test_empty_closed_shard_ends_reading(env):
    engine, ddb, st, t, clock = env
    st.sync()
    arn = t.stream_arn
    t.stream_enabled = False
    m = st.by_arn[arn]
    it = _call(st, "GetShardIterator", StreamArn=arn, ShardId=m.shard_id, ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]
    assert _call(st, "DescribeStream", StreamArn=arn)["StreamDescription"]["StreamStatus"] == "DISABLED"
    assert _call(st, "GetRecords", ShardIterator=it) == {"Records": []}
    rng = _call(st, "DescribeStream", StreamArn=arn)["StreamDescription"]["Shards"][0]["SequenceNumberRange"]
    assert rng["StartingSequenceNumber"] == rng["EndingSequenceNumber"]
