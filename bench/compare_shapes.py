"""Replay calls LocalStack recorded against AWS and list the fields whose presence differs.

Why: conformance suites validated against live AWS compare successful answers field by field
(snapshot tests with volatile values masked). This replays the recorded scenarios of
``../shared/reference/aws-recorded/*.snapshot.json`` (LocalStack's AWS recordings) against a
running server and compares the *set of field paths* of each answer with the recording, so that
a missing or extra field shows at once; values are not compared (ids, dates and ARNs vary).

Usage: python bench/compare_shapes.py http://127.0.0.1:PORT [SNAPSHOT_DIR]
(prints one line per difference; exit 1 if any)
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "shared" / "reference" / "aws-recorded"
PREFIX = {
    "dynamodb": "tests/aws/services/dynamodb/test_dynamodb.py::TestDynamoDB::",
    "kinesis": "tests/aws/services/kinesis/test_kinesis.py::TestKinesis::",
    "dynamodbstreams": "tests/aws/services/dynamodbstreams/test_dynamodb_streams.py::TestDynamoDBStreams::",
}


def field_paths(value: Any, path: str = "") -> set[str]:
    """Every field path of an answer; list elements merge under ``[]`` (items' own attribute
    names are data, so ``Item``/``Items``/``Keys``/images stop the walk)."""
    if isinstance(value, dict):
        out = {path} if path else set()
        for key, child in value.items():
            if key == "ResponseMetadata":
                continue
            sub = f"{path}.{key}"
            out |= (
                {sub}
                if key in ("Item", "Items", "Keys", "NewImage", "OldImage", "Policy")
                else field_paths(child, sub)
            )
        return out
    if isinstance(value, list):
        out = {path}
        for element in value:
            out |= field_paths(element, path + "[]")
        return out
    return {path}


def _clients(endpoint: str) -> dict[str, Any]:
    cfg = Config(retries={"max_attempts": 1})
    return {
        service: boto3.client(
            service,
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="AKIDSHAPES",
            aws_secret_access_key="x",
            config=cfg,
        )
        for service in ("dynamodb", "kinesis", "dynamodbstreams")
    }


def _table(ddb, name: str, **kw) -> dict:
    if "BillingMode" not in kw:
        kw["ProvisionedThroughput"] = {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
    return ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        **kw,
    )


def table_crud(c: dict, n: str) -> dict[str, Any]:
    ddb = c["dynamodb"]
    out = {"create-table": _table(ddb, n), "describe-table": ddb.describe_table(TableName=n)}
    out["delete-table"] = ddb.delete_table(TableName=n)
    return out


def warm(c: dict, n: str) -> dict[str, Any]:
    ddb = c["dynamodb"]
    created = _table(ddb, n, WarmThroughput={"ReadUnitsPerSecond": 1000, "WriteUnitsPerSecond": 1200})
    return {"create-table": created, "describe-table": ddb.describe_table(TableName=n)}


def gsi(billing: str) -> Callable[[dict, str], dict[str, Any]]:
    def run(c: dict, n: str) -> dict[str, Any]:
        ddb = c["dynamodb"]
        index: dict[str, Any] = {
            "IndexName": "TransactionRecordID",
            "KeySchema": [{"AttributeName": "TRID", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "ALL"},
        }
        kw: dict[str, Any] = {"BillingMode": billing}
        if billing == "PROVISIONED":
            kw["ProvisionedThroughput"] = {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
            index["ProvisionedThroughput"] = {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}
        created = ddb.create_table(
            TableName=n,
            KeySchema=[{"AttributeName": "TID", "KeyType": "HASH"}],
            AttributeDefinitions=[
                {"AttributeName": "TID", "AttributeType": "S"},
                {"AttributeName": "TRID", "AttributeType": "S"},
            ],
            GlobalSecondaryIndexes=[index],
            **kw,
        )
        return {"create-table-with-gsi": created, "describe-table": ddb.describe_table(TableName=n)}

    return run


def continuous_backups(c: dict, n: str) -> dict[str, Any]:
    ddb = c["dynamodb"]
    _table(ddb, n)
    spec = {"PointInTimeRecoveryEnabled": True}
    return {
        "update-continuous-backup": ddb.update_continuous_backups(
            TableName=n, PointInTimeRecoverySpecification=spec
        ),
        "describe-continuous-backup": ddb.describe_continuous_backups(TableName=n),
    }


def streaming_destination(c: dict, n: str) -> dict[str, Any]:
    ddb, kin = c["dynamodb"], c["kinesis"]
    _table(ddb, n)
    kin.create_stream(StreamName=n, ShardCount=1)
    arn = kin.describe_stream_summary(StreamName=n)["StreamDescriptionSummary"]["StreamARN"]
    out = {"enable": ddb.enable_kinesis_streaming_destination(TableName=n, StreamArn=arn)}
    time.sleep(0.5)
    out["describe"] = ddb.describe_kinesis_streaming_destination(TableName=n)
    out["update"] = ddb.update_kinesis_streaming_destination(
        TableName=n,
        StreamArn=arn,
        UpdateKinesisStreamingConfiguration={"ApproximateCreationDateTimePrecision": "MICROSECOND"},
    )
    time.sleep(0.5)
    out["disable"] = ddb.disable_kinesis_streaming_destination(TableName=n, StreamArn=arn)
    return out


def stream_view_type(c: dict, n: str) -> dict[str, Any]:
    ddb, streams = c["dynamodb"], c["dynamodbstreams"]
    spec = {"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"}
    out: dict[str, Any] = {"create-table": _table(ddb, n, StreamSpecification=spec)}
    arn = ddb.describe_table(TableName=n)["Table"]["LatestStreamArn"]
    ddb.put_item(TableName=n, Item={"id": {"S": "Fred"}})
    out["describe-stream"] = streams.describe_stream(StreamArn=arn)
    shard = out["describe-stream"]["StreamDescription"]["Shards"][0]["ShardId"]
    out["get-shard-iterator"] = streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )
    records = streams.get_records(ShardIterator=out["get-shard-iterator"]["ShardIterator"])
    out["get-records"] = {"Records": records["Records"]}
    return out


def contributor_insights(c: dict, n: str) -> dict[str, Any]:
    _table(c["dynamodb"], n)
    return {
        "describe-contributor-insights-disabled": c["dynamodb"].describe_contributor_insights(TableName=n)
    }


def stream_consumers(c: dict, n: str) -> dict[str, Any]:
    kin = c["kinesis"]
    kin.create_stream(StreamName=n, ShardCount=1)
    arn = kin.describe_stream_summary(StreamName=n)["StreamDescriptionSummary"]["StreamARN"]
    kin.register_stream_consumer(StreamARN=arn, ConsumerName="consumer")
    time.sleep(0.5)
    return {
        "One_consumer_by_list_stream": kin.list_stream_consumers(StreamARN=arn)["Consumers"],
        "One_consumer_by_describe_stream": kin.describe_stream_consumer(
            StreamARN=arn, ConsumerName="consumer"
        )["ConsumerDescription"],
    }


def v2_stream(c: dict, n: str) -> dict[str, Any]:
    spec = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    _table(c["dynamodb"], n, BillingMode="PAY_PER_REQUEST", StreamSpecification=spec)
    return {"global-table-v2": c["dynamodb"].describe_table(TableName=n)}


#: (service file, recorded test, scenario)
SCENARIOS: list[tuple[str, str, Callable[[dict, str], dict[str, Any]]]] = [
    ("dynamodb", "test_table_crud", table_crud),
    ("dynamodb", "test_table_warm_throughput", warm),
    ("dynamodb", "test_gsi_with_billing_mode[PROVISIONED]", gsi("PROVISIONED")),
    ("dynamodb", "test_gsi_with_billing_mode[PAY_PER_REQUEST]", gsi("PAY_PER_REQUEST")),
    ("dynamodb", "test_continuous_backup_update", continuous_backups),
    ("dynamodb", "test_kinesis_streaming_destination_crud", streaming_destination),
    ("dynamodb", "test_dynamodb_stream_stream_view_type", stream_view_type),
    ("dynamodb", "test_dynamodb_describe_contributor_insights", contributor_insights),
    ("kinesis", "test_stream_consumers", stream_consumers),
    ("dynamodbstreams", "test_table_v2_stream", v2_stream),
]


def compare(endpoint: str, snapshot_dir: Path) -> list[str]:
    clients = _clients(endpoint)
    differences: list[str] = []
    for service, test, scenario in SCENARIOS:
        recorded = json.loads((snapshot_dir / f"{service}.snapshot.json").read_text())
        expected = recorded[PREFIX[service] + test]["recorded-content"]
        try:
            ours = scenario(clients, "shape" + uuid.uuid4().hex[:8])
        except Exception as err:  # noqa: BLE001 - an operation refused is a difference too
            differences.append(f"{test}: {err}")
            continue
        for name, answer in ours.items():
            want, got = field_paths(expected[name]), field_paths(answer)
            for path in sorted(want - got):
                differences.append(f"{test} {name}: missing {path}")
            for path in sorted(got - want):
                differences.append(f"{test} {name}: extra {path}")
    return differences


def main() -> int:
    endpoint = sys.argv[1]
    snapshot_dir = Path(sys.argv[2]) if len(sys.argv) > 2 else DEFAULT_DIR
    differences = compare(endpoint, snapshot_dir)
    print("\n".join(differences) or "no differences")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
