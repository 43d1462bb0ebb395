"""Kinesis conformance: PutRecord(s), GetShardIterator, GetRecords (messages as real Kinesis
words them; see kinesis_conformance_helpers)."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.e2e.kinesis_conformance_helpers import (
    ACCOUNT,
    MAX128,
    MIN1,
    NAME_PATTERN,
    bad,
    client,
    fails,
    make_stream,
    not_found,
    null,
    raw,
    validation,
)

HASH_PATTERN = "Member must satisfy regular expression pattern: 0|([1-9]\\d{0,38})"
SEQ_PATTERN = "Member must satisfy regular expression pattern: 0|([1-9]\\d{0,128})"
TOP = str(2**128 - 1)
BELOW_2 = str((2**128 // 3) * 2 - 1)
AT_2 = str((2**128 // 3) * 2)


@pytest.fixture
def kin(srv):
    return client(srv)


def records_of(kin, **kw):
    """GetRecords, waiting out the 5 calls/s per shard read limit as a client must."""
    for _ in range(20):
        try:
            return kin.get_records(**kw)
        except kin.exceptions.ProvisionedThroughputExceededException:
            time.sleep(0.2)
    raise AssertionError("GetRecords stayed throttled")


# -- PutRecord -----------------------------------------------------------------------------------
def test_put_record_validation(kin):
    assert fails(kin.put_record) == validation(null("partitionKey"), null("data"), null("streamName"))
    assert fails(
        kin.put_record,
        StreamName="",
        PartitionKey="",
        Data=b"",
        ExplicitHashKey="",
        SequenceNumberForOrdering="",
    ) == validation(
        bad("", "sequenceNumberForOrdering", SEQ_PATTERN),
        bad("", "partitionKey", MIN1),
        bad("", "explicitHashKey", HASH_PATTERN),
        bad("", "streamName", NAME_PATTERN),
        bad("", "streamName", MIN1),
    )
    name, pk = "a" * 129, "a" * 257
    assert fails(
        kin.put_record, StreamName=name, PartitionKey=pk, Data=b"x", ExplicitHashKey=""
    ) == validation(
        bad(pk, "partitionKey", "Member must have length less than or equal to 256"),
        bad("", "explicitHashKey", HASH_PATTERN),
        bad(name, "streamName", MAX128),
    )
    assert fails(kin.put_record, StreamName="nope", PartitionKey="a", Data=b"") == not_found("nope")


def test_put_record_hash_keys_and_routing(kin):
    make_stream(kin, "s", 3)
    assert fails(kin.put_record, StreamName="s", PartitionKey="a", Data=b"", ExplicitHashKey=str(2**128)) == (
        "InvalidArgumentException",
        "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: "
        f"[0, 2^128-1]. Specified value was {2**128}",
    )
    for key, shard in ((TOP, 2), (BELOW_2, 1), (AT_2, 2), ("0", 0)):
        r = kin.put_record(StreamName="s", PartitionKey="a", Data=b"", ExplicitHashKey=key)
        assert r["ShardId"] == f"shardId-00000000000{shard}" and len(r["SequenceNumber"]) == 56
        assert "EncryptionType" not in r
    # MD5 routing: 'a' -> shard 0, 'b' -> 1, 'e' -> 2
    assert [kin.put_record(StreamName="s", PartitionKey=k, Data=b"")["ShardId"][-1] for k in "abef"] == [
        "0",
        "1",
        "2",
        "1",
    ]
    # a record of 1 MiB (data and partition key) is accepted
    make_stream(kin, "big", 1)
    assert kin.put_record(StreamName="big", PartitionKey="a", Data=b"x" * ((1 << 20) - 1))["ShardId"]
    # SequenceNumberForOrdering that is no sequence number of ours
    assert fails(
        kin.put_record,
        StreamName="s",
        PartitionKey="a",
        Data=b"",
        SequenceNumberForOrdering="26227199374822427428162556223570313216",
    ) == (
        "InvalidArgumentException",
        "ExclusiveMinimumSequenceNumber 26227199374822427428162556223570313216 "
        f"used in PutRecord on stream s under account {ACCOUNT} is invalid.",
    )
    first = kin.put_record(StreamName="s", PartitionKey="a", Data=b"")["SequenceNumber"]
    later = kin.put_record(StreamName="s", PartitionKey="a", Data=b"", SequenceNumberForOrdering=first)
    assert int(later["SequenceNumber"]) > int(first)


# -- PutRecords ----------------------------------------------------------------------------------
def test_put_records_validation(kin):
    assert fails(kin.put_records) == validation(null("records"), null("streamName"))
    assert fails(kin.put_records, StreamName="", Records=[]) == validation(
        bad("[]", "records", MIN1), bad("", "streamName", NAME_PATTERN), bad("", "streamName", MIN1)
    )
    assert fails(
        kin.put_records, StreamName="", Records=[{"PartitionKey": "", "Data": b"", "ExplicitHashKey": ""}]
    ) == validation(
        bad("", "records.1.member.partitionKey", MIN1),
        bad("", "records.1.member.explicitHashKey", HASH_PATTERN),
        bad("", "streamName", NAME_PATTERN),
        bad("", "streamName", MIN1),
    )
    recs = [{"PartitionKey": "", "Data": b""}] * 501
    entries = ", ".join(["com.amazonaws.kinesis.v20131202.PutRecordsRequestEntry@2"] * 501)
    code, msg = fails(kin.put_records, StreamName="", Records=recs)
    assert code == "ValidationException"
    assert msg.startswith(
        "10 validation errors detected: "
        + bad(f"[{entries}]", "records", "Member must have length less than or equal to 500")
        + "; "
        + bad("", "records.1.member.partitionKey", MIN1)
    )
    assert msg.endswith(bad("", "records.9.member.partitionKey", MIN1))
    assert fails(
        kin.put_records, StreamName="nope", Records=[{"PartitionKey": "a", "Data": b""}]
    ) == not_found("nope")


def test_put_records_mixed_and_bad_hash_key(kin):
    make_stream(kin, "s", 3)
    assert fails(
        kin.put_records,
        StreamName="s",
        Records=[
            {"PartitionKey": "a", "Data": b"", "ExplicitHashKey": str(2**128)},
            {"PartitionKey": "a", "Data": b""},
        ],
    ) == (
        "InvalidArgumentException",
        "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: "
        f"[0, 2^128-1]. Specified value was {2**128}",
    )
    recs = [{"PartitionKey": k, "Data": b""} for k in "abef"] + [
        {"PartitionKey": "a", "Data": b"", "ExplicitHashKey": k} for k in (TOP, BELOW_2, AT_2)
    ]
    r = kin.put_records(StreamName="s", Records=recs)
    assert r["FailedRecordCount"] == 0
    assert [x["ShardId"][-1] for x in r["Records"]] == list("0121212")
    seqs = [int(r["Records"][i]["SequenceNumber"]) for i in (1, 3, 5)]  # one shard, in order
    assert seqs == sorted(seqs) and len(set(seqs)) == 3


def test_put_records_partial_failure_when_throttled(kin):
    """Within one call two 600 KB records exceed the shard's 1 MiB/s write budget: the second
    one is refused, and so is everything after it (whatever the machine's speed: one call is
    planned at one instant)."""
    make_stream(kin, "p", 1)
    recs = [{"PartitionKey": "k", "Data": b"x" * 600_000}] * 2 + [{"PartitionKey": "k", "Data": b"x"}] * 3
    r = kin.put_records(StreamName="p", Records=recs)
    assert r["FailedRecordCount"] == 4 and len(r["Records"]) == 5
    assert "SequenceNumber" in r["Records"][0]
    bad_recs = r["Records"][1:]
    assert bad_recs[0] == {
        "ErrorCode": "ProvisionedThroughputExceededException",
        "ErrorMessage": f"Rate exceeded for shard shardId-000000000000 in stream p under account {ACCOUNT}.",
    }
    # once a shard refuses, the rest of the call for it is refused too (order is kept), even
    # records small enough to fit what is left of the budget
    assert all(x == bad_recs[0] for x in bad_recs)
    # PutRecord fails as a whole: ~1 MB (1,048,000 B) leaves ~0.5 KB of the 1 MiB budget, and
    # 1,000,000 B more would need ~0.95 s of refill between the two calls
    make_stream(kin, "q", 1)
    assert (
        kin.put_records(StreamName="q", Records=[{"PartitionKey": "k", "Data": b"x" * 524_000}] * 2)[
            "FailedRecordCount"
        ]
        == 0
    )
    assert fails(kin.put_record, StreamName="q", PartitionKey="k", Data=b"x" * 1_000_000) == (
        "ProvisionedThroughputExceededException",
        f"Rate exceeded for shard shardId-000000000000 in stream q under account {ACCOUNT}.",
    )


# -- GetShardIterator ----------------------------------------------------------------------------
def test_get_shard_iterator_validation(kin):
    assert fails(kin.get_shard_iterator) == validation(
        null("shardId"), null("shardIteratorType"), null("streamName")
    )
    assert fails(
        kin.get_shard_iterator, StreamName="", ShardIteratorType="", ShardId="", StartingSequenceNumber=""
    ) == validation(
        bad("", "shardId", NAME_PATTERN),
        bad("", "shardId", MIN1),
        bad(
            "",
            "shardIteratorType",
            "Member must satisfy enum value set: [AT_SEQUENCE_NUMBER, "
            "AFTER_SEQUENCE_NUMBER, TRIM_HORIZON, LATEST, AT_TIMESTAMP]",
        ),
        bad("", "startingSequenceNumber", SEQ_PATTERN),
        bad("", "streamName", NAME_PATTERN),
        bad("", "streamName", MIN1),
    )


@pytest.mark.parametrize(
    "shard,message",
    [
        ("2147483647", "Shard shardId-002147483647 in stream nope under account {a} does not exist"),
        ("x-y-2147483647", None),
        ("a-00002147483647", "Shard shardId-002147483647 in stream nope under account {a} does not exist"),
        ("-00002147483647", "Shard shardId-002147483647 in stream nope under account {a} does not exist"),
        ("2147483648", "Could not find shard 2147483648 in stream nope under account {a}."),
        (
            "shardId-002147483648",
            "Could not find shard shardId-002147483648 in stream nope under account {a}.",
        ),
        ("ABKLFD8", "Could not find shard ABKLFD8 in stream nope under account {a}."),
        ("2.14E4", "Could not find shard 2.14E4 in stream nope under account {a}."),
    ],
)
def test_get_shard_iterator_shard_ids_of_unknown_stream(kin, shard, message):
    code, msg = fails(kin.get_shard_iterator, StreamName="nope", ShardId=shard, ShardIteratorType="LATEST")
    assert code == "ResourceNotFoundException"
    if message:
        assert msg == message.format(a=ACCOUNT)


def test_get_shard_iterator_edge_cases(kin):
    make_stream(kin, "s", 3)
    make_stream(kin, "other", 1)
    combo = (
        "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber "
        "or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified {} and {} "
        "StartingSequenceNumber."
    )
    assert fails(
        kin.get_shard_iterator,
        StreamName="s",
        ShardId="shardId-5",
        ShardIteratorType="AT_SEQUENCE_NUMBER",
        StartingSequenceNumber="5",
    ) == (
        "ResourceNotFoundException",
        f"Shard shardId-000000000005 in stream s under account {ACCOUNT} does not exist",
    )
    for kind in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"):
        assert fails(kin.get_shard_iterator, StreamName="s", ShardId="shardId-0", ShardIteratorType=kind) == (
            "InvalidArgumentException",
            combo.format(kind, "no"),
        )
    for kind in ("LATEST", "TRIM_HORIZON"):
        assert fails(
            kin.get_shard_iterator,
            StreamName="s",
            ShardId="shardId-0",
            ShardIteratorType=kind,
            StartingSequenceNumber="5",
        ) == ("InvalidArgumentException", combo.format(kind, "also a"))
    assert fails(
        kin.get_shard_iterator, StreamName="s", ShardId="shardId-0", ShardIteratorType="AT_TIMESTAMP"
    ) == (
        "InvalidArgumentException",
        "Must specify timestampInMillis parameter for iterator of type "
        "AT_TIMESTAMP. Current request has no timestamp parameter.",
    )
    code, msg = fails(
        kin.get_shard_iterator,
        StreamName="s",
        ShardId="shardId-0",
        ShardIteratorType="AT_TIMESTAMP",
        Timestamp=datetime.now(UTC) + timedelta(hours=1),
    )
    assert code == "InvalidArgumentException"
    assert msg.startswith(
        "The timestampInMillis parameter cannot be greater than the currentTimestampInMillis. "
        "timestampInMillis: "
    )
    # a sequence number from another shard, another stream, or none of ours
    seq1 = kin.put_record(StreamName="s", PartitionKey="b", Data=b"x")["SequenceNumber"]  # shard 1
    assert fails(
        kin.get_shard_iterator,
        StreamName="s",
        ShardId="shardId-0",
        ShardIteratorType="AT_SEQUENCE_NUMBER",
        StartingSequenceNumber=seq1,
    ) == (
        "InvalidArgumentException",
        "Invalid StartingSequenceNumber. It encodes shardId-000000000001, while it "
        "was used in a call to a shard with shardId-000000000000",
    )
    other = kin.put_record(StreamName="other", PartitionKey="b", Data=b"x")["SequenceNumber"]
    assert fails(
        kin.get_shard_iterator,
        StreamName="s",
        ShardId="shardId-0",
        ShardIteratorType="AFTER_SEQUENCE_NUMBER",
        StartingSequenceNumber=other,
    ) == (
        "InvalidArgumentException",
        f"StartingSequenceNumber {other} used in GetShardIterator on shard "
        f"shardId-000000000000 in stream s under account {ACCOUNT} is invalid because it did not come "
        "from this stream.",
    )
    big = "26227199374822427428162556223570313216"
    assert fails(
        kin.get_shard_iterator,
        StreamName="s",
        ShardId="shardId-0",
        ShardIteratorType="AT_SEQUENCE_NUMBER",
        StartingSequenceNumber=big,
    ) == (
        "InvalidArgumentException",
        f"StartingSequenceNumber {big} used in GetShardIterator on shard "
        f"shardId-000000000000 in stream s under account {ACCOUNT} is invalid.",
    )
    it = kin.get_shard_iterator(
        StreamName="s",
        ShardId="randomname-1",
        ShardIteratorType="AT_SEQUENCE_NUMBER",
        StartingSequenceNumber=seq1,
    )
    assert list(it) == ["ShardIterator", "ResponseMetadata"]


# -- GetRecords ----------------------------------------------------------------------------------
def test_get_records_validation(kin):
    assert fails(kin.get_records) == validation(null("shardIterator"))
    assert fails(kin.get_records, ShardIterator="", Limit=0) == validation(
        bad("0", "limit", "Member must have value greater than or equal to 1"), bad("", "shardIterator", MIN1)
    )
    it = "a" * 513
    assert fails(kin.get_records, ShardIterator=it, Limit=100000) == validation(
        bad("100000", "limit", "Member must have value less than or equal to 10000"),
        bad(it, "shardIterator", "Member must have length less than or equal to 512"),
    )
    assert fails(kin.get_records, ShardIterator="notaniterator") == (
        "InvalidArgumentException",
        "Invalid ShardIterator.",
    )
    assert fails(kin.get_records, ShardIterator=base64.b64encode(b"\0" * 60).decode()) == (
        "InvalidArgumentException",
        "Invalid ShardIterator.",
    )


def test_get_records_sequence_iterators_and_limit(kin):
    make_stream(kin, "s", 3)
    recs = [{"PartitionKey": "a", "Data": bytes([i]) * 10, "ExplicitHashKey": "0"} for i in range(5)]
    put = kin.put_records(StreamName="s", Records=recs)["Records"]
    it = kin.get_shard_iterator(
        StreamName="s",
        ShardId="shardId-0",
        ShardIteratorType="AT_SEQUENCE_NUMBER",
        StartingSequenceNumber=put[1]["SequenceNumber"],
    )["ShardIterator"]
    r = records_of(kin, ShardIterator=it, Limit=2)
    assert [x["SequenceNumber"] for x in r["Records"]] == [put[1]["SequenceNumber"], put[2]["SequenceNumber"]]
    assert r["Records"][0]["Data"] == recs[1]["Data"] and r["Records"][0]["PartitionKey"] == "a"
    nxt = r["NextShardIterator"]
    assert [x["SequenceNumber"] for x in records_of(kin, ShardIterator=nxt, Limit=3)["Records"]] == [
        put[3]["SequenceNumber"],
        put[4]["SequenceNumber"],
    ]
    # an iterator can be used again: same records
    assert len(records_of(kin, ShardIterator=nxt, Limit=1)["Records"]) == 1
    assert len(records_of(kin, ShardIterator=nxt)["Records"]) == 2
    it = kin.get_shard_iterator(
        StreamName="s",
        ShardId="shardId-0",
        ShardIteratorType="AFTER_SEQUENCE_NUMBER",
        StartingSequenceNumber=put[3]["SequenceNumber"],
    )["ShardIterator"]
    assert [x["SequenceNumber"] for x in records_of(kin, ShardIterator=it)["Records"]] == [
        put[4]["SequenceNumber"]
    ]
    # the shard's StartingSequenceNumber reads from the start
    start = kin.list_shards(StreamName="s")["Shards"][0]["SequenceNumberRange"]["StartingSequenceNumber"]
    it = kin.get_shard_iterator(
        StreamName="s",
        ShardId="shardId-0",
        ShardIteratorType="AT_SEQUENCE_NUMBER",
        StartingSequenceNumber=start,
    )["ShardIterator"]
    r = records_of(kin, ShardIterator=it)
    assert len(r["Records"]) == 5 and r["MillisBehindLatest"] == 0


def test_get_records_latest_and_trim_horizon(kin):
    make_stream(kin, "s", 1)
    latest = kin.get_shard_iterator(StreamName="s", ShardId="shardId-0", ShardIteratorType="LATEST")[
        "ShardIterator"
    ]
    r = records_of(kin, ShardIterator=latest)
    assert r["Records"] == [] and r["NextShardIterator"] and r["MillisBehindLatest"] == 0
    nxt = r["NextShardIterator"]
    before = datetime.now(UTC) - timedelta(seconds=1)
    seq = kin.put_record(StreamName="s", PartitionKey="a", Data=b"hello")["SequenceNumber"]
    for it in (latest, nxt):
        assert [x["SequenceNumber"] for x in records_of(kin, ShardIterator=it)["Records"]] == [seq]
    th = kin.get_shard_iterator(StreamName="s", ShardId="shardId-0", ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]
    r = records_of(kin, ShardIterator=th)
    assert [x["Data"] for x in r["Records"]] == [b"hello"]
    assert abs(r["Records"][0]["ApproximateArrivalTimestamp"].timestamp() - time.time()) < 10
    assert records_of(kin, ShardIterator=r["NextShardIterator"])["Records"] == []
    at = kin.get_shard_iterator(
        StreamName="s", ShardId="shardId-0", ShardIteratorType="AT_TIMESTAMP", Timestamp=before
    )["ShardIterator"]
    assert [x["SequenceNumber"] for x in records_of(kin, ShardIterator=at)["Records"]] == [seq]


def test_get_records_after_stream_deleted_and_recreated(kin):
    make_stream(kin, "s", 2)
    it0 = kin.get_shard_iterator(StreamName="s", ShardId="shardId-0", ShardIteratorType="LATEST")[
        "ShardIterator"
    ]
    it1 = kin.get_shard_iterator(StreamName="s", ShardId="shardId-1", ShardIteratorType="LATEST")[
        "ShardIterator"
    ]
    kin.delete_stream(StreamName="s")
    for it, shard in ((it0, 0), (it1, 1)):
        assert fails(kin.get_records, ShardIterator=it) == (
            "ResourceNotFoundException",
            f"Shard shardId-00000000000{shard} in stream s under account {ACCOUNT} does not exist",
        )
    make_stream(kin, "s", 1)
    assert fails(kin.get_records, ShardIterator=it1) == (
        "ResourceNotFoundException",
        f"Shard shardId-000000000001 in stream s under account {ACCOUNT} does not exist",
    )
    r = records_of(kin, ShardIterator=it0)
    assert r["Records"] == [] and r["NextShardIterator"]


def test_get_records_cbor_error_and_json_body(srv):
    status, out = raw(srv, "GetRecords", {"ShardIterator": "x" * 10})
    assert (status, out) == (400, {"__type": "InvalidArgumentException", "message": "Invalid ShardIterator."})
