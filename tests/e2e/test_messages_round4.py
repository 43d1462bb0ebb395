"""Fidelity round 4: DynamoDB's two layers of value checks.

Source: paritysuite dynamodb-conformance ``tests/tier3/error-messages/valueLayers.test.ts``,
captured against AWS in eu-west-2, us-east-1, eu-west-1 and us-west-2 (2026-10-09, four of four
unless said otherwise). DynamoDB checks attribute values in one of two layers, and the operation
decides which:

- the current layer: PutItem, UpdateItem and DeleteItem answer inside the
  ``1 validation error detected: `` envelope wherever the value sits (item, key, expression
  value, AttributeUpdates, Expected); GetItem, BatchGetItem and Query answer bare. An empty
  number reads "The parameter cannot be converted to a numeric value: " (colon and space);
  a repeated set member is quoted, members listed sorted up to the first repeat, then the
  repeat, then the rest as sent (``["a", "b", "b"]``, binary sets without spaces), and a number
  set has the "One or more parameter values were invalid: " prefix and a full stop.
- the older layer: BatchWriteItem, TransactWriteItems, TransactGetItems and Scan, bare, members
  as sent (``[b, a, b]``), the number-set text "Input collection contains duplicates", and a
  refused expression value wrapped: "ExpressionAttributeValues contains invalid value: <why>
  for key :v". (eu-west-2 alone runs the current layer on transactions; the suite accepts both.)
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

ENVELOPE = "1 validation error detected: "
INVALID = "One or more parameter values were invalid: "
NOT_NUMERIC = "The parameter cannot be converted to a numeric value"
OVERFLOW = "Number overflow. Attempting to store a number with magnitude larger than supported range"
TABLE = "layers"

#: repeated members, not in order: (value, current layer's text, older layer's text)
DUPLICATES = {
    "SS": (
        {"SS": ["b", "a", "b"]},
        INVALID + 'Input collection ["a", "b", "b"] contains duplicates.',
        INVALID + "Input collection [b, a, b] contains duplicates.",
    ),
    "BS": (
        {"BS": [b"\xff", b"\x00", b"\x00"]},
        INVALID + 'Input collection ["AA==","/w==","AA=="]of type BS contains duplicates.',
        INVALID + "Input collection [/w==, AA==, AA==]of type BS contains duplicates.",
    ),
    "NS": (
        {"NS": ["2", "1", "2"]},
        INVALID + "Input collection contains duplicates.",
        "Input collection contains duplicates",
    ),
}

#: malformed numbers: (text, current layer's text, older layer's text)
NUMBERS = {
    "letters": ("abc", f"{NOT_NUMERIC}: abc", f"{NOT_NUMERIC}: abc"),
    "empty": ("", f"{NOT_NUMERIC}: ", NOT_NUMERIC),
    "overflow": ("1e126", OVERFLOW, OVERFLOW),
}


def _refusal(fn, **kw) -> str:
    with pytest.raises(ClientError) as e:
        fn(**kw)
    assert e.value.response["Error"]["Code"] == "ValidationException"
    return e.value.response["Error"]["Message"]


@pytest.fixture
def ddb(srv):
    client = srv.client("dynamodb", parameter_validation=False)
    client.create_table(
        TableName=TABLE,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
    )
    return client


def _current_writes(ddb, value: dict) -> list[str]:
    """The value in an item, a condition value, an Expected value, AttributeUpdates and a key."""
    key = {"pk": {"S": "k"}}
    return [
        _refusal(ddb.put_item, TableName=TABLE, Item={**key, "v": value}),
        _refusal(
            ddb.put_item,
            TableName=TABLE,
            Item=key,
            ConditionExpression="attribute_not_exists(pk) OR v = :v",
            ExpressionAttributeValues={":v": value},
        ),
        _refusal(ddb.put_item, TableName=TABLE, Item=key, Expected={"v": {"Value": value}}),
        _refusal(
            ddb.update_item,
            TableName=TABLE,
            Key=key,
            AttributeUpdates={"v": {"Action": "PUT", "Value": value}},
        ),
        _refusal(
            ddb.update_item,
            TableName=TABLE,
            Key={"pk": value},
            UpdateExpression="SET o = :o",
            ExpressionAttributeValues={":o": {"N": "1"}},
        ),
        _refusal(ddb.delete_item, TableName=TABLE, Key={"pk": value}),
    ]


def _current_reads(ddb, value: dict) -> list[str]:
    """The value in a GetItem key, a BatchGetItem key, a Query filter value and a QueryFilter."""
    return [
        _refusal(ddb.get_item, TableName=TABLE, Key={"pk": value}),
        _refusal(ddb.batch_get_item, RequestItems={TABLE: {"Keys": [{"pk": value}]}}),
        _refusal(
            ddb.query,
            TableName=TABLE,
            KeyConditionExpression="pk = :p",
            FilterExpression="v = :v",
            ExpressionAttributeValues={":p": {"S": "k"}, ":v": value},
        ),
        _refusal(
            ddb.query,
            TableName=TABLE,
            KeyConditions={"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "k"}]}},
            QueryFilter={"v": {"ComparisonOperator": "EQ", "AttributeValueList": [value]}},
        ),
    ]


def _older_operations(ddb, value: dict) -> tuple[list[str], list[str]]:
    """(the value itself, the value as an expression value) in the older layer's operations."""
    key = {"pk": {"S": "k"}}
    plain = [
        _refusal(ddb.batch_write_item, RequestItems={TABLE: [{"PutRequest": {"Item": {**key, "v": value}}}]}),
        _refusal(ddb.batch_write_item, RequestItems={TABLE: [{"DeleteRequest": {"Key": {"pk": value}}}]}),
        _refusal(
            ddb.transact_write_items,
            TransactItems=[{"Put": {"TableName": TABLE, "Item": {**key, "v": value}}}],
        ),
        _refusal(ddb.transact_get_items, TransactItems=[{"Get": {"TableName": TABLE, "Key": {"pk": value}}}]),
    ]
    as_value = {"ExpressionAttributeValues": {":t": value}}
    wrapped = [
        _refusal(
            ddb.transact_write_items,
            TransactItems=[
                {"Update": {"TableName": TABLE, "Key": key, "UpdateExpression": "SET v = :t", **as_value}}
            ],
        ),
        _refusal(
            ddb.transact_write_items,
            TransactItems=[
                {
                    "ConditionCheck": {
                        "TableName": TABLE,
                        "Key": key,
                        "ConditionExpression": "v = :t",
                        **as_value,
                    }
                }
            ],
        ),
        _refusal(ddb.scan, TableName=TABLE, FilterExpression="v = :t", **as_value),
    ]
    return plain, wrapped


