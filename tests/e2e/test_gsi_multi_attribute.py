"""Multi-attribute GSI keys (up to 4 HASH and 4 RANGE attributes, DynamoDB 2025): the key
schema rules of CreateTable and UpdateTable and the Query rules, with AWS's messages.

Sources:
- ack-api-quirks' DynamoDB ValidationException catalogue (finding DDB-TABLE-442, messages mined
  from live runs in us-east-1 and us-west-2, verified 2026-10-09): "One or more parameter values
  were invalid: All HASH key attributes must precede RANGE key attributes in the KeySchema",
  "... The KeySchema exceeds the maximum allowed number of HASH key attributes" (also RANGE; on
  CreateTable and UpdateTable), "The KeySchema contains multiple key attributes with the same
  name".
- paritysuite dynamodb-conformance ``tests/tier1/query/multiAttributeGsiKey.test.ts`` (verified
  against AWS in eu-central-1, us-east-1 and eu-west-2, 2026-10): "RANGE key attributes b must
  have equality conditions specified in the query because a condition is present on key
  attribute c" for a gap, a range condition before the last attribute named, or a skipped
  first RANGE attribute; clauses in any order; LastEvaluatedKey carries every key attribute.
- ScyllaDB Alternator's ``test/alternator/test_gsi_composite_keys.py`` (run against DynamoDB):
  the same rules on UpdateTable's Create.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

INV = "One or more parameter values were invalid: "


def _err(e) -> tuple[str, str]:
    return e.value.response["Error"]["Code"], e.value.response["Error"]["Message"]


def _ks(*pairs: tuple[str, str]) -> list[dict]:
    return [{"AttributeName": n, "KeyType": t} for n, t in pairs]


def _create(ddb, gsi_ks: list[dict], names: str = "pabcdefghij"):
    return ddb.create_table(
        TableName="multi",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in names],
        KeySchema=_ks(("p", "HASH")),
        GlobalSecondaryIndexes=[
            {"IndexName": "gsi", "KeySchema": gsi_ks, "Projection": {"ProjectionType": "ALL"}}
        ],
    )


BAD_SCHEMAS = {
    "interleaved": (
        _ks(("a", "HASH"), ("b", "RANGE"), ("c", "HASH")),
        INV + "All HASH key attributes must precede RANGE key attributes in the KeySchema",
    ),
    "five HASH": (
        _ks(*[(c, "HASH") for c in "abcde"]),
        INV + "The KeySchema exceeds the maximum allowed number of HASH key attributes",
    ),
    "five RANGE": (
        _ks(("a", "HASH"), *[(c, "RANGE") for c in "bcdef"]),
        INV + "The KeySchema exceeds the maximum allowed number of RANGE key attributes",
    ),
    "a name twice": (
        _ks(("a", "HASH"), ("b", "HASH"), ("a", "RANGE")),
        "The KeySchema contains multiple key attributes with the same name",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_SCHEMAS))
def test_create_table_key_schema_rules(srv, case):
    ddb = srv.client("dynamodb")
    ks, message = BAD_SCHEMAS[case]
    with pytest.raises(ClientError) as e:
        _create(ddb, ks)
    assert _err(e) == ("ValidationException", message)
    assert ddb.list_tables()["TableNames"] == []


@pytest.mark.parametrize("case", sorted(BAD_SCHEMAS))
def test_update_table_create_index_same_rules(srv, case):
    ddb = srv.client("dynamodb")
    ddb.create_table(
        TableName="multi",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"}],
        KeySchema=_ks(("p", "HASH")),
    )
    ks, message = BAD_SCHEMAS[case]
    with pytest.raises(ClientError) as e:
        ddb.update_table(
            TableName="multi",
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in "abcdef"],
            GlobalSecondaryIndexUpdates=[
                {"Create": {"IndexName": "gsi", "KeySchema": ks, "Projection": {"ProjectionType": "ALL"}}}
            ],
        )
    assert _err(e) == ("ValidationException", message)
    assert "GlobalSecondaryIndexes" not in ddb.describe_table(TableName="multi")["Table"]


@pytest.fixture
def indexed(srv):
    """paritysuite's table: GSI h HASH + a, b, c, d RANGE; p6 lacks c (not indexed). The
    base table's key p is also the first RANGE part of a second index."""
    ddb = srv.client("dynamodb")
    ddb.create_table(
        TableName="multi",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": n, "AttributeType": "S"} for n in ("pk", "h", "a", "b", "c", "d")
        ],
        KeySchema=_ks(("pk", "HASH")),
        GlobalSecondaryIndexes=[
            {
                "IndexName": "gsi",
                "KeySchema": _ks(
                    ("h", "HASH"), ("a", "RANGE"), ("b", "RANGE"), ("c", "RANGE"), ("d", "RANGE")
                ),
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": "by-table-key",
                "KeySchema": _ks(("h", "HASH"), ("a", "HASH"), ("pk", "RANGE"), ("b", "RANGE")),
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            },
        ],
    )
    rows = [
        ("p1", "T", "live", "b", "r1"),
        ("p2", "T", "live", "a", "r2"),
        ("p3", "T", "live", "a", "r1"),
        ("p4", "T", "draft", "c", "r1"),
        ("p5", "F", "live", "a", "r0"),
        ("p6", "T", "live", None, "r1"),
    ]
    for pk, a, b, c, d in rows:
        item = {"pk": {"S": pk}, "h": {"S": "o1"}, "a": {"S": a}, "b": {"S": b}, "d": {"S": d}}
        if c is not None:
            item["c"] = {"S": c}
        ddb.put_item(TableName="multi", Item=item)
    return ddb


