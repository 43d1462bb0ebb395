"""Data dirs written by older formats are migrated when opened: format 1
(tests/fixtures/datadir-format1.tar.gz, made by the release before format 2) keeps its backups'
items and Lambda its functions; format 2 (datadir-format2.tar.gz) keeps its Kinesis streams,
consumers and DynamoDB Streams records, now stored with named fields."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

from tests.conftest import start_server

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
FIXTURE = FIXTURES / "datadir-format1.tar.gz"


def _format(data: Path) -> int:
    return json.loads((data / "FORMAT").read_text())["format"]


def _keys(ddb, table: str) -> list[str]:
    return sorted(item["pk"]["S"] for item in ddb.scan(TableName=table)["Items"])


def test_format1_data_dir_is_migrated_and_keeps_backups_and_functions(tmp_path):
    with tarfile.open(FIXTURE) as tar:
        tar.extractall(tmp_path, filter="data")
    data = tmp_path / "data"
    assert _format(data) == 1
    for restart in range(2):  # the second start finds format 3 and has nothing to move
        s = start_server(tmp_path)
        try:
            ddb = s.client()
            [backup] = ddb.list_backups(TableName="tbl")["BackupSummaries"]
            assert backup["BackupName"] == "bak"
            ddb.restore_table_from_backup(TargetTableName=f"restored{restart}", BackupArn=backup["BackupArn"])
            assert _keys(ddb, f"restored{restart}") == ["a", "b"]
            assert _keys(ddb, "tbl") == ["a", "b", "c"]
            assert (
                s.client("lambda").get_function(FunctionName="fn")["Configuration"]["Handler"]
                == "app.handler"
            )
        finally:
            assert s.stop() == 0, s.read_log()
        assert _format(data) == 3
    log = s.read_log()
    assert log.count("migrated from format 1 to 3 (2 backup items moved") == 1, log


def _kinesis_as_written(s) -> None:
    """The stream, its split shards, encryption, policy, records and consumer of the fixture."""
    kin = s.client("kinesis")
    desc = kin.describe_stream(StreamName="ks")["StreamDescription"]
    assert desc["EncryptionType"] == "KMS" and desc["KeyId"] == "alias/aws/kinesis"
    shards = {sh["ShardId"]: sh for sh in desc["Shards"]}
    assert sorted(shards) == ["shardId-000000000000", "shardId-000000000001", "shardId-000000000002"]
    assert "EndingSequenceNumber" in shards["shardId-000000000000"]["SequenceNumberRange"]
    assert shards["shardId-000000000002"]["ParentShardId"] == "shardId-000000000000"
    assert shards["shardId-000000000002"]["HashKeyRange"]["StartingHashKey"] == str(2**127)
    assert "kinesis:GetRecords" in kin.get_resource_policy(ResourceARN=desc["StreamARN"])["Policy"]
    data = []
    for shard_id in ("shardId-000000000001", "shardId-000000000002"):
        it = kin.get_shard_iterator(StreamName="ks", ShardId=shard_id, ShardIteratorType="TRIM_HORIZON")
        data += [r["Data"] for r in kin.get_records(ShardIterator=it["ShardIterator"])["Records"]]
    assert sorted(data) == [b"record0", b"record1"]
    [consumer] = kin.list_stream_consumers(StreamARN=desc["StreamARN"])["Consumers"]
    assert consumer["ConsumerName"] == "cons" and consumer["ConsumerStatus"] == "ACTIVE"


def _dynamodb_stream_as_written(s) -> None:
    streams = s.client("dynamodbstreams")
    [listed] = streams.list_streams(TableName="tbl")["Streams"]
    shard = streams.describe_stream(StreamArn=listed["StreamArn"])["StreamDescription"]["Shards"][0]
    it = streams.get_shard_iterator(
        StreamArn=listed["StreamArn"], ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = streams.get_records(ShardIterator=it)["Records"]
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    assert all(r["dynamodb"]["Keys"] == {"pk": {"S": "a"}} for r in records)
    assert records[1]["dynamodb"]["OldImage"]["n"] == {"N": "1"}
    assert records[1]["dynamodb"]["NewImage"]["n"] == {"N": "2"}
    assert len({r["eventID"] for r in records}) == 3
    assert all(r["dynamodb"]["ApproximateCreationDateTime"].year >= 2026 for r in records)


def test_format2_data_dir_gets_named_fields_and_keeps_streams(tmp_path):
    with tarfile.open(FIXTURES / "datadir-format2.tar.gz") as tar:
        tar.extractall(tmp_path, filter="data")
    data = tmp_path / "data"
    assert _format(data) == 2
    for _ in range(2):  # the second start finds format 3 and has nothing to rename
        s = start_server(tmp_path)
        try:
            _kinesis_as_written(s)
            _dynamodb_stream_as_written(s)
        finally:
            assert s.stop() == 0, s.read_log()
        assert _format(data) == 3
    log = s.read_log()
    # one Kinesis stream, one consumer, three DynamoDB Streams records
    assert (
        log.count("migrated from format 2 to 3 (0 backup items moved out of Lambda's key range, 5 records")
        == 1
    ), log
