"""On-demand backups through boto3: create, describe, list, delete, restore (with indexes),
restores surviving a restart, and AWS's errors."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.conftest import make_table, start_server


def _err(exc: pytest.ExceptionInfo) -> tuple[str, str]:
    e = exc.value.response["Error"]
    return e["Code"], e["Message"]


def _indexed_table(ddb, name: str) -> None:
    make_table(
        ddb,
        name,
        range_key="sk",
        extra_attributes=[("g", "S"), ("l", "N")],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "byg",
                "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        LocalSecondaryIndexes=[
            {
                "IndexName": "byl",
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "l", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
    )
    for i in range(30):
        item = {"pk": {"S": f"p{i % 3}"}, "sk": {"S": f"s{i:02d}"}, "l": {"N": str(i)}}
        if i % 2 == 0:
            item["g"] = {"S": "even"}
        ddb.put_item(TableName=name, Item=item)


def test_backup_lifecycle_and_restore_with_indexes(ddb):
    _indexed_table(ddb, "orders")
    details = ddb.create_backup(TableName="orders", BackupName="nightly")["BackupDetails"]
    arn = details["BackupArn"]
    assert details["BackupStatus"] == "CREATING" and details["BackupType"] == "USER"  # as AWS answers
    assert arn.startswith("arn:aws:dynamodb:us-east-1:") and ":table/orders/backup/" in arn
    # later writes are not in the backup
    ddb.put_item(TableName="orders", Item={"pk": {"S": "late"}, "sk": {"S": "x"}})
    ddb.delete_item(TableName="orders", Key={"pk": {"S": "p0"}, "sk": {"S": "s00"}})

    desc = ddb.describe_backup(BackupArn=arn)["BackupDescription"]
    assert desc["BackupDetails"]["BackupStatus"] == "AVAILABLE"
    assert desc["SourceTableDetails"]["TableName"] == "orders"
    assert desc["SourceTableDetails"]["ItemCount"] == 30
    assert [i["IndexName"] for i in desc["SourceTableFeatureDetails"]["GlobalSecondaryIndexes"]] == ["byg"]
    assert [i["IndexName"] for i in desc["SourceTableFeatureDetails"]["LocalSecondaryIndexes"]] == ["byl"]
    listed = ddb.list_backups(TableName="orders")["BackupSummaries"]
    assert [b["BackupArn"] for b in listed] == [arn]

    td = ddb.restore_table_from_backup(TargetTableName="orders2", BackupArn=arn)["TableDescription"]
    assert td["TableName"] == "orders2" and td["RestoreSummary"]["SourceBackupArn"] == arn
    t = ddb.describe_table(TableName="orders2")["Table"]
    assert t["ItemCount"] == 30 and t["RestoreSummary"]["RestoreInProgress"] is False
    assert t["TableId"] != ddb.describe_table(TableName="orders")["Table"]["TableId"]
    assert ddb.scan(TableName="orders2", Select="COUNT")["Count"] == 30
    assert "Item" in ddb.get_item(TableName="orders2", Key={"pk": {"S": "p0"}, "sk": {"S": "s00"}})
    assert "Item" not in ddb.get_item(TableName="orders2", Key={"pk": {"S": "late"}, "sk": {"S": "x"}})
    by_g = ddb.query(
        TableName="orders2",
        IndexName="byg",
        KeyConditionExpression="g = :g",
        ExpressionAttributeValues={":g": {"S": "even"}},
    )
    assert by_g["Count"] == 15
    by_l = ddb.query(
        TableName="orders2",
        IndexName="byl",
        KeyConditionExpression="pk = :p AND l > :n",
        ExpressionAttributeValues={":p": {"S": "p1"}, ":n": {"N": "20"}},
    )
    assert sorted(int(i["l"]["N"]) for i in by_l["Items"]) == [22, 25, 28]
    gsi = t["GlobalSecondaryIndexes"][0]
    assert gsi["ItemCount"] == 15

    gone = ddb.delete_backup(BackupArn=arn)["BackupDescription"]
    assert gone["BackupDetails"]["BackupStatus"] == "DELETED"
    assert ddb.list_backups()["BackupSummaries"] == []
    with pytest.raises(ClientError) as e:
        ddb.describe_backup(BackupArn=arn)
    assert _err(e) == ("BackupNotFoundException", f"Backup not found: {arn}")


def test_restore_overrides_billing_and_drops_indexes(ddb):
    _indexed_table(ddb, "src")
    arn = ddb.create_backup(TableName="src", BackupName="bak")["BackupDetails"]["BackupArn"]
    ddb.restore_table_from_backup(
        TargetTableName="dst",
        BackupArn=arn,
        BillingModeOverride="PROVISIONED",
        ProvisionedThroughputOverride={"ReadCapacityUnits": 7, "WriteCapacityUnits": 3},
        GlobalSecondaryIndexOverride=[],
        SSESpecificationOverride={"Enabled": True, "SSEType": "KMS"},
    )
    t = ddb.describe_table(TableName="dst")["Table"]
    assert t["ProvisionedThroughput"]["ReadCapacityUnits"] == 7
    assert "GlobalSecondaryIndexes" not in t and t["SSEDescription"]["Status"] == "ENABLED"
    assert [i["IndexName"] for i in t["LocalSecondaryIndexes"]] == ["byl"]
    assert t["ItemCount"] == 30


def test_backup_errors(ddb):
    make_table(ddb, "tt1")
    with pytest.raises(ClientError) as e:
        ddb.create_backup(TableName="missing", BackupName="bak")
    assert _err(e) == ("TableNotFoundException", "Table not found: missing")
    arn = ddb.create_backup(TableName="tt1", BackupName="bak")["BackupDetails"]["BackupArn"]
    with pytest.raises(ClientError) as e:
        ddb.restore_table_from_backup(TargetTableName="tt1", BackupArn=arn)
    assert _err(e) == ("TableAlreadyExistsException", "Table already exists: tt1")
    bogus = arn[:-8] + "00000000"
    for call in (
        lambda: ddb.delete_backup(BackupArn=bogus),
        lambda: ddb.restore_table_from_backup(TargetTableName="tt9", BackupArn=bogus),
    ):
        with pytest.raises(ClientError) as e:
            call()
        assert _err(e) == ("BackupNotFoundException", f"Backup not found: {bogus}")
    assert "tt9" not in ddb.list_tables()["TableNames"]


def test_backups_are_per_account(srv):
    mine = srv.client("dynamodb", access_key="111111111111")
    theirs = srv.client("dynamodb", access_key="222222222222")
    make_table(mine, "acct")
    arn = mine.create_backup(TableName="acct", BackupName="bak")["BackupDetails"]["BackupArn"]
    assert theirs.list_backups()["BackupSummaries"] == []
    with pytest.raises(ClientError) as e:
        theirs.describe_backup(BackupArn=arn)
    assert _err(e)[0] == "BackupNotFoundException"


def test_list_backups_filters_and_pages(ddb):
    make_table(ddb, "aaa")
    make_table(ddb, "bbb")
    arns = [
        ddb.create_backup(TableName=t, BackupName=f"{t}{i}")["BackupDetails"]["BackupArn"]
        for i in range(2)
        for t in ("aaa", "bbb")
    ]
    assert [b["BackupArn"] for b in ddb.list_backups(TableName="aaa")["BackupSummaries"]] == [
        arns[0],
        arns[2],
    ]
    page = ddb.list_backups(Limit=3)
    assert len(page["BackupSummaries"]) == 3 and page["LastEvaluatedBackupArn"] == arns[2]
    rest = ddb.list_backups(ExclusiveStartBackupArn=page["LastEvaluatedBackupArn"])
    assert [b["BackupArn"] for b in rest["BackupSummaries"]] == [arns[3]]
    assert ddb.list_backups(BackupType="SYSTEM")["BackupSummaries"] == []


def test_backup_and_restored_table_survive_restart(tmp_path):
    s = start_server(tmp_path)
    try:
        ddb = s.client()
        _indexed_table(ddb, "keep")
        arn = ddb.create_backup(TableName="keep", BackupName="bak")["BackupDetails"]["BackupArn"]
        ddb.restore_table_from_backup(TargetTableName="restored", BackupArn=arn)
        assert s.stop() == 0
        s.start()
        ddb = s.client()
        assert (
            ddb.describe_backup(BackupArn=arn)["BackupDescription"]["BackupDetails"]["BackupStatus"]
            == "AVAILABLE"
        )
        t = ddb.describe_table(TableName="restored")["Table"]
        assert t["ItemCount"] == 30 and t["RestoreSummary"]["SourceBackupArn"] == arn
        ddb.delete_table(TableName="keep")  # a backup outlives its table
        ddb.restore_table_from_backup(TargetTableName="again", BackupArn=arn)
        assert ddb.scan(TableName="again", Select="COUNT")["Count"] == 30
    finally:
        s.stop()


def test_restore_with_a_bad_override_creates_nothing(ddb):
    make_table(ddb, "ppr")
    arn = ddb.create_backup(TableName="ppr", BackupName="bak")["BackupDetails"]["BackupArn"]
    with pytest.raises(ClientError) as e:
        ddb.restore_table_from_backup(
            TargetTableName="prov", BackupArn=arn, BillingModeOverride="PROVISIONED"
        )
    assert _err(e) == (
        "ValidationException",
        "One or more parameter values were invalid: ReadCapacityUnits "
        "and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED",
    )
    assert ddb.list_tables()["TableNames"] == ["ppr"]
