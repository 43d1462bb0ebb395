"""Event source mappings, round 2: a Node.js function fed by CDC, pollers woken by appends,
FilterCriteria checkpointing past what it drops (across a restart and a filter change), and
``POST /_tidestream/reset`` with pollers and functions running.

Real server processes on loopback, real zips deployed with boto3, functions run by AWS's own
runtime clients (awslambdaric; aws-lambda-ric from tests/lambda-node for Node.js). Each
function appends what it received to a file the test reads.
"""

from __future__ import annotations

import base64
import json
import os
import time
from pathlib import Path

import pytest

from tests.conftest import ServerProcess, start_server
from tests.e2e.cdc_helpers import setup_cdc
from tests.e2e.test_lambda import package
from tests.e2e.test_lambda_mappings import DLQ, ROLE, dead_letters, entries, make_stream, wait_for, wait_state
from tests.e2e.test_lambda_node import RIC
from tests.e2e.test_lambda_node import _install as install_node_ric

#: far longer than any wait below: a record reaching a function in time was woken, not polled
LONG_POLL = "60"

PYTHON_APP = r"""
import base64
import json
import os
import time


def _log(entry):
    with open(os.environ["OUT"], "a") as fh:
        fh.write(json.dumps(entry) + "\n")


def record(event, context):
    _log({"event": event})
    return {}


def reject(event, context):
    raise ValueError("always")


def slow(event, context):
    _log({"pid": os.getpid()})
    time.sleep(60)
    return {}
"""

NODE_APP = """
const fs = require("node:fs");
exports.handler = async (event, context) => {
  fs.appendFileSync(process.env.OUT,
    JSON.stringify({event, name: context.functionName, node: process.version}) + "\\n");
  return {};
};
"""


def deploy(lam, out: Path, handler: str, name: str, **kw) -> None:
    lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=ROLE,
        Handler=f"app.{handler}",
        Code={"ZipFile": package(PYTHON_APP)},
        Environment={"Variables": {"OUT": str(out)}},
        **kw,
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=name)


def records_of(out: Path) -> list[dict]:
    return [r for e in entries(out) if "event" in e for r in e["event"]["Records"]]


def kinesis_datas(out: Path) -> list[dict]:
    return [json.loads(base64.b64decode(r["kinesis"]["data"])) for r in records_of(out)]


def streamed_table(ddb, name: str) -> str:
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    return ddb.describe_table(TableName=name)["Table"]["LatestStreamArn"]


@pytest.fixture(scope="module")
def woken_server(tmp_path_factory):
    """Pollers that would sleep a minute between empty polls, and Node.js functions."""
    install_node_ric()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TIDESTREAM_LAMBDA_NODE_RIC", str(RIC))
        s = start_server(
            tmp_path_factory.mktemp("woken"), "--durability", "relaxed", "--lambda-poll-interval", LONG_POLL
        )
    yield s
    s.stop()


@pytest.fixture
def srv(woken_server: ServerProcess) -> ServerProcess:
    woken_server.reset()
    return woken_server


# --- Node.js, and waking on append -------------------------------------------------------------


def test_nodejs_function_processes_cdc_records(srv, tmp_path):
    """table -> Kinesis streaming destination -> stream -> mapping -> a Node.js function (the
    same zip that goes to AWS), records in AWS's aws:kinesis shape."""
    ddb, _, arn = setup_cdc(srv, table="orders", stream="changes", shards=1)
    lam = srv.client("lambda")
    out = tmp_path / "node.jsonl"
    lam.create_function(
        FunctionName="node-fn",
        Runtime="nodejs20.x",
        Role=ROLE,
        Handler="index.handler",
        Code={"ZipFile": package(NODE_APP, "index.js")},
        Environment={"Variables": {"OUT": str(out)}},
    )
    lam.get_waiter("function_active_v2").wait(FunctionName="node-fn")
    uuid = lam.create_event_source_mapping(
        FunctionName="node-fn", EventSourceArn=arn, StartingPosition="LATEST", BatchSize=10
    )["UUID"]
    wait_state(lam, uuid)
    for n in range(3):
        ddb.put_item(TableName="orders", Item={"pk": {"S": f"o{n}"}, "n": {"N": str(n)}})
        wait_for(lambda es, n=n: len(records_of(out)) > n, out)  # each one woke the poller
    got = entries(out)
    assert {e["name"] for e in got} == {"node-fn"} and all(e["node"].startswith("v20.") for e in got)
    records = records_of(out)
    assert [r["eventSource"] for r in records] == ["aws:kinesis"] * 3
    assert all(r["eventSourceARN"] == arn and r["invokeIdentityArn"] == ROLE for r in records)
    changes = kinesis_datas(out)
    assert [c["dynamodb"]["Keys"]["pk"]["S"] for c in changes] == ["o0", "o1", "o2"]
    assert [c["dynamodb"]["NewImage"]["n"]["N"] for c in changes] == ["0", "1", "2"]
    assert {c["eventName"] for c in changes} == {"INSERT"}
    assert lam.get_event_source_mapping(UUID=uuid)["LastProcessingResult"] == "OK"


