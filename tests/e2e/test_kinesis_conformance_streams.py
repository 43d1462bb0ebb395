"""Kinesis conformance: stream lifecycle, describe/list, retention, type errors.

Expected texts are those recorded against real Kinesis (kinesalite's suites, LocalStack's AWS
snapshots); see tests/e2e/kinesis_conformance_helpers.py.
"""

from __future__ import annotations

import time

import pytest

from tests.conftest import start_server
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
    raw,
    validation,
    wait_active,
)


@pytest.fixture
def kin(srv):
    return client(srv)


# -- type errors: SerializationException with a capitalised "Message" --------------------------
@pytest.mark.parametrize(
    "target,body,message",
    [
        ("CreateStream", {"StreamName": True}, "class java.lang.Boolean can not be converted to an String"),
        (
            "CreateStream",
            {"StreamName": 23},
            "class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an String",
        ),
        ("CreateStream", {"StreamName": []}, "Start of list found where not expected"),
        ("CreateStream", {"StreamName": {}}, "Start of structure or map found where not expected."),
        ("CreateStream", {"ShardCount": "23"}, "class java.lang.String can not be converted to an Integer"),
        ("CreateStream", {"ShardCount": True}, "class java.lang.Boolean can not be converted to an Integer"),
        ("AddTagsToStream", {"Tags": "23"}, "Expected map or null"),
        ("AddTagsToStream", {"Tags": []}, "Start of list found where not expected"),
        (
            "AddTagsToStream",
            {"Tags": {"a": 23}},
            "class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an String",
        ),
        ("RemoveTagsFromStream", {"TagKeys": 23}, "Expected list or null"),
        ("RemoveTagsFromStream", {"TagKeys": {}}, "Start of structure or map found where not expected."),
        ("PutRecords", {"Records": [23]}, "Expected null"),
        ("PutRecord", {"Data": True}, "class java.lang.Boolean can not be converted to a Blob"),
        (
            "PutRecord",
            {"Data": "23456"},
            "'23456' can not be converted to a Blob: Base64 encoded length is expected a multiple of 4 bytes but found: 5",
        ),
        (
            "PutRecord",
            {"Data": "=+/="},
            "'=+/=' can not be converted to a Blob: Invalid Base64 character: '='",
        ),
        (
            "PutRecord",
            {"Data": "+/+="},
            "'+/+=' can not be converted to a Blob: Invalid last non-pad Base64 character dectected",
        ),
        (
            "EnableEnhancedMonitoring",
            {"ShardLevelMetrics": [True]},
            "class java.lang.Boolean can not be converted to an String",
        ),
        ("DeleteStream", {"EnforceConsumerDeletion": "23"}, "'23' can not be converted to an Boolean"),
    ],
)
def test_serialization_errors(srv, target, body, message):
    status, out = raw(srv, target, body)
    assert (status, out) == (400, {"__type": "SerializationException", "Message": message})


def test_type_errors_through_boto3(kin):
    assert fails(kin.create_stream, StreamName="s", ShardCount="3") == (
        "SerializationException",
        "class java.lang.String can not be converted to an Integer",
    )


# -- CreateStream --------------------------------------------------------------------------------
def test_create_stream_validation(kin):
    assert fails(kin.create_stream) == validation(null("streamName"))
    assert fails(kin.create_stream, StreamName="", ShardCount=0) == validation(
        bad("0", "shardCount", "Member must have value greater than or equal to 1"),
        bad("", "streamName", NAME_PATTERN),
        bad("", "streamName", MIN1),
    )
    name = "a" * 129
    assert fails(kin.create_stream, StreamName=name, ShardCount=100000000000) == validation(
        bad(name, "streamName", MAX128)
    )
    assert fails(kin.create_stream, StreamName="a b", ShardCount=1) == validation(
        bad("a b", "streamName", NAME_PATTERN)
    )


