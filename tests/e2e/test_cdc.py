"""Kinesis Data Streams for DynamoDB: lifecycle, every write path, exact records, durability."""

from __future__ import annotations

import base64
import json
import re
import time
import urllib.request

import pytest
from botocore.exceptions import ClientError

from tests.conftest import node_endpoints
from tests.e2e.cdc_helpers import read_all, setup_cdc, wait_active, wait_changes
from tidestream.cdc.records import size_bytes


def _err(e) -> tuple[str, str]:
    return e.value.response["Error"]["Code"], e.value.response["Error"]["Message"]


def test_lifecycle_shapes_and_errors(srv):
    ddb, kin = srv.client("dynamodb"), srv.client("kinesis")
    ddb.create_table(
        TableName="life",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    kin.create_stream(StreamName="life-stream", ShardCount=1)
    arn = kin.describe_stream_summary(StreamName="life-stream")["StreamDescriptionSummary"]["StreamARN"]
    r = ddb.enable_kinesis_streaming_destination(TableName="life", StreamArn=arn)
    r.pop("ResponseMetadata")
    assert r == {
        "TableName": "life",
        "StreamArn": arn,
        "DestinationStatus": "ENABLING",
        "EnableKinesisStreamingConfiguration": {},
    }
    wait_active(ddb, "life")
    d = ddb.describe_kinesis_streaming_destination(TableName="life")
    assert d["KinesisDataStreamDestinations"] == [{"StreamArn": arn, "DestinationStatus": "ACTIVE"}]
    with pytest.raises(ClientError) as e:
        ddb.enable_kinesis_streaming_destination(TableName="life", StreamArn=arn)
    assert _err(e) == (
        "ValidationException",
        "Table is not in a valid state to enable Kinesis Streaming "
        "Destination: EnableKinesisStreamingDestination must be DISABLED or ENABLE_FAILED to "
        "perform ENABLE operation.",
    )
    r = ddb.update_kinesis_streaming_destination(
        TableName="life",
        StreamArn=arn,
        UpdateKinesisStreamingConfiguration={"ApproximateCreationDateTimePrecision": "MICROSECOND"},
    )
    assert r["DestinationStatus"] == "UPDATING"
    assert r["UpdateKinesisStreamingConfiguration"] == {"ApproximateCreationDateTimePrecision": "MICROSECOND"}
    wait_active(ddb, "life")
    table_id = ddb.describe_table(TableName="life")["Table"]["TableId"]
    with pytest.raises(ClientError) as e:
        ddb.update_kinesis_streaming_destination(
            TableName="life",
            StreamArn=arn,
            UpdateKinesisStreamingConfiguration={"ApproximateCreationDateTimePrecision": "MICROSECOND"},
        )
    assert _err(e) == (
        "ValidationException",
        "Invalid Request: Precision is already set to the desired value of "
        f"MICROSECOND for tableId: {table_id}, kdsArn: {arn}",
    )
    with pytest.raises(ClientError) as e:
        ddb.update_kinesis_streaming_destination(
            TableName="life", StreamArn=arn, UpdateKinesisStreamingConfiguration={}
        )
    assert _err(e)[1] == (
        "Streaming destination cannot be updated with given parameters: "
        "UpdateKinesisStreamingConfiguration cannot be null or contain only null values"
    )
    other = arn.replace("life-stream", "bad-stream")
    with pytest.raises(ClientError) as e:
        ddb.update_kinesis_streaming_destination(
            TableName="life",
            StreamArn=other,
            UpdateKinesisStreamingConfiguration={"ApproximateCreationDateTimePrecision": "MILLISECOND"},
        )
    assert _err(e)[1] == (
        "Table is not in a valid state to enable Kinesis Streaming Destination: No streaming "
        f"destination with streamArn: {other} found for table with tableName: life"
    )
    r = ddb.disable_kinesis_streaming_destination(TableName="life", StreamArn=arn)
    r.pop("ResponseMetadata")
    assert r == {"TableName": "life", "StreamArn": arn, "DestinationStatus": "DISABLING"}
    d = ddb.describe_kinesis_streaming_destination(TableName="life")["KinesisDataStreamDestinations"]
    assert d == [
        {
            "StreamArn": arn,
            "DestinationStatus": "DISABLED",
            "ApproximateCreationDateTimePrecision": "MICROSECOND",
        }
    ]
    with pytest.raises(ClientError) as e:
        ddb.disable_kinesis_streaming_destination(TableName="life", StreamArn=arn)
    assert _err(e)[1].endswith("KinesisStreamingDestination must be ACTIVE to perform DISABLE operation.")
    with pytest.raises(ClientError) as e:
        ddb.enable_kinesis_streaming_destination(TableName="bad-table", StreamArn=arn)
    assert _err(e) == (
        "ResourceNotFoundException",
        "Requested resource not found: Table: bad-table not found",
    )
    # re-enable after disable works
    ddb.enable_kinesis_streaming_destination(TableName="life", StreamArn=arn)
    wait_active(ddb, "life")


def test_missing_stream_gives_enable_failed(srv):
    ddb = srv.client("dynamodb")
    ddb.create_table(
        TableName="nostream",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    arn = "arn:aws:kinesis:us-east-1:000000000000:stream/does-not-exist"
    assert (
        ddb.enable_kinesis_streaming_destination(TableName="nostream", StreamArn=arn)["DestinationStatus"]
        == "ENABLING"
    )
    d = ddb.describe_kinesis_streaming_destination(TableName="nostream")["KinesisDataStreamDestinations"][0]
    assert d["DestinationStatus"] == "ENABLE_FAILED" and d["DestinationStatusDescription"]
    # enabling again is allowed from ENABLE_FAILED
    ddb.enable_kinesis_streaming_destination(TableName="nostream", StreamArn=arn)


def test_every_write_path_emits_records(srv):
    ddb, kin, _ = setup_cdc(srv)
    ddb.put_item(TableName="orders", Item={"pk": {"S": "a"}, "v": {"N": "1"}})  # INSERT
    ddb.put_item(TableName="orders", Item={"pk": {"S": "a"}, "v": {"N": "2"}})  # MODIFY
    ddb.put_item(TableName="orders", Item={"pk": {"S": "a"}, "v": {"N": "2"}})  # no change: none
    ddb.update_item(
        TableName="orders",
        Key={"pk": {"S": "a"}},
        UpdateExpression="SET w = :w",
        ExpressionAttributeValues={":w": {"S": "x"}},
    )  # MODIFY
    with pytest.raises(ClientError):
        ddb.put_item(
            TableName="orders", Item={"pk": {"S": "a"}}, ConditionExpression="attribute_not_exists(pk)"
        )
    ddb.delete_item(TableName="orders", Key={"pk": {"S": "a"}})  # REMOVE
    ddb.delete_item(TableName="orders", Key={"pk": {"S": "never"}})  # nothing
    ddb.batch_write_item(
        RequestItems={"orders": [{"PutRequest": {"Item": {"pk": {"S": f"b{i}"}}}} for i in range(3)]}
    )
    ddb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": "orders", "Item": {"pk": {"S": "t1"}}}},
            {"Delete": {"TableName": "orders", "Key": {"pk": {"S": "b0"}}}},
        ]
    )
    wait_changes(kin, "changes", 9)
    time.sleep(0.3)  # anything extra (a record for the no-op or the failed write) would show now
    recs = wait_changes(kin, "changes", 9)
    by_item: dict[str, list] = {}
    for r in recs:  # sorted by timestamp, which increases strictly per item
        by_item.setdefault(r["dynamodb"]["Keys"]["pk"]["S"], []).append(r)
    assert len(recs) == 9
    events = {k: [r["eventName"] for r in v] for k, v in by_item.items()}
    assert events == {
        "a": ["INSERT", "MODIFY", "MODIFY", "REMOVE"],
        "b0": ["INSERT", "REMOVE"],
        "b1": ["INSERT"],
        "b2": ["INSERT"],
        "t1": ["INSERT"],
    }
    modify = by_item["a"][2]["dynamodb"]
    assert modify["OldImage"] == {"pk": {"S": "a"}, "v": {"N": "2"}}
    assert modify["NewImage"] == {"pk": {"S": "a"}, "v": {"N": "2"}, "w": {"S": "x"}}
    remove = by_item["a"][3]["dynamodb"]
    assert "NewImage" not in remove and remove["OldImage"]["w"] == {"S": "x"}


