"""Conformance: Query and Scan — key conditions, filters on key attributes, ExclusiveStartKey
validation, Limit/LastEvaluatedKey, ScanIndexForward, Select, index projections, multi-attribute
GSI queries, parallel scan segments."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

INV = "One or more parameter values were invalid: "
BAD = "The provided starting key is invalid"


def error(fn, **kw) -> tuple[str, str]:
    with pytest.raises(ClientError) as e:
        fn(**kw)
    return e.value.response["Error"]["Code"], e.value.response["Error"]["Message"]


@pytest.fixture
def tbl(ddb):
    ddb.create_table(
        TableName="reads",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": n, "AttributeType": t}
            for n, t in (("pk", "S"), ("sk", "N"), ("g", "S"), ("l", "S"))
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "gsi",
                "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["inc"]},
            }
        ],
        LocalSecondaryIndexes=[
            {
                "IndexName": "lsi",
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "l", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
    )
    for i in range(5):
        ddb.put_item(
            TableName="reads",
            Item={
                "pk": {"S": "p"},
                "sk": {"N": str(i)},
                "g": {"S": "g"},
                "l": {"S": f"l{4 - i}"},
                "inc": {"N": str(i)},
                "other": {"S": "o"},
            },
        )
    return "reads"


def q(ddb, **kw):
    return ddb.query(
        TableName="reads",
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "p"}, **kw.pop("values", {})},
        **kw,
    )


def test_filter_cannot_use_key_attributes(ddb, tbl):
    assert error(q, ddb=ddb, FilterExpression="sk > :z", values={":z": {"N": "0"}}) == (
        "ValidationException",
        "Filter Expression can only contain non-primary key attributes: Primary key attribute: sk",
    )
    assert error(q, ddb=ddb, FilterExpression="pk = :p") == (
        "ValidationException",
        "Filter Expression can only contain non-primary key attributes: Primary key attribute: pk",
    )
    assert error(
        q, ddb=ddb, FilterExpression="attribute_exists(#k)", ExpressionAttributeNames={"#k": "sk"}
    ) == (
        "ValidationException",
        "Filter Expression can only contain non-primary key attributes: Primary key attribute: sk",
    )
    assert error(
        ddb.query,
        TableName="reads",
        KeyConditions={"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "p"}]}},
        QueryFilter={"sk": {"ComparisonOperator": "GT", "AttributeValueList": [{"N": "1"}]}},
    ) == (
        "ValidationException",
        "QueryFilter can only contain non-primary key attributes: Primary key attribute: sk",
    )
    # on an index only that index's key attributes are refused
    r = ddb.query(
        TableName="reads",
        IndexName="gsi",
        KeyConditionExpression="g = :g",
        FilterExpression="sk > :z",
        ExpressionAttributeValues={":g": {"S": "g"}, ":z": {"N": "2"}},
    )
    assert r["Count"] == 2
    assert error(
        ddb.query,
        TableName="reads",
        IndexName="gsi",
        KeyConditionExpression="g = :g",
        FilterExpression="g = :g",
        ExpressionAttributeValues={":g": {"S": "g"}},
    )[1] == ("Filter Expression can only contain non-primary key attributes: Primary key attribute: g")
    # a Scan may filter on anything
    assert (
        ddb.scan(TableName="reads", FilterExpression="sk > :z", ExpressionAttributeValues={":z": {"N": "2"}})[
            "Count"
        ]
        == 2
    )


def test_limit_and_last_evaluated_key(ddb, tbl):
    r = q(ddb, Limit=5)
    assert r["Count"] == 5 and r["LastEvaluatedKey"] == {"pk": {"S": "p"}, "sk": {"N": "4"}}
    r = q(ddb, Limit=6)
    assert r["Count"] == 5 and "LastEvaluatedKey" not in r
    seen, start = [], None
    while True:
        kw = {"ExclusiveStartKey": start} if start else {}
        r = q(ddb, Limit=2, **kw)
        seen += [i["sk"]["N"] for i in r["Items"]]
        start = r.get("LastEvaluatedKey")
        if not start:
            break
    assert seen == ["0", "1", "2", "3", "4"]
    r = q(ddb, ScanIndexForward=False, Limit=2)
    assert [i["sk"]["N"] for i in r["Items"]] == ["4", "3"]
    r = q(ddb, ScanIndexForward=False, ExclusiveStartKey=r["LastEvaluatedKey"])
    assert [i["sk"]["N"] for i in r["Items"]] == ["2", "1", "0"]
    # Limit counts evaluated items, before the filter
    r = q(ddb, Limit=2, FilterExpression="inc > :z", values={":z": {"N": "0"}})
    assert r["Count"] == 1 and r["ScannedCount"] == 2 and "LastEvaluatedKey" in r
    r = q(ddb, Select="COUNT")
    assert r == {**r, "Count": 5, "ScannedCount": 5} and "Items" not in r
    s = ddb.scan(TableName="reads", Limit=5)
    assert s["Count"] == 5 and "LastEvaluatedKey" in s
    # index pages carry the table key and the index key
    r = ddb.query(
        TableName="reads",
        IndexName="lsi",
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "p"}},
        Limit=1,
    )
    assert r["LastEvaluatedKey"] == {"pk": {"S": "p"}, "sk": {"N": "4"}, "l": {"S": "l0"}}
    assert r["Items"] == [{"pk": {"S": "p"}, "sk": {"N": "4"}, "l": {"S": "l0"}}]


def test_exclusive_start_key_validation(ddb, tbl):
    assert error(q, ddb=ddb, ExclusiveStartKey={"pk": {"S": "p"}}) == ("ValidationException", BAD)
    assert error(q, ddb=ddb, ExclusiveStartKey={"pk": {"N": "1"}, "sk": {"N": "1"}}) == (
        "ValidationException",
        BAD,
    )
    assert error(q, ddb=ddb, ExclusiveStartKey={"pk": {"S": "other"}, "sk": {"N": "1"}}) == (
        "ValidationException",
        "The provided starting key is outside query boundaries based on provided conditions",
    )
    r = ddb.query(
        TableName="reads",
        KeyConditionExpression="pk = :p AND sk > :s",
        ExpressionAttributeValues={":p": {"S": "p"}, ":s": {"N": "2"}},
        ExclusiveStartKey={"pk": {"S": "p"}, "sk": {"N": "3"}},
    )
    assert [i["sk"]["N"] for i in r["Items"]] == ["4"]
    assert error(
        ddb.query,
        TableName="reads",
        KeyConditionExpression="pk = :p AND sk > :s",
        ExpressionAttributeValues={":p": {"S": "p"}, ":s": {"N": "2"}},
        ExclusiveStartKey={"pk": {"S": "p"}, "sk": {"N": "1"}},
    ) == ("ValidationException", "The provided starting key does not match the range key predicate")
    assert error(ddb.scan, TableName="reads", ExclusiveStartKey={"pk": {"S": "p"}}) == (
        "ValidationException",
        BAD + ": The provided key element does not match the schema",
    )
    assert error(ddb.scan, TableName="reads", ExclusiveStartKey={"pk": {"S": "p"}, "sk": {"BOOL": True}}) == (
        "ValidationException",
        BAD + ": The provided key element does not match the schema",
    )
    assert error(
        ddb.scan, TableName="reads", IndexName="gsi", ExclusiveStartKey={"pk": {"S": "p"}, "sk": {"N": "1"}}
    ) == ("ValidationException", BAD)
    assert error(ddb.scan, TableName="reads", ExclusiveStartKey={"pk": {"S": ""}, "sk": {"N": "1"}}) == (
        "ValidationException",
        BAD + ": One or more parameter values are not valid. The AttributeValue for a key "
        "attribute cannot contain an empty string value. Key: pk",
    )


def test_select_and_projections(ddb, tbl):
    assert error(
        ddb.query,
        TableName="reads",
        IndexName="gsi",
        KeyConditionExpression="g = :g",
        ExpressionAttributeValues={":g": {"S": "g"}},
        Select="ALL_ATTRIBUTES",
    ) == (
        "ValidationException",
        INV + "Select type ALL_ATTRIBUTES is not supported for global secondary index gsi "
        "because its projection type is not ALL",
    )
    r = ddb.query(
        TableName="reads",
        IndexName="gsi",
        KeyConditionExpression="g = :g",
        ExpressionAttributeValues={":g": {"S": "g"}},
        Limit=1,
    )
    assert set(r["Items"][0]) == {"pk", "sk", "g", "inc"}
    # an LSI fetches non-projected attributes from the table
    r = ddb.query(
        TableName="reads",
        IndexName="lsi",
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "p"}},
        Select="ALL_ATTRIBUTES",
        Limit=1,
    )
    assert r["Items"][0]["other"] == {"S": "o"}
    assert error(q, ddb=ddb, Select="SPECIFIC_ATTRIBUTES") == (
        "ValidationException",
        INV + "Select type SPECIFIC_ATTRIBUTES requires a ProjectionExpression or AttributesToGet",
    )
    assert error(q, ddb=ddb, Select="ALL_ATTRIBUTES", ProjectionExpression="inc") == (
        "ValidationException",
        "Cannot specify the ProjectionExpression when choosing to get ALL_ATTRIBUTES",
    )
    assert error(
        ddb.query,
        TableName="reads",
        IndexName="gsi",
        ConsistentRead=True,
        KeyConditionExpression="g = :g",
        ExpressionAttributeValues={":g": {"S": "g"}},
    ) == ("ValidationException", "Consistent reads are not supported on global secondary indexes")
    assert error(ddb.scan, TableName="reads", IndexName="nope") == (
        "ValidationException",
        "The table does not have the specified index: nope",
    )


def test_key_condition_errors(ddb, tbl):
    assert error(
        ddb.query,
        TableName="reads",
        KeyConditionExpression="sk = :s",
        ExpressionAttributeValues={":s": {"N": "1"}},
    ) == ("ValidationException", "Query condition missed key schema element: pk")
    assert error(
        ddb.query,
        TableName="reads",
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"N": "1"}},
    ) == ("ValidationException", INV + "Condition parameter type does not match schema type")
    assert error(
        ddb.query,
        TableName="reads",
        KeyConditionExpression="pk = :p OR sk = :s",
        ExpressionAttributeValues={":p": {"S": "p"}, ":s": {"N": "1"}},
    ) == ("ValidationException", "Invalid operator used in KeyConditionExpression: OR")
    assert error(ddb.query, TableName="reads") == (
        "ValidationException",
        "Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.",
    )


def test_scan_segments(ddb, tbl, srv):
    raw = srv.client("dynamodb", parameter_validation=False)
    total = sum(ddb.scan(TableName="reads", Segment=s, TotalSegments=3)["Count"] for s in range(3))
    assert total == 5
    assert error(raw.scan, TableName="reads", Segment=3, TotalSegments=3) == (
        "ValidationException",
        "The Segment parameter is zero-based and must be less than parameter TotalSegments: "
        "Segment: 3 is not less than TotalSegments: 3",
    )
    # the two texts differ in word order: dynalite's scan validation and a DynamoDB conformance
    # suite's "Scan - exact error messages" tests (run against AWS) both say so
    assert error(raw.scan, TableName="reads", Segment=0) == (
        "ValidationException",
        "The TotalSegments parameter is required but was not present in the request when "
        "Segment parameter is present",
    )
    assert error(raw.scan, TableName="reads", TotalSegments=4) == (
        "ValidationException",
        "The Segment parameter is required but was not present in the request when "
        "parameter TotalSegments is present",
    )


def test_multi_attribute_gsi_query(ddb):
    ddb.create_table(
        TableName="matches",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": n, "AttributeType": t}
            for n, t in (("id", "S"), ("tour", "S"), ("area", "S"), ("stage", "S"), ("ts", "N"))
        ],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-tour",
                "Projection": {"ProjectionType": "KEYS_ONLY"},
                "KeySchema": [
                    {"AttributeName": "tour", "KeyType": "HASH"},
                    {"AttributeName": "area", "KeyType": "HASH"},
                    {"AttributeName": "stage", "KeyType": "RANGE"},
                    {"AttributeName": "ts", "KeyType": "RANGE"},
                ],
            }
        ],
    )
    rows = [
        ("m1", "w", "eu", "final", 3),
        ("m2", "w", "eu", "semi", 2),
        ("m3", "w", "eu", "semi", 1),
        ("m4", "w", "na", "semi", 1),
        ("m5", "s", "eu", "semi", 1),
    ]
    for i, t, r, rd, ts in rows:
        ddb.put_item(
            TableName="matches",
            Item={
                "id": {"S": i},
                "tour": {"S": t},
                "area": {"S": r},
                "stage": {"S": rd},
                "ts": {"N": str(ts)},
            },
        )
    ddb.put_item(TableName="matches", Item={"id": {"S": "m6"}, "tour": {"S": "w"}, "area": {"S": "eu"}})
    vals = {":t": {"S": "w"}, ":r": {"S": "eu"}}
    r = ddb.query(
        TableName="matches",
        IndexName="by-tour",
        KeyConditionExpression="tour = :t AND area = :r",
        ExpressionAttributeValues=vals,
    )
    assert [i["id"]["S"] for i in r["Items"]] == ["m1", "m3", "m2"]
    r = ddb.query(
        TableName="matches",
        IndexName="by-tour",
        KeyConditionExpression="tour = :t AND area = :r AND stage = :rd AND ts >= :ts",
        ExpressionAttributeValues={**vals, ":rd": {"S": "semi"}, ":ts": {"N": "2"}},
    )
    assert [i["id"]["S"] for i in r["Items"]] == ["m2"]
    r = ddb.query(
        TableName="matches",
        IndexName="by-tour",
        ScanIndexForward=False,
        Limit=2,
        KeyConditionExpression="tour = :t AND area = :r AND begins_with(stage, :p)",
        ExpressionAttributeValues={**vals, ":p": {"S": "s"}},
    )
    assert [i["id"]["S"] for i in r["Items"]] == ["m2", "m3"]
    assert set(r["LastEvaluatedKey"]) == {"id", "tour", "area", "stage", "ts"}
    r2 = ddb.query(
        TableName="matches",
        IndexName="by-tour",
        ScanIndexForward=False,
        KeyConditionExpression="tour = :t AND area = :r AND begins_with(stage, :p)",
        ExpressionAttributeValues={**vals, ":p": {"S": "s"}},
        ExclusiveStartKey=r["LastEvaluatedKey"],
    )
    assert r2["Items"] == []
    assert error(
        ddb.query,
        TableName="matches",
        IndexName="by-tour",
        KeyConditionExpression="tour = :t",
        ExpressionAttributeValues={":t": {"S": "w"}},
    ) == ("ValidationException", "Query condition missed key schema element: area")
    assert error(
        ddb.query,
        TableName="matches",
        IndexName="by-tour",
        KeyConditionExpression="tour = :t AND area = :r AND ts = :ts",
        ExpressionAttributeValues={**vals, ":ts": {"N": "1"}},
    ) == (  # AWS's text (paritysuite tier1/query/multiAttributeGsiKey, 2026-10)
        "ValidationException",
        "RANGE key attributes stage must have equality conditions specified in the query because a "
        "condition is present on key attribute ts",
    )
    assert ddb.scan(TableName="matches", IndexName="by-tour")["Count"] == 5