VALUES = {":h": "o1", ":a": "T", ":b": "live", ":c": "a", ":d": "r", ":x": "r1", ":y": "r1", ":p": "p3"}


def _query(ddb, condition: str, index: str = "gsi", **kw) -> dict:
    values = {k: {"S": v} for k, v in VALUES.items() if k in condition}
    return ddb.query(
        TableName="multi",
        IndexName=index,
        KeyConditionExpression=condition,
        ExpressionAttributeValues=values,
        **kw,
    )


def _pks(r: dict) -> list[str]:
    return [i["pk"]["S"] for i in r["Items"]]


def test_query_accepts_what_aws_accepts_and_names_the_gap(indexed):
    """paritysuite's accepted conditions, then the base table's key as a RANGE part: the
    parts before it need equality like any other."""
    assert _pks(_query(indexed, "h = :h")) == ["p5", "p4", "p3", "p2", "p1"]
    assert _pks(_query(indexed, "h = :h AND a = :a AND b = :b AND c > :c")) == ["p1"]
    assert _pks(_query(indexed, "h = :h AND a = :a AND b = :b AND c = :c AND begins_with(d, :d)")) == [
        "p3",
        "p2",
    ]
    assert _pks(_query(indexed, "h = :h AND a = :a AND b = :b AND c = :c AND d BETWEEN :x AND :y")) == ["p3"]
    assert _pks(_query(indexed, "h = :h AND a = :a AND b < :b")) == ["p4"]
    assert _pks(_query(indexed, "b = :b AND h = :h AND a = :a")) == ["p3", "p2", "p1"]
    page = _query(indexed, "h = :h AND a = :a", Limit=2)
    assert _pks(page) == ["p4", "p3"] and sorted(page["LastEvaluatedKey"]) == ["a", "b", "c", "d", "h", "pk"]
    # the base table's key as a RANGE part
    assert _pks(_query(indexed, "h = :h AND a = :a AND pk = :p", index="by-table-key")) == ["p3"]
    with pytest.raises(ClientError) as e:
        _query(indexed, "h = :h AND a = :a AND b = :b", index="by-table-key")
    assert _err(e)[1] == (
        "RANGE key attributes pk must have equality conditions specified in the query because a "
        "condition is present on key attribute b"
    )


REFUSED = {
    "h = :h AND a = :a AND c = :c": ("b", "c"),  # a gap
    "h = :h AND a = :a AND b > :b AND c = :c": ("b", "c"),  # a range condition before the last
    "h = :h AND b = :b": ("a", "b"),  # the first RANGE attribute skipped
    # several lacking: joined with ", " (inferred: the captures name one attribute each)
    "h = :h AND d = :d": ("a, b, c", "d"),
}


@pytest.mark.parametrize("condition", sorted(REFUSED))
def test_query_range_attributes_left_to_right(indexed, condition):
    lacking, last = REFUSED[condition]
    with pytest.raises(ClientError) as e:
        _query(indexed, condition)
    assert _err(e) == (
        "ValidationException",
        f"RANGE key attributes {lacking} must have equality conditions specified in the query "
        f"because a condition is present on key attribute {last}",
    )


REFUSED_PARTIQL = (
    "PartiQL statements cannot be executed on tables with multi-attribute HASH keys or "
    "multi-attribute RANGE keys."
)


def test_partiql_refuses_multi_attribute_indexes(indexed):
    """paritysuite tier3/error-messages/partiqlMultiAttributeIndex (eu-west-2 and us-east-1,
    2026-10): the refusal comes ahead of the WHERE rules and COUNT(*); syntax errors come first;
    in a batch only the statement reading the index fails, ahead of the key-only rule."""
    for statement in (
        'SELECT * FROM "multi"."gsi" WHERE h = \'o1\'',
        'SELECT * FROM "multi"."gsi" WHERE pk = \'p1\'',
        'SELECT * FROM "multi"."gsi"',
        'SELECT pk FROM "multi"."gsi" WHERE h = \'o1\' ORDER BY a DESC',
    ):
        with pytest.raises(ClientError) as e:
            indexed.execute_statement(Statement=statement)
        assert _err(e) == ("ValidationException", REFUSED_PARTIQL), statement
    with pytest.raises(ClientError) as e:
        indexed.execute_statement(Statement='SELECT * FROM "multi"."gsi" WHERE')
    assert _err(e)[1].startswith("Statement wasn't well formed, can't be processed: ")
    r = indexed.batch_execute_statement(
        Statements=[
            {"Statement": "SELECT * FROM \"multi\".\"gsi\" WHERE h = 'o1' AND a = 'T'"},
            {"Statement": "SELECT * FROM \"multi\" WHERE pk = 'p1'"},
        ]
    )["Responses"]
    assert r[0]["Error"] == {"Code": "ValidationError", "Message": REFUSED_PARTIQL}
    assert "Error" not in r[1] and r[1]["Item"]["pk"] == {"S": "p1"}
