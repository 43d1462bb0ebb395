"""The AWS CLI, unmodified, against the server: DynamoDB, Kinesis and change capture."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time


def _aws(srv, *args: str) -> dict:
    exe = shutil.which("aws")
    assert exe, "the AWS CLI (`aws`) must be on PATH for this test (it comes with the machine image)"
    env = dict(
        os.environ,
        AWS_ACCESS_KEY_ID="cli",
        AWS_SECRET_ACCESS_KEY="cli",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_PAGER="",
        AWS_CONFIG_FILE="/dev/null",
        AWS_SHARED_CREDENTIALS_FILE="/dev/null",
    )
    out = subprocess.run(
        [exe, "--endpoint-url", srv.endpoint, "--output", "json", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout) if out.stdout.strip() else {}


def test_cli_dynamodb_kinesis_and_cdc(srv):
    t = _aws(
        srv,
        "dynamodb",
        "create-table",
        "--table-name",
        "cli-orders",
        "--billing-mode",
        "PAY_PER_REQUEST",
        "--attribute-definitions",
        "AttributeName=id,AttributeType=S",
        "--key-schema",
        "AttributeName=id,KeyType=HASH",
    )
    assert t["TableDescription"]["TableName"] == "cli-orders"
    _aws(srv, "dynamodb", "wait", "table-exists", "--table-name", "cli-orders")
    _aws(srv, "kinesis", "create-stream", "--stream-name", "cli-changes", "--shard-count", "1")
    _aws(srv, "kinesis", "wait", "stream-exists", "--stream-name", "cli-changes")
    arn = _aws(srv, "kinesis", "describe-stream-summary", "--stream-name", "cli-changes")[
        "StreamDescriptionSummary"
    ]["StreamARN"]
    r = _aws(
        srv,
        "dynamodb",
        "enable-kinesis-streaming-destination",
        "--table-name",
        "cli-orders",
        "--stream-arn",
        arn,
    )
    assert r["DestinationStatus"] == "ENABLING"
    _aws(
        srv,
        "dynamodb",
        "put-item",
        "--table-name",
        "cli-orders",
        "--item",
        '{"id": {"S": "o1"}, "total": {"N": "12.50"}}',
    )
    got = _aws(srv, "dynamodb", "get-item", "--table-name", "cli-orders", "--key", '{"id": {"S": "o1"}}')
    assert got["Item"] == {"id": {"S": "o1"}, "total": {"N": "12.5"}}
    q = _aws(
        srv,
        "dynamodb",
        "query",
        "--table-name",
        "cli-orders",
        "--key-condition-expression",
        "id = :i",
        "--expression-attribute-values",
        '{":i": {"S": "o1"}}',
    )
    assert q["Count"] == 1
    it = _aws(
        srv,
        "kinesis",
        "get-shard-iterator",
        "--stream-name",
        "cli-changes",
        "--shard-id",
        "shardId-000000000000",
        "--shard-iterator-type",
        "TRIM_HORIZON",
    )["ShardIterator"]
    deadline = time.time() + 10
    records: list = []
    while not records and time.time() < deadline:
        records = _aws(srv, "kinesis", "get-records", "--shard-iterator", it)["Records"]
    change = json.loads(base64.b64decode(records[0]["Data"]))
    assert change["eventName"] == "INSERT" and change["dynamodb"]["NewImage"]["total"] == {"N": "12.5"}
    put = _aws(
        srv,
        "kinesis",
        "put-record",
        "--stream-name",
        "cli-changes",
        "--partition-key",
        "k",
        "--data",
        base64.b64encode(b"hello").decode(),
    )
    assert put["ShardId"] == "shardId-000000000000" and put["SequenceNumber"].isdigit()
