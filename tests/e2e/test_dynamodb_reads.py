"""Query and Scan through boto3: key conditions, order, paging, filters, indexes, segments."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.conftest import make_table


def _fill(ddb, n=20):
    make_table(ddb, range_key="sk", range_type="N")
    for i in range(n):
        ddb.put_item(
            TableName="tbl", Item={"pk": {"S": "p"}, "sk": {"N": str(i)}, "odd": {"BOOL": bool(i % 2)}}
        )
    ddb.put_item(TableName="tbl", Item={"pk": {"S": "other"}, "sk": {"N": "1"}})


def test_query_sort_conditions_and_order(ddb):
    _fill(ddb)
    q = lambda expr, **kw: ddb.query(  # noqa: E731
        TableName="tbl",
        KeyConditionExpression=expr,
        ExpressionAttributeValues={":p": {"S": "p"}, **kw.pop("vals", {})},
        **kw,
    )
    r = q("pk = :p")
    assert [int(i["sk"]["N"]) for i in r["Items"]] == list(range(20))
    r = q("pk = :p AND sk BETWEEN :a AND :b", vals={":a": {"N": "3"}, ":b": {"N": "6"}})
    assert [int(i["sk"]["N"]) for i in r["Items"]] == [3, 4, 5, 6]
    r = q("pk = :p AND sk > :a", vals={":a": {"N": "17"}}, ScanIndexForward=False)
    assert [int(i["sk"]["N"]) for i in r["Items"]] == [19, 18]
    r = q("pk = :p AND sk <= :a", vals={":a": {"N": "1"}})
    assert [int(i["sk"]["N"]) for i in r["Items"]] == [0, 1]


def test_query_paging_with_limit_and_filter(ddb):
    _fill(ddb)
    seen = []
    kw = {}
    while True:
        r = ddb.query(
            TableName="tbl",
            KeyConditionExpression="pk = :p",
            FilterExpression="odd = :t",
            ExpressionAttributeValues={":p": {"S": "p"}, ":t": {"BOOL": True}},
            Limit=6,
            **kw,
        )
        assert r["ScannedCount"] <= 6
        seen += [int(i["sk"]["N"]) for i in r["Items"]]
        if "LastEvaluatedKey" not in r:
            break
        kw["ExclusiveStartKey"] = r["LastEvaluatedKey"]
    assert seen == list(range(1, 20, 2))


def test_query_count_select(ddb):
    _fill(ddb)
    r = ddb.query(
        TableName="tbl",
        KeyConditionExpression="pk = :p",
        Select="COUNT",
        ExpressionAttributeValues={":p": {"S": "p"}},
    )
    assert r["Count"] == 20 and "Items" not in r


def test_query_begins_with_strings(ddb):
    make_table(ddb, range_key="sk")
    for sk in ["a", "ab", "abc", "b", "a\x00z"]:
        ddb.put_item(TableName="tbl", Item={"pk": {"S": "p"}, "sk": {"S": sk}})
    r = ddb.query(
        TableName="tbl",
        KeyConditionExpression="pk = :p AND begins_with(sk, :a)",
        ExpressionAttributeValues={":p": {"S": "p"}, ":a": {"S": "a"}},
    )
    assert [i["sk"]["S"] for i in r["Items"]] == ["a", "a\x00z", "ab", "abc"]


def test_query_missing_key_condition(ddb):
    _fill(ddb, 1)
    with pytest.raises(ClientError) as e:
        ddb.query(
            TableName="tbl", KeyConditionExpression="sk = :a", ExpressionAttributeValues={":a": {"N": "1"}}
        )
    assert e.value.response["Error"]["Code"] == "ValidationException"


def test_scan_segments_cover_table(ddb):
    make_table(ddb)
    for i in range(100):
        ddb.put_item(TableName="tbl", Item={"pk": {"S": f"k{i}"}})
    seen = []
    for seg in range(4):
        r = ddb.scan(TableName="tbl", Segment=seg, TotalSegments=4)
        seen += [i["pk"]["S"] for i in r["Items"]]
    assert sorted(seen) == sorted(f"k{i}" for i in range(100))
    assert ddb.scan(TableName="tbl", Select="COUNT")["Count"] == 100


def test_scan_one_megabyte_pages(ddb):
    make_table(ddb)
    for i in range(30):
        ddb.put_item(TableName="tbl", Item={"pk": {"S": f"k{i:02d}"}, "blob": {"S": "x" * 100_000}})
    r = ddb.scan(TableName="tbl")
    assert r["Count"] < 30 and "LastEvaluatedKey" in r
    total = r["Count"]
    while "LastEvaluatedKey" in r:
        r = ddb.scan(TableName="tbl", ExclusiveStartKey=r["LastEvaluatedKey"])
        total += r["Count"]
    assert total == 30


def test_gsi_and_lsi_queries(ddb):
    ddb.create_table(
        TableName="idx",
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "g", "AttributeType": "S"},
            {"AttributeName": "n", "AttributeType": "N"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "gsi",
                "KeySchema": [
                    {"AttributeName": "g", "KeyType": "HASH"},
                    {"AttributeName": "n", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
        LocalSecondaryIndexes=[
            {
                "IndexName": "lsi",
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "n", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    for i in range(6):
        item = {"pk": {"S": "p"}, "sk": {"S": f"s{i}"}, "n": {"N": str(10 - i)}, "payload": {"S": "x"}}
        if i % 2 == 0:
            item["g"] = {"S": "even"}
        ddb.put_item(TableName="idx", Item=item)
    r = ddb.query(
        TableName="idx",
        IndexName="gsi",
        KeyConditionExpression="g = :g",
        ExpressionAttributeValues={":g": {"S": "even"}},
    )
    assert [i["n"]["N"] for i in r["Items"]] == ["6", "8", "10"]
    assert set(r["Items"][0]) == {"pk", "sk", "g", "n"}
    r = ddb.query(
        TableName="idx",
        IndexName="lsi",
        KeyConditionExpression="pk = :p AND n < :x",
        ExpressionAttributeValues={":p": {"S": "p"}, ":x": {"N": "7"}},
    )
    assert [i["sk"]["S"] for i in r["Items"]] == ["s5", "s4"]
    # moving an item out of the sparse GSI removes its entry
    ddb.update_item(TableName="idx", Key={"pk": {"S": "p"}, "sk": {"S": "s0"}}, UpdateExpression="REMOVE g")
    r = ddb.query(
        TableName="idx",
        IndexName="gsi",
        KeyConditionExpression="g = :g",
        ExpressionAttributeValues={":g": {"S": "even"}},
    )
    assert r["Count"] == 2
    with pytest.raises(ClientError) as e:
        ddb.query(
            TableName="idx",
            IndexName="nope",
            KeyConditionExpression="g = :g",
            ExpressionAttributeValues={":g": {"S": "even"}},
        )
    assert e.value.response["Error"]["Message"] == "The table does not have the specified index: nope"
