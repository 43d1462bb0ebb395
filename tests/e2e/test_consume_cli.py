"""``tidestream consume`` as a subprocess against a real server."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime

from tests.e2e.cdc_helpers import setup_cdc, wait_changes


def consume(srv, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}  # exercises the keyless default
    return subprocess.run(
        [sys.executable, "-m", "tidestream", "consume", "--endpoint-url", srv.endpoint, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def lines(result: subprocess.CompletedProcess) -> list[dict]:
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_table_kinesis_destination_json(srv):
    ddb, _, arn = setup_cdc(srv, table="orders", stream="orders-changes", shards=2)
    for i in range(6):
        ddb.put_item(
            TableName="orders",
            Item={
                "pk": {"S": f"o{i}"},
                "total": {"N": f"{i}.5"},
                "qty": {"N": str(i)},
                "blob": {"B": bytes([i, 255])},
                "tags": {"SS": ["b", "a"]},
            },
        )
    ddb.update_item(
        TableName="orders",
        Key={"pk": {"S": "o1"}},
        UpdateExpression="SET qty = :q",
        ExpressionAttributeValues={":q": {"N": "12345678901234567890.25"}},
    )
    ddb.delete_item(TableName="orders", Key={"pk": {"S": "o2"}})
    result = consume(srv, "--table", "orders", "--from", "trim-horizon", "--limit", "8", "--json")
    out = lines(result)
    assert len(out) == 8
    assert sorted(c["eventName"] for c in out) == ["INSERT"] * 6 + ["MODIFY", "REMOVE"]
    assert {c["source"] for c in out} == {"kinesis"} and {c["tableName"] for c in out} == {"orders"}
    assert {c["shardId"] for c in out} <= {"shardId-000000000000", "shardId-000000000001"}
    by_event = {(c["eventName"], c["keys"]["pk"]): c for c in out}
    o3 = by_event[("INSERT", "o3")]["newImage"]
    assert o3 == {
        "pk": "o3",
        "total": 3.5,
        "qty": 3,
        "blob": base64.b64encode(bytes([3, 255])).decode(),
        "tags": ["a", "b"],
    }
    modify = by_event[("MODIFY", "o1")]
    assert modify["oldImage"]["qty"] == 1 and modify["newImage"]["qty"] == "12345678901234567890.25"  # exact
    remove = by_event[("REMOVE", "o2")]
    assert remove["newImage"] is None and remove["oldImage"]["pk"] == "o2" and remove["isTtlExpiry"] is False
    assert datetime.fromisoformat(remove["approximateCreationDateTime"]).tzinfo is not None
    assert all(c["sequenceNumber"] and c["precision"] == "MILLISECOND" for c in out)
    assert "8 changes" in result.stderr and "ms behind latest" in result.stderr
    assert arn  # the destination the command found by itself


def test_table_with_only_a_dynamodb_stream(srv):
    ddb = srv.client("dynamodb")
    ddb.create_table(
        TableName="streamed",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    ddb.put_item(TableName="streamed", Item={"id": {"S": "a"}, "n": {"N": "1"}})
    ddb.put_item(TableName="streamed", Item={"id": {"S": "a"}, "n": {"N": "2"}})
    out = lines(consume(srv, "--table", "streamed", "--from", "trim-horizon", "--limit", "2", "--json"))
    assert [(c["eventName"], c["source"], c["tableName"]) for c in out] == [
        ("INSERT", "dynamodb-streams", "streamed"),
        ("MODIFY", "dynamodb-streams", "streamed"),
    ]
    assert out[1]["oldImage"] == {"id": "a", "n": 1} and out[1]["newImage"] == {"id": "a", "n": 2}


def _aggregate(records: list[tuple[str, bytes]]) -> bytes:
    from tests.unit.test_kpl import aggregate

    return aggregate([(pk, None, data) for pk, data in records])


def test_plain_stream_kpl_aggregates_and_child_shards(srv):
    kin = srv.client("kinesis")
    kin.create_stream(StreamName="raw", ShardCount=1)
    kin.put_record(StreamName="raw", PartitionKey="p", Data=_aggregate([("u1", b"one"), ("u2", b"two")]))
    kin.put_record(StreamName="raw", PartitionKey="p", Data=b"\xff\x00 binary")
    parent = kin.list_shards(StreamName="raw")["Shards"][0]
    middle = str(int(parent["HashKeyRange"]["EndingHashKey"]) // 2)
    kin.split_shard(StreamName="raw", ShardToSplit=parent["ShardId"], NewStartingHashKey=middle)
    deadline = time.time() + 10
    while (
        kin.describe_stream_summary(StreamName="raw")["StreamDescriptionSummary"]["StreamStatus"] != "ACTIVE"
    ):
        assert time.time() < deadline
        time.sleep(0.05)
    kin.put_record(StreamName="raw", PartitionKey="after-split", Data=b"child record")
    out = lines(consume(srv, "raw", "--from", "trim-horizon", "--limit", "4", "--json"))
    assert [(c.get("data"), c.get("subSequenceNumber")) for c in out[:2]] == [("one", 0), ("two", 1)]
    assert out[0]["sequenceNumber"] == out[1]["sequenceNumber"] and out[0]["partitionKey"] == "u1"
    assert out[2]["dataBase64"] == base64.b64encode(b"\xff\x00 binary").decode()
    assert {c["shardId"] for c in out[:3]} == {parent["ShardId"]}
    assert (
        out[3]["data"] == "child record" and out[3]["shardId"] != parent["ShardId"]
    )  # followed after SHARD_END


def test_from_at_timestamp_skips_earlier_records(srv):
    ddb, kin, _ = setup_cdc(srv, table="timed", stream="timed-changes", shards=1)
    ddb.put_item(TableName="timed", Item={"pk": {"S": "before"}})
    wait_changes(kin, "timed-changes", 1)
    time.sleep(0.3)
    cut = datetime.now(UTC).isoformat()
    time.sleep(0.3)
    ddb.put_item(TableName="timed", Item={"pk": {"S": "after"}})
    out = lines(consume(srv, "--table", "timed", "--from", "at-timestamp", cut, "--limit", "1", "--json"))
    assert [c["keys"]["pk"] for c in out] == ["after"]


def test_from_latest_sees_only_new_changes(srv):
    ddb, kin, _ = setup_cdc(srv, table="live", stream="live-changes", shards=2)
    ddb.put_item(TableName="live", Item={"pk": {"S": "old"}})
    wait_changes(kin, "live-changes", 1)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tidestream",
            "consume",
            "--endpoint-url",
            srv.endpoint,
            "--table",
            "live",
            "--limit",
            "1",
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        status = proc.stderr.readline()  # the first status line: every shard's LATEST iterator is taken
        assert "0 changes" in status and "2 shards open" in status, status
        ddb.put_item(TableName="live", Item={"pk": {"S": "new"}})
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert [json.loads(line)["keys"]["pk"] for line in out.splitlines()] == ["new"]


def test_human_output_marks_ttl_and_removes(srv):
    ddb, _, _ = setup_cdc(srv, table="human", stream="human-changes", shards=1)
    ddb.update_time_to_live(
        TableName="human", TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"}
    )
    ddb.put_item(TableName="human", Item={"pk": {"S": "k1"}, "v": {"N": "1"}})
    ddb.delete_item(TableName="human", Key={"pk": {"S": "k1"}})
    ddb.put_item(TableName="human", Item={"pk": {"S": "old"}, "exp": {"N": str(int(time.time()) - 10)}})
    result = consume(srv, "--table", "human", "--from", "trim-horizon", "--limit", "4")
    assert result.returncode == 0, result.stderr
    insert, remove, _, expiry = result.stdout.splitlines()
    assert " INSERT human " in insert and '{"pk":"k1","v":1}' in insert
    assert " REMOVE human " in remove and "(ttl)" not in remove
    assert " REMOVE (ttl) human " in expiry and '{"pk":"old"}' in expiry
    out = lines(consume(srv, "--table", "human", "--from", "trim-horizon", "--limit", "4", "--json"))
    assert [c["isTtlExpiry"] for c in out] == [False, False, False, True]
    assert out[3]["userIdentity"] == {"type": "Service", "principalId": "dynamodb.amazonaws.com"}


def test_errors_are_clear_and_exit_non_zero(srv):
    ddb = srv.client("dynamodb")
    ddb.create_table(
        TableName="plain",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    r = consume(srv, "--table", "plain", "--from", "trim-horizon")
    assert (
        r.returncode == 2 and "has no ACTIVE Kinesis streaming destination and no DynamoDB stream" in r.stderr
    )
    r = consume(srv, "no-such-stream", "--from", "trim-horizon")
    assert r.returncode == 1 and "ResourceNotFoundException" in r.stderr
    r = consume(srv, "x", "--from", "yesterday")
    assert r.returncode == 2 and "--from must be trim-horizon, latest or at-timestamp" in r.stderr
    r = consume(srv, "x", "--from", "at-timestamp", "not-a-time")
    assert r.returncode == 2 and "is not an ISO 8601 time" in r.stderr
    r = subprocess.run(
        [sys.executable, "-m", "tidestream", "consume", "x", "--endpoint-url", "http://127.0.0.1:9"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 1 and "is a server listening at http://127.0.0.1:9?" in r.stderr
