"""Lambda event source mappings: Kinesis and DynamoDB Streams feeding real functions.

A real server process (polling every 50 ms), real zip packages deployed with boto3 (and once
with the AWS CLI), functions run by awslambdaric; each function appends what it received to a
file the test reads. Failure handling is asserted against AWS's documented rules.
"""

from __future__ import annotations

import base64
import io
import json
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ServerProcess, start_server
from tests.e2e.cdc_helpers import setup_cdc
from tests.e2e.test_aws_cli import _aws as aws_cli

ROLE = "arn:aws:iam::000000000000:role/lambda-role"
DLQ = "arn:aws:sqs:us-east-1:000000000000:failures"
#: enough of a signature for a server that does not enforce auth (the test servers do not)
SIGNED = {"Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/lambda/aws4_request"}

APP = r"""
import base64
import json
import os
import time


def _log(entry):
    with open(os.environ["OUT"], "a") as fh:
        fh.write(json.dumps(entry) + "\n")


def _datas(event):
    out = []
    for r in event["Records"]:
        if "kinesis" in r:
            out.append(base64.b64decode(r["kinesis"]["data"]).decode())
        else:
            out.append(r["dynamodb"]["Keys"]["pk"]["S"])
    return out


def record(event, context):
    _log({"event": event})
    return {}


def picky(event, context):
    datas = _datas(event)
    ok = "poison" not in datas
    _log({"datas": datas, "ok": ok})
    if not ok:
        raise ValueError("poison in batch")
    return {}


def partial(event, context):
    datas = _datas(event)
    failed = [r["kinesis"]["sequenceNumber"] for r, d in zip(event["Records"], datas) if d == "poison"]
    _log({"datas": datas, "failed": failed})
    return {"batchItemFailures": [{"itemIdentifier": s} for s in failed]}


def partial_bad_identifier(event, context):
    datas = _datas(event)
    _log({"datas": datas})
    return {"batchItemFailures": [{"itemIdentifier": "12345"} for d in datas if d == "poison"]}


def windowed(event, context):
    state = dict(event["state"])
    datas = _datas(event)
    state["count"] = state.get("count", 0) + len(datas)
    state["seen"] = state.get("seen", []) + datas
    _log({"window": event["window"], "final": event["isFinalInvokeForWindow"], "in": event["state"],
          "datas": datas, "shardId": event["shardId"]})
    return {"state": state}


def slow_once(event, context):
    marker = os.environ["OUT"] + ".slept"
    datas = _datas(event)
    if not os.path.exists(marker):
        open(marker, "w").close()
        _log({"datas": datas, "slept": True})
        time.sleep(30)
    _log({"datas": datas, "slept": False})
    return {}
"""


def package() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("app.py", APP)
    return buf.getvalue()


@pytest.fixture(scope="module")
def esm_server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("esm")
    s = start_server(tmp, "--durability", "relaxed", "--lambda-poll-interval", "0.05")
    yield s
    s.stop()


@pytest.fixture
def srv(esm_server: ServerProcess) -> ServerProcess:
    esm_server.reset()
    return esm_server


def deploy(lam, out: Path, handler: str, name: str = "fn", **kw) -> dict:
    fn = lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=ROLE,
        Handler=f"app.{handler}",
        Code={"ZipFile": package()},
        Environment={"Variables": {"OUT": str(out)}},
        **kw,
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    return fn


def make_stream(kin, name: str = "events", shards: int = 1) -> str:
    kin.create_stream(StreamName=name, ShardCount=shards)
    kin.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.1})
    return kin.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]


def wait_state(lam, uuid: str, state: str = "Enabled", timeout: float = 10) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        m = lam.get_event_source_mapping(UUID=uuid)
        if m["State"] == state:
            return m
        time.sleep(0.05)
    raise AssertionError(f"mapping never {state}: {m}")


def entries(out: Path) -> list[dict]:
    if not out.exists():
        return []
    return [json.loads(line) for line in out.read_text().splitlines() if line.strip()]


def wait_for(predicate, out: Path, timeout: float = 20) -> list[dict]:
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = entries(out)
        if predicate(got):
            return got
        time.sleep(0.05)
    raise AssertionError(f"condition not met; function saw: {entries(out)}")


def put(kin, stream: str, *datas: str, key: str = "k") -> list[str]:
    return [
        kin.put_record(StreamName=stream, Data=d.encode(), PartitionKey=key)["SequenceNumber"] for d in datas
    ]


def dead_letters(srv: ServerProcess, uuid: str) -> list[dict]:
    """The dead-letter log's lines of one mapping (the file outlives resets)."""
    path = srv.data_dir / "lambda" / "dead-letters.jsonl"
    if not path.exists():
        return []
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    return [line for line in lines if line["eventSourceMappingUUID"] == uuid]