def test_ttl_expiry_is_a_service_remove(srv):
    ddb, kin, _ = setup_cdc(srv)
    ddb.update_time_to_live(
        TableName="orders", TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"}
    )
    ddb.put_item(TableName="orders", Item={"pk": {"S": "gone"}, "exp": {"N": str(int(time.time()) - 5)}})
    recs = wait_changes(kin, "changes", 2)
    assert recs[0]["userIdentity"] is None
    ttl = recs[1]
    assert ttl["eventName"] == "REMOVE"
    assert ttl["userIdentity"] == {"type": "Service", "principalId": "dynamodb.amazonaws.com"}


def test_exact_record_bytes(srv):
    ddb, kin, _ = setup_cdc(srv)
    ddb.put_item(
        TableName="orders",
        Item={
            "pk": {"S": "order#1"},
            "status": {"S": "NEW"},
            "total": {"N": "42.50"},
            "paid": {"BOOL": False},
            "blob": {"B": b"\x01\x02\x03"},
            "name": {"S": "Zoë 한국"},
        },
    )
    rec = wait_changes(kin, "changes", 1)[0]
    raw = rec["_raw"]
    data: bytes = raw["Data"]
    ts = rec["dynamodb"]["ApproximateCreationDateTime"]
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", rec["eventID"]
    )
    expected = (
        '{"awsRegion":"us-east-1","eventID":"%s","eventName":"INSERT","userIdentity":null,'
        '"recordFormat":"application/json","tableName":"orders","dynamodb":{"ApproximateCreationDateTime":%d,'
        '"Keys":{"pk":{"S":"order#1"}},"NewImage":{"pk":{"S":"order#1"},"status":{"S":"NEW"},"total":{"N":"42.5"},'
        '"paid":{"BOOL":false},"blob":{"B":"QVFJRA=="},"name":{"S":"Zoë 한국"}},"SizeBytes":%d},'
        '"eventSource":"aws:dynamodb"}'
    ) % (rec["eventID"], ts, rec["dynamodb"]["SizeBytes"])
    assert data == expected.encode("utf-8")
    # SizeBytes = size(Keys) + size(NewImage): keys 2+7=9; image 9 + status 9 + total 5+3 + paid 5
    assert rec["dynamodb"]["SizeBytes"] == 9 + (9 + 9 + 8 + 5 + 7 + (4 + len("Zoë 한국".encode())))
    assert len(str(ts)) == 13 and abs(ts / 1000 - time.time()) < 60
    assert re.fullmatch(r"[0-9A-F]{32}", raw["PartitionKey"])
    assert base64.b64decode(base64.b64decode(rec["dynamodb"]["NewImage"]["blob"]["B"])) == b"\x01\x02\x03"


