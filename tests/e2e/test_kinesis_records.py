"""Kinesis records, iterators and resharding against a real server with boto3."""

from __future__ import annotations

import hashlib
import time

import pytest
from botocore.exceptions import ClientError

ACCOUNT = "000000000000"


@pytest.fixture
def kin(srv):
    return srv.client("kinesis")


def err(excinfo) -> tuple[str, str]:
    e = excinfo.value.response["Error"]
    return e["Code"], e["Message"]


def it(kin, stream, shard, kind="TRIM_HORIZON", **kw):
    return kin.get_shard_iterator(StreamName=stream, ShardId=shard, ShardIteratorType=kind, **kw)[
        "ShardIterator"
    ]


def drain(kin, iterator, limit=10000):
    """Read a shard to its tip (or end): (records, last response)."""
    out = []
    while True:
        r = kin.get_records(ShardIterator=iterator, Limit=limit)
        out += r["Records"]
        if not r["Records"] or r.get("NextShardIterator") is None:
            return out, r
        iterator = r["NextShardIterator"]


def test_put_and_get_round_trip(kin):
    kin.create_stream(StreamName="s", ShardCount=1)
    payloads = [b"", b"test", "ünicödé 统一码 💣".encode(), b"a" * 1000, bytes(range(256))]
    seqs = []
    for p in payloads:
        r = kin.put_record(StreamName="s", Data=p, PartitionKey="1")
        assert r["ShardId"] == "shardId-000000000000" and len(r["SequenceNumber"]) == 56
        seqs.append(int(r["SequenceNumber"]))
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    recs, last = drain(kin, it(kin, "s", "shardId-000000000000"))
    assert [r["Data"] for r in recs] == payloads
    assert [r["PartitionKey"] for r in recs] == ["1"] * 5
    assert [int(r["SequenceNumber"]) for r in recs] == seqs
    assert abs(recs[0]["ApproximateArrivalTimestamp"].timestamp() - time.time()) < 60
    assert last["MillisBehindLatest"] == 0 and last["NextShardIterator"]


def test_md5_routing_and_explicit_hash_key(kin):
    kin.create_stream(StreamName="h", ShardCount=4)
    for pk in ("alpha", "beta", "gamma", "delta", "0", "zz"):
        want = int(hashlib.md5(pk.encode()).hexdigest(), 16) * 4 >> 128
        assert kin.put_record(StreamName="h", Data=b"x", PartitionKey=pk)["ShardId"] == f"shardId-{want:012d}"
    r = kin.put_record(StreamName="h", Data=b"x", PartitionKey="a", ExplicitHashKey=str(2**128 - 1))
    assert r["ShardId"] == "shardId-000000000003"
    with pytest.raises(ClientError) as e:
        kin.put_record(StreamName="h", Data=b"x", PartitionKey="a", ExplicitHashKey=str(2**128))
    assert err(e) == (
        "InvalidArgumentException",
        "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. "
        f"Specified value was {2**128}",
    )


def test_put_records_batch(kin):
    kin.create_stream(StreamName="b", ShardCount=2)
    r = kin.put_records(
        StreamName="b", Records=[{"Data": b"%d" % i, "PartitionKey": str(i)} for i in range(500)]
    )
    assert r["FailedRecordCount"] == 0 and len(r["Records"]) == 500
    by_shard = {}
    for i, rec in enumerate(r["Records"]):
        by_shard.setdefault(rec["ShardId"], []).append((int(rec["SequenceNumber"]), b"%d" % i))
    total = 0
    for shard, expected in by_shard.items():
        recs, _ = drain(kin, it(kin, "b", shard))
        assert [(int(x["SequenceNumber"]), x["Data"]) for x in recs] == expected
        total += len(recs)
    assert total == 500
    with pytest.raises(ClientError) as e:
        kin.put_records(StreamName="b", Records=[{"Data": b"x", "PartitionKey": "k"}] * 501)
    assert e.value.response["Error"]["Code"] == "ValidationException"