def test_dynamodb_stream_record_wakes_the_poller(srv, tmp_path):
    """A caught-up DynamoDB Streams poller is woken by the next change, long before its poll
    interval (a minute here) would have run out."""
    ddb, lam = srv.client("dynamodb"), srv.client("lambda")
    stream_arn = streamed_table(ddb, "users")
    out = tmp_path / "seen.jsonl"
    deploy(lam, out, "record", "fn")
    uuid = lam.create_event_source_mapping(
        FunctionName="fn", EventSourceArn=stream_arn, StartingPosition="LATEST"
    )["UUID"]
    wait_state(lam, uuid)
    for n in range(3):
        ddb.put_item(TableName="users", Item={"pk": {"S": f"u{n}"}})
        wait_for(lambda es, n=n: len(records_of(out)) > n, out)
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in records_of(out)] == ["u0", "u1", "u2"]


def test_woken_poller_still_waits_out_the_batching_window(srv, tmp_path):
    """Appends wake the poller, but MaximumBatchingWindowInSeconds still gathers them into one
    batch (AWS invokes once the window ends or the batch is full)."""
    kin, lam = srv.client("kinesis"), srv.client("lambda")
    arn = make_stream(kin)
    out = tmp_path / "seen.jsonl"
    deploy(lam, out, "record", "fn")
    uuid = lam.create_event_source_mapping(
        FunctionName="fn",
        EventSourceArn=arn,
        StartingPosition="LATEST",
        BatchSize=100,
        MaximumBatchingWindowInSeconds=4,
    )["UUID"]
    wait_state(lam, uuid)
    for n in range(3):
        kin.put_record(StreamName="events", Data=json.dumps({"n": n}).encode(), PartitionKey="k")
    got = wait_for(lambda es: len(records_of(out)) >= 3, out)
    assert [len(e["event"]["Records"]) for e in got] == [3]
    kin.put_record(StreamName="events", Data=json.dumps({"n": 3}).encode(), PartitionKey="k")
    got = wait_for(lambda es: len(records_of(out)) >= 4, out)
    assert [len(e["event"]["Records"]) for e in got] == [3, 1]
    assert [d["n"] for d in kinesis_datas(out)] == [0, 1, 2, 3]


# --- FilterCriteria: dropped records are checkpointed past --------------------------------------


def test_filtered_records_are_checkpointed_past_across_filter_change_and_restart(tmp_path):
    """Records a filter drops are never handed to the function: not after the filter is changed
    to one they would match (the checkpoint moved past them, even those after the batch's last
    kept record), not after a restart; for Kinesis (patterns on the decoded JSON ``data``) and
    DynamoDB Streams (patterns on ``eventName`` and ``NewImage``)."""
    s = start_server(tmp_path, "--lambda-poll-interval", "0.05")
    try:
        kin, ddb, lam = s.client("kinesis"), s.client("dynamodb"), s.client("lambda")
        kin_out, ddb_out = tmp_path / "kinesis.jsonl", tmp_path / "ddb.jsonl"
        deploy(lam, kin_out, "record", "kin-fn")
        deploy(lam, ddb_out, "record", "ddb-fn")
        arn = make_stream(kin)
        stream_arn = streamed_table(ddb, "users")
        kin_uuid = lam.create_event_source_mapping(
            FunctionName="kin-fn",
            EventSourceArn=arn,
            StartingPosition="TRIM_HORIZON",
            FilterCriteria={"Filters": [{"Pattern": json.dumps({"data": {"kind": ["keep"]}})}]},
        )["UUID"]
        active_inserts = {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"status": {"S": ["active"]}}}}
        ddb_uuid = lam.create_event_source_mapping(
            FunctionName="ddb-fn",
            EventSourceArn=stream_arn,
            StartingPosition="TRIM_HORIZON",
            FilterCriteria={"Filters": [{"Pattern": json.dumps(active_inserts)}]},
        )["UUID"]
        # one append each: a dropped record, a kept one, then two dropped ones after it
        kin.put_records(
            StreamName="events",
            Records=[
                {"Data": json.dumps({"kind": kind, "n": n}).encode(), "PartitionKey": "k"}
                for n, kind in enumerate(["drop", "keep", "drop", "drop"])
            ],
        )
        ddb.batch_write_item(
            RequestItems={
                "users": [
                    {"PutRequest": {"Item": {"pk": {"S": pk}, "status": {"S": status}}}}
                    for pk, status in [
                        ("a", "inactive"),
                        ("b", "active"),
                        ("c", "inactive"),
                        ("e", "inactive"),
                    ]
                ]
            }
        )
        ddb.update_item(  # a MODIFY of an active item: dropped by eventName
            TableName="users",
            Key={"pk": {"S": "b"}},
            UpdateExpression="SET n = :n",
            ExpressionAttributeValues={":n": {"N": "1"}},
        )
        wait_for(lambda es: len(es) >= 1, kin_out)
        wait_for(lambda es: len(es) >= 1, ddb_out)
        time.sleep(0.5)  # the pollers settle the batch and read on (nothing asserted on time)
        lam.update_event_source_mapping(
            UUID=kin_uuid,
            FilterCriteria={"Filters": [{"Pattern": json.dumps({"data": {"kind": ["keep", "drop"]}})}]},
        )
        inactive = {"dynamodb": {"NewImage": {"status": {"S": ["inactive"]}}}}
        lam.update_event_source_mapping(
            UUID=ddb_uuid, FilterCriteria={"Filters": [{"Pattern": json.dumps(inactive)}]}
        )
        wait_state(lam, kin_uuid)
        wait_state(lam, ddb_uuid)
        time.sleep(0.5)  # room for a wrong redelivery under the new filters
        s.stop()
        s.start()
        kin, ddb, lam = s.client("kinesis"), s.client("dynamodb"), s.client("lambda")
        kin.put_record(
            StreamName="events", Data=json.dumps({"kind": "drop", "n": 4}).encode(), PartitionKey="k"
        )
        ddb.put_item(TableName="users", Item={"pk": {"S": "d"}, "status": {"S": "inactive"}})
        wait_for(lambda es: len(records_of(kin_out)) >= 2, kin_out)
        wait_for(lambda es: len(records_of(ddb_out)) >= 2, ddb_out)
        time.sleep(0.5)  # room for a wrong redelivery after the restart
        assert [d["n"] for d in kinesis_datas(kin_out)] == [1, 4]
        ddb_records = records_of(ddb_out)
        assert [(r["eventName"], r["dynamodb"]["Keys"]["pk"]["S"]) for r in ddb_records] == [
            ("INSERT", "b"),
            ("INSERT", "d"),
        ]
        assert ddb_records[0]["dynamodb"]["NewImage"]["status"] == {"S": "active"}
    finally:
        s.stop()