def test_partition_key_stable_and_timestamps_increase(srv):
    ddb, kin, _ = setup_cdc(srv, shards=4)
    for i in range(20):
        ddb.put_item(TableName="orders", Item={"pk": {"S": "same"}, "n": {"N": str(i)}})
    ddb.put_item(TableName="orders", Item={"pk": {"S": "other"}})
    recs = wait_changes(kin, "changes", 21)
    same = [r for r in recs if r["dynamodb"]["Keys"]["pk"]["S"] == "same"]
    assert len({r["_raw"]["PartitionKey"] for r in same}) == 1
    other = [r for r in recs if r["dynamodb"]["Keys"]["pk"]["S"] == "other"][0]
    assert other["_raw"]["PartitionKey"] != same[0]["_raw"]["PartitionKey"]
    # one item's changes: one shard, commit order, strictly increasing timestamps
    seqs = [int(r["_raw"]["SequenceNumber"]) for r in same]
    ns = [
        int(r["dynamodb"]["NewImage"]["n"]["N"])
        for r in sorted(same, key=lambda r: int(r["_raw"]["SequenceNumber"]))
    ]
    assert ns == list(range(20))
    ts = [
        r["dynamodb"]["ApproximateCreationDateTime"]
        for r in sorted(same, key=lambda r: int(r["_raw"]["SequenceNumber"]))
    ]
    assert all(b > a for a, b in zip(ts, ts[1:])), ts
    assert len(set(seqs)) == 20


