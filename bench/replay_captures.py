"""Replay requests whose answers were captured against AWS and list where tidestream differs.

Why: the sources validated against live DynamoDB (paritysuite dynamodb-conformance captures and
tests, the LocalStack recordings) are the ground truth for fidelity work; replaying their
requests against a running server shows at once which recorded answers still differ, and keeps
each expectation next to the probe it came from. Raw HTTP, so that requests an SDK would refuse
client-side still reach the server.

Usage: python bench/replay_captures.py http://127.0.0.1:PORT   (prints differences; exit 1 if any)
"""

from __future__ import annotations

import sys
from typing import Any

from compare_errors import DDB, call

TABLE = "replay_h"
MISSING = "replay_absent"
KEY = {"pk": {"S": "k"}}
ENV = "1 validation error detected: "
INV = "One or more parameter values were invalid: "
RV_NEWER = (
    "Failed to satisfy constraint: Member must satisfy enum value set: "
    "[ALL_OLD, UPDATED_OLD, ALL_NEW, UPDATE_NEW, NONE]"
)
RCC = (
    "Value 'INVALID' at 'returnConsumedCapacity' failed to satisfy constraint: "
    "Member must satisfy enum value set: [INDEXES, TOTAL, NONE]"
)
EMPTY_NAME = (
    "Value at 'TableName' failed to satisfy constraint: Member must have length greater than or equal to 1"
)
OVERLAP = (
    "Invalid ProjectionExpression: Two document paths overlap with each other; "
    "must remove or rewrite one of these paths; path one: [a], path two: [a]"
)
CAPTURES = "paritysuite captures/cross-region-latest.json (2026-09-20)"
LAYERS = "paritysuite error-messages/valueLayers (2026-10-09)"


def _nested(levels: int) -> dict:
    value: dict = {"S": "leaf"}
    for _ in range(levels):
        value = {"M": {"n": value}}
    return value