@pytest.mark.parametrize("kind", sorted(DUPLICATES))
def test_duplicate_set_members_in_each_layer(ddb, kind):
    value, current, older = DUPLICATES[kind]
    assert _current_writes(ddb, value) == [ENVELOPE + current] * 6
    assert _current_reads(ddb, value) == [current] * 4
    plain, wrapped = _older_operations(ddb, value)
    assert plain == [older] * 4
    assert wrapped == [f"ExpressionAttributeValues contains invalid value: {older} for key :t"] * 3
    assert ddb.scan(TableName=TABLE)["Items"] == []  # nothing was written


@pytest.mark.parametrize("case", sorted(NUMBERS))
def test_malformed_numbers_in_each_layer(ddb, case):
    text, current, older = NUMBERS[case]
    value = {"N": text}
    assert _current_writes(ddb, value) == [ENVELOPE + current] * 6
    assert _current_reads(ddb, value) == [current] * 4
    plain, wrapped = _older_operations(ddb, value)
    assert plain == [older] * 4
    assert wrapped == [f"ExpressionAttributeValues contains invalid value: {older} for key :t"] * 3
    assert ddb.scan(TableName=TABLE)["Items"] == []


def test_arithmetic_overflow_stays_bare(ddb):
    """Only values in the request belong to the layers: an ADD whose result overflows keeps the
    plain text it had (valueLayers does not record results; this pins that nothing else moved)."""
    key = {"pk": {"S": "k"}}
    ddb.put_item(TableName=TABLE, Item={**key, "n": {"N": "9e125"}})
    message = _refusal(
        ddb.update_item,
        TableName=TABLE,
        Key=key,
        UpdateExpression="ADD n :v",
        ExpressionAttributeValues={":v": {"N": "9e125"}},
    )
    assert message == OVERFLOW
