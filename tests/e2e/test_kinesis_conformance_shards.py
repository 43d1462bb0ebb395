"""Kinesis conformance: SplitShard, MergeShards, UpdateShardCount, ListShards, and ON_DEMAND
streams scaling by themselves (see kinesis_conformance_helpers for where texts come from)."""

from __future__ import annotations

import time

import pytest

from tests.e2e.kinesis_conformance_helpers import (
    ACCOUNT,
    MAX128,
    MIN1,
    NAME_PATTERN,
    RANGES3,
    bad,
    client,
    fails,
    make_stream,
    not_found,
    null,
    validation,
    wait_active,
)

TOP = "340282366920938463463374607431768211455"


@pytest.fixture
def kin(srv):
    return client(srv)


def could_not_find(shard: str, stream: str) -> tuple[str, str]:
    return (
        "ResourceNotFoundException",
        f"Could not find shard {shard} in stream {stream} under account {ACCOUNT}.",
    )


def test_split_shard_validation(kin):
    assert fails(kin.split_shard) == validation(
        null("newStartingHashKey"), null("streamName"), null("shardToSplit")
    )
    assert fails(kin.split_shard, StreamName="", ShardToSplit="", NewStartingHashKey="") == validation(
        bad("", "newStartingHashKey", "Member must satisfy regular expression pattern: 0|([1-9]\\d{0,38})"),
        bad("", "streamName", NAME_PATTERN),
        bad("", "streamName", MIN1),
        bad("", "shardToSplit", NAME_PATTERN),
        bad("", "shardToSplit", MIN1),
    )
    name = "a" * 129
    assert fails(kin.split_shard, StreamName=name, ShardToSplit=name, NewStartingHashKey="0") == validation(
        bad(name, "streamName", MAX128), bad(name, "shardToSplit", MAX128)
    )


def test_split_shard_errors(kin):
    make_stream(kin, "s", 3)
    for shard in ("2147483647", "x-2147483647", "a-00002147483647", "-00002147483647"):
        assert fails(
            kin.split_shard, StreamName="nope", ShardToSplit=shard, NewStartingHashKey="0"
        ) == not_found("nope")
    for shard in ("2147483648", "shardId-002147483648", "ABKLFD8", "2.14E4"):
        assert fails(
            kin.split_shard, StreamName="nope", ShardToSplit=shard, NewStartingHashKey="0"
        ) == could_not_find(shard, "nope")
    assert fails(
        kin.split_shard, StreamName="s", ShardToSplit="shardId-5", NewStartingHashKey="0"
    ) == could_not_find("shardId-000000000005", "s")
    msg = (
        "NewStartingHashKey {k} used in SplitShard() on shard shardId-00000000000{i} in stream s under account "
        f"{ACCOUNT} is not both greater than one plus the shard's StartingHashKey {{lo}} and less than the "
        "shard's EndingHashKey {hi}."
    )
    for key, i in (("1", 0), (RANGES3[0][1], 0), ("999999999999999999999999999999999999999", 2)):
        lo, hi = RANGES3[i]
        assert fails(kin.split_shard, StreamName="s", ShardToSplit=f"shard-{i}", NewStartingHashKey=key) == (
            "InvalidArgumentException",
            msg.format(k=key, i=i, lo=lo, hi=hi),
        )
    kin.create_stream(StreamName="od", StreamModeDetails={"StreamMode": "ON_DEMAND"})
    assert fails(kin.split_shard, StreamName="od", ShardToSplit="shardId-0", NewStartingHashKey="5") == (
        "ValidationException",
        f"Request is invalid. Stream od under account {ACCOUNT} is in On-Demand mode.",
    )