# --- POST /_tidestream/reset ----------------------------------------------------------------------


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_reset_stops_pollers_kills_functions_and_clears_the_dead_letter_log(tmp_path):
    """A reset with a function mid-invocation and a dead-letter line on file: the function
    process is killed, the log is emptied, the old mappings never invoke again, and a new
    function, stream and mapping of the same names work from scratch."""
    s = start_server(tmp_path, "--lambda-poll-interval", "0.05")
    try:
        kin, lam = s.client("kinesis"), s.client("lambda")
        arn = make_stream(kin)
        slow_out, failed_out = tmp_path / "slow.jsonl", tmp_path / "failed.jsonl"
        deploy(lam, slow_out, "slow", "fn", Timeout=120)
        deploy(lam, failed_out, "reject", "rejecting")
        lam.create_event_source_mapping(
            FunctionName="fn", EventSourceArn=arn, StartingPosition="TRIM_HORIZON"
        )
        failing = lam.create_event_source_mapping(
            FunctionName="rejecting",
            EventSourceArn=arn,
            StartingPosition="TRIM_HORIZON",
            MaximumRetryAttempts=0,
            DestinationConfig={"OnFailure": {"Destination": DLQ}},
        )["UUID"]
        kin.put_record(StreamName="events", Data=b"old", PartitionKey="k")
        pid = wait_for(lambda es: len(es) >= 1, slow_out)[0]["pid"]
        deadline = time.time() + 20
        while not dead_letters(s, failing) and time.time() < deadline:
            time.sleep(0.05)
        assert dead_letters(s, failing), "the rejecting mapping never discarded its batch"

        s.reset()

        assert not (s.data_dir / "lambda" / "dead-letters.jsonl").exists()
        deadline = time.time() + 10
        while not _gone(pid) and time.time() < deadline:
            time.sleep(0.05)
        assert _gone(pid), "the function process outlived the reset"
        assert lam.list_event_source_mappings()["EventSourceMappings"] == []
        assert lam.list_functions()["Functions"] == []
        # the same names again: a fresh start, the old pollers gone
        arn = make_stream(kin)
        fresh_out = tmp_path / "fresh.jsonl"
        deploy(lam, fresh_out, "record", "fn")
        uuid = lam.create_event_source_mapping(
            FunctionName="fn", EventSourceArn=arn, StartingPosition="TRIM_HORIZON"
        )["UUID"]
        kin.put_record(StreamName="events", Data=b"new", PartitionKey="k")
        wait_for(lambda es: len(es) >= 1, fresh_out)
        time.sleep(0.5)  # room for a stale poller to show up
        assert [base64.b64decode(r["kinesis"]["data"]) for r in records_of(fresh_out)] == [b"new"]
        assert len(entries(slow_out)) == 1  # the old mapping did not invoke the new "fn"
        assert lam.get_event_source_mapping(UUID=uuid)["LastProcessingResult"] == "OK"
        assert s.stop() == 0, s.read_log()
    finally:
        s.stop()
