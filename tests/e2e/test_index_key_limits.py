"""Index key size limits: a GSI/LSI key value over 2048 bytes (partition) or 1024 bytes (sort)
is refused on write with DynamoDB's message; a GSI backfill leaves such items out."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.conftest import make_table

PREFIX = "One or more parameter values were invalid: Size limit exceeded for Index Key "


def _err(exc: pytest.ExceptionInfo) -> tuple[str, str]:
    e = exc.value.response["Error"]
    return e["Code"], e["Message"]


def _gsi(name: str, hash_key: str, range_key: str | None = None) -> dict:
    ks = [{"AttributeName": hash_key, "KeyType": "HASH"}]
    if range_key:
        ks.append({"AttributeName": range_key, "KeyType": "RANGE"})
    return {"IndexName": name, "KeySchema": ks, "Projection": {"ProjectionType": "ALL"}}


def test_index_key_limits_on_write(ddb):
    make_table(
        ddb,
        "limits",
        range_key="sk",
        extra_attributes=[("gh", "S"), ("gr", "B"), ("lr", "S")],
        GlobalSecondaryIndexes=[_gsi("ggg", "gh", "gr"), _gsi("bypk", "sk", "pk")],
        LocalSecondaryIndexes=[
            {
                "IndexName": "lll",
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "lr", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
    )
    base = {"pk": {"S": "p"}, "sk": {"S": "s"}}
    ddb.put_item(
        TableName="limits",
        Item={**base, "gh": {"S": "h" * 2048}, "gr": {"B": b"r" * 1024}, "lr": {"S": "é" * 512}},
    )
    cases = [
        ({"gh": {"S": "h" * 2049}}, "gh Actual Size: 2049 bytes Max Size: 2048 bytes IndexName: ggg"),
        ({"gr": {"B": b"r" * 1025}}, "gr Actual Size: 1025 bytes Max Size: 1024 bytes IndexName: ggg"),
        ({"lr": {"S": "é" * 513}}, "lr Actual Size: 1026 bytes Max Size: 1024 bytes IndexName: lll"),
        # the table's partition key may hold 2048 bytes, but it is this index's sort key
        ({"pk": {"S": "p" * 1500}}, "pk Actual Size: 1500 bytes Max Size: 1024 bytes IndexName: bypk"),
    ]
    for extra, tail in cases:
        with pytest.raises(ClientError) as e:
            ddb.put_item(TableName="limits", Item={**base, **extra, "sk": {"S": "s2"}})
        assert _err(e) == ("ValidationException", PREFIX + tail)
    with pytest.raises(ClientError) as e:
        ddb.update_item(
            TableName="limits",
            Key=base,
            UpdateExpression="SET gh = :v",
            ExpressionAttributeValues={":v": {"S": "h" * 3000}},
        )
    assert _err(e) == (
        "ValidationException",
        PREFIX + "gh Actual Size: 3000 bytes Max Size: 2048 bytes IndexName: ggg",
    )
    assert ddb.scan(TableName="limits", Select="COUNT")["Count"] == 1  # nothing else written


def test_backfill_leaves_out_items_over_the_limits(ddb):
    make_table(ddb, "backfill")
    ddb.put_item(TableName="backfill", Item={"pk": {"S": "ok"}, "tag": {"S": "short"}})
    ddb.put_item(TableName="backfill", Item={"pk": {"S": "big"}, "tag": {"S": "t" * 2100}})
    ddb.update_table(
        TableName="backfill",
        AttributeDefinitions=[{"AttributeName": "tag", "AttributeType": "S"}],
        GlobalSecondaryIndexUpdates=[{"Create": {**_gsi("bytag", "tag")}}],
    )
    gsi = ddb.describe_table(TableName="backfill")["Table"]["GlobalSecondaryIndexes"][0]
    assert gsi["ItemCount"] == 1
    assert [i["pk"]["S"] for i in ddb.scan(TableName="backfill", IndexName="bytag")["Items"]] == ["ok"]
    # the item left out can still be deleted, and the index count stays right
    ddb.delete_item(TableName="backfill", Key={"pk": {"S": "big"}})
    ddb.delete_item(TableName="backfill", Key={"pk": {"S": "ok"}})
    gsi = ddb.describe_table(TableName="backfill")["Table"]["GlobalSecondaryIndexes"][0]
    assert gsi["ItemCount"] == 0