def error_of(call) -> dict:
    with pytest.raises(ClientError) as info:
        call()
    return {
        "Code": info.value.response["Error"]["Code"],
        "Message": info.value.response["Error"]["Message"],
        "Status": info.value.response["ResponseMetadata"]["HTTPStatusCode"],
    }


# --- the pipeline ----------------------------------------------------------------------------


def test_cdc_pipeline_table_to_kinesis_to_function(srv, tmp_path):
    """table -> Kinesis streaming destination -> stream -> mapping -> function, AWS's event shape."""
    ddb, kin, arn = setup_cdc(srv, table="orders", stream="changes", shards=1)
    lam = srv.client("lambda")
    out = tmp_path / "seen.jsonl"
    deploy(lam, out, "record")
    created = lam.create_event_source_mapping(
        FunctionName="fn", EventSourceArn=arn, StartingPosition="LATEST", BatchSize=10
    )
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert created["State"] == "Creating" and created["LastProcessingResult"] == "No records processed"
    assert created["FunctionArn"] == "arn:aws:lambda:us-east-1:000000000000:function:fn"
    assert created["EventSourceMappingArn"].endswith(f":event-source-mapping:{created['UUID']}")
    wait_state(lam, created["UUID"])
    for n in range(3):
        ddb.put_item(TableName="orders", Item={"pk": {"S": f"o{n}"}, "n": {"N": str(n)}})

    got = wait_for(lambda es: sum(len(e["event"]["Records"]) for e in es) >= 3, out)
    records = [r for e in got for r in e["event"]["Records"]]
    assert len(records) == 3
    first = records[0]
    assert list(first) == [
        "kinesis",
        "eventSource",
        "eventVersion",
        "eventID",
        "eventName",
        "invokeIdentityArn",
        "awsRegion",
        "eventSourceARN",
    ]
    assert list(first["kinesis"]) == [
        "kinesisSchemaVersion",
        "partitionKey",
        "sequenceNumber",
        "data",
        "approximateArrivalTimestamp",
    ]
    assert first["eventSource"] == "aws:kinesis" and first["eventName"] == "aws:kinesis:record"
    assert first["eventVersion"] == "1.0" and first["kinesis"]["kinesisSchemaVersion"] == "1.0"
    assert first["invokeIdentityArn"] == ROLE and first["awsRegion"] == "us-east-1"
    assert first["eventSourceARN"] == arn
    assert first["eventID"] == "shardId-000000000000:" + first["kinesis"]["sequenceNumber"]
    assert isinstance(first["kinesis"]["approximateArrivalTimestamp"], float)
    changes = [json.loads(base64.b64decode(r["kinesis"]["data"])) for r in records]
    assert [c["dynamodb"]["Keys"]["pk"]["S"] for c in changes] == ["o0", "o1", "o2"]
    assert {c["eventName"] for c in changes} == {"INSERT"}
    assert lam.get_event_source_mapping(UUID=created["UUID"])["LastProcessingResult"] == "OK"


