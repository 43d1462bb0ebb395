"""CDC consumers against a real server: both feeds decode the same writes the same way, and
examples/replicate.py (the code docs/consumers.md shows) keeps a replica identical to its source
while the server duplicates and reorders change records on purpose."""

from __future__ import annotations

import importlib.util
import random
import re
import threading
import time
import urllib.request
from pathlib import Path

import boto3
import pytest
from botocore.config import Config as BotoConfig

from tests.conftest import start_on_test_store
from tests.e2e.cdc_helpers import setup_cdc, wait_changes
from tidestream.consumer.changes import decode_kinesis_record, decode_stream_record, plain_image

ROOT = Path(__file__).resolve().parents[2]


def load_example():
    spec = importlib.util.spec_from_file_location("replicate_example", ROOT / "examples" / "replicate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_docs_show_the_example_verbatim():
    code = (ROOT / "examples" / "replicate.py").read_text()
    body = code[code.index("def apply") :]
    assert body in (ROOT / "docs" / "consumers.md").read_text()


def _scan(ddb, table: str) -> dict:
    items, kw = [], {}
    while True:
        page = ddb.scan(TableName=table, ConsistentRead=True, **kw)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            break
        kw["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    decoded = [plain_image(item) for item in items]  # sets compare regardless of order
    return {(d["pk"], d["sk"]): d for d in decoded}


def _workload(ddb, table: str, rng: random.Random, ops: int) -> None:
    """Puts, overwrites, updates and deletes of a few keys, so most items change many times."""
    for i in range(ops):
        key = {"pk": {"S": f"user#{rng.randrange(8)}"}, "sk": {"S": str(rng.randrange(3))}}
        roll = rng.random()
        if roll < 0.45:
            ddb.put_item(
                TableName=table,
                Item={
                    **key,
                    "v": {"N": str(i)},
                    "blob": {"B": rng.randbytes(5)},
                    "tags": {"SS": [f"t{i}", "x"]},
                    "doc": {"M": {"n": {"L": [{"N": str(i)}, {"NULL": True}, {"BOOL": i % 2 == 0}]}}},
                },
            )
        elif roll < 0.8:
            ddb.update_item(
                TableName=table,
                Key=key,
                UpdateExpression="SET v = :v ADD hits :one",
                ExpressionAttributeValues={":v": {"N": str(i)}, ":one": {"N": "1"}},
            )
        else:
            ddb.delete_item(TableName=table, Key=key)


def _metric(srv, name: str) -> float:
    with urllib.request.urlopen(srv.endpoint + "/metrics", timeout=5) as r:
        text = r.read().decode()
    match = re.search(rf"^{name} (\S+)$", text, re.M)
    return float(match.group(1)) if match else 0.0


@pytest.fixture
def chaos_srv(request, tmp_path):
    s = start_on_test_store(
        request, tmp_path, "--durability", "relaxed", "--cdc-chaos", "duplicate=0.2,reorder=0.2,delay-ms=50"
    )
    yield s
    assert s.stop() == 0, s.read_log()


def test_replica_ends_identical_despite_duplicates_and_reordering(chaos_srv):
    ddb, kinesis, _ = setup_cdc(
        chaos_srv, table="source", stream="source-changes", shards=2, range_key="sk", precision="MICROSECOND"
    )
    ddb.create_table(
        TableName="replica",
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
    )
    target = boto3.resource(
        "dynamodb",
        endpoint_url=chaos_srv.endpoint,
        region_name="us-east-1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
        config=BotoConfig(retries={"max_attempts": 1}),
    ).Table("replica")
    stop = threading.Event()
    failures: list[BaseException] = []

    def run() -> None:
        try:
            load_example().replicate(kinesis, "source-changes", target, stop)
        except BaseException as err:  # surfaced below
            failures.append(err)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    try:
        _workload(ddb, "source", random.Random(11), ops=300)
        source = _scan(ddb, "source")
        deadline = time.monotonic() + 30
        while _scan(ddb, "replica") != source and time.monotonic() < deadline and not failures:
            time.sleep(0.2)
        time.sleep(0.5)  # let late duplicates and held records (delay-ms=50) arrive, then look again
    finally:
        stop.set()
        worker.join(10)
    assert not failures, failures
    assert not worker.is_alive()
    assert source and _scan(ddb, "replica") == source
    assert _metric(chaos_srv, "tidestream_cdc_chaos_duplicates_total") > 0  # the chaos was real


def test_both_feeds_decode_the_same_writes_alike(srv):
    ddb, kinesis, _ = setup_cdc(srv, table="both", stream="both-changes", shards=1, precision="MICROSECOND")
    spec = ddb.update_table(
        TableName="both", StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    )
    stream_arn = spec["TableDescription"]["LatestStreamArn"]
    item = {
        "pk": {"S": "k"},
        "s": {"S": "버스"},
        "n": {"N": "-1.50"},
        "b": {"B": b"\x00\xff"},
        "bool": {"BOOL": True},
        "null": {"NULL": True},
        "ss": {"SS": ["a", "b"]},
        "ns": {"NS": ["1", "2"]},
        "bs": {"BS": [b"\x01", b"\x02"]},
        "l": {"L": [{"B": b"\x03"}, {"N": "4"}]},
        "m": {"M": {"inner": {"BS": [b"\x04"]}}},
    }
    ddb.put_item(TableName="both", Item=item)
    ddb.update_item(
        TableName="both",
        Key={"pk": {"S": "k"}},
        UpdateExpression="SET n = :n",
        ExpressionAttributeValues={":n": {"N": "7"}},
    )
    ddb.delete_item(TableName="both", Key={"pk": {"S": "k"}})
    from_kinesis = [decode_kinesis_record(r["_raw"]) for r in wait_changes(kinesis, "both-changes", 3)]
    streams = srv.client("dynamodbstreams")
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    from_streams = [
        decode_stream_record(r, "both") for r in streams.get_records(ShardIterator=iterator)["Records"]
    ]
    assert (
        [c.event_name for c in from_kinesis]
        == [c.event_name for c in from_streams]
        == ["INSERT", "MODIFY", "REMOVE"]
    )
    expected = plain_image(item)
    assert expected["b"] == b"\x00\xff" and from_kinesis[0].new_image == expected
    for k, s in zip(from_kinesis, from_streams):
        assert (k.keys, k.old_image, k.new_image, k.size_bytes, k.table_name) == (
            s.keys,
            s.old_image,
            s.new_image,
            s.size_bytes,
            s.table_name,
        )
        assert abs(k.approximate_creation - s.approximate_creation).total_seconds() < 1
        assert k.sequence_number and s.sequence_number
    assert from_kinesis[1].old_image["n"] == expected["n"] and str(from_kinesis[1].new_image["n"]) == "7"
    assert from_kinesis[2].old_image["n"] == 7 and from_kinesis[2].new_image is None
