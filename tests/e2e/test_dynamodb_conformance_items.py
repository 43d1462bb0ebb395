"""Conformance: PutItem/GetItem/UpdateItem/DeleteItem validation, ReturnValues, numbers, sets,
empty values, item size limits and ConsumedCapacity shapes (messages as real DynamoDB words them)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.conftest import make_table

INV = "One or more parameter values were invalid: "
ENVELOPE = "1 validation error detected: "


def error(fn, **kw) -> tuple[str, str]:
    with pytest.raises(ClientError) as e:
        fn(**kw)
    return e.value.response["Error"]["Code"], e.value.response["Error"]["Message"]


@pytest.fixture
def tbl(ddb):
    return make_table(ddb, "items", range_key="sk")


@pytest.fixture
def raw(srv):
    return srv.client("dynamodb", parameter_validation=False)


K = {"pk": {"S": "a"}, "sk": {"S": "b"}}


@pytest.mark.parametrize("op", ["put_item", "delete_item"])
def test_return_values_only_all_old_or_none(ddb, tbl, op):
    kw = {"Item": K} if op == "put_item" else {"Key": K}
    # inside the validation envelope: paritysuite dynamodb-conformance, error-messages/deleteItem
    # (eu-west-2 and us-east-1, 2026-10-09)
    for rv in ("ALL_NEW", "UPDATED_OLD", "UPDATED_NEW"):
        assert error(getattr(ddb, op), TableName=tbl, ReturnValues=rv, **kw) == (
            "ValidationException",
            "1 validation error detected: ReturnValues can only be ALL_OLD or NONE",
        )


def test_put_and_delete_return_all_old(ddb, tbl):
    assert "Attributes" not in ddb.put_item(
        TableName=tbl, Item={**K, "v": {"N": "1"}}, ReturnValues="ALL_OLD"
    )
    r = ddb.put_item(TableName=tbl, Item={**K, "v": {"N": "2"}}, ReturnValues="ALL_OLD")
    assert r["Attributes"] == {**K, "v": {"N": "1"}}
    r = ddb.delete_item(TableName=tbl, Key=K, ReturnValues="ALL_OLD")
    assert r["Attributes"] == {**K, "v": {"N": "2"}}
    assert "Attributes" not in ddb.delete_item(TableName=tbl, Key=K, ReturnValues="ALL_OLD")


def test_update_return_values_variations(ddb, tbl):
    ddb.put_item(TableName=tbl, Item={**K, "a": {"N": "1"}, "b": {"S": "x"}, "c": {"SS": ["p"]}})
    upd = dict(
        TableName=tbl,
        Key=K,
        UpdateExpression="SET a = a + :one, d = :d REMOVE b",
        ExpressionAttributeValues={":one": {"N": "1"}, ":d": {"S": "new"}},
    )
    r = ddb.update_item(ReturnValues="UPDATED_OLD", **upd)
    assert r["Attributes"] == {"a": {"N": "1"}, "b": {"S": "x"}}
    r = ddb.update_item(ReturnValues="UPDATED_NEW", **upd)
    assert r["Attributes"] == {"a": {"N": "3"}, "d": {"S": "new"}}
    r = ddb.update_item(ReturnValues="ALL_OLD", **upd)
    assert r["Attributes"]["a"] == {"N": "3"}
    r = ddb.update_item(ReturnValues="ALL_NEW", **upd)
    assert r["Attributes"] == {**K, "a": {"N": "5"}, "c": {"SS": ["p"]}, "d": {"S": "new"}}
    assert "Attributes" not in ddb.update_item(ReturnValues="NONE", **upd)
    # an update creating the item: UPDATED_OLD has nothing, ALL_NEW has key + new attributes
    k2 = {"pk": {"S": "new"}, "sk": {"S": "b"}}
    assert "Attributes" not in ddb.update_item(
        TableName=tbl,
        Key=k2,
        UpdateExpression="SET x = :x",
        ExpressionAttributeValues={":x": {"N": "1"}},
        ReturnValues="UPDATED_OLD",
    )
    k3 = {"pk": {"S": "new3"}, "sk": {"S": "b"}}
    r = ddb.update_item(
        TableName=tbl,
        Key=k3,
        UpdateExpression="ADD n :one, s :s",
        ExpressionAttributeValues={":one": {"N": "1"}, ":s": {"SS": ["a"]}},
        ReturnValues="ALL_NEW",
    )
    assert r["Attributes"] == {**k3, "n": {"N": "1"}, "s": {"SS": ["a"]}}


def test_key_errors(ddb, tbl):
    assert error(ddb.get_item, TableName=tbl, Key={"pk": {"S": "a"}}) == (
        "ValidationException",
        "The provided key element does not match the schema",
    )
    assert error(ddb.get_item, TableName=tbl, Key={"pk": {"N": "1"}, "sk": {"S": "b"}}) == (
        "ValidationException",
        "The provided key element does not match the schema",
    )
    assert error(ddb.get_item, TableName=tbl, Key={**K, "x": {"S": "c"}}) == (
        "ValidationException",
        "The provided key element does not match the schema",
    )
    assert error(ddb.put_item, TableName=tbl, Item={"pk": {"S": "a"}}) == (
        "ValidationException",
        INV + "Missing the key sk in the item",
    )
    assert error(ddb.put_item, TableName=tbl, Item={"pk": {"S": "a"}, "sk": {"N": "1"}}) == (
        "ValidationException",
        INV + "Type mismatch for key sk expected: S actual: N",
    )
    assert error(ddb.put_item, TableName=tbl, Item={"pk": {"S": ""}, "sk": {"S": "b"}}) == (
        "ValidationException",
        "One or more parameter values are not valid. The AttributeValue for a key attribute "
        "cannot contain an empty string value. Key: pk",
    )
    assert error(ddb.put_item, TableName=tbl, Item={"pk": {"S": "a" * 2049}, "sk": {"S": "b"}}) == (
        "ValidationException",
        INV + "Size of hashkey has exceeded the maximum size limit of2048 bytes",
    )
    assert error(ddb.put_item, TableName=tbl, Item={"pk": {"S": "a"}, "sk": {"S": "b" * 1025}}) == (
        "ValidationException",
        INV + "Aggregated size of all range keys has exceeded the size limit of 1024 bytes",
    )
    ddb.put_item(TableName=tbl, Item={"pk": {"S": "a" * 2048}, "sk": {"S": "b" * 1024}})
    assert error(
        ddb.update_item,
        TableName=tbl,
        Key=K,
        UpdateExpression="SET sk = :v",
        ExpressionAttributeValues={":v": {"S": "x"}},
    ) == ("ValidationException", INV + "Cannot update attribute sk. This attribute is part of the key")
    assert error(ddb.put_item, TableName="missing", Item=K) == (
        "ResourceNotFoundException",
        "Requested resource not found",
    )


def test_numbers(ddb, tbl):
    def put(n):
        return ddb.put_item(TableName=tbl, Item={**K, "n": {"N": n}})

    # PutItem answers refused values inside the validation envelope (paritysuite
    # dynamodb-conformance error-messages/valueLayers, four regions, 2026-10-09)

    assert error(put, n="1e126") == (
        "ValidationException",
        ENVELOPE + "Number overflow. Attempting to store a number with magnitude larger than supported range",
    )
    assert error(put, n="1e-131") == (
        "ValidationException",
        ENVELOPE
        + "Number underflow. Attempting to store a number with magnitude smaller than supported range",
    )
    assert error(put, n="1.23456789012345678901234567890123456789") == (
        "ValidationException",
        ENVELOPE + "Attempting to store more than 38 significant digits in a Number",
    )
    assert error(put, n="abc") == (
        "ValidationException",
        ENVELOPE + "The parameter cannot be converted to a numeric value: abc",
    )
    put("9.9999999999999999999999999999999999999e125")
    put("1e-130")
    ddb.put_item(
        TableName=tbl,
        Item={
            **K,
            "a": {"N": "0010.500"},
            "b": {"N": "-0"},
            "c": {"N": "1E+2"},
            "d": {"N": "12345678901234567890123456789012345678"},
        },
    )
    item = ddb.get_item(TableName=tbl, Key=K)["Item"]
    assert item["a"] == {"N": "10.5"} and item["b"] == {"N": "0"} and item["c"] == {"N": "100"}
    assert item["d"] == {"N": "12345678901234567890123456789012345678"}
    # arithmetic keeps 38 digits and reports overflow
    r = ddb.update_item(
        TableName=tbl,
        Key=K,
        UpdateExpression="SET e = :a + :b",
        ExpressionAttributeValues={":a": {"N": "0.1"}, ":b": {"N": "0.2"}},
        ReturnValues="UPDATED_NEW",
    )
    assert r["Attributes"] == {"e": {"N": "0.3"}}
    assert error(
        ddb.update_item,
        TableName=tbl,
        Key=K,
        UpdateExpression="SET e = :a + :a",
        ExpressionAttributeValues={":a": {"N": "9e125"}},
    ) == (
        "ValidationException",
        "Number overflow. Attempting to store a number with magnitude larger than supported range",
    )


def test_sets_and_empty_values(ddb, tbl):
    assert error(ddb.put_item, TableName=tbl, Item={**K, "s": {"SS": []}}) == (
        "ValidationException",
        ENVELOPE + INV + "An string set  may not be empty",  # captures/cross-region-latest.json
    )
    assert error(ddb.put_item, TableName=tbl, Item={**K, "s": {"SS": ["a", "a"]}}) == (
        "ValidationException",
        ENVELOPE + INV + 'Input collection ["a", "a"] contains duplicates.',  # valueLayers (2026-10-09)
    )
    assert (
        error(ddb.put_item, TableName=tbl, Item={**K, "s": {"NS": ["1", "1.0"]}})[0] == "ValidationException"
    )
    # empty strings and binaries are fine outside keys
    ddb.put_item(TableName=tbl, Item={**K, "e": {"S": ""}, "b": {"B": b""}, "l": {"L": []}, "m": {"M": {}}})
    item = ddb.get_item(TableName=tbl, Key=K)["Item"]
    assert (
        item["e"] == {"S": ""}
        and item["b"] == {"B": b""}
        and item["l"] == {"L": []}
        and item["m"] == {"M": {}}
    )
    # DELETE of the last set element removes the attribute
    ddb.put_item(TableName=tbl, Item={**K, "s": {"SS": ["x", "y"]}})
    r = ddb.update_item(
        TableName=tbl,
        Key=K,
        UpdateExpression="DELETE s :v",
        ExpressionAttributeValues={":v": {"SS": ["x", "y", "z"]}},
        ReturnValues="ALL_NEW",
    )
    assert "s" not in r["Attributes"]


def test_item_size_limit_exactly_400kb(ddb, tbl):
    # size = attribute names + values: pk(2)+1, sk(2)+1, d(1)+n
    n = 409600 - 7
    ddb.put_item(TableName=tbl, Item={**K, "d": {"S": "x" * n}})
    assert error(ddb.put_item, TableName=tbl, Item={**K, "d": {"S": "x" * (n + 1)}}) == (
        "ValidationException",
        "Item size has exceeded the maximum allowed size",
    )
    assert error(
        ddb.update_item,
        TableName=tbl,
        Key=K,
        UpdateExpression="SET e = :e",
        ExpressionAttributeValues={":e": {"S": "y"}},
    ) == ("ValidationException", "Item size to update has exceeded the maximum allowed size")


def test_condition_failures(ddb, tbl):
    ddb.put_item(TableName=tbl, Item={**K, "v": {"N": "1"}})
    with pytest.raises(ClientError) as e:
        ddb.put_item(
            TableName=tbl,
            Item=K,
            ConditionExpression="attribute_not_exists(pk)",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    assert e.value.response["Error"] == {
        "Code": "ConditionalCheckFailedException",
        "Message": "The conditional request failed",
    }
    assert e.value.response["Item"] == {**K, "v": {"N": "1"}}
    assert error(
        ddb.delete_item,
        TableName=tbl,
        Key=K,
        ConditionExpression="v = :two",
        ExpressionAttributeValues={":two": {"N": "2"}},
    ) == ("ConditionalCheckFailedException", "The conditional request failed")
    assert error(
        ddb.update_item,
        TableName=tbl,
        Key=K,
        ConditionExpression="v = :two",
        UpdateExpression="SET v = :two",
        ExpressionAttributeValues={":two": {"N": "2"}, ":x": {"N": "1"}},
    ) == (
        "ValidationException",
        ENVELOPE + "Value provided in ExpressionAttributeValues unused in expressions: keys: {:x}",
    )


def test_consumed_capacity_shapes(ddb, tbl):
    r = ddb.put_item(TableName=tbl, Item={**K, "d": {"S": "x" * 1500}}, ReturnConsumedCapacity="TOTAL")
    assert r["ConsumedCapacity"] == {"TableName": tbl, "CapacityUnits": 2.0}
    r = ddb.get_item(TableName=tbl, Key=K, ReturnConsumedCapacity="TOTAL")
    assert r["ConsumedCapacity"] == {"TableName": tbl, "CapacityUnits": 0.5}
    r = ddb.get_item(TableName=tbl, Key=K, ReturnConsumedCapacity="INDEXES", ConsistentRead=True)
    assert r["ConsumedCapacity"] == {"TableName": tbl, "CapacityUnits": 1.0, "Table": {"CapacityUnits": 1.0}}
    r = ddb.get_item(
        TableName=tbl, Key={"pk": {"S": "none"}, "sk": {"S": "b"}}, ReturnConsumedCapacity="TOTAL"
    )
    assert "Item" not in r and r["ConsumedCapacity"]["CapacityUnits"] == 0.5
    r = ddb.delete_item(TableName=tbl, Key=K, ReturnConsumedCapacity="INDEXES")
    assert r["ConsumedCapacity"] == {"TableName": tbl, "CapacityUnits": 2.0, "Table": {"CapacityUnits": 2.0}}
    assert "ConsumedCapacity" not in ddb.put_item(TableName=tbl, Item=K, ReturnConsumedCapacity="NONE")


def test_expression_errors(ddb, tbl, raw):
    assert error(ddb.get_item, TableName=tbl, Key=K, ProjectionExpression="a, #b") == (
        "ValidationException",
        "Invalid ProjectionExpression: An expression attribute name used in the document path is not defined; "
        "attribute name: #b",
    )
    assert error(ddb.get_item, TableName=tbl, Key=K, AttributesToGet=["a"], ProjectionExpression="a") == (
        "ValidationException",
        "Can not use both expression and non-expression parameters in the same request: "
        "Non-expression parameters: {AttributesToGet} Expression parameters: {ProjectionExpression}",
    )
    code, msg = error(
        ddb.update_item,
        TableName=tbl,
        Key=K,
        UpdateExpression="SET a = :a",
        ExpressionAttributeValues={":a": {"S": "x"}, ":b": {"S": "y"}},
    )
    assert msg == ENVELOPE + "Value provided in ExpressionAttributeValues unused in expressions: keys: {:b}"
    code, msg = error(ddb.put_item, TableName=tbl, Item=K, ConditionExpression="attribute_exists(status)")
    assert msg.startswith(
        ENVELOPE
        + "Invalid ConditionExpression: Attribute name is a reserved keyword; reserved keyword: status"
    )


# paritysuite dynamodb-conformance, tests/tier3/validation-ordering/updateItem.test.ts and
# transactions.test.ts (us-east-1 and eu-west-2, 2026-10-09): member errors are joined in AWS's
# member order, enum lists are printed in AWS's own order, an empty TableName fails only its
# length >= 1 constraint
_UPD = dict(UpdateExpression="SET a = :a", ExpressionAttributeValues={":a": {"S": "x"}})
_EMPTY_NAME = (
    "Value '' at 'tableName' failed to satisfy constraint: Member must have length greater than or equal to 1"
)
_NO_KEY = "Value null at 'key' failed to satisfy constraint: Member must not be null"


def test_update_item_member_errors_in_aws_order(raw):
    assert error(raw.update_item, TableName="", **_UPD) == (
        "ValidationException",
        f"2 validation errors detected: {_EMPTY_NAME}; {_NO_KEY}",
    )
    assert error(
        raw.update_item, TableName="", ReturnConsumedCapacity="INVALID", ReturnValues="INVALID", **_UPD
    ) == (
        "ValidationException",
        "4 validation errors detected: "
        "Value 'INVALID' at 'returnConsumedCapacity' failed to satisfy constraint: Member must satisfy enum "
        "value set: [INDEXES, TOTAL, NONE]; "
        f"{_EMPTY_NAME}; "
        "Value 'INVALID' at 'returnValues' failed to satisfy constraint: Member must satisfy enum value set: "
        "[ALL_NEW, UPDATED_OLD, ALL_OLD, NONE, UPDATED_NEW]; " + _NO_KEY,
    )
    assert error(
        raw.update_item,
        TableName="missing-table",
        AttributeUpdates={"x": {"Action": "PUT", "Value": {"S": "1"}}},
        Expected={"a": {"Exists": False}, "b": {"Exists": False}},
        ConditionalOperator="XOR",
    ) == (
        "ValidationException",
        "2 validation errors detected: Value 'XOR' at 'conditionalOperator' failed to satisfy constraint: Member "
        "must satisfy enum value set: [OR, AND]; " + _NO_KEY,
    )


def test_transact_write_member_errors_in_aws_order(raw):
    token = "x" * 37
    items = [{"Put": {"TableName": "missing-table", "Item": K}}]
    assert error(
        raw.transact_write_items,
        TransactItems=items,
        ClientRequestToken=token,
        ReturnConsumedCapacity="BOGUS",
    ) == (
        "ValidationException",
        f"2 validation errors detected: Value '{token}' at 'clientRequestToken' failed to satisfy constraint: "
        "Member must have length less than or equal to 36; Value 'BOGUS' at 'returnConsumedCapacity' failed to "
        "satisfy constraint: Member must satisfy enum value set: [INDEXES, TOTAL, NONE]",
    )


def test_update_item_undefined_condition_value_is_enveloped(raw, tbl):
    """paritysuite dynamodb-conformance, error-messages/updateItem (eu-west-2 and us-east-1,
    2026-10-09): the condition's undefined value is reported inside the validation envelope;
    so is the UpdateExpression's own (captures/cross-region-latest.json u_upd_missing_eav,
    regions on the newer validation framework, 2026-09-20)."""
    assert error(
        raw.update_item,
        TableName=tbl,
        Key=K,
        UpdateExpression="SET b = :w",
        ConditionExpression="a = :v",
        ExpressionAttributeValues={":w": {"S": "x"}},
    ) == (
        "ValidationException",
        "1 validation error detected: Invalid ConditionExpression: An expression attribute "
        "value used in expression is not defined; attribute value: :v",
    )
    assert error(raw.update_item, TableName=tbl, Key=K, UpdateExpression="SET attr1 = :v") == (
        "ValidationException",
        "1 validation error detected: Invalid UpdateExpression: An expression attribute value used "
        "in expression is not defined; attribute value: :v",
    )


def test_item_write_request_checks_are_enveloped(raw, tbl):
    """paritysuite dynamodb-conformance, error-messages/deleteItem "request validation envelope"
    (eu-west-2 and us-east-1, 2026-10-09; "as PutItem and UpdateItem do")."""
    one = "1 validation error detected: "

    def delete(**kw):
        return error(raw.delete_item, TableName=tbl, Key=K, **kw)[1]

    assert delete(ExpressionAttributeValues={":v": {"S": "x"}}) == (
        one + "ExpressionAttributeValues can only be specified when using expressions"
    )
    assert delete(ExpressionAttributeNames={"#a": "a"}) == (
        one + "ExpressionAttributeNames can only be specified when using expressions"
    )
    assert delete(Expected={"a": {"Exists": False}}, ExpressionAttributeNames={"#a": "a"}) == (
        one + "ExpressionAttributeNames can only be specified when using expressions"
    )
    cond = {"ConditionExpression": "attribute_exists(a)"}
    assert delete(ExpressionAttributeValues={}, **cond) == one + "ExpressionAttributeValues must not be empty"
    assert delete(ExpressionAttributeNames={}, **cond) == one + "ExpressionAttributeNames must not be empty"
    assert (
        delete(ConditionExpression="")
        == one + "Invalid ConditionExpression: The expression can not be empty;"
    )
    assert delete(ReturnValues="UPDATED_NEW") == one + "ReturnValues can only be ALL_OLD or NONE"
    assert [
        delete(Expected=e)
        for e in (
            {"a": {"Exists": True}},
            {"a": {"Exists": False, "Value": {"S": "x"}}},
            {"a": {"Value": {"S": "x"}, "ComparisonOperator": "EQ", "AttributeValueList": [{"S": "x"}]}},
            {"a": {"ComparisonOperator": "EQ"}},
            {"a": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [{"S": "x"}]}},
        )
    ] == [
        one + INV + m
        for m in (
            "Value must be provided when Exists is true for Attribute: a",
            "Value cannot be used when Exists is false for Attribute: a",
            "Value and AttributeValueList cannot be used together for Attribute: a",
            "Value or AttributeValueList must be used with ComparisonOperator: EQ for Attribute: a",
            "Invalid number of argument(s) for the BETWEEN ComparisonOperator",
        )
    ]
    assert error(raw.put_item, TableName=tbl, Item=K, ExpressionAttributeValues={":v": {"S": "x"}})[1] == (
        one + "ExpressionAttributeValues can only be specified when using expressions"
    )