def test_iterator_types(kin):
    kin.create_stream(StreamName="i", ShardCount=1)
    sh = "shardId-000000000000"
    seqs = [
        kin.put_record(StreamName="i", Data=b"%d" % n, PartitionKey="k")["SequenceNumber"] for n in range(5)
    ]
    latest = it(kin, "i", sh, "LATEST")
    assert kin.get_records(ShardIterator=latest)["Records"] == []
    kin.put_record(StreamName="i", Data=b"5", PartitionKey="k")
    assert [r["Data"] for r in kin.get_records(ShardIterator=latest)["Records"]] == [b"5"]
    at = it(kin, "i", sh, "AT_SEQUENCE_NUMBER", StartingSequenceNumber=seqs[2])
    assert [r["Data"] for r in kin.get_records(ShardIterator=at, Limit=2)["Records"]] == [b"2", b"3"]
    after = it(kin, "i", sh, "AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=seqs[2])
    assert kin.get_records(ShardIterator=after, Limit=1)["Records"][0]["Data"] == b"3"
    ts = it(kin, "i", sh, "AT_TIMESTAMP", Timestamp=time.time() - 3600)
    assert kin.get_records(ShardIterator=ts, Limit=1)["Records"][0]["Data"] == b"0"


def test_iterator_errors(kin):
    kin.create_stream(StreamName="e", ShardCount=2)
    kin.create_stream(StreamName="other", ShardCount=1)
    sh = "shardId-000000000000"
    with pytest.raises(ClientError) as e:
        it(kin, "e", "shardId-000000000009")
    assert err(e) == (
        "ResourceNotFoundException",
        f"Shard shardId-000000000009 in stream e under account {ACCOUNT} does not exist",
    )
    with pytest.raises(ClientError) as e:
        it(kin, "e", sh, "AT_SEQUENCE_NUMBER")
    assert err(e) == (
        "InvalidArgumentException",
        "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber "
        "or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified "
        "AT_SEQUENCE_NUMBER and no StartingSequenceNumber.",
    )
    with pytest.raises(ClientError) as e:
        it(kin, "e", sh, "LATEST", StartingSequenceNumber="1")
    assert "Request specified LATEST and also a StartingSequenceNumber." in err(e)[1]
    with pytest.raises(ClientError) as e:
        it(kin, "e", sh, "AT_SEQUENCE_NUMBER", StartingSequenceNumber="12345")
    assert err(e) == (
        "InvalidArgumentException",
        f"StartingSequenceNumber 12345 used in GetShardIterator on shard {sh} in stream e "
        f"under account {ACCOUNT} is invalid.",
    )
    foreign = kin.put_record(StreamName="other", Data=b"x", PartitionKey="k")["SequenceNumber"]
    with pytest.raises(ClientError) as e:
        it(kin, "e", sh, "AT_SEQUENCE_NUMBER", StartingSequenceNumber=foreign)
    assert err(e)[1].endswith("is invalid because it did not come from this stream.")
    on1 = kin.put_record(StreamName="e", Data=b"x", PartitionKey="k", ExplicitHashKey=str(2**127))[
        "SequenceNumber"
    ]
    with pytest.raises(ClientError) as e:
        it(kin, "e", sh, "AT_SEQUENCE_NUMBER", StartingSequenceNumber=on1)
    assert err(e) == (
        "InvalidArgumentException",
        "Invalid StartingSequenceNumber. It encodes shardId-000000000001, while it was used "
        "in a call to a shard with shardId-000000000000",
    )
    with pytest.raises(ClientError) as e:
        it(kin, "e", sh, "AT_TIMESTAMP")
    assert err(e)[1] == (
        "Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. "
        "Current request has no timestamp parameter."
    )
    with pytest.raises(ClientError) as e:
        it(kin, "e", sh, "AT_TIMESTAMP", Timestamp=time.time() + 3600)
    assert err(e)[1].startswith(
        "The timestampInMillis parameter cannot be greater than the currentTimestampInMillis."
    )
    good = it(kin, "e", sh)
    forged = good[:10] + ("A" if good[10] != "A" else "B") + good[11:]
    with pytest.raises(ClientError) as e:
        kin.get_records(ShardIterator=forged)
    assert err(e) == ("InvalidArgumentException", "Invalid ShardIterator.")
    kin.delete_stream(StreamName="e")
    with pytest.raises(ClientError) as e:
        kin.get_records(ShardIterator=good)
    assert err(e) == (
        "ResourceNotFoundException",
        f"Shard {sh} in stream e under account {ACCOUNT} does not exist",
    )


def test_split_merge_lineage_and_reading_through(kin):
    kin.create_stream(StreamName="r", ShardCount=1)
    sh0 = "shardId-000000000000"
    before = [
        kin.put_record(StreamName="r", Data=b"p%d" % i, PartitionKey=str(i))["SequenceNumber"]
        for i in range(5)
    ]
    kin.split_shard(StreamName="r", ShardToSplit=sh0, NewStartingHashKey=str(2**127))
    shards = kin.list_shards(StreamName="r")["Shards"]
    assert [s["ShardId"] for s in shards] == [sh0, "shardId-000000000001", "shardId-000000000002"]
    assert "EndingSequenceNumber" in shards[0]["SequenceNumberRange"]
    assert shards[1]["ParentShardId"] == sh0 and shards[2]["ParentShardId"] == sh0
    assert shards[1]["HashKeyRange"]["EndingHashKey"] == str(2**127 - 1)
    assert shards[2]["HashKeyRange"]["StartingHashKey"] == str(2**127)
    after = [kin.put_record(StreamName="r", Data=b"c%d" % i, PartitionKey=str(i)) for i in range(5)]
    assert all(r["ShardId"] != sh0 for r in after)
    # SequenceNumberForOrdering across the split: children sort after the parent
    assert all(int(r["SequenceNumber"]) > int(before[-1]) for r in after)
    recs, last = drain(kin, it(kin, "r", sh0))
    assert [r["Data"] for r in recs] == [b"p%d" % i for i in range(5)]
    assert "NextShardIterator" not in last or last["NextShardIterator"] is None
    assert sorted(c["ShardId"] for c in last["ChildShards"]) == [
        "shardId-000000000001",
        "shardId-000000000002",
    ]
    assert last["ChildShards"][0]["ParentShards"] == [sh0]
    got = []
    for c in last["ChildShards"]:
        got += [r["Data"] for r in drain(kin, it(kin, "r", c["ShardId"]))[0]]
    assert sorted(got) == sorted(b"c%d" % i for i in range(5))
    with pytest.raises(ClientError) as e:
        kin.split_shard(StreamName="r", ShardToSplit=sh0, NewStartingHashKey="5")
    assert err(e) == (
        "InvalidArgumentException",
        f"Shard {sh0} in stream r under account {ACCOUNT} has already been merged or split, "
        "and thus is not eligible for merging or splitting.",
    )
    kin.merge_shards(
        StreamName="r", ShardToMerge="shardId-000000000001", AdjacentShardToMerge="shardId-000000000002"
    )
    merged = kin.list_shards(StreamName="r", ShardFilter={"Type": "AT_LATEST"})["Shards"]
    assert len(merged) == 1 and merged[0]["ShardId"] == "shardId-000000000003"
    assert merged[0]["ParentShardId"] == "shardId-000000000001"
    assert merged[0]["AdjacentParentShardId"] == "shardId-000000000002"
    assert merged[0]["HashKeyRange"] == {"StartingHashKey": "0", "EndingHashKey": str(2**128 - 1)}


def test_reshard_errors(kin):
    kin.create_stream(StreamName="x", ShardCount=3)
    with pytest.raises(ClientError) as e:
        kin.merge_shards(
            StreamName="x", ShardToMerge="shardId-000000000000", AdjacentShardToMerge="shardId-000000000002"
        )
    assert err(e) == (
        "InvalidArgumentException",
        "Shards shardId-000000000000 and shardId-000000000002 in stream x under account "
        f"{ACCOUNT} are not an adjacent pair of shards eligible for merging",
    )
    with pytest.raises(ClientError) as e:
        kin.split_shard(StreamName="x", ShardToSplit="shardId-000000000007", NewStartingHashKey="5")
    assert err(e) == (
        "ResourceNotFoundException",
        f"Could not find shard shardId-000000000007 in stream x under account {ACCOUNT}.",
    )
    with pytest.raises(ClientError) as e:
        kin.split_shard(StreamName="x", ShardToSplit="shardId-000000000000", NewStartingHashKey="0")
    assert err(e)[0] == "InvalidArgumentException" and "is not both greater than one plus" in err(e)[1]
    with pytest.raises(ClientError) as e:
        kin.update_shard_count(StreamName="x", TargetShardCount=7, ScalingType="UNIFORM_SCALING")
    assert err(e) == (
        "LimitExceededException",
        "UpdateShardCount cannot scale up over double your current open shard count. "
        "Current open shard count: 3, Target shard count: 7",
    )
    with pytest.raises(ClientError) as e:
        kin.update_shard_count(StreamName="x", TargetShardCount=1, ScalingType="UNIFORM_SCALING")
    assert err(e)[1].startswith(
        "UpdateShardCount cannot scale down below half your current open shard count."
    )


def test_update_shard_count(kin):
    kin.create_stream(StreamName="u", ShardCount=2)
    r = kin.update_shard_count(StreamName="u", TargetShardCount=3, ScalingType="UNIFORM_SCALING")
    assert (r["CurrentShardCount"], r["TargetShardCount"]) == (2, 3)
    open_ = kin.list_shards(StreamName="u", ShardFilter={"Type": "AT_LATEST"})["Shards"]
    assert len(open_) == 3
    assert open_[0]["HashKeyRange"]["StartingHashKey"] == "0"
    assert open_[-1]["HashKeyRange"]["EndingHashKey"] == str(2**128 - 1)
    assert all(s.get("ParentShardId") for s in open_)
    assert open_[1].get("AdjacentParentShardId")  # the middle one straddles both old shards
    # every old shard leads to its children
    _, last = drain(kin, it(kin, "u", "shardId-000000000001"))
    assert {c["ShardId"] for c in last["ChildShards"]} == {"shardId-000000000003", "shardId-000000000004"}


def test_list_shards_filters_and_tokens(kin):
    kin.create_stream(StreamName="l", ShardCount=3)
    t0 = time.time()
    kin.split_shard(StreamName="l", ShardToSplit="shardId-000000000000", NewStartingHashKey="1000")
    ids = lambda r: [s["ShardId"] for s in r["Shards"]]  # noqa: E731
    assert len(ids(kin.list_shards(StreamName="l"))) == 5
    assert ids(kin.list_shards(StreamName="l", ShardFilter={"Type": "AT_LATEST"})) == [
        "shardId-000000000001",
        "shardId-000000000002",
        "shardId-000000000003",
        "shardId-000000000004",
    ]
    assert ids(kin.list_shards(StreamName="l", ShardFilter={"Type": "AT_TRIM_HORIZON"})) == [
        "shardId-000000000000",
        "shardId-000000000001",
        "shardId-000000000002",
    ]
    assert ids(
        kin.list_shards(
            StreamName="l", ShardFilter={"Type": "AFTER_SHARD_ID", "ShardId": "shardId-000000000002"}
        )
    ) == ["shardId-000000000003", "shardId-000000000004"]
    assert ids(
        kin.list_shards(StreamName="l", ShardFilter={"Type": "AT_TIMESTAMP", "Timestamp": t0 - 1})
    ) == ["shardId-000000000000", "shardId-000000000001", "shardId-000000000002"]
    assert (
        len(ids(kin.list_shards(StreamName="l", ShardFilter={"Type": "FROM_TIMESTAMP", "Timestamp": t0 - 1})))
        == 5
    )
    assert ids(kin.list_shards(StreamName="l", ExclusiveStartShardId="shardId-000000000003")) == [
        "shardId-000000000004"
    ]
    page = kin.list_shards(StreamName="l", MaxResults=2)
    assert ids(page) == ["shardId-000000000000", "shardId-000000000001"] and page["NextToken"]
    page2 = kin.list_shards(NextToken=page["NextToken"], MaxResults=2)
    assert ids(page2) == ["shardId-000000000002", "shardId-000000000003"]
    page3 = kin.list_shards(NextToken=page2["NextToken"])
    assert ids(page3) == ["shardId-000000000004"] and "NextToken" not in page3
    with pytest.raises(ClientError) as e:
        kin.list_shards(StreamName="l", NextToken=page["NextToken"])
    assert err(e) == ("InvalidArgumentException", "NextToken and StreamName cannot be provided together.")
    with pytest.raises(ClientError) as e:
        kin.list_shards()
    assert err(e) == ("InvalidArgumentException", "Either NextToken or StreamName should be provided.")


def test_get_records_limit_and_behind(kin):
    kin.create_stream(StreamName="g", ShardCount=1)
    kin.put_records(StreamName="g", Records=[{"Data": b"x", "PartitionKey": "k"}] * 30)
    time.sleep(0.05)
    r = kin.get_records(ShardIterator=it(kin, "g", "shardId-000000000000"), Limit=10)
    assert len(r["Records"]) == 10 and r["MillisBehindLatest"] >= 40
    r = kin.get_records(ShardIterator=r["NextShardIterator"], Limit=100)
    assert len(r["Records"]) == 20 and r["MillisBehindLatest"] == 0
