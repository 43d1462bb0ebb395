"""Point-in-time recovery through boto3: RestoreTableToPointInTime rolls the table back through
the history kept since continuous backups were turned on, across restarts; AWS's errors."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from tests.conftest import make_table, start_server

#: timestamps travel with millisecond (or second) precision: keep moments well apart
GAP = 1.1


def _err(exc: pytest.ExceptionInfo) -> tuple[str, str]:
    e = exc.value.response["Error"]
    return e["Code"], e["Message"]


def _put(ddb, table: str, pk: str, v: str) -> None:
    ddb.put_item(TableName=table, Item={"pk": {"S": pk}, "v": {"S": v}, "g": {"S": "all"}})


def _contents(ddb, table: str) -> dict[str, str]:
    return {i["pk"]["S"]: i["v"]["S"] for i in ddb.scan(TableName=table)["Items"]}


def _history(ddb, table: str) -> datetime:
    """A table with changes before and after the returned moment."""
    make_table(
        ddb,
        table,
        extra_attributes=[("g", "S")],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "byg",
                "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    _put(ddb, table, "before", "x")  # written before PITR: part of the base, not of the history
    ddb.update_continuous_backups(
        TableName=table, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    _put(ddb, table, "a", "1")
    _put(ddb, table, "b", "1")
    _put(ddb, table, "b", "2")
    time.sleep(GAP)
    moment = datetime.now(UTC)
    time.sleep(GAP)
    ddb.delete_item(TableName=table, Key={"pk": {"S": "a"}})
    _put(ddb, table, "b", "3")
    _put(ddb, table, "c", "1")
    ddb.delete_item(TableName=table, Key={"pk": {"S": "before"}})
    return moment


def test_restore_to_point_in_time(ddb):
    moment = _history(ddb, "live")
    desc = ddb.describe_continuous_backups(TableName="live")["ContinuousBackupsDescription"]
    pitr = desc["PointInTimeRecoveryDescription"]
    assert pitr["PointInTimeRecoveryStatus"] == "ENABLED" and pitr["RecoveryPeriodInDays"] == 35
    assert pitr["EarliestRestorableDateTime"] < moment < pitr["LatestRestorableDateTime"]

    td = ddb.restore_table_to_point_in_time(
        SourceTableName="live", TargetTableName="then", RestoreDateTime=moment
    )["TableDescription"]
    assert td["RestoreSummary"]["SourceTableArn"].endswith(":table/live")
    assert _contents(ddb, "then") == {"before": "x", "a": "1", "b": "2"}
    t = ddb.describe_table(TableName="then")["Table"]
    assert t["ItemCount"] == 3 and t["GlobalSecondaryIndexes"][0]["ItemCount"] == 3
    q = ddb.query(
        TableName="then",
        IndexName="byg",
        KeyConditionExpression="g = :g",
        ExpressionAttributeValues={":g": {"S": "all"}},
    )
    assert sorted(i["pk"]["S"] for i in q["Items"]) == ["a", "b", "before"]
    # the restored table starts without PITR, like on AWS
    d = ddb.describe_continuous_backups(TableName="then")["ContinuousBackupsDescription"]
    assert d["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "DISABLED"

    ddb.restore_table_to_point_in_time(
        SourceTableName="live", TargetTableName="latest", UseLatestRestorableTime=True
    )
    assert _contents(ddb, "latest") == {"b": "3", "c": "1"}
    assert _contents(ddb, "live") == {"b": "3", "c": "1"}  # the source is untouched


def test_pitr_errors(ddb):
    make_table(ddb, "plain")
    with pytest.raises(ClientError) as e:
        ddb.restore_table_to_point_in_time(
            SourceTableName="plain", TargetTableName="x1x", UseLatestRestorableTime=True
        )
    assert _err(e) == (
        "PointInTimeRecoveryUnavailableException",
        "Point in time recovery is not enabled for table 'plain'",
    )
    with pytest.raises(ClientError) as e:
        ddb.restore_table_to_point_in_time(
            SourceTableName="nope", TargetTableName="x1x", UseLatestRestorableTime=True
        )
    assert _err(e) == ("TableNotFoundException", "Table not found: nope")
    ddb.update_continuous_backups(
        TableName="plain", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    with pytest.raises(ClientError) as e:
        ddb.restore_table_to_point_in_time(
            SourceTableName="plain",
            TargetTableName="x1x",
            RestoreDateTime=datetime.now(UTC) - timedelta(hours=1),
        )
    assert _err(e)[0] == "InvalidRestoreTimeException"
    with pytest.raises(ClientError) as e:
        ddb.restore_table_to_point_in_time(
            SourceTableName="plain", TargetTableName="plain", UseLatestRestorableTime=True
        )
    assert _err(e) == ("TableAlreadyExistsException", "Table already exists: plain")
    assert ddb.list_tables()["TableNames"] == ["plain"]


def test_disabling_pitr_forgets_history(ddb):
    moment = _history(ddb, "forget")
    ddb.update_continuous_backups(
        TableName="forget", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False}
    )
    ddb.update_continuous_backups(
        TableName="forget",
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True, "RecoveryPeriodInDays": 7},
    )
    d = ddb.describe_continuous_backups(TableName="forget")["ContinuousBackupsDescription"]
    assert d["PointInTimeRecoveryDescription"]["RecoveryPeriodInDays"] == 7
    with pytest.raises(ClientError) as e:  # the window now starts after the moment
        ddb.restore_table_to_point_in_time(
            SourceTableName="forget", TargetTableName="old", RestoreDateTime=moment
        )
    assert _err(e)[0] == "InvalidRestoreTimeException"


def test_history_survives_restart(tmp_path):
    s = start_server(tmp_path)
    try:
        moment = _history(s.client(), "durable")
        assert s.stop() == 0
        s.start()
        ddb = s.client()
        ddb.restore_table_to_point_in_time(
            SourceTableName="durable", TargetTableName="back", RestoreDateTime=moment
        )
        assert _contents(ddb, "back") == {"before": "x", "a": "1", "b": "2"}
        assert s.stop() == 0
        s.start()
        assert _contents(s.client(), "back") == {"before": "x", "a": "1", "b": "2"}
    finally:
        s.stop()