def test_create_stream_shard_limit(kin):
    kin.create_stream(StreamName="small", ShardCount=3)
    assert fails(kin.create_stream, StreamName="big", ShardCount=1000) == (
        "LimitExceededException",
        f"This request would exceed the shard limit for the account {ACCOUNT} in us-east-1. Current "
        "shard count for the account: 3. Limit: 500. Number of additional shards that would have "
        "resulted from this request: 1000. Refer to the AWS Service Limits page "
        "(http://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) for current limits "
        "and how to request higher limits.",
    )


def test_create_stream_exists_and_layout(kin):
    d = wait_active(kin, make_stream(kin, "s", 3))
    assert fails(kin.create_stream, StreamName="s", ShardCount=1) == (
        "ResourceInUseException",
        f"Stream s under account {ACCOUNT} already exists.",
    )
    assert d["StreamARN"] == f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/s"
    assert [s["ShardId"] for s in d["Shards"]] == [f"shardId-00000000000{i}" for i in range(3)]
    assert [
        (s["HashKeyRange"]["StartingHashKey"], s["HashKeyRange"]["EndingHashKey"]) for s in d["Shards"]
    ] == RANGES3
    for s in d["Shards"]:
        seq = s["SequenceNumberRange"]
        assert list(seq) == ["StartingSequenceNumber"] and len(seq["StartingSequenceNumber"]) == 56
    assert d["HasMoreShards"] is False and d["RetentionPeriodHours"] == 24
    assert d["EncryptionType"] == "NONE" and d["EnhancedMonitoring"] == [{"ShardLevelMetrics": []}]


def test_on_demand_default_is_four_shards(kin):
    kin.create_stream(StreamName="od")
    d = wait_active(kin, "od")
    assert len(d["Shards"]) == 4 and d["StreamModeDetails"] == {"StreamMode": "ON_DEMAND"}


# -- Describe / summary / delete / list ----------------------------------------------------------
def test_describe_validation_and_not_found(kin):
    assert fails(kin.describe_stream) == validation(null("streamName"))
    assert fails(kin.describe_stream, StreamName="", Limit=0, ExclusiveStartShardId="") == validation(
        bad("0", "limit", "Member must have value greater than or equal to 1"),
        bad("", "exclusiveStartShardId", NAME_PATTERN),
        bad("", "exclusiveStartShardId", MIN1),
        bad("", "streamName", NAME_PATTERN),
        bad("", "streamName", MIN1),
    )
    name = "a" * 129
    assert fails(
        kin.describe_stream, StreamName=name, Limit=100000, ExclusiveStartShardId=name
    ) == validation(
        bad("100000", "limit", "Member must have value less than or equal to 10000"),
        bad(name, "exclusiveStartShardId", MAX128),
        bad(name, "streamName", MAX128),
    )
    for call in (
        kin.describe_stream,
        kin.describe_stream_summary,
        kin.delete_stream,
        kin.list_shards,
        kin.list_tags_for_stream,
    ):
        assert fails(call, StreamName="nope") == not_found("nope")
    assert fails(kin.delete_stream, StreamName="") == validation(
        bad("", "streamName", NAME_PATTERN), bad("", "streamName", MIN1)
    )


def test_describe_stream_summary(kin):
    make_stream(kin, "s", 3)
    d = kin.describe_stream_summary(StreamName="s")["StreamDescriptionSummary"]
    assert d["OpenShardCount"] == 3 and d["ConsumerCount"] == 0 and d["StreamStatus"] == "ACTIVE"
    assert d["EncryptionType"] == "NONE" and d["RetentionPeriodHours"] == 24
    assert abs(d["StreamCreationTimestamp"].timestamp() - time.time()) < 10