def test_split_then_closed_shard_and_read_through(kin):
    make_stream(kin, "s", 1)
    kin.put_record(StreamName="s", PartitionKey="a", Data=b"old", ExplicitHashKey="1")
    kin.split_shard(StreamName="s", ShardToSplit="anything-0", NewStartingHashKey="2")
    d = wait_active(kin, "s")
    assert [
        (
            x["ShardId"],
            x.get("ParentShardId"),
            x["HashKeyRange"]["StartingHashKey"],
            x["HashKeyRange"]["EndingHashKey"],
        )
        for x in d["Shards"]
    ] == [
        ("shardId-000000000000", None, "0", TOP),
        ("shardId-000000000001", "shardId-000000000000", "0", "1"),
        ("shardId-000000000002", "shardId-000000000000", "2", TOP),
    ]
    assert fails(kin.split_shard, StreamName="s", ShardToSplit="shardId-0", NewStartingHashKey="5") == (
        "InvalidArgumentException",
        f"Shard shardId-000000000000 in stream s under account {ACCOUNT} has already "
        "been merged or split, and thus is not eligible for merging or splitting.",
    )
    assert (
        kin.put_record(StreamName="s", PartitionKey="a", Data=b"", ExplicitHashKey="1")["ShardId"]
        == "shardId-000000000001"
    )
    it = kin.get_shard_iterator(StreamName="s", ShardId="shardId-0", ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]
    r = kin.get_records(ShardIterator=it)
    got = [x["Data"] for x in r["Records"]]
    while "NextShardIterator" in r:  # a drained closed shard ends: no NextShardIterator
        r = kin.get_records(ShardIterator=r["NextShardIterator"])
        got += [x["Data"] for x in r["Records"]]
    assert got == [b"old"] and r["MillisBehindLatest"] >= 0
    assert sorted(c["ShardId"] for c in r["ChildShards"]) == ["shardId-000000000001", "shardId-000000000002"]


def test_merge_shards(kin):
    make_stream(kin, "s", 3)
    assert fails(kin.merge_shards) == validation(
        null("shardToMerge"), null("adjacentShardToMerge"), null("streamName")
    )
    assert fails(
        kin.merge_shards, StreamName="nope", ShardToMerge="x-0", AdjacentShardToMerge="2147483648"
    ) == could_not_find("2147483648", "nope")
    assert fails(
        kin.merge_shards, StreamName="nope", ShardToMerge="x-0", AdjacentShardToMerge="x-1"
    ) == not_found("nope")
    assert fails(
        kin.merge_shards, StreamName="s", ShardToMerge="x-0", AdjacentShardToMerge="shardId-5"
    ) == could_not_find("shardId-000000000005", "s")
    for a, b in ((0, 2), (1, 0)):  # not adjacent, and adjacency inverted
        assert fails(
            kin.merge_shards, StreamName="s", ShardToMerge=f"x-{a}", AdjacentShardToMerge=f"y-{b}"
        ) == (
            "InvalidArgumentException",
            f"Shards shardId-00000000000{a} and shardId-00000000000{b} in stream s "
            f"under account {ACCOUNT} are not an adjacent pair of shards eligible for merging",
        )
    kin.merge_shards(StreamName="s", ShardToMerge="x-0", AdjacentShardToMerge="x-1")
    d = wait_active(kin, "s")
    assert len(d["Shards"]) == 4
    new = d["Shards"][3]
    assert (new["ShardId"], new["ParentShardId"], new["AdjacentParentShardId"]) == (
        "shardId-000000000003",
        "shardId-000000000000",
        "shardId-000000000001",
    )
    assert (new["HashKeyRange"]["StartingHashKey"], new["HashKeyRange"]["EndingHashKey"]) == (
        "0",
        RANGES3[1][1],
    )


def test_update_shard_count(kin):
    assert fails(kin.update_shard_count) == validation(
        null("scalingType"), null("streamName"), null("targetShardCount")
    )
    assert fails(kin.update_shard_count, StreamName="", ScalingType="", TargetShardCount=0) == validation(
        bad("", "scalingType", "Member must satisfy enum value set: [UNIFORM_SCALING]"),
        bad("", "streamName", NAME_PATTERN),
        bad("", "streamName", MIN1),
        bad("0", "targetShardCount", "Member must have value greater than or equal to 1"),
    )
    assert fails(
        kin.update_shard_count, StreamName="nope", ScalingType="UNIFORM_SCALING", TargetShardCount=2
    ) == not_found("nope")
    make_stream(kin, "two", 2)
    make_stream(kin, "six", 6)
    assert fails(
        kin.update_shard_count, StreamName="two", ScalingType="UNIFORM_SCALING", TargetShardCount=6
    ) == (
        "LimitExceededException",
        "UpdateShardCount cannot scale up over double your current open shard count. "
        "Current open shard count: 2, Target shard count: 6",
    )
    assert fails(
        kin.update_shard_count, StreamName="six", ScalingType="UNIFORM_SCALING", TargetShardCount=2
    ) == (
        "LimitExceededException",
        "UpdateShardCount cannot scale down below half your current open shard count. "
        "Current open shard count: 6, Target shard count: 2",
    )
    assert fails(
        kin.update_shard_count, StreamName="two", ScalingType="UNIFORM_SCALING", TargetShardCount=502
    ) == (
        "LimitExceededException",
        "Target shard count or number of open shards cannot be greater than 500. "
        "Current open shard count: 2, Target shard count: 502",
    )
    r = kin.update_shard_count(StreamName="two", ScalingType="UNIFORM_SCALING", TargetShardCount=4)
    assert (r["StreamName"], r["CurrentShardCount"], r["TargetShardCount"]) == ("two", 2, 4)
    shards = wait_active(kin, "two")["Shards"]
    assert len(shards) == 6 and sum("EndingSequenceNumber" in s["SequenceNumberRange"] for s in shards) == 2
    kin.update_shard_count(StreamName="six", ScalingType="UNIFORM_SCALING", TargetShardCount=3)
    shards = wait_active(kin, "six")["Shards"]
    assert len(shards) == 9 and sum("EndingSequenceNumber" in s["SequenceNumberRange"] for s in shards) == 6