#: (probe, source, operation, body, expected __type, expected message)
PROBES: list[tuple[str, str, str, dict[str, Any], str, str]] = [
    (
        "b_put_empty_ss",
        CAPTURES,
        "PutItem",
        {"TableName": TABLE, "Item": {**KEY, "s": {"SS": []}}},
        "ValidationException",
        ENV + INV + "An string set  may not be empty",
    ),
    (
        "b_put_dup_ss",
        CAPTURES,
        "PutItem",
        {"TableName": TABLE, "Item": {**KEY, "s": {"SS": ["a", "a"]}}},
        "ValidationException",
        ENV + INV + 'Input collection ["a", "a"] contains duplicates.',
    ),
    (
        "b_put_mix_expr",
        CAPTURES,
        "PutItem",
        {
            "TableName": TABLE,
            "Item": KEY,
            "Expected": {"a": {"Exists": False}},
            "ConditionExpression": "attribute_not_exists(a)",
        },
        "ValidationException",
        ENV + "Can not use both expression and non-expression parameters in the same request: "
        "Non-expression parameters: {Expected} Expression parameters: {ConditionExpression}",
    ),
    (
        "b_put_eav_no_expr",
        CAPTURES,
        "PutItem",
        {"TableName": TABLE, "Item": KEY, "ExpressionAttributeValues": {":v": {"S": "x"}}},
        "ValidationException",
        ENV + "ExpressionAttributeValues can only be specified when using expressions",
    ),
    (
        "b_put_redundant_parens",
        CAPTURES,
        "PutItem",
        {"TableName": TABLE, "Item": KEY, "ConditionExpression": "((attribute_exists(a)))"},
        "ValidationException",
        ENV + "Invalid ConditionExpression: The expression has redundant parentheses;",
    ),
    (
        "u_upd_syntax",
        CAPTURES,
        "UpdateItem",
        {"TableName": TABLE, "Key": KEY, "UpdateExpression": "INVALID SYNTAX"},
        "ValidationException",
        ENV + 'Invalid UpdateExpression: Syntax error; token: "INVALID", near: "INVALID SYNTAX"',
    ),
    (
        "u_upd_unused_eav",
        CAPTURES,
        "UpdateItem",
        {
            "TableName": TABLE,
            "Key": KEY,
            "UpdateExpression": "SET a = :v",
            "ExpressionAttributeValues": {":v": {"S": "x"}, ":unused": {"S": "y"}},
        },
        "ValidationException",
        ENV + "Value provided in ExpressionAttributeValues unused in expressions: keys: {:unused}",
    ),
    (
        "u_upd_missing_eav",
        CAPTURES,
        "UpdateItem",
        {"TableName": TABLE, "Key": KEY, "UpdateExpression": "SET a = :v"},
        "ValidationException",
        ENV
        + "Invalid UpdateExpression: An expression attribute value used in expression is not defined; attribute value: :v",
    ),
    (
        "u_upd_empty",
        CAPTURES,
        "UpdateItem",
        {"TableName": TABLE, "Key": KEY, "UpdateExpression": ""},
        "ValidationException",
        ENV + "Invalid UpdateExpression: The expression can not be empty;",
    ),
    (
        "u_upd_hashkey",
        CAPTURES,
        "UpdateItem",
        {
            "TableName": TABLE,
            "Key": KEY,
            "UpdateExpression": "SET pk = :v",
            "ExpressionAttributeValues": {":v": {"S": "x"}},
        },
        "ValidationException",
        INV + "Cannot update attribute pk. This attribute is part of the key",
    ),
    (
        "o_put_empty_table_bad_rv",
        CAPTURES,
        "PutItem",
        {"TableName": "", "Item": {}, "ReturnValues": "INVALID"},
        "ValidationException",
        ENV + EMPTY_NAME,
    ),
    (
        "o_del_empty_table",
        CAPTURES,
        "DeleteItem",
        {"TableName": "", "Key": {}},
        "ValidationException",
        ENV + EMPTY_NAME,
    ),
    (
        "o_upd_empty_table",
        CAPTURES,
        "UpdateItem",
        {"TableName": "", "Key": {}},
        "ValidationException",
        ENV + EMPTY_NAME,
    ),
    (
        "o_put_three_bad_enums",
        CAPTURES,
        "PutItem",
        {
            "TableName": TABLE,
            "Item": KEY,
            "ReturnValues": "INVALID",
            "ReturnConsumedCapacity": "INVALID",
            "ReturnItemCollectionMetrics": "INVALID",
        },
        "ValidationException",
        f"3 validation errors detected: {RCC}; {RV_NEWER}; Value 'INVALID' at 'returnItemCollectionMetrics' "
        "failed to satisfy constraint: Member must satisfy enum value set: [SIZE, NONE]",
    ),
    (
        "o_del_two_bad_enums",
        CAPTURES,
        "DeleteItem",
        {"TableName": TABLE, "Key": KEY, "ReturnValues": "INVALID", "ReturnConsumedCapacity": "INVALID"},
        "ValidationException",
        f"2 validation errors detected: {RCC}; {RV_NEWER}",
    ),
    (
        "o_upd_two_bad_enums",
        CAPTURES,
        "UpdateItem",
        {"TableName": TABLE, "Key": KEY, "ReturnValues": "INVALID", "ReturnConsumedCapacity": "INVALID"},
        "ValidationException",
        ENV + RV_NEWER,
    ),
    (
        "o_bg_empty_requestitems",
        CAPTURES,
        "BatchGetItem",
        {"RequestItems": {}},
        "ValidationException",
        ENV
        + "Value at 'RequestItems' failed to satisfy constraint: Member must have length greater than or equal to 1",
    ),
    (
        "o_bw_empty_requestitems",
        CAPTURES,
        "BatchWriteItem",
        {"RequestItems": {}},
        "ValidationException",
        "The requestItems parameter is required for BatchWriteItem",
    ),
    (
        "o_upd_nested_32_eav",
        CAPTURES,
        "UpdateItem",
        {
            "TableName": TABLE,
            "Key": KEY,
            "UpdateExpression": "SET t = :t",
            "ConditionExpression": "d = :deep",
            "ExpressionAttributeValues": {":t": {"S": "y"}, ":deep": _nested(32)},
        },
        "ValidationException",
        ENV
        + "Nesting Levels have exceeded supported limits: Attributes in the item have nested levels beyond supported limit",
    ),
    (
        "proj_get_d1",
        CAPTURES,
        "GetItem",
        {"TableName": TABLE, "Key": KEY, "ProjectionExpression": "a, a"},
        "ValidationException",
        OVERLAP,
    ),
    (
        "proj_scan_d1",
        CAPTURES,
        "Scan",
        {"TableName": TABLE, "ProjectionExpression": "a, a"},
        "ValidationException",
        OVERLAP,
    ),
    (
        "nullRoundTrip",
        CAPTURES,
        "PutItem",
        {"TableName": TABLE, "Item": {**KEY, "n": {"NULL": False}}},
        "ValidationException",
        ENV + INV + "Null attribute value types must have the value of true",
    ),
    (
        "number in GetItem key",
        LAYERS,
        "GetItem",
        {"TableName": TABLE, "Key": {"pk": {"N": ""}}},
        "ValidationException",
        "The parameter cannot be converted to a numeric value: ",
    ),
    (
        "number in BatchWriteItem",
        LAYERS,
        "BatchWriteItem",
        {"RequestItems": {TABLE: [{"PutRequest": {"Item": {**KEY, "n": {"N": ""}}}}]}},
        "ValidationException",
        "The parameter cannot be converted to a numeric value",
    ),
    (
        "duplicate in a transaction value",
        LAYERS,
        "TransactWriteItems",
        {
            "TransactItems": [
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": KEY,
                        "UpdateExpression": "SET s = :t",
                        "ExpressionAttributeValues": {":t": {"SS": ["b", "a", "b"]}},
                    }
                }
            ]
        },
        "ValidationException",
        f"ExpressionAttributeValues contains invalid value: {INV}Input collection [b, a, b] contains duplicates. for key :t",
    ),
    (
        "XOR with two QueryFilter conditions",
        "paritysuite validation-ordering/query (2026-10-09)",
        "Query",
        {
            "TableName": MISSING,
            "KeyConditions": {"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "a"}]}},
            "QueryFilter": {"b": {"ComparisonOperator": "NULL"}, "c": {"ComparisonOperator": "NULL"}},
            "ConditionalOperator": "XOR",
            "Select": "BOGUS",
        },
        "ValidationException",
        "Failed to satisfy constraint: Member must satisfy enum value set: [ALL, OR]",
    ),
]


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__)
        return 2
    endpoint = argv[1]
    call(
        endpoint,
        DDB + "CreateTable",
        {
            "TableName": TABLE,
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        },
    )
    differ = 0
    for probe, source, op, body, kind, message in PROBES:
        _, got_kind, got_message = call(endpoint, DDB + op, body)
        if (got_kind, got_message) != (kind, message):
            differ += 1
            print(
                f"~ {probe} [{op}] ({source})\n   AWS  {kind}: {message}\n   here {got_kind}: {got_message}"
            )
    print(f"{differ} of {len(PROBES)} differ")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
