"""Conformance: BatchGetItem/BatchWriteItem limits and messages, TransactWriteItems/TransactGetItems
(cancellation reasons, conflicts, 100-item limit, idempotency, capacity)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.conftest import make_table


def error(fn, **kw) -> tuple[str, str]:
    with pytest.raises(ClientError) as e:
        fn(**kw)
    return e.value.response["Error"]["Code"], e.value.response["Error"]["Message"]


@pytest.fixture
def tables(ddb):
    return make_table(ddb, "batch-a"), make_table(ddb, "batch-b", range_key="sk")


def key(i, sk=False):
    return {"pk": {"S": str(i)}, **({"sk": {"S": "s"}} if sk else {})}


def test_batch_limits(ddb, tables, srv):
    raw = srv.client("dynamodb", parameter_validation=False)
    a, b = tables
    assert error(
        ddb.batch_get_item,
        RequestItems={
            a: {"Keys": [key(i) for i in range(60)]},
            b: {"Keys": [key(i, True) for i in range(41)]},
        },
    ) == ("ValidationException", "Too many items requested for the BatchGetItem call")
    assert error(
        ddb.batch_write_item,
        RequestItems={
            a: [{"PutRequest": {"Item": key(i)}} for i in range(13)],
            b: [{"PutRequest": {"Item": key(i, True)}} for i in range(13)],
        },
    ) == ("ValidationException", "Too many items requested for the BatchWriteItem call")
    code, msg = error(
        raw.batch_write_item, RequestItems={a: [{"PutRequest": {"Item": key(i)}} for i in range(26)]}
    )
    assert code == "ValidationException" and msg.endswith(
        "at 'requestItems' failed to satisfy constraint: Map value must satisfy constraint: "
        "[Member must have length less than or equal to 25, Member must have length greater than or equal to 1]"
    )
    # AWS's newer validation framework, in all regions but me-central-1 by 2026-09 (paritysuite
    # dynamodb-conformance, error-messages/batchGetItem "> 100 keys across all tables")
    assert error(raw.batch_get_item, RequestItems={a: {"Keys": [key(i) for i in range(101)]}}) == (
        "ValidationException",
        f"1 validation error detected: Value at 'RequestItems.{a}.member.Keys' failed to "
        "satisfy constraint: Member must have length less than or equal to 100",
    )
    assert error(ddb.batch_get_item, RequestItems={a: {"Keys": [key(1), key(1)]}}) == (
        "ValidationException",
        "Provided list of item keys contains duplicates",
    )
    assert error(
        ddb.batch_write_item,
        RequestItems={a: [{"PutRequest": {"Item": key(1)}}, {"DeleteRequest": {"Key": key(1)}}]},
    ) == ("ValidationException", "Provided list of item keys contains duplicates")
    assert error(ddb.batch_get_item, RequestItems={"nope": {"Keys": [key(1)]}}) == (
        "ResourceNotFoundException",
        "Requested resource not found",
    )
    assert error(ddb.batch_write_item, RequestItems={b: [{"PutRequest": {"Item": key(1)}}]}) == (
        "ValidationException",
        "The provided key element does not match the schema",
    )
    assert error(ddb.batch_get_item, RequestItems={b: {"Keys": [key(1)]}}) == (
        "ValidationException",
        "The provided key element does not match the schema",
    )


def test_batch_round_trip_and_capacity(ddb, tables):
    a, b = tables
    r = ddb.batch_write_item(
        RequestItems={
            a: [{"PutRequest": {"Item": {**key(i), "v": {"S": "x" * 1500}}}} for i in range(3)],
            b: [{"PutRequest": {"Item": key(1, True)}}],
        },
        ReturnConsumedCapacity="TOTAL",
    )
    assert r["UnprocessedItems"] == {}
    assert sorted(r["ConsumedCapacity"], key=lambda c: c["TableName"]) == [
        {"TableName": a, "CapacityUnits": 6.0},
        {"TableName": b, "CapacityUnits": 1.0},
    ]
    r = ddb.batch_get_item(
        RequestItems={
            a: {"Keys": [key(0), key(1), key(9)], "ProjectionExpression": "pk"},
            b: {"Keys": [key(1, True)], "ConsistentRead": True},
        },
        ReturnConsumedCapacity="TOTAL",
    )
    assert sorted(i["pk"]["S"] for i in r["Responses"][a]) == ["0", "1"]
    assert r["Responses"][a][0].keys() == {"pk"}
    assert r["Responses"][b] == [key(1, True)]
    assert r["UnprocessedKeys"] == {}
    caps = {c["TableName"]: c["CapacityUnits"] for c in r["ConsumedCapacity"]}
    assert caps == {a: 1.5, b: 1.0}
    ddb.batch_write_item(RequestItems={a: [{"DeleteRequest": {"Key": key(i)}} for i in range(3)]})
    assert ddb.scan(TableName=a)["Count"] == 0


def test_transaction_cancellation_reasons(ddb, tables):
    a, b = tables
    ddb.put_item(TableName=a, Item={**key(1), "v": {"N": "1"}})
    with pytest.raises(ClientError) as e:
        ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": a, "Item": key(2)}},
                {
                    "ConditionCheck": {
                        "TableName": a,
                        "Key": key(1),
                        "ConditionExpression": "v = :two",
                        "ExpressionAttributeValues": {":two": {"N": "2"}},
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                },
                {"Delete": {"TableName": b, "Key": key(3, True)}},
                {
                    "Update": {
                        "TableName": a,
                        "Key": key(4),
                        "UpdateExpression": "SET w = :w",
                        "ConditionExpression": "attribute_exists(pk)",
                        "ExpressionAttributeValues": {":w": {"N": "1"}},
                    }
                },
            ]
        )
    err = e.value.response
    assert err["Error"]["Code"] == "TransactionCanceledException"
    assert err["Error"]["Message"] == (
        "Transaction cancelled, please refer cancellation reasons for specific reasons "
        "[None, ConditionalCheckFailed, None, ConditionalCheckFailed]"
    )
    reasons = err["CancellationReasons"]
    assert reasons[0] == {"Code": "None"} and reasons[2] == {"Code": "None"}
    assert reasons[1] == {
        "Code": "ConditionalCheckFailed",
        "Message": "The conditional request failed",
        "Item": {**key(1), "v": {"N": "1"}},
    }
    assert reasons[3] == {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"}
    assert "Item" not in ddb.get_item(TableName=a, Key=key(2))  # nothing was written


def test_transaction_validation(ddb, tables, srv):
    raw = srv.client("dynamodb", parameter_validation=False)
    a, _ = tables
    assert error(
        ddb.transact_write_items,
        TransactItems=[
            {"Put": {"TableName": a, "Item": key(1)}},
            {"Delete": {"TableName": a, "Key": key(1)}},
        ],
    ) == ("ValidationException", "Transaction request cannot include multiple operations on one item")
    code, msg = error(
        raw.transact_write_items,
        TransactItems=[{"Put": {"TableName": a, "Item": key(i)}} for i in range(101)],
    )
    assert code == "ValidationException" and msg.endswith(
        "at 'transactItems' failed to satisfy constraint: Member must have length less than or equal to 100"
    )
    r = ddb.transact_write_items(
        TransactItems=[{"Put": {"TableName": a, "Item": key(i)}} for i in range(100)],
        ReturnConsumedCapacity="TOTAL",
    )
    assert r["ConsumedCapacity"] == [{"TableName": a, "CapacityUnits": 200.0, "WriteCapacityUnits": 200.0}]
    assert error(
        ddb.transact_write_items, TransactItems=[{"Put": {"TableName": "nope", "Item": key(1)}}]
    ) == ("ResourceNotFoundException", "Requested resource not found")
    r = ddb.transact_get_items(
        TransactItems=[{"Get": {"TableName": a, "Key": key(1)}}, {"Get": {"TableName": a, "Key": key(999)}}],
        ReturnConsumedCapacity="TOTAL",
    )
    assert r["Responses"] == [{"Item": key(1)}, {}]
    assert r["ConsumedCapacity"] == [{"TableName": a, "CapacityUnits": 4.0, "ReadCapacityUnits": 4.0}]


def test_transaction_idempotency(ddb, tables):
    a, _ = tables
    items = [
        {
            "Update": {
                "TableName": a,
                "Key": key(1),
                "UpdateExpression": "ADD n :one",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            }
        }
    ]
    ddb.transact_write_items(TransactItems=items, ClientRequestToken="tok-1")
    ddb.transact_write_items(TransactItems=items, ClientRequestToken="tok-1")
    assert ddb.get_item(TableName=a, Key=key(1))["Item"]["n"] == {"N": "1"}
    other = [{"Put": {"TableName": a, "Item": key(2)}}]
    code, _ = error(ddb.transact_write_items, TransactItems=other, ClientRequestToken="tok-1")
    assert code == "IdempotentParameterMismatchException"
    ddb.transact_write_items(TransactItems=items, ClientRequestToken="tok-2")
    assert ddb.get_item(TableName=a, Key=key(1))["Item"]["n"] == {"N": "2"}


def test_transact_get_key_mismatch_cancels(ddb, tables):
    """A Get whose key does not match the schema cancels the whole TransactGetItems with a
    ValidationError reason for that Get (paritysuite dynamodb-conformance, tier3
    error-messages/transactGetItems: "missing key attribute: action-level ValidationError
    surfaces as TransactionCanceledException", run against AWS)."""
    a, b = tables
    ddb.put_item(TableName=a, Item=key(1))
    with pytest.raises(ClientError) as e:
        ddb.transact_get_items(
            TransactItems=[{"Get": {"TableName": a, "Key": key(1)}}, {"Get": {"TableName": b, "Key": key(1)}}]
        )
    err = e.value.response
    assert err["Error"]["Code"] == "TransactionCanceledException"
    assert err["Error"]["Message"] == (
        "Transaction cancelled, please refer cancellation reasons for "
        "specific reasons [None, ValidationError]"
    )
    assert err["CancellationReasons"] == [
        {"Code": "None"},
        {"Code": "ValidationError", "Message": "The provided key element does not match the schema"},
    ]


def test_transact_write_over_4_mb(ddb, tables):
    """The aggregate size of a transaction's items may not exceed 4 MB (API reference); the text
    is Floci's (checked against AWS by the paritysuite dynamodb-conformance suite)."""
    a, _ = tables
    big = "x" * (390 * 1024)
    items = [{"Put": {"TableName": a, "Item": {**key(i), "v": {"S": big}}}} for i in range(11)]
    assert error(ddb.transact_write_items, TransactItems=items) == (
        "ValidationException",
        "Transaction failed: The total size of all items in the transaction request cannot exceed 4 MB",
    )
    assert ddb.scan(TableName=a)["Count"] == 0
    ddb.transact_write_items(TransactItems=items[:10])  # 10 x 390 KB: under the limit
    assert all("Item" in ddb.get_item(TableName=a, Key=key(i), ProjectionExpression="pk") for i in range(10))


@pytest.mark.parametrize(
    "action, message",
    [
        (
            {"Put": {"Item": {"pk": {"N": "5"}}}},
            "One or more parameter values were invalid: Type mismatch for key pk expected: S actual: N",
        ),
        (
            {
                "Update": {
                    "Key": {"pk": {"N": "5"}},
                    "UpdateExpression": "SET a = :v",
                    "ExpressionAttributeValues": {":v": {"S": "x"}},
                }
            },
            "The provided key element does not match the schema",
        ),
        (
            {"Delete": {"Key": {"pk": {"L": [{"S": "x"}]}}}},
            "The provided key element does not match the schema",
        ),
        (
            {
                "ConditionCheck": {
                    "Key": {"pk": {"N": "5"}},
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            "The provided key element does not match the schema",
        ),
    ],
)
def test_transact_write_key_fault_cancels(ddb, tables, action, message):
    """A mistyped key cancels with that action's ValidationError reason; an empty key value is a
    top-level ValidationException (paritysuite dynamodb-conformance, tier3
    error-messages/transactWriteItems, four-region capture 2026-06)."""
    a, _ = tables
    kind, body = next(iter(action.items()))
    items = [{"Put": {"TableName": a, "Item": key(7)}}, {kind: {"TableName": a, **body}}]
    with pytest.raises(ClientError) as e:
        ddb.transact_write_items(TransactItems=items)
    err = e.value.response
    assert err["Error"]["Code"] == "TransactionCanceledException"
    assert err["Error"]["Message"].endswith("[None, ValidationError]")
    assert err["CancellationReasons"] == [{"Code": "None"}, {"Code": "ValidationError", "Message": message}]
    assert "Item" not in ddb.get_item(TableName=a, Key=key(7))
    assert error(
        ddb.transact_write_items, TransactItems=[{"Delete": {"TableName": a, "Key": {"pk": {"S": ""}}}}]
    ) == (
        "ValidationException",
        "One or more parameter values are not valid. The AttributeValue for a key "
        "attribute cannot contain an empty string value. Key: pk",
    )


def test_batch_request_items_messages(ddb, tables, srv):
    """paritysuite dynamodb-conformance, tier3 error-messages/batchGetItem and batchWriteItem and
    validation-ordering/batchOperations (2026-08 to 2026-10 captures)."""
    raw = srv.client("dynamodb", parameter_validation=False)
    a, b = tables
    assert error(raw.batch_get_item, RequestItems={}) == (
        "ValidationException",
        "1 validation error detected: Value at 'RequestItems' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1",
    )
    assert error(raw.batch_get_item, RequestItems={a: {"Keys": []}}) == (
        "ValidationException",
        f"1 validation error detected: Value at 'RequestItems.{a}.member.Keys' failed to "
        "satisfy constraint: Member must have length greater than or equal to 1",
    )
    enum_rcc = (
        "Value 'BOGUS' at 'returnConsumedCapacity' failed to satisfy constraint: Member must satisfy enum "
        "value set: [INDEXES, TOTAL, NONE]"
    )
    bad_name = (
        'Value \'{"bad!name":{"Keys":[{"pk":{"S":"a"}}]}}\' at \'requestItems\' failed to satisfy '
        "constraint: Map keys must satisfy constraint: [Member must have length less than or equal to 255, "
        "Member must have length greater than or equal to 3, Member must satisfy regular expression "
        "pattern: [a-zA-Z0-9_.-]+]"
    )
    assert error(
        raw.batch_get_item,
        RequestItems={"bad!name": {"Keys": [{"pk": {"S": "a"}}]}},
        ReturnConsumedCapacity="BOGUS",
    ) == ("ValidationException", f"2 validation errors detected: {bad_name}; {enum_rcc}")
    assert error(
        raw.batch_get_item, RequestItems={"missing-table": {"Keys": [key(1)]}}, ReturnConsumedCapacity="BOGUS"
    ) == ("ValidationException", "1 validation error detected: " + enum_rcc)
    assert error(raw.batch_write_item, RequestItems={}) == (
        "ValidationException",
        "The requestItems parameter is required for BatchWriteItem",
    )
    code, _ = error(
        raw.batch_get_item,
        RequestItems={
            a: {"Keys": [key(1)], "ProjectionExpression": "pk"},
            b: {"Keys": [key(1, True)], "AttributesToGet": ["pk"]},
        },
    )
    assert code == "ValidationException"
