"""Corrupted data files: a read that hits a bad block is an error in AWS's shape, never a short
answer; the server keeps serving everything else and logs the cause."""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ServerProcess, start_server

ITEMS = 3000


def _table(ddb, name: str) -> None:
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )


def _fill(ddb, table: str) -> None:
    """ITEMS items in one partition (so a Query reads the same blocks as a Scan)."""
    for start in range(0, ITEMS, 25):
        ddb.batch_write_item(
            RequestItems={
                table: [
                    {
                        "PutRequest": {
                            "Item": {"pk": {"S": "p"}, "sk": {"N": str(i)}, "v": {"S": os.urandom(150).hex()}}
                        }
                    }
                    for i in range(start, start + 25)
                ]
            }
        )


def _flip_middle_of_largest_sst(store: Path) -> Path:
    ssts = sorted(store.glob("*.sst"), key=lambda p: p.stat().st_size)
    assert ssts, "no SST file: the clean stop should have flushed the memtable"
    sst = ssts[-1]
    middle = sst.stat().st_size // 2
    with open(sst, "r+b") as f:
        f.seek(middle)
        data = f.read(64)
        f.seek(middle)
        f.write(bytes(b ^ 0xFF for b in data))
    return sst


def _post(server: ServerProcess, target: str, body: dict) -> tuple[int, dict]:
    req = urllib.request.Request(
        server.endpoint,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.0"},
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@pytest.fixture
def corrupted(tmp_path):
    """A server restarted on a store whose largest SST has 64 bytes flipped in the middle."""
    s = start_server(tmp_path)
    ddb = s.client()
    _table(ddb, "hurt")
    _table(ddb, "intact")
    ddb.put_item(TableName="intact", Item={"pk": {"S": "a"}, "sk": {"N": "1"}})
    _fill(ddb, "hurt")
    assert s.stop() == 0  # a clean stop flushes the memtable: SST files exist
    sst = _flip_middle_of_largest_sst(tmp_path / "data" / "store")
    s.start()
    try:
        yield s, sst
    finally:
        s.stop()


def test_scan_over_a_corrupt_block_is_an_internal_error_not_a_short_answer(corrupted):
    s, sst = corrupted
    status, body = _post(s, "DynamoDB_20120810.Scan", {"TableName": "hurt"})
    assert status == 500, (status, len(body.get("Items", [])), "LastEvaluatedKey" in body)
    assert body == {
        "__type": "com.amazonaws.dynamodb.v20120810#InternalServerError",
        "message": "Internal server error",
    }
    ddb = s.client()
    for read in (
        lambda: ddb.query(
            TableName="hurt", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p"}}
        ),
        lambda: ddb.query(
            TableName="hurt",
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": "p"}},
            ScanIndexForward=False,
        ),
    ):
        with pytest.raises(ClientError) as info:
            # a paginated read must fail on some page, never end early
            resp = read()
            while "LastEvaluatedKey" in resp:
                resp = ddb.query(
                    TableName="hurt",
                    KeyConditionExpression="pk = :p",
                    ExpressionAttributeValues={":p": {"S": "p"}},
                    ExclusiveStartKey=resp["LastEvaluatedKey"],
                )
        assert info.value.response["Error"]["Code"] == "InternalServerError"
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    # the server still answers: health, an intact table, the catalog
    with urllib.request.urlopen(s.endpoint + "/_tidestream/health", timeout=5) as r:
        assert r.status == 200
    item = ddb.get_item(TableName="intact", Key={"pk": {"S": "a"}, "sk": {"N": "1"}})["Item"]
    assert item == {"pk": {"S": "a"}, "sk": {"N": "1"}}
    assert sorted(ddb.list_tables()["TableNames"]) == ["hurt", "intact"]
    assert s.proc is not None and s.proc.poll() is None
    log = s.read_log()
    assert "Corruption" in log and sst.name in log, log  # the cause, with the file
    assert "Traceback" not in log, log


def _wait_active(kinesis, consumer_arn: str) -> None:
    for _ in range(100):
        desc = kinesis.describe_stream_consumer(ConsumerARN=consumer_arn)["ConsumerDescription"]
        if desc["ConsumerStatus"] == "ACTIVE":
            return
        time.sleep(0.05)
    raise AssertionError("consumer never became ACTIVE")


def test_get_records_over_a_corrupt_block_is_an_internal_failure(tmp_path):
    s = start_server(tmp_path)
    kinesis = s.client("kinesis")
    kinesis.create_stream(StreamName="hurt", ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName="hurt", WaiterConfig={"Delay": 0.1})
    for start in range(0, ITEMS, 500):
        kinesis.put_records(
            StreamName="hurt",
            Records=[{"Data": os.urandom(300), "PartitionKey": str(i)} for i in range(start, start + 500)],
        )
    assert s.stop() == 0
    _flip_middle_of_largest_sst(tmp_path / "data" / "store")
    s.start()
    try:
        shard = kinesis.list_shards(StreamName="hurt")["Shards"][0]["ShardId"]
        iterator = kinesis.get_shard_iterator(
            StreamName="hurt", ShardId=shard, ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        seen = 0
        with pytest.raises(ClientError) as info:
            for _ in range(50):  # some page must fail; none may skip or drop records
                page = kinesis.get_records(ShardIterator=iterator, Limit=10_000)
                seen += len(page["Records"])
                assert seen < ITEMS, "every record read back through a corrupt block"
                assert page["Records"] or page["MillisBehindLatest"] > 0, seen
                iterator = page["NextShardIterator"]
        assert info.value.response["Error"]["Code"] == "InternalFailure"
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
        # an enhanced fan-out consumer gets the modelled failure event, not a quiet end
        arn = kinesis.describe_stream_summary(StreamName="hurt")["StreamDescriptionSummary"]["StreamARN"]
        consumer = kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="c")["Consumer"]
        _wait_active(kinesis, consumer["ConsumerARN"])
        events = kinesis.subscribe_to_shard(
            ConsumerARN=consumer["ConsumerARN"], ShardId=shard, StartingPosition={"Type": "TRIM_HORIZON"}
        )["EventStream"]
        delivered = 0
        with pytest.raises(ClientError) as info:
            for event in events:
                delivered += len(event["SubscribeToShardEvent"]["Records"])
                assert delivered < ITEMS, "every record read back through a corrupt block"
        assert info.value.response["Error"]["Code"] == "InternalFailureException"
        log = s.read_log()
        assert "Corruption" in log and "Traceback" not in log, log  # one line with the cause
    finally:
        assert s.stop() == 0, s.read_log()
