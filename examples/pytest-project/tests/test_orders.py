"""Tests that use only the tidestream pytest plugin's fixtures (pip install tidestream)."""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import orders  # noqa: E402


@pytest.fixture
def orders_table(tidestream_dynamodb):
    tidestream_dynamodb.create_table(
        TableName="orders",
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
    )
    return "orders"


def test_place_and_read_an_order(orders_table):
    orders.place_order("o-1", "12.50")
    assert orders.order_total("o-1") == "12.5"


def test_every_test_starts_empty(tidestream_dynamodb):
    assert tidestream_dynamodb.list_tables()["TableNames"] == []


def test_an_order_becomes_a_change_record(orders_table, tidestream_dynamodb, tidestream_kinesis):
    tidestream_kinesis.create_stream(StreamName="changes", ShardCount=1)
    arn = tidestream_kinesis.describe_stream_summary(StreamName="changes")["StreamDescriptionSummary"][
        "StreamARN"
    ]
    tidestream_dynamodb.enable_kinesis_streaming_destination(TableName="orders", StreamArn=arn)
    orders.place_order("o-2", "7")
    shard = tidestream_kinesis.list_shards(StreamName="changes")["Shards"][0]["ShardId"]
    it = tidestream_kinesis.get_shard_iterator(
        StreamName="changes", ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = []
    for _ in range(200):  # the change is published within milliseconds; poll, don't sleep
        got = tidestream_kinesis.get_records(ShardIterator=it)
        records += got["Records"]
        it = got["NextShardIterator"]
        if records:
            break
    change = json.loads(records[0]["Data"])
    assert change["eventName"] == "INSERT"
    assert change["dynamodb"]["NewImage"] == {"id": {"S": "o-2"}, "total": {"N": "7"}}