def test_list_shards(kin):
    assert fails(kin.list_shards) == (
        "InvalidArgumentException",
        "Either NextToken or StreamName should be provided.",
    )
    assert fails(kin.list_shards, StreamName="s", NextToken="abc") == (
        "InvalidArgumentException",
        "NextToken and StreamName cannot be provided together.",
    )
    code, msg = fails(kin.list_shards, StreamName="", NextToken="", MaxResults=0, ExclusiveStartShardId="")
    assert code == "ValidationException" and msg.startswith("6 validation errors detected: ")
    for part in (
        bad("0", "maxResults", "Member must have value greater than or equal to 1"),
        bad("", "exclusiveStartShardId", NAME_PATTERN),
        bad("", "streamName", MIN1),
        bad("", "nextToken", MIN1),
    ):
        assert part in msg
    assert fails(kin.list_shards, StreamName="nope") == not_found("nope")
    make_stream(kin, "s", 3)
    shards = kin.list_shards(StreamName="s")["Shards"]
    assert [
        (x["ShardId"], x["HashKeyRange"]["StartingHashKey"], x["HashKeyRange"]["EndingHashKey"])
        for x in shards
    ] == [(f"shardId-00000000000{i}", *RANGES3[i]) for i in range(3)]
    r = kin.list_shards(StreamName="s", MaxResults=2)
    assert len(r["Shards"]) == 2 and r["NextToken"]
    r = kin.list_shards(NextToken=r["NextToken"])
    assert [x["ShardId"] for x in r["Shards"]] == ["shardId-000000000002"] and "NextToken" not in r
    assert [
        x["ShardId"] for x in kin.list_shards(StreamName="s", ExclusiveStartShardId="shardId-0")["Shards"]
    ] == ["shardId-000000000001", "shardId-000000000002"]


def test_on_demand_stream_scales_out_instead_of_throttling(kin):
    """ON_DEMAND: a shard written above 1,000 records/s for ~2 s splits (AWS: minutes)."""
    kin.create_stream(StreamName="od", StreamModeDetails={"StreamMode": "ON_DEMAND"})
    assert len(wait_active(kin, "od")["Shards"]) == 4
    recs = [{"PartitionKey": "hot", "Data": b"x" * 10}] * 500
    deadline = time.time() + 8
    grew = False
    while time.time() < deadline:
        r = kin.put_records(StreamName="od", Records=recs)
        assert r["FailedRecordCount"] == 0  # no ProvisionedThroughputExceeded: it scales instead
        summary = kin.describe_stream_summary(StreamName="od")["StreamDescriptionSummary"]
        if summary["OpenShardCount"] > 4:
            grew = True
            break
    assert grew, "the hot shard was not split"
    r = kin.put_record(StreamName="od", PartitionKey="hot", Data=b"y")
    shards = kin.list_shards(StreamName="od")["Shards"]
    assert len(shards) >= 6 and r["ShardId"] != shards[0]["ShardId"]
    closed = [s for s in shards if "EndingSequenceNumber" in s["SequenceNumberRange"]]
    assert closed and all(any(c.get("ParentShardId") == s["ShardId"] for c in shards) for s in closed)
    assert (
        kin.describe_stream_summary(StreamName="od")["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE"
    )