def test_dynamodb_stream_to_function(srv, tmp_path):
    ddb = srv.client("dynamodb")
    ddb.create_table(
        TableName="users",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    stream_arn = ddb.describe_table(TableName="users")["Table"]["LatestStreamArn"]
    ddb.put_item(TableName="users", Item={"pk": {"S": "ann"}, "age": {"N": "30"}})  # before the mapping
    lam = srv.client("lambda")
    out = tmp_path / "seen.jsonl"
    deploy(lam, out, "record")
    m = lam.create_event_source_mapping(
        FunctionName="fn", EventSourceArn=stream_arn, StartingPosition="TRIM_HORIZON", BatchSize=100
    )
    out_latest = tmp_path / "latest.jsonl"
    deploy(lam, out_latest, "record", name="fn-latest")
    latest = lam.create_event_source_mapping(
        FunctionName="fn-latest", EventSourceArn=stream_arn, StartingPosition="LATEST"
    )
    wait_state(lam, m["UUID"])
    wait_state(lam, latest["UUID"])
    ddb.update_item(
        TableName="users",
        Key={"pk": {"S": "ann"}},
        UpdateExpression="SET age = :a",
        ExpressionAttributeValues={":a": {"N": "31"}},
    )
    ddb.delete_item(TableName="users", Key={"pk": {"S": "ann"}})
    got = wait_for(lambda es: sum(len(e["event"]["Records"]) for e in es) >= 3, out)
    records = [r for e in got for r in e["event"]["Records"]]
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    first = records[0]
    assert list(first) == [
        "eventID",
        "eventName",
        "eventVersion",
        "eventSource",
        "awsRegion",
        "dynamodb",
        "eventSourceARN",
    ]
    assert first["eventVersion"] == "1.1" and first["eventSource"] == "aws:dynamodb"
    assert first["eventSourceARN"] == stream_arn
    assert first["dynamodb"]["NewImage"] == {"pk": {"S": "ann"}, "age": {"N": "30"}}
    assert records[1]["dynamodb"]["OldImage"]["age"] == {"N": "30"}
    assert records[1]["dynamodb"]["NewImage"]["age"] == {"N": "31"}
    assert isinstance(first["dynamodb"]["ApproximateCreationDateTime"], int | float)
    assert first["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    got = wait_for(lambda es: sum(len(e["event"]["Records"]) for e in es) >= 2, out_latest)
    assert [r["eventName"] for e in got for r in e["event"]["Records"]] == ["MODIFY", "REMOVE"]  # LATEST


# --- failure handling ----------------------------------------------------------------------


def _failing_mapping(srv, tmp_path, handler: str, **kw):
    kin, lam = srv.client("kinesis"), srv.client("lambda")
    arn = make_stream(kin)
    out = tmp_path / "seen.jsonl"
    deploy(lam, out, handler)
    m = lam.create_event_source_mapping(
        FunctionName="fn",
        EventSourceArn=arn,
        StartingPosition="TRIM_HORIZON",
        DestinationConfig={"OnFailure": {"Destination": DLQ}},
        Enabled=False,
        **kw,
    )
    wait_state(lam, m["UUID"], "Disabled")
    return kin, lam, arn, out, m["UUID"]


def test_bisect_isolates_the_bad_record_and_retries_it_then_discards(srv, tmp_path):
    """AWS: a failed batch is split in two (splitting costs no retry); a single failing record is
    retried MaximumRetryAttempts times, then discarded with an invocation record."""
    kin, lam, arn, out, uuid = _failing_mapping(
        srv, tmp_path, "picky", BatchSize=10, BisectBatchOnFunctionError=True, MaximumRetryAttempts=1
    )
    datas = [f"r{n}" for n in range(10)]
    datas[4] = "poison"
    seqs = put(kin, "events", *datas)
    put(kin, "events", "after")
    lam.update_event_source_mapping(UUID=uuid, Enabled=True)
    got = wait_for(lambda es: any(e["datas"] == ["after"] for e in es), out)
    batches = [e["datas"] for e in got]
    assert (
        batches[:9]
        == [
            datas,  # 10 records fail
            datas[:5],  # bisected: first half fails
            datas[:2],  # ... its first half succeeds
            datas[2:5],  # ... its second half fails
            datas[2:3],
            datas[3:5],
            datas[3:4],
            ["poison"],  # alone: the first try ...
            ["poison"],  # ... and one retry (MaximumRetryAttempts=1), then discarded
        ]
    )
    assert batches[9:] == [datas[5:], ["after"]]
    succeeded = [d for e in got if e["ok"] for d in e["datas"]]
    assert sorted(succeeded) == sorted([d for d in datas if d != "poison"] + ["after"])
    letters = dead_letters(srv, uuid)
    assert len(letters) == 1 and letters[0]["destination"] == DLQ
    record = letters[0]["record"]
    assert list(record) == ["requestContext", "responseContext", "version", "timestamp", "KinesisBatchInfo"]
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["requestContext"]["functionArn"] == "arn:aws:lambda:us-east-1:000000000000:function:fn"
    assert record["responseContext"] == {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": "Unhandled",
    }
    assert record["version"] == "1.0"
    info = record["KinesisBatchInfo"]
    assert info["shardId"] == "shardId-000000000000" and info["streamArn"] == arn
    assert info["startSequenceNumber"] == info["endSequenceNumber"] == seqs[4]
    assert info["batchSize"] == 1
    assert info["approximateArrivalOfFirstRecord"].endswith("Z")
    assert lam.get_event_source_mapping(UUID=uuid)["LastProcessingResult"] == "OK"
    raw = urllib.request.urlopen(  # SDKs drop members their model lacks; the raw answer names the log
        urllib.request.Request(f"{srv.endpoint}/2015-03-31/event-source-mappings/{uuid}", headers=SIGNED)
    )
    assert json.loads(raw.read())["TidestreamDeadLetterLog"] == str(
        srv.data_dir / "lambda" / "dead-letters.jsonl"
    )


def test_retries_without_bisect_then_whole_batch_discarded(srv, tmp_path):
    kin, lam, arn, out, uuid = _failing_mapping(srv, tmp_path, "picky", BatchSize=3, MaximumRetryAttempts=2)
    put(kin, "events", "a", "poison", "b")
    put(kin, "events", "c")
    lam.update_event_source_mapping(UUID=uuid, Enabled=True)
    got = wait_for(lambda es: any(e["datas"] == ["c"] for e in es), out)
    assert [e["datas"] for e in got] == [["a", "poison", "b"]] * 3 + [["c"]]  # 1 try + 2 retries
    letters = dead_letters(srv, uuid)
    assert len(letters) == 1
    assert letters[0]["record"]["KinesisBatchInfo"]["batchSize"] == 3
    assert letters[0]["record"]["requestContext"]["approximateInvokeCount"] == 3


def test_partial_batch_response_restarts_from_lowest_failure(srv, tmp_path):
    """ReportBatchItemFailures: the records before the lowest reported failure are done; the
    retry starts at it."""
    kin, lam, arn, out, uuid = _failing_mapping(
        srv,
        tmp_path,
        "partial",
        BatchSize=5,
        MaximumRetryAttempts=1,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )
    seqs = put(kin, "events", "a", "b", "poison", "d", "e")
    put(kin, "events", "f")
    lam.update_event_source_mapping(UUID=uuid, Enabled=True)
    got = wait_for(lambda es: any(e["datas"] == ["f"] for e in es), out)
    assert [e["datas"] for e in got] == [
        ["a", "b", "poison", "d", "e"],
        ["poison", "d", "e"],  # retry from the lowest failed sequence number
        ["f"],
    ]
    assert got[0]["failed"] == [seqs[2]]
    letters = dead_letters(srv, uuid)
    info = letters[0]["record"]["KinesisBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]) == (
        seqs[2],
        seqs[4],
        3,
    )


def test_tumbling_window_carries_state_and_ends_with_a_final_invoke(srv, tmp_path):
    kin, lam, arn, out, uuid = _failing_mapping(
        srv, tmp_path, "windowed", BatchSize=2, TumblingWindowInSeconds=1
    )
    # one PutRecords: the same arrival millisecond, so one window; read only once all are there
    kin.put_records(
        StreamName="events", Records=[{"Data": d, "PartitionKey": "k"} for d in (b"a", b"b", b"c")]
    )
    lam.update_event_source_mapping(UUID=uuid, Enabled=True)
    got = wait_for(lambda es: any(e["final"] for e in es), out)
    window = got[0]["window"]
    in_window = [e for e in got if e["window"] == window]
    assert [e["datas"] for e in in_window] == [["a", "b"], ["c"], []]
    assert [e["final"] for e in in_window] == [False, False, True]
    assert in_window[0]["in"] == {}  # a new window starts with an empty state
    assert in_window[1]["in"] == {"count": 2, "seen": ["a", "b"]}  # what the last call returned
    assert in_window[2]["in"] == {"count": 3, "seen": ["a", "b", "c"]}
    assert in_window[0]["shardId"] == "shardId-000000000000"
    start = time.strptime(window["start"], "%Y-%m-%dT%H:%M:%SZ")
    end = time.strptime(window["end"], "%Y-%m-%dT%H:%M:%SZ")
    assert time.mktime(end) - time.mktime(start) == 1


def test_timed_out_function_is_killed_and_the_batch_retried(srv, tmp_path):
    kin, lam, arn, out, uuid = _failing_mapping(srv, tmp_path, "slow_once", BatchSize=5)
    lam.update_function_configuration(FunctionName="fn", Timeout=1)
    lam.get_waiter("function_updated_v2").wait(FunctionName="fn")
    put(kin, "events", "a", "b")
    lam.update_event_source_mapping(UUID=uuid, Enabled=True)
    got = wait_for(lambda es: any(not e["slept"] for e in es), out)
    assert got == [{"datas": ["a", "b"], "slept": True}, {"datas": ["a", "b"], "slept": False}]
    assert dead_letters(srv, uuid) == []


def test_disabled_mapping_keeps_its_position(srv, tmp_path):
    kin, lam = srv.client("kinesis"), srv.client("lambda")
    arn = make_stream(kin)
    out = tmp_path / "seen.jsonl"
    deploy(lam, out, "picky")
    uuid = lam.create_event_source_mapping(FunctionName="fn", EventSourceArn=arn, StartingPosition="LATEST")[
        "UUID"
    ]
    wait_state(lam, uuid)
    put(kin, "events", "one")
    wait_for(lambda es: len(es) == 1, out)
    updated = lam.update_event_source_mapping(UUID=uuid, Enabled=False)
    assert updated["State"] == "Disabling"
    wait_state(lam, uuid, "Disabled")
    put(kin, "events", "two", "three")
    time.sleep(0.5)  # polls that would have picked them up (every 50 ms) if it still ran
    assert [e["datas"] for e in entries(out)] == [["one"]]
    assert lam.update_event_source_mapping(UUID=uuid, Enabled=True)["State"] == "Enabling"
    got = wait_for(lambda es: len(es) == 2, out)
    assert [e["datas"] for e in got] == [["one"], ["two", "three"]]


def test_filter_criteria_drops_records_and_moves_past_them(srv, tmp_path):
    kin, lam = srv.client("kinesis"), srv.client("lambda")
    arn = make_stream(kin)
    out = tmp_path / "seen.jsonl"
    deploy(lam, out, "record")
    pattern = json.dumps({"data": {"kind": ["keep"]}})
    uuid = lam.create_event_source_mapping(
        FunctionName="fn",
        EventSourceArn=arn,
        StartingPosition="TRIM_HORIZON",
        FilterCriteria={"Filters": [{"Pattern": pattern}]},
    )["UUID"]
    assert lam.get_event_source_mapping(UUID=uuid)["FilterCriteria"] == {"Filters": [{"Pattern": pattern}]}
    put(kin, "events", json.dumps({"kind": "drop", "n": 1}), json.dumps({"kind": "keep", "n": 2}), "not json")
    put(kin, "events", json.dumps({"kind": "keep", "n": 3}))
    got = wait_for(lambda es: sum(len(e["event"]["Records"]) for e in es) >= 2, out)
    time.sleep(0.3)
    kept = [
        json.loads(base64.b64decode(r["kinesis"]["data"]))["n"]
        for e in entries(out)
        for r in e["event"]["Records"]
    ]
    assert kept == [2, 3]
    assert (
        got[0]["event"]["Records"][0]["kinesis"]["data"]
        == base64.b64encode(b'{"kind": "keep", "n": 2}').decode()
    )


def test_parallelization_keeps_order_per_partition_key(srv, tmp_path):
    kin, lam = srv.client("kinesis"), srv.client("lambda")
    arn = make_stream(kin)
    out = tmp_path / "seen.jsonl"
    deploy(lam, out, "record")
    for n in range(30):
        put(kin, "events", f"{n % 5}:{n}", key=f"key-{n % 5}")
    uuid = lam.create_event_source_mapping(
        FunctionName="fn",
        EventSourceArn=arn,
        StartingPosition="TRIM_HORIZON",
        BatchSize=2,
        ParallelizationFactor=5,
    )["UUID"]
    assert lam.get_event_source_mapping(UUID=uuid)["ParallelizationFactor"] == 5
    got = wait_for(lambda es: sum(len(e["event"]["Records"]) for e in es) >= 30, out)
    seen: dict[str, list[int]] = {}
    for e in got:
        assert 1 <= len(e["event"]["Records"]) <= 2  # BatchSize holds per lane
        for r in e["event"]["Records"]:
            key, n = base64.b64decode(r["kinesis"]["data"]).decode().split(":")
            seen.setdefault(key, []).append(int(n))
    assert sorted(n for ns in seen.values() for n in ns) == list(range(30))
    assert all(ns == sorted(ns) for ns in seen.values())


def test_children_are_read_after_their_parent(srv, tmp_path):
    kin, lam = srv.client("kinesis"), srv.client("lambda")
    arn = make_stream(kin)
    out = tmp_path / "seen.jsonl"
    deploy(lam, out, "record")
    put(kin, "events", "p1", "p2")
    kin.split_shard(StreamName="events", ShardToSplit="shardId-000000000000", NewStartingHashKey=str(2**127))
    kin.get_waiter("stream_exists").wait(StreamName="events", WaiterConfig={"Delay": 0.1})
    for n in range(6):
        put(kin, "events", f"c{n}", key=f"key{n}")
    uuid = lam.create_event_source_mapping(
        FunctionName="fn",
        EventSourceArn=arn,
        StartingPosition="TRIM_HORIZON",
        BatchSize=100,
    )["UUID"]
    got = wait_for(lambda es: sum(len(e["event"]["Records"]) for e in es) >= 8, out)
    order = [
        (r["eventID"].split(":")[0], base64.b64decode(r["kinesis"]["data"]).decode())
        for e in got
        for r in e["event"]["Records"]
    ]
    assert order[:2] == [("shardId-000000000000", "p1"), ("shardId-000000000000", "p2")]
    assert {shard for shard, _ in order[2:]} == {"shardId-000000000001", "shardId-000000000002"}
    assert sorted(d for _, d in order[2:]) == [f"c{n}" for n in range(6)]
    assert lam.get_event_source_mapping(UUID=uuid)["State"] == "Enabled"


# --- the API: errors, listing, the AWS CLI ----------------------------------------------------


def test_bad_inputs_get_aws_errors_and_create_nothing(srv, tmp_path):
    kin, lam = srv.client("kinesis"), srv.client("lambda")
    arn = make_stream(kin)
    deploy(lam, tmp_path / "seen.jsonl", "record")
    raw = srv.client("lambda", parameter_validation=False)  # out-of-range values reach the server
    create = lambda **kw: raw.create_event_source_mapping(  # noqa: E731
        **{"FunctionName": "fn", "EventSourceArn": arn, "StartingPosition": "LATEST", **kw}
    )
    missing = arn.replace("/events", "/nope")
    cases = [
        ({"FunctionName": "nope"}, "InvalidParameterValueException", 400, "Function does not exist"),
        ({"EventSourceArn": missing}, "InvalidParameterValueException", 400, f"Stream not found: {missing}"),
        (
            {"StartingPosition": None},
            "InvalidParameterValueException",
            400,
            "1 validation error detected: Value null at 'startingPosition' failed to satisfy constraint: "
            "Member must not be null.",
        ),
        (
            {"StartingPosition": "AT_TIMESTAMP"},
            "InvalidParameterValueException",
            400,
            "StartingPositionTimestamp must be provided when StartingPosition is AT_TIMESTAMP.",
        ),
        (
            {"MaximumRecordAgeInSeconds": 30},
            "InvalidParameterValueException",
            400,
            "MaximumRecordAgeInSeconds must be either -1 (forever) or between 60 and 604800 (inclusive)",
        ),
        (
            {"DestinationConfig": {"OnSuccess": {"Destination": DLQ}}},
            "InvalidParameterValueException",
            400,
            "Unsupported DestinationConfig parameter for given event source mapping type.",
        ),
        (
            {"FilterCriteria": {"Filters": [{"Pattern": "{not json"}]}},
            "InvalidParameterValueException",
            400,
            "Invalid filter pattern definition.",
        ),
    ]
    base = {"FunctionName": "fn", "EventSourceArn": arn, "StartingPosition": "LATEST"}
    for kw, code, status, message in cases:
        params = {k: v for k, v in {**base, **kw}.items() if v is not None}

        def call(params: dict = params) -> dict:
            return lam.create_event_source_mapping(**params)

        assert error_of(call) == {"Code": code, "Status": status, "Message": message}, kw
    for member, value, wire in [
        ("BatchSize", 0, "batchSize"),
        ("BatchSize", 10001, "batchSize"),
        ("ParallelizationFactor", 11, "parallelizationFactor"),
        ("MaximumRetryAttempts", -2, "maximumRetryAttempts"),
        ("TumblingWindowInSeconds", 901, "tumblingWindowInSeconds"),
    ]:
        err = error_of(lambda member=member, value=value: create(**{member: value}))
        assert err["Code"] == "ValidationException" and err["Status"] == 400, err
        assert f"Value '{value}' at '{wire}' failed to satisfy constraint" in err["Message"], err
    assert lam.list_event_source_mappings()["EventSourceMappings"] == []  # nothing half-created

    first = create()
    err = error_of(create)
    assert err == {
        "Code": "ResourceConflictException",
        "Status": 409,
        "Message": f'The event source arn (" {arn} ") and function (" fn ") provided mapping already exists. '
        f"Please update or delete the existing mapping with UUID {first['UUID']}",
    }
    gone = "00000000-0000-4000-8000-000000000000"
    for call in (
        lambda: lam.get_event_source_mapping(UUID=gone),
        lambda: lam.update_event_source_mapping(UUID=gone, BatchSize=5),
        lambda: lam.delete_event_source_mapping(UUID=gone),
    ):
        assert error_of(call) == {
            "Code": "ResourceNotFoundException",
            "Status": 404,
            "Message": "The resource you requested does not exist.",
        }
    ddb = srv.client("dynamodb")
    ddb.create_table(
        TableName="tbl",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"},
    )
    stream = ddb.describe_table(TableName="tbl")["Table"]["LatestStreamArn"]
    err = error_of(
        lambda: create(EventSourceArn=stream, StartingPosition="AT_TIMESTAMP", StartingPositionTimestamp=1)
    )
    assert err["Message"] == f"Unsupported starting position for arn type: {stream}"
    assert [m["UUID"] for m in lam.list_event_source_mappings()["EventSourceMappings"]] == [first["UUID"]]


def test_list_filters_pages_and_delete(srv, tmp_path):
    kin, lam = srv.client("kinesis"), srv.client("lambda")
    arns = [make_stream(kin, f"s{n}") for n in range(3)]
    deploy(lam, tmp_path / "a.jsonl", "record", name="fa")
    deploy(lam, tmp_path / "b.jsonl", "record", name="fb")
    made = [
        lam.create_event_source_mapping(FunctionName=fn, EventSourceArn=arn, StartingPosition="LATEST")[
            "UUID"
        ]
        for fn, arn in [("fa", arns[0]), ("fa", arns[1]), ("fb", arns[1]), ("fb", arns[2])]
    ]
    by_fn = lam.list_event_source_mappings(FunctionName="fa")["EventSourceMappings"]
    assert [m["UUID"] for m in by_fn] == made[:2]
    by_arn = lam.list_event_source_mappings(EventSourceArn=arns[1])["EventSourceMappings"]
    assert [m["UUID"] for m in by_arn] == made[1:3]
    err = error_of(lambda: lam.list_event_source_mappings(FunctionName="nope"))
    assert (err["Code"], err["Message"]) == ("InvalidParameterValueException", "Function does not exist")
    both = lam.list_event_source_mappings(EventSourceArn=arns[1], FunctionName="fb")["EventSourceMappings"]
    assert [m["UUID"] for m in both] == [made[2]]
    page = lam.list_event_source_mappings(MaxItems=3)
    rest = lam.list_event_source_mappings(MaxItems=3, Marker=page["NextMarker"])
    assert [m["UUID"] for m in page["EventSourceMappings"] + rest["EventSourceMappings"]] == made
    assert "NextMarker" not in rest
    paged = [
        m["UUID"]
        for p in lam.get_paginator("list_event_source_mappings").paginate(PaginationConfig={"PageSize": 1})
        for m in p["EventSourceMappings"]
    ]
    assert paged == made
    wait_state(lam, made[0])
    mapping_arn = lam.get_event_source_mapping(UUID=made[0])["EventSourceMappingArn"]
    lam.tag_resource(Resource=mapping_arn, Tags={"team": "data", "env": "dev"})
    lam.untag_resource(Resource=mapping_arn, TagKeys=["env"])
    assert lam.list_tags(Resource=mapping_arn)["Tags"] == {"team": "data"}
    deleted = lam.delete_event_source_mapping(UUID=made[0])
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 202 and deleted["State"] == "Deleting"
    assert [m["UUID"] for m in lam.list_event_source_mappings()["EventSourceMappings"]] == made[1:]
    err = error_of(lambda: lam.list_tags(Resource=mapping_arn))
    assert (err["Code"], err["Status"]) == ("ResourceNotFoundException", 404)


def test_aws_cli_creates_a_mapping(srv, tmp_path):
    kin, lam = srv.client("kinesis"), srv.client("lambda")
    arn = make_stream(kin)
    out = tmp_path / "seen.jsonl"
    deploy(lam, out, "record")
    created = aws_cli(
        srv,
        "lambda",
        "create-event-source-mapping",
        "--function-name",
        "fn",
        "--event-source-arn",
        arn,
        "--starting-position",
        "TRIM_HORIZON",
        "--batch-size",
        "10",
        "--maximum-retry-attempts",
        "2",
        "--bisect-batch-on-function-error",
    )
    assert created["State"] == "Creating" and created["BatchSize"] == 10
    assert created["MaximumRetryAttempts"] == 2 and created["BisectBatchOnFunctionError"] is True
    put(kin, "events", "via-cli")
    got = wait_for(lambda es: len(es) >= 1, out)
    assert base64.b64decode(got[0]["event"]["Records"][0]["kinesis"]["data"]) == b"via-cli"


# --- durability --------------------------------------------------------------------------------


def test_sigkill_mid_stream_loses_no_record(tmp_path):
    s = start_server(tmp_path, "--lambda-poll-interval", "0.05")
    try:
        kin, lam = s.client("kinesis"), s.client("lambda")
        arn = make_stream(kin)
        out = tmp_path / "seen.jsonl"
        deploy(lam, out, "record")
        uuid = lam.create_event_source_mapping(
            FunctionName="fn", EventSourceArn=arn, StartingPosition="LATEST", BatchSize=1
        )["UUID"]
        wait_state(lam, uuid)
        before = [f"before-{n}" for n in range(40)]
        kin.put_records(
            StreamName="events", Records=[{"Data": d.encode(), "PartitionKey": "k"} for d in before]
        )
        wait_for(lambda es: len(es) >= 3, out)
        s.kill()  # SIGKILL while the mapping works through the 40 records
        s.start()
        kin, lam = s.client("kinesis"), s.client("lambda")
        assert lam.get_event_source_mapping(UUID=uuid)["State"] == "Enabled"
        after = [f"after-{n}" for n in range(5)]
        put(kin, "events", *after)
        want = set(before + after)

        def seen(es):
            return {
                base64.b64decode(r["kinesis"]["data"]).decode() for e in es for r in e["event"]["Records"]
            }

        got = wait_for(lambda es: want <= seen(es), out, timeout=40)
        delivered = [
            base64.b64decode(r["kinesis"]["data"]).decode() for e in got for r in e["event"]["Records"]
        ]
        assert list(dict.fromkeys(delivered)) == before + after  # all of them, in order
        assert len(delivered) - len(want) <= 1  # resumed at the checkpoint: at most the batch in flight again
    finally:
        s.stop()


def test_consumer_arn_source_and_batching_window(srv, tmp_path):
    """An enhanced fan-out consumer ARN names the stream to read; records wait up to
    MaximumBatchingWindowInSeconds to fill a batch."""
    kin, lam = srv.client("kinesis"), srv.client("lambda")
    arn = make_stream(kin)
    consumer = kin.register_stream_consumer(StreamARN=arn, ConsumerName="lambda")["Consumer"]["ConsumerARN"]
    out = tmp_path / "seen.jsonl"
    deploy(lam, out, "record")
    m = lam.create_event_source_mapping(
        FunctionName="fn",
        EventSourceArn=consumer,
        StartingPosition="LATEST",
        BatchSize=100,
        MaximumBatchingWindowInSeconds=3,
    )
    assert m["EventSourceArn"] == consumer and m["MaximumBatchingWindowInSeconds"] == 3
    wait_state(lam, m["UUID"])
    put(kin, "events", "a")
    put(kin, "events", "b")
    put(kin, "events", "c")
    got = wait_for(lambda es: len(es) >= 1, out)
    records = got[0]["event"]["Records"]
    assert [base64.b64decode(r["kinesis"]["data"]) for r in records] == [b"a", b"b", b"c"]  # one batch
    assert records[0]["eventSourceARN"] == arn


def test_deleted_mapping_stops_invoking(srv, tmp_path):
    kin, lam = srv.client("kinesis"), srv.client("lambda")
    arn = make_stream(kin)
    out = tmp_path / "seen.jsonl"
    deploy(lam, out, "record")
    uuid = lam.create_event_source_mapping(FunctionName="fn", EventSourceArn=arn, StartingPosition="LATEST")[
        "UUID"
    ]
    wait_state(lam, uuid)
    put(kin, "events", "one")
    wait_for(lambda es: len(es) == 1, out)
    lam.delete_event_source_mapping(UUID=uuid)
    put(kin, "events", "two")
    time.sleep(0.5)  # ten polls' worth (every 50 ms) for a poller that outlived its mapping
    assert len(entries(out)) == 1
    again = lam.create_event_source_mapping(
        FunctionName="fn", EventSourceArn=arn, StartingPosition="TRIM_HORIZON"
    )
    got = wait_for(lambda es: len(es) >= 2, out)  # a new mapping: its own position, none of the old one's
    assert [base64.b64decode(r["kinesis"]["data"]) for r in got[1]["event"]["Records"]] == [b"one", b"two"]
    assert again["UUID"] != uuid


def test_partial_response_naming_no_record_of_the_batch_retries_it_whole(srv, tmp_path):
    """AWS: an itemIdentifier that is not a sequence number of the batch fails the whole batch."""
    kin, lam, arn, out, uuid = _failing_mapping(
        srv,
        tmp_path,
        "partial",
        BatchSize=3,
        MaximumRetryAttempts=1,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )
    put(kin, "events", "a", "poison", "c")
    put(kin, "events", "d")
    # the function names the poison record by its sequence number; make that number wrong
    lam.update_function_configuration(FunctionName="fn", Handler="app.partial_bad_identifier")
    lam.get_waiter("function_updated_v2").wait(FunctionName="fn")
    lam.update_event_source_mapping(UUID=uuid, Enabled=True)
    got = wait_for(lambda es: any(e["datas"] == ["d"] for e in es), out)
    assert [e["datas"] for e in got] == [["a", "poison", "c"], ["a", "poison", "c"], ["d"]]
    assert dead_letters(srv, uuid)[0]["record"]["KinesisBatchInfo"]["batchSize"] == 3


def test_at_timestamp_starts_at_the_first_record_at_or_after_it(srv, tmp_path):
    kin, lam = srv.client("kinesis"), srv.client("lambda")
    arn = make_stream(kin)
    out = tmp_path / "seen.jsonl"
    deploy(lam, out, "record")
    put(kin, "events", "old")
    time.sleep(0.05)  # arrival times are milliseconds: keep "old" strictly before the timestamp
    stamp = time.time()
    time.sleep(0.05)
    put(kin, "events", "new")
    m = lam.create_event_source_mapping(
        FunctionName="fn",
        EventSourceArn=arn,
        StartingPosition="AT_TIMESTAMP",
        StartingPositionTimestamp=stamp,
    )
    assert m["StartingPosition"] == "AT_TIMESTAMP"
    assert abs(m["StartingPositionTimestamp"].timestamp() - stamp) < 0.001
    got = wait_for(lambda es: len(es) >= 1, out)
    assert [base64.b64decode(r["kinesis"]["data"]) for r in got[0]["event"]["Records"]] == [b"new"]