def test_list_streams_validation_and_paging(kin):
    assert fails(kin.list_streams, ExclusiveStartStreamName="", Limit=0) == validation(
        bad("0", "limit", "Member must have value greater than or equal to 1"),
        bad("", "exclusiveStartStreamName", NAME_PATTERN),
        bad("", "exclusiveStartStreamName", MIN1),
    )
    name = "a" * 129
    assert fails(kin.list_streams, ExclusiveStartStreamName=name, Limit=1000000) == validation(
        bad("1000000", "limit", "Member must have value less than or equal to 10000"),
        bad(name, "exclusiveStartStreamName", MAX128),
    )
    for n in ("c", "a", "b"):
        kin.create_stream(StreamName=n, ShardCount=1)
    r = kin.list_streams(Limit=2)
    assert r["StreamNames"] == ["a", "b"] and r["HasMoreStreams"] is True
    r = kin.list_streams(ExclusiveStartStreamName="b")
    assert r["StreamNames"] == ["c"] and r["HasMoreStreams"] is False


# -- retention -----------------------------------------------------------------------------------
def test_retention_bounds_and_messages(kin):
    make_stream(kin, "s", 1)
    for call in (kin.increase_stream_retention_period, kin.decrease_stream_retention_period):
        assert fails(call) == validation(null("retentionPeriodHours"), null("streamName"))
        assert fails(call, StreamName="", RetentionPeriodHours=-1) == validation(
            bad("-1", "retentionPeriodHours", "Member must have value greater than or equal to 1"),
            bad("", "streamName", NAME_PATTERN),
            bad("", "streamName", MIN1),
        )
        assert fails(call, StreamName="s", RetentionPeriodHours=23) == (
            "InvalidArgumentException",
            "Minimum allowed retention period is 24 hours. Requested retention period (23 hours) is too short.",
        )
        assert fails(call, StreamName="s", RetentionPeriodHours=8761) == (
            "InvalidArgumentException",
            "Maximum allowed retention period is 8760 hours. Requested retention period (8761 hours) is too long.",
        )
        assert fails(call, StreamName="nope", RetentionPeriodHours=25) == not_found("nope")
    assert fails(kin.decrease_stream_retention_period, StreamName="s", RetentionPeriodHours=25) == (
        "InvalidArgumentException",
        "Requested retention period (25 hours) for stream s can not be longer than existing retention "
        "period (24 hours). Use IncreaseRetentionPeriod API.",
    )
    kin.increase_stream_retention_period(StreamName="s", RetentionPeriodHours=8760)
    assert fails(kin.increase_stream_retention_period, StreamName="s", RetentionPeriodHours=24) == (
        "InvalidArgumentException",
        "Requested retention period (24 hours) for stream s can not be shorter than existing retention "
        "period (8760 hours). Use DecreaseRetentionPeriod API.",
    )
    kin.decrease_stream_retention_period(StreamName="s", RetentionPeriodHours=24)
    assert kin.describe_stream(StreamName="s")["StreamDescription"]["RetentionPeriodHours"] == 24