def test_microsecond_precision(srv):
    ddb, kin, _ = setup_cdc(srv, precision="MICROSECOND")
    ddb.put_item(TableName="orders", Item={"pk": {"S": "a"}})
    rec = wait_changes(kin, "changes", 1)[0]
    assert len(str(rec["dynamodb"]["ApproximateCreationDateTime"])) == 16
    assert rec["_raw"]["Data"].endswith(
        b',"ApproximateCreationDateTimePrecision":"MICROSECOND"},"eventSource":"aws:dynamodb"}'
    )


def test_disable_stops_capture_and_nothing_before_enable(srv):
    ddb, kin = srv.client("dynamodb"), srv.client("kinesis")
    ddb.create_table(
        TableName="orders",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.put_item(TableName="orders", Item={"pk": {"S": "before"}})
    kin.create_stream(StreamName="changes", ShardCount=1)
    arn = kin.describe_stream_summary(StreamName="changes")["StreamDescriptionSummary"]["StreamARN"]
    ddb.enable_kinesis_streaming_destination(TableName="orders", StreamArn=arn)
    wait_active(ddb, "orders")
    ddb.put_item(TableName="orders", Item={"pk": {"S": "during"}})
    wait_changes(kin, "changes", 1)
    ddb.disable_kinesis_streaming_destination(TableName="orders", StreamArn=arn)
    captured = _captured(srv, "orders")
    ddb.put_item(TableName="orders", Item={"pk": {"S": "after"}})
    # capture happens in the item's own commit: a change captured after disabling would be
    # counted before PutItem answered, so no waiting is needed to see that nothing was
    assert _captured(srv, "orders") == captured
    keys = [json.loads(r["Data"])["dynamodb"]["Keys"]["pk"]["S"] for r in read_all(kin, "changes")]
    assert keys == ["during"]


def _metrics(srv) -> str:
    """``/metrics`` as one text: each series summed over the nodes in the cluster run (a node
    counts what it captured or published itself, and the publisher runs on one of them)."""
    totals: dict[str, float] = {}
    for endpoint in node_endpoints(srv):
        with urllib.request.urlopen(endpoint + "/metrics", timeout=5) as r:
            for line in r.read().decode().splitlines():
                series, _, value = line.rpartition(" ")
                if series and not line.startswith("#"):
                    totals[series] = totals.get(series, 0.0) + float(value)
    return "".join(f"{k} {int(v) if v == int(v) else v}\n" for k, v in totals.items())


def _captured(srv, table: str) -> int:
    """``tidestream_cdc_changes_captured_total`` for *table* (0 before its first change)."""
    found = re.search(rf'tidestream_cdc_changes_captured_total\{{table="{table}"\}} (\d+)', _metrics(srv))
    return int(found.group(1)) if found else 0


def test_metrics_endpoint(srv):
    ddb, kin, _ = setup_cdc(srv)
    ddb.put_item(TableName="orders", Item={"pk": {"S": "a"}, "big": {"S": "x" * 3000}})
    wait_changes(kin, "changes", 1)
    text = _metrics(srv)
    assert 'tidestream_cdc_changes_captured_total{table="orders"}' in text
    assert re.search(r'tidestream_cdc_changes_published_total\{table="orders"\} [1-9]', text)
    assert 'tidestream_cdc_change_data_capture_units_total{table="orders"} 3\n' in text
    assert "tidestream_cdc_outbox_depth 0" in text


def test_throttled_stream_delays_but_delivers_everything(srv):
    ddb, kin, _ = setup_cdc(srv, shards=1)  # PROVISIONED, one shard: 1 MiB/s
    # one commit of 6 changes of ~230 KB: the first is appended in the commit itself, the other
    # 5 go through the outbox, more than the shard's 1 MiB write bucket holds whatever the
    # machine's speed, so the publisher must be throttled and retry (and all 6 less than the
    # 2 MiB a read may take, so the test's own reads are not throttled for long)
    big = "x" * 230_000
    ddb.batch_write_item(
        RequestItems={
            "orders": [{"PutRequest": {"Item": {"pk": {"S": f"k{i}"}, "blob": {"S": big}}}} for i in range(6)]
        }
    )
    recs = wait_changes(kin, "changes", 6, timeout=30)
    assert len({r["dynamodb"]["Keys"]["pk"]["S"] for r in recs}) == 6
    text = _metrics(srv)
    m = re.search(r'tidestream_cdc_throttled_put_record_total\{table="orders"\} (\d+)', text)
    assert m and int(m.group(1)) > 0, text
    assert "tidestream_cdc_outbox_depth 0" in text


def test_stream_deleted_under_an_active_destination(srv):
    ddb, kin, arn = setup_cdc(srv, shards=1)
    kin.delete_stream(StreamName="changes")
    ddb.put_item(TableName="orders", Item={"pk": {"S": "orphan"}})
    deadline = time.time() + 10
    d = {}
    while time.time() < deadline:
        d = ddb.describe_kinesis_streaming_destination(TableName="orders")["KinesisDataStreamDestinations"][0]
        if d["DestinationStatus"] == "ENABLE_FAILED":
            break
        time.sleep(0.05)
    assert d["DestinationStatus"] == "ENABLE_FAILED" and "not found" in d["DestinationStatusDescription"]
    text = _metrics(srv)
    assert 'tidestream_cdc_failed_to_replicate_record_total{table="orders"} 1' in text
    # the table itself never noticed: writes keep working
    ddb.put_item(TableName="orders", Item={"pk": {"S": "still-fine"}})
    assert "Item" in ddb.get_item(TableName="orders", Key={"pk": {"S": "still-fine"}})


def test_destination_by_table_arn(srv):
    ddb, kin, arn = setup_cdc(srv, shards=1)
    table_arn = ddb.describe_table(TableName="orders")["Table"]["TableArn"]
    d = ddb.describe_kinesis_streaming_destination(TableName=table_arn)
    assert d["TableName"] == "orders" and d["KinesisDataStreamDestinations"][0]["StreamArn"] == arn
    r = ddb.disable_kinesis_streaming_destination(TableName=table_arn, StreamArn=arn)
    assert r["TableName"] == "orders" and r["DestinationStatus"] == "DISABLING"


def test_size_bytes_counts_non_ascii_key_names_and_binary_and_number_keys(srv):
    """SizeBytes's key part as DynamoDB counts it: names in UTF-8 bytes, binary keys raw, number
    keys in their stored size (the capture sizes the keys apart from the images; a cheaper
    sizing of them was measured in session 6 and must keep this)."""
    ddb, kin = srv.client("dynamodb"), srv.client("kinesis")
    ddb.create_table(
        TableName="sized",
        KeySchema=[
            {"AttributeName": "clé", "KeyType": "HASH"},
            {"AttributeName": "순번", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "clé", "AttributeType": "B"},
            {"AttributeName": "순번", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    kin.create_stream(StreamName="sized-changes", ShardCount=1)
    arn = kin.describe_stream_summary(StreamName="sized-changes")["StreamDescriptionSummary"]["StreamARN"]
    ddb.enable_kinesis_streaming_destination(TableName="sized", StreamArn=arn)
    wait_active(ddb, "sized")
    keys = {"clé": {"B": b"\x00\xff\x10"}, "순번": {"N": "-123.45"}}
    ddb.put_item(TableName="sized", Item={**keys, "v": {"S": "x"}})
    ddb.put_item(TableName="sized", Item={**keys, "v": {"S": "yz"}})
    ddb.delete_item(TableName="sized", Key=keys)
    recs = wait_changes(kin, "sized-changes", 3)
    stored = {"clé": {"B": b"\x00\xff\x10"}, "순번": {"N": "-123.45"}}
    image_1, image_2 = {**stored, "v": {"S": "x"}}, {**stored, "v": {"S": "yz"}}
    expected = [
        size_bytes(stored, image_1, None),
        size_bytes(stored, image_2, image_1),
        size_bytes(stored, None, image_2),
    ]
    assert [r["eventName"] for r in recs] == ["INSERT", "MODIFY", "REMOVE"]
    assert [r["dynamodb"]["SizeBytes"] for r in recs] == expected
    # by hand: names 4 + 6 bytes, B 3 bytes, -123.45 is 1 + 3 pairs + 1 = 5 bytes
    assert expected[0] == (4 + 3 + 6 + 5) + (4 + 3 + 6 + 5 + 1 + 1)
