"""Kinesis stream lifecycle and settings against a real server with boto3."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

ACCOUNT = "000000000000"


@pytest.fixture
def kin(srv):
    return srv.client("kinesis")


def err(excinfo) -> tuple[str, str]:
    e = excinfo.value.response["Error"]
    return e["Code"], e["Message"]


def test_create_describe_delete(kin):
    kin.create_stream(StreamName="s1", ShardCount=3)
    d = kin.describe_stream(StreamName="s1")["StreamDescription"]
    assert d["StreamStatus"] == "ACTIVE"
    assert d["StreamARN"] == f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/s1"
    assert d["StreamModeDetails"] == {"StreamMode": "PROVISIONED"}
    assert d["RetentionPeriodHours"] == 24 and d["EncryptionType"] == "NONE"
    assert [s["ShardId"] for s in d["Shards"]] == [f"shardId-00000000000{i}" for i in range(3)]
    assert d["Shards"][0]["HashKeyRange"]["StartingHashKey"] == "0"
    assert d["Shards"][-1]["HashKeyRange"]["EndingHashKey"] == str(2**128 - 1)
    assert all(len(s["SequenceNumberRange"]["StartingSequenceNumber"]) == 56 for s in d["Shards"])
    with pytest.raises(ClientError) as e:
        kin.create_stream(StreamName="s1", ShardCount=1)
    assert err(e) == ("ResourceInUseException", f"Stream s1 under account {ACCOUNT} already exists.")
    kin.delete_stream(StreamName="s1")
    with pytest.raises(ClientError) as e:
        kin.describe_stream(StreamName="s1")
    assert err(e) == ("ResourceNotFoundException", f"Stream s1 under account {ACCOUNT} not found.")


def test_on_demand_and_default_mode(kin):
    kin.create_stream(StreamName="od", StreamModeDetails={"StreamMode": "ON_DEMAND"})
    kin.create_stream(StreamName="dflt")
    for name in ("od", "dflt"):
        s = kin.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
        assert s["StreamModeDetails"] == {"StreamMode": "ON_DEMAND"}
        assert s["OpenShardCount"] == 4 and s["ConsumerCount"] == 0
    arn = kin.describe_stream_summary(StreamName="od")["StreamDescriptionSummary"]["StreamARN"]
    kin.update_stream_mode(StreamARN=arn, StreamModeDetails={"StreamMode": "PROVISIONED"})
    assert (
        kin.describe_stream(StreamARN=arn)["StreamDescription"]["StreamModeDetails"]["StreamMode"]
        == "PROVISIONED"
    )


def test_describe_stream_pagination(kin):
    kin.create_stream(StreamName="p", ShardCount=5)
    d = kin.describe_stream(StreamName="p", Limit=2)["StreamDescription"]
    assert len(d["Shards"]) == 2 and d["HasMoreShards"] is True
    d = kin.describe_stream(StreamName="p", Limit=10, ExclusiveStartShardId="shardId-000000000002")[
        "StreamDescription"
    ]
    assert [s["ShardId"] for s in d["Shards"]] == ["shardId-000000000003", "shardId-000000000004"]
    assert d["HasMoreShards"] is False


def test_list_streams_pagination_and_summaries(kin):
    for n in ("c", "a", "b"):
        kin.create_stream(StreamName=n, ShardCount=1)
    r = kin.list_streams(Limit=2)
    assert r["StreamNames"] == ["a", "b"] and r["HasMoreStreams"] is True
    assert r["StreamSummaries"][0]["StreamARN"].endswith(":stream/a")
    r2 = kin.list_streams(NextToken=r["NextToken"])
    assert r2["StreamNames"] == ["c"] and r2["HasMoreStreams"] is False
    assert kin.list_streams(ExclusiveStartStreamName="a")["StreamNames"] == ["b", "c"]


@pytest.mark.parametrize("after", [5, None, ["a"]])
def test_list_streams_token_with_a_non_text_position_is_invalid(kin, after):
    """A well-formed token whose position is not a stream name was a 500 (a str compared with it)."""
    import base64

    import orjson

    kin.create_stream(StreamName="a", ShardCount=1)
    token = base64.urlsafe_b64encode(orjson.dumps({"after": after})).decode()
    with pytest.raises(ClientError) as e:
        kin.list_streams(NextToken=token)
    assert err(e) == ("InvalidArgumentException", "Invalid NextToken.")


def test_isolation_by_account_and_region(srv):
    a = srv.client("kinesis")
    kin_eu = srv.client("kinesis", region="eu-west-1")
    a.create_stream(StreamName="iso", ShardCount=1)
    assert kin_eu.list_streams()["StreamNames"] == []
    kin_eu.create_stream(StreamName="iso", ShardCount=2)
    assert len(a.describe_stream(StreamName="iso")["StreamDescription"]["Shards"]) == 1


def test_retention_period(kin):
    kin.create_stream(StreamName="r", ShardCount=1)
    kin.increase_stream_retention_period(StreamName="r", RetentionPeriodHours=48)
    assert kin.describe_stream(StreamName="r")["StreamDescription"]["RetentionPeriodHours"] == 48
    with pytest.raises(ClientError) as e:
        kin.increase_stream_retention_period(StreamName="r", RetentionPeriodHours=30)
    assert err(e) == (
        "InvalidArgumentException",
        "Requested retention period (30 hours) for stream r can not be shorter than existing "
        "retention period (48 hours). Use DecreaseRetentionPeriod API.",
    )
    with pytest.raises(ClientError) as e:
        kin.decrease_stream_retention_period(StreamName="r", RetentionPeriodHours=72)
    assert err(e) == (
        "InvalidArgumentException",
        "Requested retention period (72 hours) for stream r can not be longer than existing "
        "retention period (48 hours). Use IncreaseRetentionPeriod API.",
    )
    with pytest.raises(ClientError) as e:
        kin.decrease_stream_retention_period(StreamName="r", RetentionPeriodHours=23)
    assert err(e) == (
        "InvalidArgumentException",
        "Minimum allowed retention period is 24 hours. Requested retention period (23 hours) is too short.",
    )
    with pytest.raises(ClientError) as e:
        kin.increase_stream_retention_period(StreamName="r", RetentionPeriodHours=8761)
    assert e.value.response["Error"]["Code"] in ("InvalidArgumentException", "ValidationException")
    kin.decrease_stream_retention_period(StreamName="r", RetentionPeriodHours=24)


def test_tags_both_apis(kin):
    kin.create_stream(StreamName="t", ShardCount=1, Tags={"a": "1"})
    kin.add_tags_to_stream(StreamName="t", Tags={"b": "2", "c": "3"})
    r = kin.list_tags_for_stream(StreamName="t", Limit=2)
    assert r["Tags"] == [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}] and r["HasMoreTags"]
    r = kin.list_tags_for_stream(StreamName="t", ExclusiveStartTagKey="b")
    assert r["Tags"] == [{"Key": "c", "Value": "3"}] and not r["HasMoreTags"]
    kin.remove_tags_from_stream(StreamName="t", TagKeys=["a"])
    arn = kin.describe_stream_summary(StreamName="t")["StreamDescriptionSummary"]["StreamARN"]
    kin.tag_resource(ResourceARN=arn, Tags={"d": "4"})
    kin.untag_resource(ResourceARN=arn, TagKeys=["b"])
    assert kin.list_tags_for_resource(ResourceARN=arn)["Tags"] == [
        {"Key": "c", "Value": "3"},
        {"Key": "d", "Value": "4"},
    ]
    for j in range(4):  # 2 + 40 tags
        kin.add_tags_to_stream(StreamName="t", Tags={f"y{j}{i}": "v" for i in range(10)})
    with pytest.raises(ClientError) as e:
        kin.add_tags_to_stream(StreamName="t", Tags={f"z{i}": "v" for i in range(9)})
    assert err(e) == (
        "InvalidArgumentException",
        f"Failed to add tags to stream t under account {ACCOUNT} because a given stream "
        "cannot have more than 50 tags associated with it.",
    )


def test_monitoring_and_encryption(kin):
    kin.create_stream(StreamName="m", ShardCount=1)
    r = kin.enable_enhanced_monitoring(StreamName="m", ShardLevelMetrics=["IncomingBytes"])
    assert r["CurrentShardLevelMetrics"] == [] and r["DesiredShardLevelMetrics"] == ["IncomingBytes"]
    r = kin.enable_enhanced_monitoring(StreamName="m", ShardLevelMetrics=["ALL"])
    assert len(r["DesiredShardLevelMetrics"]) == 7
    r = kin.disable_enhanced_monitoring(StreamName="m", ShardLevelMetrics=["ALL"])
    assert r["DesiredShardLevelMetrics"] == []
    kin.start_stream_encryption(StreamName="m", EncryptionType="KMS", KeyId="alias/aws/kinesis")
    d = kin.describe_stream(StreamName="m")["StreamDescription"]
    assert d["EncryptionType"] == "KMS" and d["KeyId"] == "alias/aws/kinesis"
    assert kin.put_record(StreamName="m", Data=b"x", PartitionKey="p")["EncryptionType"] == "KMS"
    kin.stop_stream_encryption(StreamName="m", EncryptionType="KMS", KeyId="alias/aws/kinesis")
    assert kin.describe_stream(StreamName="m")["StreamDescription"]["EncryptionType"] == "NONE"


def test_not_found_everywhere(kin):
    for call in (
        lambda: kin.describe_stream_summary(StreamName="nope"),
        lambda: kin.delete_stream(StreamName="nope"),
        lambda: kin.put_record(StreamName="nope", Data=b"x", PartitionKey="k"),
        lambda: kin.list_shards(StreamName="nope"),
        lambda: kin.add_tags_to_stream(StreamName="nope", Tags={"a": "b"}),
    ):
        with pytest.raises(ClientError) as e:
            call()
        assert err(e) == ("ResourceNotFoundException", f"Stream nope under account {ACCOUNT} not found.")


def test_describe_limits(kin):
    kin.create_stream(StreamName="l", ShardCount=2)
    r = kin.describe_limits()
    assert r["ShardLimit"] == 500 and r["OpenShardCount"] == 2


def test_status_delay(tmp_path):
    from tests.conftest import start_server

    s = start_server(tmp_path, "--status-delay", "0.3", on_disk=False)
    try:
        kin = s.client("kinesis")
        kin.create_stream(StreamName="d", ShardCount=1)
        assert kin.describe_stream(StreamName="d")["StreamDescription"]["StreamStatus"] == "CREATING"
        with pytest.raises(ClientError) as e:
            kin.split_shard(StreamName="d", ShardToSplit="shardId-000000000000", NewStartingHashKey="5")
        assert err(e) == (
            "ResourceInUseException",
            f"Stream d under account {ACCOUNT} not ACTIVE, instead in state CREATING",
        )
        kin.get_waiter("stream_exists").wait(StreamName="d", WaiterConfig={"Delay": 0.2, "MaxAttempts": 20})
        kin.delete_stream(StreamName="d")
        assert kin.describe_stream(StreamName="d")["StreamDescription"]["StreamStatus"] == "DELETING"
    finally:
        s.stop()