# -- lifecycle with --status-delay ---------------------------------------------------------------
def test_lifecycle_with_status_delay(tmp_path):
    s = start_server(tmp_path, "--status-delay", "0.6", on_disk=False)
    try:
        kin = client(s)
        kin.create_stream(StreamName="s", ShardCount=1)
        d = kin.describe_stream(StreamName="s")["StreamDescription"]
        assert d["StreamStatus"] == "CREATING" and d["Shards"] == [] and d["HasMoreShards"] is False
        assert fails(kin.put_record, StreamName="s", PartitionKey="a", Data=b"x") == not_found("s")
        assert fails(kin.split_shard, StreamName="s", ShardToSplit="shardId-0", NewStartingHashKey="2") == (
            "ResourceInUseException",
            f"Stream s under account {ACCOUNT} not ACTIVE, instead in state CREATING",
        )
        assert len(wait_active(kin, "s")["Shards"]) == 1

        # a split shows the old shard while UPDATING; records still go to it
        kin.split_shard(StreamName="s", ShardToSplit="anything-0", NewStartingHashKey="2")
        d = kin.describe_stream(StreamName="s")["StreamDescription"]
        assert d["StreamStatus"] == "UPDATING" and [x["ShardId"] for x in d["Shards"]] == [
            "shardId-000000000000"
        ]
        assert "EndingSequenceNumber" not in d["Shards"][0]["SequenceNumberRange"]
        assert fails(kin.split_shard, StreamName="s", ShardToSplit="shard-0", NewStartingHashKey="2") == (
            "ResourceInUseException",
            f"Stream s under account {ACCOUNT} not ACTIVE, instead in state UPDATING",
        )
        assert (
            kin.put_record(StreamName="s", PartitionKey="a", Data=b"", ExplicitHashKey="1")["ShardId"]
            == "shardId-000000000000"
        )
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
            ("shardId-000000000000", None, "0", "340282366920938463463374607431768211455"),
            ("shardId-000000000001", "shardId-000000000000", "0", "1"),
            ("shardId-000000000002", "shardId-000000000000", "2", "340282366920938463463374607431768211455"),
        ]
        assert "EndingSequenceNumber" in d["Shards"][0]["SequenceNumberRange"]
        assert (
            kin.put_record(StreamName="s", PartitionKey="a", Data=b"", ExplicitHashKey="1")["ShardId"]
            == "shardId-000000000001"
        )

        # UpdateShardCount: the old open shards stay listed until the stream is ACTIVE again
        r = kin.update_shard_count(StreamName="s", TargetShardCount=4, ScalingType="UNIFORM_SCALING")
        assert (r["CurrentShardCount"], r["TargetShardCount"]) == (2, 4)
        d = kin.describe_stream(StreamName="s")["StreamDescription"]
        assert d["StreamStatus"] == "UPDATING" and len(d["Shards"]) == 3
        d = wait_active(kin, "s")
        assert len(d["Shards"]) == 7
        assert sum("EndingSequenceNumber" not in x["SequenceNumberRange"] for x in d["Shards"]) == 4

        # a stream can be deleted while it is being created
        kin.create_stream(StreamName="t", ShardCount=1)
        kin.delete_stream(StreamName="t")
        d = kin.describe_stream(StreamName="t")["StreamDescription"]
        assert d["StreamStatus"] == "DELETING"
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                kin.describe_stream(StreamName="t")
            except Exception as e:  # gone
                assert "ResourceNotFoundException" in str(e)
                break
            time.sleep(0.05)
        else:
            pytest.fail("stream was not deleted")
    finally:
        s.stop()


def _raw_body(srv, target: str, body: dict) -> tuple[int, bytes]:
    """POST a JSON 1.1 Kinesis request; (status, the body's exact bytes)."""
    import json
    import urllib.request

    req = urllib.request.Request(
        srv.endpoint + "/",
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "Kinesis_20131202." + target,
            "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/kinesis/"
            "aws4_request, SignedHeaders=host, Signature=00",
        },
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status, r.read()


def test_operations_without_output_answer_an_empty_body(srv, kin):
    """kinesalite's CreateStream test (run against AWS) asserts the body is '' - not '{}' - for
    an operation whose model has no output; the same holds for every such operation."""
    assert _raw_body(srv, "CreateStream", {"StreamName": "quiet", "ShardCount": 1}) == (200, b"")
    assert _raw_body(srv, "AddTagsToStream", {"StreamName": "quiet", "Tags": {"k": "v"}}) == (200, b"")
    assert _raw_body(
        srv, "IncreaseStreamRetentionPeriod", {"StreamName": "quiet", "RetentionPeriodHours": 48}
    ) == (200, b"")
    status, body = _raw_body(srv, "DescribeStreamSummary", {"StreamName": "quiet"})
    assert status == 200 and b'"StreamName":"quiet"' in body.replace(b" ", b"")
    assert kin.delete_stream(StreamName="quiet")["ResponseMetadata"]["HTTPStatusCode"] == 200
