"""Control plane through boto3: create/describe/list/update/delete, indexes, tags, TTL, PITR."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.conftest import make_table


def _err(exc: pytest.ExceptionInfo) -> tuple[str, str]:
    e = exc.value.response["Error"]
    return e["Code"], e["Message"]


def test_create_describe_delete(ddb):
    d = ddb.create_table(
        TableName="tt1",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
    )
    td = d["TableDescription"]
    assert td["TableStatus"] == "CREATING"
    assert td["ProvisionedThroughput"] == {
        "NumberOfDecreasesToday": 0,
        "ReadCapacityUnits": 5,
        "WriteCapacityUnits": 5,
    }
    t = ddb.describe_table(TableName="tt1")["Table"]
    assert t["TableStatus"] == "ACTIVE"
    assert t["ItemCount"] == 0 and t["TableSizeBytes"] == 0
    assert t["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert len(t["TableId"]) == 36
    assert ddb.list_tables()["TableNames"] == ["tt1"]
    with pytest.raises(ClientError) as e:
        ddb.create_table(
            TableName="tt1",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    assert _err(e) == ("ResourceInUseException", "Table already exists: tt1")
    assert ddb.delete_table(TableName="tt1")["TableDescription"]["TableStatus"] == "DELETING"
    with pytest.raises(ClientError) as e:
        ddb.delete_table(TableName="tt1")
    assert _err(e) == ("ResourceNotFoundException", "Requested resource not found: Table: tt1 not found")


def test_list_tables_paginates(ddb):
    for i in range(5):
        make_table(ddb, f"pp{i}")
    page = ddb.list_tables(Limit=2)
    assert page["TableNames"] == ["pp0", "pp1"] and page["LastEvaluatedTableName"] == "pp1"
    page = ddb.list_tables(Limit=2, ExclusiveStartTableName="pp3")
    assert page["TableNames"] == ["pp4"] and "LastEvaluatedTableName" not in page
    names = [
        n
        for p in ddb.get_paginator("list_tables").paginate(PaginationConfig={"PageSize": 2})
        for n in p["TableNames"]
    ]
    assert names == [f"pp{i}" for i in range(5)]


def test_create_table_semantic_errors(ddb):
    with pytest.raises(ClientError) as e:
        ddb.create_table(
            TableName="bad",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        )
    assert _err(e) == (
        "ValidationException",
        "One or more parameter values were invalid: ReadCapacityUnits "
        "and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED",
    )
    with pytest.raises(ClientError) as e:
        ddb.create_table(
            TableName="bad",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "x", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    assert _err(e)[1].startswith(
        "One or more parameter values were invalid: Some index key attributes "
        "are not defined in AttributeDefinitions"
    )
    with pytest.raises(ClientError) as e:
        ddb.create_table(
            TableName="bad",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[
                {"AttributeName": "id", "AttributeType": "S"},
                {"AttributeName": "extra", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
    assert "Number of attributes in KeySchema does not exactly match" in _err(e)[1]
    assert ddb.list_tables()["TableNames"] == []


def test_indexes_described(ddb):
    ddb.create_table(
        TableName="idx",
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "g", "l")],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "gsi",
                "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
        LocalSecondaryIndexes=[
            {
                "IndexName": "lsi",
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "l", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    t = ddb.describe_table(TableName="idx")["Table"]
    g = t["GlobalSecondaryIndexes"][0]
    assert g["IndexName"] == "gsi" and g["IndexStatus"] == "ACTIVE"
    assert g["IndexArn"] == t["TableArn"] + "/index/gsi"
    assert t["LocalSecondaryIndexes"][0]["Projection"] == {"ProjectionType": "ALL"}


def test_update_table_adds_gsi_with_backfill(ddb):
    make_table(ddb, "uuu", "pk")
    for i in range(10):
        ddb.put_item(TableName="uuu", Item={"pk": {"S": f"k{i}"}, "color": {"S": "red" if i % 2 else "blue"}})
    ddb.update_table(
        TableName="uuu",
        AttributeDefinitions=[{"AttributeName": "color", "AttributeType": "S"}],
        GlobalSecondaryIndexUpdates=[
            {
                "Create": {
                    "IndexName": "by_color",
                    "KeySchema": [{"AttributeName": "color", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"},
                }
            }
        ],
    )
    r = ddb.query(
        TableName="uuu",
        IndexName="by_color",
        KeyConditionExpression="color = :c",
        ExpressionAttributeValues={":c": {"S": "red"}},
    )
    assert r["Count"] == 5
    ddb.update_table(TableName="uuu", GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "by_color"}}])
    assert "GlobalSecondaryIndexes" not in ddb.describe_table(TableName="uuu")["Table"]


def test_update_throughput_and_billing(ddb):
    ddb.create_table(
        TableName="bbb",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
    )
    t = ddb.update_table(
        TableName="bbb", ProvisionedThroughput={"ReadCapacityUnits": 10, "WriteCapacityUnits": 5}
    )
    assert t["TableDescription"]["ProvisionedThroughput"]["ReadCapacityUnits"] == 10
    t = ddb.update_table(TableName="bbb", BillingMode="PAY_PER_REQUEST")["TableDescription"]
    assert t["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"


def test_tags(ddb):
    make_table(ddb, "tagged", Tags=[{"Key": "a", "Value": "1"}])
    arn = ddb.describe_table(TableName="tagged")["Table"]["TableArn"]
    ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "b", "Value": "2"}])
    tags = {t["Key"]: t["Value"] for t in ddb.list_tags_of_resource(ResourceArn=arn)["Tags"]}
    assert tags == {"a": "1", "b": "2"}
    ddb.untag_resource(ResourceArn=arn, TagKeys=["a"])
    assert ddb.list_tags_of_resource(ResourceArn=arn)["Tags"] == [{"Key": "b", "Value": "2"}]


def test_ttl_settings_and_expiry(ddb):
    import time

    make_table(ddb, "ttl")
    assert ddb.describe_time_to_live(TableName="ttl")["TimeToLiveDescription"] == {
        "TimeToLiveStatus": "DISABLED"
    }
    ddb.update_time_to_live(
        TableName="ttl", TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"}
    )
    d = ddb.describe_time_to_live(TableName="ttl")["TimeToLiveDescription"]
    assert d == {"TimeToLiveStatus": "ENABLED", "AttributeName": "exp"}
    now = int(time.time())
    ddb.put_item(TableName="ttl", Item={"pk": {"S": "old"}, "exp": {"N": str(now - 10)}})
    ddb.put_item(TableName="ttl", Item={"pk": {"S": "new"}, "exp": {"N": str(now + 3600)}})
    ddb.put_item(TableName="ttl", Item={"pk": {"S": "str"}, "exp": {"S": "not a number"}})
    deadline = time.time() + 10
    while time.time() < deadline and "Item" in ddb.get_item(TableName="ttl", Key={"pk": {"S": "old"}}):
        time.sleep(0.1)
    assert "Item" not in ddb.get_item(TableName="ttl", Key={"pk": {"S": "old"}})
    assert "Item" in ddb.get_item(TableName="ttl", Key={"pk": {"S": "new"}})
    assert "Item" in ddb.get_item(TableName="ttl", Key={"pk": {"S": "str"}})


def test_continuous_backups(ddb):
    make_table(ddb, "pitr")
    d = ddb.describe_continuous_backups(TableName="pitr")["ContinuousBackupsDescription"]
    assert d["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "DISABLED"
    d = ddb.update_continuous_backups(
        TableName="pitr", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )["ContinuousBackupsDescription"]
    assert d["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    with pytest.raises(ClientError) as e:
        ddb.describe_continuous_backups(TableName="nope")
    assert _err(e)[0] == "TableNotFoundException"


def test_describe_endpoints_and_limits(ddb):
    assert ddb.describe_endpoints()["Endpoints"][0]["CachePeriodInMinutes"] == 1440
    assert ddb.describe_limits()["TableMaxReadCapacityUnits"] == 40000


def test_model_validation_message(srv):
    raw = srv.client("dynamodb", parameter_validation=False)
    with pytest.raises(ClientError) as e:
        raw.describe_table(TableName="x")
    assert _err(e) == (
        "ValidationException",
        "1 validation error detected: Value 'x' at 'tableName' failed "
        "to satisfy constraint: Member must have length greater than or equal to 3",
    )


def test_update_table_refused_halfway_changes_nothing(ddb, srv):
    """Checks and effects are separate: a refusal after a valid first part (the billing mode)
    leaves the table as it was, also after a restart-free later write of the catalog."""
    make_table(
        ddb,
        "half",
        extra_attributes=[("g", "S")],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "byg",
                "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
    )
    with pytest.raises(ClientError) as e:
        ddb.update_table(TableName="half", BillingMode="PROVISIONED")  # no ProvisionedThroughput
    assert _err(e)[0] == "ValidationException"
    with pytest.raises(ClientError) as e:  # a valid GSI delete, then an unknown index to update
        ddb.update_table(
            TableName="half",
            GlobalSecondaryIndexUpdates=[
                {"Delete": {"IndexName": "byg"}},
                {
                    "Update": {
                        "IndexName": "nope",
                        "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1},
                    }
                },
            ],
        )
    assert _err(e)[0] == "ResourceNotFoundException"
    ddb.update_table(TableName="half", DeletionProtectionEnabled=False)  # persists the catalog entry
    t = ddb.describe_table(TableName="half")["Table"]
    assert t["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert [ix["IndexName"] for ix in t["GlobalSecondaryIndexes"]] == ["byg"]
    ddb.put_item(TableName="half", Item={"pk": {"S": "a"}, "g": {"S": "x"}})
    assert (
        ddb.query(
            TableName="half",
            IndexName="byg",
            KeyConditionExpression="g = :g",
            ExpressionAttributeValues={":g": {"S": "x"}},
        )["Count"]
        == 1
    )
