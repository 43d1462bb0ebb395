"""Send the same malformed and edge-case requests to two endpoints and list where the answers differ.

Why: fidelity work needs a wide net of requests (missing/extra members, wrong types, bad
expressions, edge limits) compared against a peer emulator; each difference is then judged
against sources validated on AWS before anything is changed. Raw HTTP, so that requests an SDK
would refuse client-side still reach the server.

Usage: python bench/compare_errors.py http://127.0.0.1:PORT_A http://127.0.0.1:PORT_B [--all]
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from typing import Any

DDB = "DynamoDB_20120810."
KIN = "Kinesis_20131202."
STREAMS = "DynamoDBStreams_20120810."

HASH_TABLE = "cmp_hash"
RANGE_TABLE = "cmp_range"
STREAM = "cmp_stream"

S_KEY = {"pk": {"S": "a"}}
R_KEY = {"pk": {"S": "a"}, "sk": {"N": "1"}}


def call(endpoint: str, target: str, body: Any) -> tuple[int, str, str]:
    """POST one request; answer (status, __type without namespace, message)."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    ctype = "application/x-amz-json-1.1" if target.startswith(KIN) else "application/x-amz-json-1.0"
    req = urllib.request.Request(
        endpoint,
        data=data,
        headers={
            "X-Amz-Target": target,
            "Content-Type": ctype,
            "Authorization": "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/dynamodb/aws4_request, "
            "SignedHeaders=host, Signature=00",
        },
    )
    try:
        with urllib.request.urlopen(req, timeout=20) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as err:
        status, raw = err.code, err.read()
    try:
        doc = json.loads(raw or b"{}")
    except ValueError:
        return status, "?", raw[:200].decode(errors="replace")
    kind = str(doc.get("__type", "")).rsplit("#", 1)[-1]
    message = doc.get("message", doc.get("Message", ""))
    return status, kind, str(message) if kind else ""


def setup(endpoint: str) -> None:
    """The tables and stream the cases name."""
    call(
        endpoint,
        DDB + "CreateTable",
        {
            "TableName": HASH_TABLE,
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
        },
    )
    call(
        endpoint,
        DDB + "CreateTable",
        {
            "TableName": RANGE_TABLE,
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "N"},
                {"AttributeName": "g", "AttributeType": "S"},
            ],
            "KeySchema": [
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": "gi",
                    "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "KEYS_ONLY"},
                }
            ],
        },
    )
    call(endpoint, KIN + "CreateStream", {"StreamName": STREAM, "ShardCount": 1})
    call(endpoint, DDB + "PutItem", {"TableName": HASH_TABLE, "Item": {**S_KEY, "v": {"N": "1"}}})


def item_cases() -> list[tuple[str, str, Any]]:
    """Item reads and writes: shapes, expressions, placeholders, keys."""
    h, r = HASH_TABLE, RANGE_TABLE
    cases: list[tuple[str, str, Any]] = []
    for op in ("GetItem", "DeleteItem", "UpdateItem", "PutItem", "Query", "Scan"):
        cases += [
            (f"{op} empty body", op, {}),
            (f"{op} missing table", op, {"TableName": "absent", "Key": S_KEY, "Item": S_KEY}),
            (f"{op} table name too short", op, {"TableName": "ab", "Key": S_KEY, "Item": S_KEY}),
            (f"{op} table name bad chars", op, {"TableName": "a b c", "Key": S_KEY, "Item": S_KEY}),
            (f"{op} table name wrong type", op, {"TableName": 5, "Key": S_KEY}),
            (f"{op} unknown member", op, {"TableName": h, "Key": S_KEY, "Item": S_KEY, "Bogus": 1}),
            (
                f"{op} bad ReturnConsumedCapacity",
                op,
                {"TableName": h, "Key": S_KEY, "Item": S_KEY, "ReturnConsumedCapacity": "X"},
            ),
        ]
    key_variants = {
        "empty key": {},
        "wrong key type": {"pk": {"N": "1"}},
        "extra key attr": {"pk": {"S": "a"}, "x": {"S": "b"}},
        "wrong key name": {"zz": {"S": "a"}},
        "empty string key": {"pk": {"S": ""}},
        "two types in value": {"pk": {"S": "a", "N": "1"}},
        "no type in value": {"pk": {}},
        "null false": {"pk": {"NULL": False}},
        "bad number": {"pk": {"N": "abc"}},
        "key is set": {"pk": {"SS": ["a"]}},
    }
    for name, key in key_variants.items():
        for op in ("GetItem", "DeleteItem", "UpdateItem"):
            cases.append((f"{op} {name}", op, {"TableName": h, "Key": key}))
            cases.append((f"{op} {name} missing table", op, {"TableName": "absent", "Key": key}))
        cases.append((f"PutItem {name}", "PutItem", {"TableName": h, "Item": key}))
    values = {
        "empty SS": {"SS": []},
        "dup SS": {"SS": ["a", "a"]},
        "dup NS": {"NS": ["1", "1.0"]},
        "empty NS": {"NS": []},
        "empty BS": {"BS": []},
        "bad NS": {"NS": ["x"]},
        "N too big": {"N": "1e126"},
        "N too small": {"N": "1e-131"},
        "N too precise": {"N": "1.00000000000000000000000000000000000001"},
        "B not base64": {"B": "!!!"},
        "BOOL string": {"BOOL": "yes"},
        "L not list": {"L": {}},
        "M not map": {"M": []},
        "empty M": {"M": {}},
        "nested empty string": {"M": {"a": {"S": ""}}},
        "unknown type": {"X": "1"},
        "lowercase type": {"s": "1"},
        "N empty": {"N": ""},
        "S number": {"S": 5},
    }
    for name, value in values.items():
        cases.append((f"PutItem value {name}", "PutItem", {"TableName": h, "Item": {**S_KEY, "v": value}}))
        cases.append(
            (
                f"PutItem value {name} missing table",
                "PutItem",
                {"TableName": "absent", "Item": {**S_KEY, "v": value}},
            )
        )
    exprs: list[tuple[str, dict[str, Any]]] = [
        ("syntax", {"UpdateExpression": "SET"}),
        (
            "unused name",
            {
                "UpdateExpression": "SET a = :v",
                "ExpressionAttributeNames": {"#n": "x"},
                "ExpressionAttributeValues": {":v": {"S": "1"}},
            },
        ),
        (
            "unused value",
            {
                "UpdateExpression": "SET a = :v",
                "ExpressionAttributeValues": {":v": {"S": "1"}, ":w": {"S": "2"}},
            },
        ),
        ("undefined value", {"UpdateExpression": "SET a = :v"}),
        (
            "undefined name",
            {"UpdateExpression": "SET #a = :v", "ExpressionAttributeValues": {":v": {"S": "1"}}},
        ),
        (
            "empty names",
            {
                "UpdateExpression": "SET a = :v",
                "ExpressionAttributeNames": {},
                "ExpressionAttributeValues": {":v": {"S": "1"}},
            },
        ),
        ("empty values", {"UpdateExpression": "REMOVE a", "ExpressionAttributeValues": {}}),
        (
            "overlap",
            {"UpdateExpression": "SET a = :v, a.b = :v", "ExpressionAttributeValues": {":v": {"S": "1"}}},
        ),
        ("update key", {"UpdateExpression": "SET pk = :v", "ExpressionAttributeValues": {":v": {"S": "1"}}}),
        ("remove key", {"UpdateExpression": "REMOVE pk"}),
        (
            "two SET",
            {"UpdateExpression": "SET a = :v SET b = :v", "ExpressionAttributeValues": {":v": {"S": "1"}}},
        ),
        ("ADD string", {"UpdateExpression": "ADD a :v", "ExpressionAttributeValues": {":v": {"S": "1"}}}),
        (
            "DELETE number",
            {"UpdateExpression": "DELETE a :v", "ExpressionAttributeValues": {":v": {"N": "1"}}},
        ),
        (
            "bad function",
            {"UpdateExpression": "SET a = foo(:v)", "ExpressionAttributeValues": {":v": {"S": "1"}}},
        ),
        (
            "list_append non-list",
            {
                "UpdateExpression": "SET a = list_append(:v, :v)",
                "ExpressionAttributeValues": {":v": {"S": "1"}},
            },
        ),
        (
            "if_not_exists wrong",
            {
                "UpdateExpression": "SET a = if_not_exists(:v, :v)",
                "ExpressionAttributeValues": {":v": {"S": "1"}},
            },
        ),
        (
            "mixed legacy",
            {
                "UpdateExpression": "SET a = :v",
                "AttributeUpdates": {"a": {"Action": "DELETE"}},
                "ExpressionAttributeValues": {":v": {"S": "1"}},
            },
        ),
        ("names without expression", {"ExpressionAttributeNames": {"#a": "a"}}),
        ("values without expression", {"ExpressionAttributeValues": {":a": {"S": "1"}}}),
        ("condition syntax", {"ConditionExpression": "a ="}),
        ("condition bad function", {"ConditionExpression": "nofunc(a)"}),
        ("condition size cmp", {"ConditionExpression": "size(a)"}),
        (
            "condition attribute_type bad",
            {
                "ConditionExpression": "attribute_type(a, :v)",
                "ExpressionAttributeValues": {":v": {"S": "XX"}},
            },
        ),
        (
            "condition between inverted",
            {
                "ConditionExpression": "a BETWEEN :h AND :l",
                "ExpressionAttributeValues": {":h": {"N": "5"}, ":l": {"N": "1"}},
            },
        ),
        (
            "condition IN too many",
            {
                "ConditionExpression": "a IN (" + ",".join([":v"] * 101) + ")",
                "ExpressionAttributeValues": {":v": {"N": "1"}},
            },
        ),
        ("condition empty", {"ConditionExpression": ""}),
        ("condition reserved word", {"ConditionExpression": "attribute_exists(name)"}),
        ("condition fails", {"ConditionExpression": "attribute_not_exists(pk)"}),
        ("ReturnValues bad", {"ReturnValues": "ALL"}),
        ("ReturnValuesOnConditionCheckFailure bad", {"ReturnValuesOnConditionCheckFailure": "ALL_NEW"}),
        (
            "Expected and Condition",
            {"ConditionExpression": "attribute_exists(a)", "Expected": {"a": {"Exists": True}}},
        ),
        ("Expected exists with value false", {"Expected": {"a": {"Exists": False, "Value": {"S": "1"}}}}),
        ("Expected exists true no value", {"Expected": {"a": {"Exists": True}}}),
        ("Expected op bad count", {"Expected": {"a": {"ComparisonOperator": "EQ"}}}),
        (
            "Expected BETWEEN one",
            {"Expected": {"a": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [{"N": "1"}]}}},
        ),
        ("ConditionalOperator without Expected", {"ConditionalOperator": "AND"}),
        ("AttributeUpdates PUT no value", {"AttributeUpdates": {"a": {"Action": "PUT"}}}),
        ("AttributeUpdates key", {"AttributeUpdates": {"pk": {"Action": "PUT", "Value": {"S": "x"}}}}),
        ("AttributeUpdates ADD string", {"AttributeUpdates": {"a": {"Action": "ADD", "Value": {"S": "x"}}}}),
    ]
    for name, extra in exprs:
        cases.append((f"UpdateItem {name}", "UpdateItem", {"TableName": h, "Key": S_KEY, **extra}))
        cases.append(
            (f"UpdateItem {name} missing table", "UpdateItem", {"TableName": "absent", "Key": S_KEY, **extra})
        )
        if "UpdateExpression" not in extra and "AttributeUpdates" not in extra:
            cases.append((f"PutItem {name}", "PutItem", {"TableName": h, "Item": S_KEY, **extra}))
            cases.append((f"DeleteItem {name}", "DeleteItem", {"TableName": h, "Key": S_KEY, **extra}))
    cases += [
        ("PutItem item too big", "PutItem", {"TableName": h, "Item": {**S_KEY, "v": {"S": "x" * 410000}}}),
        ("PutItem key too long", "PutItem", {"TableName": h, "Item": {"pk": {"S": "x" * 2049}}}),
        (
            "PutItem range key too long",
            "PutItem",
            {"TableName": r, "Item": {"pk": {"S": "a"}, "sk": {"N": "1"}, "g": {"S": "x" * 2049}}},
        ),
        ("PutItem gsi key wrong type", "PutItem", {"TableName": r, "Item": {**R_KEY, "g": {"N": "1"}}}),
        ("PutItem gsi key empty", "PutItem", {"TableName": r, "Item": {**R_KEY, "g": {"S": ""}}}),
        ("PutItem range missing sk", "PutItem", {"TableName": r, "Item": {"pk": {"S": "a"}}}),
        ("GetItem range missing sk", "GetItem", {"TableName": r, "Key": {"pk": {"S": "a"}}}),
        (
            "GetItem projection and ATG",
            "GetItem",
            {"TableName": h, "Key": S_KEY, "ProjectionExpression": "a", "AttributesToGet": ["a"]},
        ),
        ("GetItem empty ATG", "GetItem", {"TableName": h, "Key": S_KEY, "AttributesToGet": []}),
        ("GetItem dup ATG", "GetItem", {"TableName": h, "Key": S_KEY, "AttributesToGet": ["a", "a"]}),
        (
            "GetItem projection syntax",
            "GetItem",
            {"TableName": h, "Key": S_KEY, "ProjectionExpression": "a,,b"},
        ),
        (
            "GetItem projection overlap",
            "GetItem",
            {"TableName": h, "Key": S_KEY, "ProjectionExpression": "a, a.b"},
        ),
        ("GetItem projection dup", "GetItem", {"TableName": h, "Key": S_KEY, "ProjectionExpression": "a, a"}),
        (
            "GetItem projection reserved",
            "GetItem",
            {"TableName": h, "Key": S_KEY, "ProjectionExpression": "name"},
        ),
        ("GetItem projection empty", "GetItem", {"TableName": h, "Key": S_KEY, "ProjectionExpression": ""}),
        ("GetItem ConsistentRead string", "GetItem", {"TableName": h, "Key": S_KEY, "ConsistentRead": "yes"}),
        ("GetItem key as list", "GetItem", {"TableName": h, "Key": []}),
    ]
    return cases


def read_cases() -> list[tuple[str, str, Any]]:
    """Query and Scan: key conditions, Select, Limit, segments, indexes."""
    h, r = HASH_TABLE, RANGE_TABLE
    v1 = {":v": {"S": "a"}}
    queries: list[tuple[str, dict[str, Any]]] = [
        ("no condition", {}),
        ("kce syntax", {"KeyConditionExpression": "pk ="}),
        ("kce non-key", {"KeyConditionExpression": "x = :v", "ExpressionAttributeValues": v1}),
        ("kce OR", {"KeyConditionExpression": "pk = :v OR pk = :v", "ExpressionAttributeValues": v1}),
        ("kce hash range op", {"KeyConditionExpression": "pk > :v", "ExpressionAttributeValues": v1}),
        (
            "kce wrong type",
            {"KeyConditionExpression": "pk = :v", "ExpressionAttributeValues": {":v": {"N": "1"}}},
        ),
        (
            "kce begins_with number",
            {
                "KeyConditionExpression": "pk = :v AND begins_with(sk, :n)",
                "ExpressionAttributeValues": {**v1, ":n": {"N": "1"}},
            },
        ),
        ("kce two hash", {"KeyConditionExpression": "pk = :v AND pk = :v", "ExpressionAttributeValues": v1}),
        ("kce NOT", {"KeyConditionExpression": "NOT pk = :v", "ExpressionAttributeValues": v1}),
        ("kce contains", {"KeyConditionExpression": "contains(pk, :v)", "ExpressionAttributeValues": v1}),
        ("kce <>", {"KeyConditionExpression": "pk <> :v", "ExpressionAttributeValues": v1}),
        ("kce IN", {"KeyConditionExpression": "pk IN (:v)", "ExpressionAttributeValues": v1}),
        (
            "kce unused value",
            {"KeyConditionExpression": "pk = :v", "ExpressionAttributeValues": {**v1, ":w": {"S": "b"}}},
        ),
        (
            "kce and KeyConditions",
            {
                "KeyConditionExpression": "pk = :v",
                "ExpressionAttributeValues": v1,
                "KeyConditions": {"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "a"}]}},
            },
        ),
        (
            "KeyConditions bad op",
            {"KeyConditions": {"pk": {"ComparisonOperator": "NE", "AttributeValueList": [{"S": "a"}]}}},
        ),
        ("KeyConditions no values", {"KeyConditions": {"pk": {"ComparisonOperator": "EQ"}}}),
        ("Limit 0", {"KeyConditionExpression": "pk = :v", "ExpressionAttributeValues": v1, "Limit": 0}),
        (
            "Limit negative",
            {"KeyConditionExpression": "pk = :v", "ExpressionAttributeValues": v1, "Limit": -1},
        ),
        (
            "Select bad",
            {"KeyConditionExpression": "pk = :v", "ExpressionAttributeValues": v1, "Select": "SOME"},
        ),
        (
            "Select SPECIFIC without",
            {
                "KeyConditionExpression": "pk = :v",
                "ExpressionAttributeValues": v1,
                "Select": "SPECIFIC_ATTRIBUTES",
            },
        ),
        (
            "Select COUNT with projection",
            {
                "KeyConditionExpression": "pk = :v",
                "ExpressionAttributeValues": v1,
                "Select": "COUNT",
                "ProjectionExpression": "a",
            },
        ),
        (
            "Select ALL_PROJECTED no index",
            {
                "KeyConditionExpression": "pk = :v",
                "ExpressionAttributeValues": v1,
                "Select": "ALL_PROJECTED_ATTRIBUTES",
            },
        ),
        (
            "unknown index",
            {"IndexName": "nope", "KeyConditionExpression": "pk = :v", "ExpressionAttributeValues": v1},
        ),
        (
            "index name short",
            {"IndexName": "ab", "KeyConditionExpression": "pk = :v", "ExpressionAttributeValues": v1},
        ),
        (
            "gsi consistent",
            {
                "IndexName": "gi",
                "KeyConditionExpression": "g = :v",
                "ExpressionAttributeValues": v1,
                "ConsistentRead": True,
            },
        ),
        (
            "gsi select all",
            {
                "IndexName": "gi",
                "KeyConditionExpression": "g = :v",
                "ExpressionAttributeValues": v1,
                "Select": "ALL_ATTRIBUTES",
            },
        ),
        (
            "filter on key",
            {
                "KeyConditionExpression": "pk = :v",
                "FilterExpression": "pk = :v",
                "ExpressionAttributeValues": v1,
            },
        ),
        (
            "filter syntax",
            {
                "KeyConditionExpression": "pk = :v",
                "FilterExpression": "a = ",
                "ExpressionAttributeValues": v1,
            },
        ),
        (
            "QueryFilter and Filter",
            {
                "KeyConditionExpression": "pk = :v",
                "FilterExpression": "a = :v",
                "QueryFilter": {"a": {"ComparisonOperator": "NULL"}},
                "ExpressionAttributeValues": v1,
            },
        ),
        (
            "ExclusiveStartKey wrong",
            {
                "KeyConditionExpression": "pk = :v",
                "ExpressionAttributeValues": v1,
                "ExclusiveStartKey": {"x": {"S": "a"}},
            },
        ),
        (
            "ExclusiveStartKey other hash",
            {
                "KeyConditionExpression": "pk = :v",
                "ExpressionAttributeValues": v1,
                "ExclusiveStartKey": {"pk": {"S": "b"}},
            },
        ),
        (
            "ScanIndexForward string",
            {"KeyConditionExpression": "pk = :v", "ExpressionAttributeValues": v1, "ScanIndexForward": "no"},
        ),
    ]
    cases: list[tuple[str, str, Any]] = []
    for name, extra in queries:
        for table in (h, r, "absent"):
            cases.append((f"Query {name} {table}", "Query", {"TableName": table, **extra}))
    scans: list[tuple[str, dict[str, Any]]] = [
        ("Segment without Total", {"Segment": 0}),
        ("Total without Segment", {"TotalSegments": 2}),
        ("Segment >= Total", {"Segment": 2, "TotalSegments": 2}),
        ("Total 0", {"Segment": 0, "TotalSegments": 0}),
        ("Total too big", {"Segment": 0, "TotalSegments": 1000001}),
        ("Segment negative", {"Segment": -1, "TotalSegments": 2}),
        ("Limit 0", {"Limit": 0}),
        ("Select bad", {"Select": "X"}),
        ("Select COUNT + ATG", {"Select": "COUNT", "AttributesToGet": ["a"]}),
        ("Select SPECIFIC no projection", {"Select": "SPECIFIC_ATTRIBUTES"}),
        ("Select ALL_PROJECTED no index", {"Select": "ALL_PROJECTED_ATTRIBUTES"}),
        (
            "filter unused value",
            {"FilterExpression": "a = :v", "ExpressionAttributeValues": {":v": {"S": "1"}, ":w": {"S": "1"}}},
        ),
        (
            "filter undefined name",
            {"FilterExpression": "#a = :v", "ExpressionAttributeValues": {":v": {"S": "1"}}},
        ),
        ("ScanFilter bad op", {"ScanFilter": {"a": {"ComparisonOperator": "XX"}}}),
        (
            "ScanFilter IN empty",
            {"ScanFilter": {"a": {"ComparisonOperator": "IN", "AttributeValueList": []}}},
        ),
        (
            "ScanFilter mixed",
            {
                "ScanFilter": {"a": {"ComparisonOperator": "NULL"}},
                "FilterExpression": "a = :v",
                "ExpressionAttributeValues": {":v": {"S": "1"}},
            },
        ),
        ("ExclusiveStartKey bad", {"ExclusiveStartKey": {"zz": {"S": "a"}}}),
        ("ExclusiveStartKey empty", {"ExclusiveStartKey": {}}),
        ("unknown index", {"IndexName": "nope"}),
        ("gsi consistent", {"IndexName": "gi", "ConsistentRead": True}),
        ("ConditionalOperator no filter", {"ConditionalOperator": "OR"}),
    ]
    for name, extra in scans:
        for table in (h, r, "absent"):
            cases.append((f"Scan {name} {table}", "Scan", {"TableName": table, **extra}))
    return cases


def batch_cases() -> list[tuple[str, str, Any]]:
    """BatchGetItem, BatchWriteItem, transactions and PartiQL."""
    h = HASH_TABLE
    put = {"PutRequest": {"Item": S_KEY}}
    return [
        ("BatchGet empty", "BatchGetItem", {"RequestItems": {}}),
        ("BatchGet no keys", "BatchGetItem", {"RequestItems": {h: {"Keys": []}}}),
        ("BatchGet missing table", "BatchGetItem", {"RequestItems": {"absent": {"Keys": [S_KEY]}}}),
        ("BatchGet dup", "BatchGetItem", {"RequestItems": {h: {"Keys": [S_KEY, S_KEY]}}}),
        (
            "BatchGet 101",
            "BatchGetItem",
            {"RequestItems": {h: {"Keys": [{"pk": {"S": str(i)}} for i in range(101)]}}},
        ),
        ("BatchGet wrong key", "BatchGetItem", {"RequestItems": {h: {"Keys": [{"pk": {"N": "1"}}]}}}),
        (
            "BatchGet proj+ATG",
            "BatchGetItem",
            {"RequestItems": {h: {"Keys": [S_KEY], "ProjectionExpression": "a", "AttributesToGet": ["a"]}}},
        ),
        (
            "BatchGet unused name",
            "BatchGetItem",
            {
                "RequestItems": {
                    h: {"Keys": [S_KEY], "ProjectionExpression": "a", "ExpressionAttributeNames": {"#x": "x"}}
                }
            },
        ),
        ("BatchGet bad table name", "BatchGetItem", {"RequestItems": {"a b": {"Keys": [S_KEY]}}}),
        ("BatchWrite empty", "BatchWriteItem", {"RequestItems": {}}),
        ("BatchWrite empty list", "BatchWriteItem", {"RequestItems": {h: []}}),
        (
            "BatchWrite 26",
            "BatchWriteItem",
            {"RequestItems": {h: [{"PutRequest": {"Item": {"pk": {"S": str(i)}}}} for i in range(26)]}},
        ),
        ("BatchWrite neither", "BatchWriteItem", {"RequestItems": {h: [{}]}}),
        (
            "BatchWrite both",
            "BatchWriteItem",
            {"RequestItems": {h: [{**put, "DeleteRequest": {"Key": S_KEY}}]}},
        ),
        ("BatchWrite dup", "BatchWriteItem", {"RequestItems": {h: [put, put]}}),
        (
            "BatchWrite put+delete same",
            "BatchWriteItem",
            {"RequestItems": {h: [put, {"DeleteRequest": {"Key": S_KEY}}]}},
        ),
        ("BatchWrite missing table", "BatchWriteItem", {"RequestItems": {"absent": [put]}}),
        (
            "BatchWrite wrong key",
            "BatchWriteItem",
            {"RequestItems": {h: [{"PutRequest": {"Item": {"pk": {"N": "1"}}}}]}},
        ),
        (
            "BatchWrite empty set",
            "BatchWriteItem",
            {"RequestItems": {h: [{"PutRequest": {"Item": {**S_KEY, "s": {"SS": []}}}}]}},
        ),
        ("TransactWrite empty", "TransactWriteItems", {"TransactItems": []}),
        (
            "TransactWrite 101",
            "TransactWriteItems",
            {"TransactItems": [{"Put": {"TableName": h, "Item": {"pk": {"S": str(i)}}}} for i in range(101)]},
        ),
        ("TransactWrite none", "TransactWriteItems", {"TransactItems": [{}]}),
        (
            "TransactWrite two kinds",
            "TransactWriteItems",
            {
                "TransactItems": [
                    {"Put": {"TableName": h, "Item": S_KEY}, "Delete": {"TableName": h, "Key": S_KEY}}
                ]
            },
        ),
        (
            "TransactWrite same item twice",
            "TransactWriteItems",
            {
                "TransactItems": [
                    {"Put": {"TableName": h, "Item": S_KEY}},
                    {"Delete": {"TableName": h, "Key": S_KEY}},
                ]
            },
        ),
        (
            "TransactWrite missing table",
            "TransactWriteItems",
            {"TransactItems": [{"Put": {"TableName": "absent", "Item": S_KEY}}]},
        ),
        (
            "TransactWrite condition fails",
            "TransactWriteItems",
            {
                "TransactItems": [
                    {
                        "Put": {
                            "TableName": h,
                            "Item": S_KEY,
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    }
                ]
            },
        ),
        (
            "TransactWrite ConditionCheck no expr",
            "TransactWriteItems",
            {"TransactItems": [{"ConditionCheck": {"TableName": h, "Key": S_KEY}}]},
        ),
        (
            "TransactWrite update syntax",
            "TransactWriteItems",
            {"TransactItems": [{"Update": {"TableName": h, "Key": S_KEY, "UpdateExpression": "SET"}}]},
        ),
        (
            "TransactWrite token long",
            "TransactWriteItems",
            {"TransactItems": [{"Put": {"TableName": h, "Item": S_KEY}}], "ClientRequestToken": "x" * 37},
        ),
        (
            "TransactWrite wrong key",
            "TransactWriteItems",
            {"TransactItems": [{"Delete": {"TableName": h, "Key": {"pk": {"N": "1"}}}}]},
        ),
        ("TransactGet empty", "TransactGetItems", {"TransactItems": []}),
        ("TransactGet none", "TransactGetItems", {"TransactItems": [{}]}),
        (
            "TransactGet missing table",
            "TransactGetItems",
            {"TransactItems": [{"Get": {"TableName": "absent", "Key": S_KEY}}]},
        ),
        (
            "TransactGet wrong key",
            "TransactGetItems",
            {"TransactItems": [{"Get": {"TableName": h, "Key": {"pk": {"N": "1"}}}}]},
        ),
        (
            "TransactGet dup",
            "TransactGetItems",
            {
                "TransactItems": [
                    {"Get": {"TableName": h, "Key": S_KEY}},
                    {"Get": {"TableName": h, "Key": S_KEY}},
                ]
            },
        ),
        ("PartiQL empty", "ExecuteStatement", {"Statement": ""}),
        ("PartiQL syntax", "ExecuteStatement", {"Statement": "SELEC * FROM x"}),
        ("PartiQL missing table", "ExecuteStatement", {"Statement": 'SELECT * FROM "absent"'}),
        ("PartiQL insert dup", "ExecuteStatement", {"Statement": f"INSERT INTO \"{h}\" VALUE {{'pk': 'a'}}"}),
        (
            "PartiQL params unused",
            "ExecuteStatement",
            {"Statement": f'SELECT * FROM "{h}"', "Parameters": [{"S": "a"}]},
        ),
        ("PartiQL params missing", "ExecuteStatement", {"Statement": f'SELECT * FROM "{h}" WHERE pk = ?'}),
        ("PartiQL limit 0", "ExecuteStatement", {"Statement": f'SELECT * FROM "{h}"', "Limit": 0}),
        (
            "PartiQL update key",
            "ExecuteStatement",
            {"Statement": f"UPDATE \"{h}\" SET pk = 'b' WHERE pk = 'a'"},
        ),
        ("PartiQL delete no where", "ExecuteStatement", {"Statement": f'DELETE FROM "{h}"'}),
        ("PartiQL bad token", "ExecuteStatement", {"Statement": f'SELECT * FROM "{h}"', "NextToken": "zzz"}),
        ("BatchExecute empty", "BatchExecuteStatement", {"Statements": []}),
        (
            "BatchExecute 26",
            "BatchExecuteStatement",
            {"Statements": [{"Statement": f"SELECT * FROM \"{h}\" WHERE pk = 'a'"}] * 26},
        ),
        (
            "BatchExecute select no key",
            "BatchExecuteStatement",
            {"Statements": [{"Statement": f'SELECT * FROM "{h}"'}]},
        ),
        ("ExecuteTransaction empty", "ExecuteTransaction", {"TransactStatements": []}),
        (
            "ExecuteTransaction select scan",
            "ExecuteTransaction",
            {"TransactStatements": [{"Statement": f'SELECT * FROM "{h}"'}]},
        ),
    ]


def table_cases() -> list[tuple[str, str, Any]]:
    """Table control plane, TTL, tags, streams."""
    ad = [{"AttributeName": "k", "AttributeType": "S"}]
    ks = [{"AttributeName": "k", "KeyType": "HASH"}]
    base = {
        "TableName": "cmp_new",
        "AttributeDefinitions": ad,
        "KeySchema": ks,
        "BillingMode": "PAY_PER_REQUEST",
    }
    arn = "arn:aws:dynamodb:us-east-1:000000000000:table/" + HASH_TABLE
    creates: dict[str, dict[str, Any]] = {
        "no billing no throughput": {k: v for k, v in base.items() if k != "BillingMode"},
        "provisioned no throughput": {**base, "BillingMode": "PROVISIONED"},
        "ppr with throughput": {
            **base,
            "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1},
        },
        "throughput zero": {
            **base,
            "BillingMode": "PROVISIONED",
            "ProvisionedThroughput": {"ReadCapacityUnits": 0, "WriteCapacityUnits": 1},
        },
        "dup attr defs": {**base, "AttributeDefinitions": ad + ad},
        "dup attr defs diff type": {
            **base,
            "AttributeDefinitions": ad + [{"AttributeName": "k", "AttributeType": "N"}],
        },
        "unused attr def": {
            **base,
            "AttributeDefinitions": ad + [{"AttributeName": "x", "AttributeType": "S"}],
        },
        "key not defined": {**base, "KeySchema": [{"AttributeName": "z", "KeyType": "HASH"}]},
        "bad attr type": {**base, "AttributeDefinitions": [{"AttributeName": "k", "AttributeType": "BOOL"}]},
        "range only": {**base, "KeySchema": [{"AttributeName": "k", "KeyType": "RANGE"}]},
        "three keys": {**base, "KeySchema": ks * 3},
        "empty key schema": {**base, "KeySchema": []},
        "empty attr defs": {**base, "AttributeDefinitions": []},
        "exists": {
            **base,
            "TableName": HASH_TABLE,
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        },
        "empty gsi list": {**base, "GlobalSecondaryIndexes": []},
        "empty lsi list": {**base, "LocalSecondaryIndexes": []},
        "lsi on hash table": {
            **base,
            "LocalSecondaryIndexes": [
                {"IndexName": "li", "KeySchema": ks, "Projection": {"ProjectionType": "ALL"}}
            ],
        },
        "gsi no projection": {**base, "GlobalSecondaryIndexes": [{"IndexName": "gi", "KeySchema": ks}]},
        "gsi include no attrs": {
            **base,
            "GlobalSecondaryIndexes": [
                {"IndexName": "gi", "KeySchema": ks, "Projection": {"ProjectionType": "INCLUDE"}}
            ],
        },
        "gsi all with attrs": {
            **base,
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": "gi",
                    "KeySchema": ks,
                    "Projection": {"ProjectionType": "ALL", "NonKeyAttributes": ["a"]},
                }
            ],
        },
        "dup gsi names": {
            **base,
            "GlobalSecondaryIndexes": [
                {"IndexName": "gi", "KeySchema": ks, "Projection": {"ProjectionType": "ALL"}}
            ]
            * 2,
        },
        "tags empty key": {**base, "Tags": [{"Key": "", "Value": "v"}]},
        "tags bad chars": {**base, "Tags": [{"Key": "a{b", "Value": "v"}]},
        "tags value bad chars": {**base, "Tags": [{"Key": "a", "Value": "v{"}]},
        "tags key long": {**base, "Tags": [{"Key": "k" * 129, "Value": "v"}]},
        "tags value long": {**base, "Tags": [{"Key": "k", "Value": "v" * 257}]},
        "stream no view": {**base, "StreamSpecification": {"StreamEnabled": True}},
        "sse bad": {**base, "SSESpecification": {"Enabled": False, "SSEType": "KMS"}},
        "table class bad": {**base, "TableClass": "X"},
        "deletion protection str": {**base, "DeletionProtectionEnabled": "yes"},
        "name too long": {**base, "TableName": "t" * 256},
    }
    cases: list[tuple[str, str, Any]] = [(f"CreateTable {n}", "CreateTable", b) for n, b in creates.items()]
    cases += [
        ("DescribeTable missing", "DescribeTable", {"TableName": "absent"}),
        ("DescribeTable empty", "DescribeTable", {}),
        ("DescribeTable bad name", "DescribeTable", {"TableName": "a"}),
        ("DeleteTable missing", "DeleteTable", {"TableName": "absent"}),
        ("DeleteTable empty", "DeleteTable", {}),
        ("UpdateTable missing nothing", "UpdateTable", {"TableName": "absent"}),
        (
            "UpdateTable missing billing",
            "UpdateTable",
            {"TableName": "absent", "BillingMode": "PAY_PER_REQUEST"},
        ),
        (
            "UpdateTable gsi delete unknown",
            "UpdateTable",
            {"TableName": HASH_TABLE, "GlobalSecondaryIndexUpdates": [{"Delete": {"IndexName": "nope"}}]},
        ),
        (
            "UpdateTable gsi update empty",
            "UpdateTable",
            {"TableName": HASH_TABLE, "GlobalSecondaryIndexUpdates": [{}]},
        ),
        (
            "UpdateTable gsi list empty",
            "UpdateTable",
            {"TableName": HASH_TABLE, "GlobalSecondaryIndexUpdates": []},
        ),
        (
            "UpdateTable stream already",
            "UpdateTable",
            {
                "TableName": HASH_TABLE,
                "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
            },
        ),
        ("ListTables limit 0", "ListTables", {"Limit": 0}),
        ("ListTables limit 101", "ListTables", {"Limit": 101}),
        ("ListTables start bad", "ListTables", {"ExclusiveStartTableName": "a"}),
        ("DescribeTimeToLive missing", "DescribeTimeToLive", {"TableName": "absent"}),
        (
            "UpdateTimeToLive missing",
            "UpdateTimeToLive",
            {"TableName": "absent", "TimeToLiveSpecification": {"Enabled": True, "AttributeName": "t"}},
        ),
        (
            "UpdateTimeToLive empty attr",
            "UpdateTimeToLive",
            {"TableName": HASH_TABLE, "TimeToLiveSpecification": {"Enabled": True, "AttributeName": ""}},
        ),
        (
            "UpdateTimeToLive disable not enabled",
            "UpdateTimeToLive",
            {"TableName": HASH_TABLE, "TimeToLiveSpecification": {"Enabled": False, "AttributeName": "t"}},
        ),
        ("UpdateTimeToLive no spec", "UpdateTimeToLive", {"TableName": HASH_TABLE}),
        ("TagResource bad arn", "TagResource", {"ResourceArn": "nope", "Tags": [{"Key": "a", "Value": "b"}]}),
        (
            "TagResource not ddb arn",
            "TagResource",
            {"ResourceArn": "arn:aws:s3:::bucket", "Tags": [{"Key": "a", "Value": "b"}]},
        ),
        (
            "TagResource missing table",
            "TagResource",
            {"ResourceArn": arn + "x", "Tags": [{"Key": "a", "Value": "b"}]},
        ),
        ("TagResource empty tags", "TagResource", {"ResourceArn": arn, "Tags": []}),
        (
            "TagResource bad key chars",
            "TagResource",
            {"ResourceArn": arn, "Tags": [{"Key": "a{", "Value": "b"}]},
        ),
        (
            "TagResource bad value chars",
            "TagResource",
            {"ResourceArn": arn, "Tags": [{"Key": "a", "Value": "b}"}]},
        ),
        (
            "TagResource aws prefix",
            "TagResource",
            {"ResourceArn": arn, "Tags": [{"Key": "aws:x", "Value": "b"}]},
        ),
        (
            "TagResource unicode key",
            "TagResource",
            {"ResourceArn": arn, "Tags": [{"Key": "ключ é", "Value": "b"}]},
        ),
        ("UntagResource empty keys", "UntagResource", {"ResourceArn": arn, "TagKeys": []}),
        ("UntagResource bad arn", "UntagResource", {"ResourceArn": "nope", "TagKeys": ["a"]}),
        ("ListTagsOfResource bad arn", "ListTagsOfResource", {"ResourceArn": "nope"}),
        ("ListTagsOfResource missing", "ListTagsOfResource", {"ResourceArn": arn + "x"}),
        ("DescribeContinuousBackups missing", "DescribeContinuousBackups", {"TableName": "absent"}),
        (
            "UpdateContinuousBackups missing",
            "UpdateContinuousBackups",
            {"TableName": "absent", "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True}},
        ),
        (
            "DescribeKinesisStreamingDestination missing",
            "DescribeKinesisStreamingDestination",
            {"TableName": "absent"},
        ),
        (
            "EnableKinesisStreamingDestination bad arn",
            "EnableKinesisStreamingDestination",
            {"TableName": HASH_TABLE, "StreamArn": "nope"},
        ),
        (
            "EnableKinesisStreamingDestination missing stream",
            "EnableKinesisStreamingDestination",
            {"TableName": HASH_TABLE, "StreamArn": "arn:aws:kinesis:us-east-1:000000000000:stream/nope"},
        ),
        ("DescribeLimits", "DescribeLimits", {}),
        ("DescribeEndpoints", "DescribeEndpoints", {}),
    ]
    return cases


def streams_cases() -> list[tuple[str, str, Any]]:
    """DynamoDB Streams."""
    bad = "arn:aws:dynamodb:us-east-1:000000000000:table/absent/stream/2026-01-01T00:00:00.000"
    return [
        ("ListStreams limit 0", STREAMS + "ListStreams", {"Limit": 0}),
        ("ListStreams limit 101", STREAMS + "ListStreams", {"Limit": 101}),
        ("ListStreams missing table", STREAMS + "ListStreams", {"TableName": "absent"}),
        ("ListStreams bad start", STREAMS + "ListStreams", {"ExclusiveStartStreamArn": "x"}),
        (
            "DescribeStream bad arn",
            STREAMS + "DescribeStream",
            {"StreamArn": "nope-nope-nope-nope-nope-nope-nope-nope"},
        ),
        ("DescribeStream short arn", STREAMS + "DescribeStream", {"StreamArn": "x"}),
        ("DescribeStream unknown", STREAMS + "DescribeStream", {"StreamArn": bad}),
        ("DescribeStream limit 0", STREAMS + "DescribeStream", {"StreamArn": bad, "Limit": 0}),
        ("DescribeStream limit 101", STREAMS + "DescribeStream", {"StreamArn": bad, "Limit": 101}),
        (
            "DescribeStream filter no type",
            STREAMS + "DescribeStream",
            {"StreamArn": bad, "ShardFilter": {"ShardId": "shardId-00000001"}},
        ),
        (
            "DescribeStream filter bad type",
            STREAMS + "DescribeStream",
            {"StreamArn": bad, "ShardFilter": {"Type": "X"}},
        ),
        (
            "GetShardIterator bad type",
            STREAMS + "GetShardIterator",
            {"StreamArn": bad, "ShardId": "shardId-00000001", "ShardIteratorType": "X"},
        ),
        (
            "GetShardIterator at no seq",
            STREAMS + "GetShardIterator",
            {"StreamArn": bad, "ShardId": "shardId-00000001", "ShardIteratorType": "AT_SEQUENCE_NUMBER"},
        ),
        (
            "GetShardIterator unknown",
            STREAMS + "GetShardIterator",
            {"StreamArn": bad, "ShardId": "shardId-00000001", "ShardIteratorType": "LATEST"},
        ),
        (
            "GetShardIterator short shard",
            STREAMS + "GetShardIterator",
            {"StreamArn": bad, "ShardId": "x", "ShardIteratorType": "LATEST"},
        ),
        ("GetRecords bad iterator", STREAMS + "GetRecords", {"ShardIterator": "x"}),
        ("GetRecords limit 0", STREAMS + "GetRecords", {"ShardIterator": "x", "Limit": 0}),
        ("GetRecords limit 1001", STREAMS + "GetRecords", {"ShardIterator": "x", "Limit": 1001}),
    ]


def kinesis_cases() -> list[tuple[str, str, Any]]:
    """Kinesis Data Streams."""
    s = STREAM
    arn = "arn:aws:kinesis:us-east-1:000000000000:stream/" + s
    return [
        ("CreateStream exists", KIN + "CreateStream", {"StreamName": s, "ShardCount": 1}),
        ("CreateStream 0 shards", KIN + "CreateStream", {"StreamName": "n1", "ShardCount": 0}),
        ("CreateStream bad name", KIN + "CreateStream", {"StreamName": "a b", "ShardCount": 1}),
        ("CreateStream empty", KIN + "CreateStream", {}),
        (
            "CreateStream ondemand with shards",
            KIN + "CreateStream",
            {"StreamName": "n2", "ShardCount": 1, "StreamModeDetails": {"StreamMode": "ON_DEMAND"}},
        ),
        (
            "CreateStream bad mode",
            KIN + "CreateStream",
            {"StreamName": "n3", "StreamModeDetails": {"StreamMode": "X"}},
        ),
        (
            "CreateStream tags bad",
            KIN + "CreateStream",
            {"StreamName": "n4", "ShardCount": 1, "Tags": {"a{": "b"}},
        ),
        ("DescribeStream missing", KIN + "DescribeStream", {"StreamName": "absent"}),
        ("DescribeStream none", KIN + "DescribeStream", {}),
        ("DescribeStream both", KIN + "DescribeStream", {"StreamName": s, "StreamARN": arn}),
        ("DescribeStream bad arn", KIN + "DescribeStream", {"StreamARN": "nope"}),
        ("DescribeStream limit 0", KIN + "DescribeStream", {"StreamName": s, "Limit": 0}),
        ("DescribeStream limit 10001", KIN + "DescribeStream", {"StreamName": s, "Limit": 10001}),
        ("DescribeStreamSummary missing", KIN + "DescribeStreamSummary", {"StreamName": "absent"}),
        (
            "PutRecord missing",
            KIN + "PutRecord",
            {"StreamName": "absent", "Data": "YQ==", "PartitionKey": "p"},
        ),
        ("PutRecord no pk", KIN + "PutRecord", {"StreamName": s, "Data": "YQ=="}),
        ("PutRecord empty pk", KIN + "PutRecord", {"StreamName": s, "Data": "YQ==", "PartitionKey": ""}),
        (
            "PutRecord long pk",
            KIN + "PutRecord",
            {"StreamName": s, "Data": "YQ==", "PartitionKey": "p" * 257},
        ),
        ("PutRecord bad data", KIN + "PutRecord", {"StreamName": s, "Data": "!!", "PartitionKey": "p"}),
        (
            "PutRecord bad hash key",
            KIN + "PutRecord",
            {"StreamName": s, "Data": "YQ==", "PartitionKey": "p", "ExplicitHashKey": "x"},
        ),
        (
            "PutRecord hash key too big",
            KIN + "PutRecord",
            {"StreamName": s, "Data": "YQ==", "PartitionKey": "p", "ExplicitHashKey": str(2**128)},
        ),
        (
            "PutRecord bad seq",
            KIN + "PutRecord",
            {"StreamName": s, "Data": "YQ==", "PartitionKey": "p", "SequenceNumberForOrdering": "x"},
        ),
        ("PutRecords empty", KIN + "PutRecords", {"StreamName": s, "Records": []}),
        (
            "PutRecords 501",
            KIN + "PutRecords",
            {"StreamName": s, "Records": [{"Data": "YQ==", "PartitionKey": "p"}] * 501},
        ),
        (
            "PutRecords missing",
            KIN + "PutRecords",
            {"StreamName": "absent", "Records": [{"Data": "YQ==", "PartitionKey": "p"}]},
        ),
        ("PutRecords no pk", KIN + "PutRecords", {"StreamName": s, "Records": [{"Data": "YQ=="}]}),
        (
            "GetShardIterator bad type",
            KIN + "GetShardIterator",
            {"StreamName": s, "ShardId": "shardId-000000000000", "ShardIteratorType": "X"},
        ),
        (
            "GetShardIterator bad shard",
            KIN + "GetShardIterator",
            {"StreamName": s, "ShardId": "shardId-000000000009", "ShardIteratorType": "LATEST"},
        ),
        (
            "GetShardIterator at no seq",
            KIN + "GetShardIterator",
            {"StreamName": s, "ShardId": "shardId-000000000000", "ShardIteratorType": "AT_SEQUENCE_NUMBER"},
        ),
        (
            "GetShardIterator ts no ts",
            KIN + "GetShardIterator",
            {"StreamName": s, "ShardId": "shardId-000000000000", "ShardIteratorType": "AT_TIMESTAMP"},
        ),
        (
            "GetShardIterator bad seq",
            KIN + "GetShardIterator",
            {
                "StreamName": s,
                "ShardId": "shardId-000000000000",
                "ShardIteratorType": "AT_SEQUENCE_NUMBER",
                "StartingSequenceNumber": "x",
            },
        ),
        (
            "GetShardIterator missing",
            KIN + "GetShardIterator",
            {"StreamName": "absent", "ShardId": "shardId-000000000000", "ShardIteratorType": "LATEST"},
        ),
        ("GetRecords bad iterator", KIN + "GetRecords", {"ShardIterator": "x"}),
        ("GetRecords limit 0", KIN + "GetRecords", {"ShardIterator": "x", "Limit": 0}),
        ("GetRecords limit 10001", KIN + "GetRecords", {"ShardIterator": "x", "Limit": 10001}),
        ("ListShards none", KIN + "ListShards", {}),
        ("ListShards token and name", KIN + "ListShards", {"StreamName": s, "NextToken": "x"}),
        ("ListShards bad token", KIN + "ListShards", {"NextToken": "x"}),
        (
            "ListShards filter no type",
            KIN + "ListShards",
            {"StreamName": s, "ShardFilter": {"ShardId": "shardId-000000000000"}},
        ),
        (
            "ListShards filter AFTER no id",
            KIN + "ListShards",
            {"StreamName": s, "ShardFilter": {"Type": "AFTER_SHARD_ID"}},
        ),
        (
            "ListShards filter ts no ts",
            KIN + "ListShards",
            {"StreamName": s, "ShardFilter": {"Type": "AT_TIMESTAMP"}},
        ),
        ("ListShards max 0", KIN + "ListShards", {"StreamName": s, "MaxResults": 0}),
        ("ListShards max 10001", KIN + "ListShards", {"StreamName": s, "MaxResults": 10001}),
        ("ListStreams limit 0", KIN + "ListStreams", {"Limit": 0}),
        ("ListStreams limit 10001", KIN + "ListStreams", {"Limit": 10001}),
        ("AddTags empty", KIN + "AddTagsToStream", {"StreamName": s, "Tags": {}}),
        ("AddTags bad key", KIN + "AddTagsToStream", {"StreamName": s, "Tags": {"a{": "b"}}),
        ("AddTags bad value", KIN + "AddTagsToStream", {"StreamName": s, "Tags": {"a": "b{"}}),
        ("AddTags aws prefix", KIN + "AddTagsToStream", {"StreamName": s, "Tags": {"aws:a": "b"}}),
        ("AddTags 51", KIN + "AddTagsToStream", {"StreamName": s, "Tags": {f"k{i}": "v" for i in range(51)}}),
        ("AddTags missing", KIN + "AddTagsToStream", {"StreamName": "absent", "Tags": {"a": "b"}}),
        ("RemoveTags empty", KIN + "RemoveTagsFromStream", {"StreamName": s, "TagKeys": []}),
        ("ListTagsForStream limit 0", KIN + "ListTagsForStream", {"StreamName": s, "Limit": 0}),
        (
            "IncreaseRetention low",
            KIN + "IncreaseStreamRetentionPeriod",
            {"StreamName": s, "RetentionPeriodHours": 1},
        ),
        (
            "IncreaseRetention high",
            KIN + "IncreaseStreamRetentionPeriod",
            {"StreamName": s, "RetentionPeriodHours": 9000},
        ),
        (
            "DecreaseRetention higher",
            KIN + "DecreaseStreamRetentionPeriod",
            {"StreamName": s, "RetentionPeriodHours": 48},
        ),
        (
            "UpdateShardCount same",
            KIN + "UpdateShardCount",
            {"StreamName": s, "TargetShardCount": 1, "ScalingType": "UNIFORM_SCALING"},
        ),
        (
            "UpdateShardCount 0",
            KIN + "UpdateShardCount",
            {"StreamName": s, "TargetShardCount": 0, "ScalingType": "UNIFORM_SCALING"},
        ),
        (
            "UpdateShardCount triple",
            KIN + "UpdateShardCount",
            {"StreamName": s, "TargetShardCount": 3, "ScalingType": "UNIFORM_SCALING"},
        ),
        (
            "SplitShard bad key",
            KIN + "SplitShard",
            {"StreamName": s, "ShardToSplit": "shardId-000000000000", "NewStartingHashKey": "x"},
        ),
        (
            "SplitShard unknown shard",
            KIN + "SplitShard",
            {"StreamName": s, "ShardToSplit": "shardId-000000000009", "NewStartingHashKey": "1"},
        ),
        (
            "MergeShards unknown",
            KIN + "MergeShards",
            {
                "StreamName": s,
                "ShardToMerge": "shardId-000000000000",
                "AdjacentShardToMerge": "shardId-000000000009",
            },
        ),
        (
            "StartEncryption bad type",
            KIN + "StartStreamEncryption",
            {"StreamName": s, "EncryptionType": "X", "KeyId": "k"},
        ),
        (
            "RegisterConsumer bad arn",
            KIN + "RegisterStreamConsumer",
            {"StreamARN": "nope", "ConsumerName": "c"},
        ),
        (
            "RegisterConsumer missing",
            KIN + "RegisterStreamConsumer",
            {"StreamARN": arn + "x", "ConsumerName": "c"},
        ),
        ("DescribeConsumer none", KIN + "DescribeStreamConsumer", {}),
        (
            "DescribeConsumer missing",
            KIN + "DescribeStreamConsumer",
            {"StreamARN": arn, "ConsumerName": "nope"},
        ),
        ("ListConsumers missing", KIN + "ListStreamConsumers", {"StreamARN": arn + "x"}),
        (
            "EnableMonitoring bad metric",
            KIN + "EnableEnhancedMonitoring",
            {"StreamName": s, "ShardLevelMetrics": ["X"]},
        ),
        (
            "UpdateStreamMode bad",
            KIN + "UpdateStreamMode",
            {"StreamARN": arn, "StreamModeDetails": {"StreamMode": "X"}},
        ),
        ("DeleteStream missing", KIN + "DeleteStream", {"StreamName": "absent"}),
        # round 4: how a stream is named (no source validated on AWS settles these yet)
        ("DescribeStreamSummary neither", KIN + "DescribeStreamSummary", {}),
        (
            "DescribeStreamSummary name and arn disagree",
            KIN + "DescribeStreamSummary",
            {"StreamName": "absent", "StreamARN": arn},
        ),
        (
            "DescribeStreamSummary arn of another region",
            KIN + "DescribeStreamSummary",
            {"StreamARN": arn.replace("us-east-1", "us-west-2")},
        ),
        (
            "DescribeStreamSummary arn of another account",
            KIN + "DescribeStreamSummary",
            {"StreamARN": arn.replace("000000000000", "111111111111")},
        ),
        (
            "DescribeStreamSummary consumer arn",
            KIN + "DescribeStreamSummary",
            {"StreamARN": arn + "/consumer/c:1700000000"},
        ),
        (
            "ListTagsForResource unknown consumer",
            KIN + "ListTagsForResource",
            {"ResourceARN": arn + "/consumer/c:1700000000"},
        ),
        ("DeleteResourcePolicy none set", KIN + "DeleteResourcePolicy", {"ResourceARN": arn}),
        ("GetRecords quoted garbage", KIN + "GetRecords", {"ShardIterator": '"abc"'}),
        # round 4: operations of the 2025-2026 model
        ("DescribeAccountSettings", KIN + "DescribeAccountSettings", {}),
        (
            "UpdateAccountSettings bad status",
            KIN + "UpdateAccountSettings",
            {"MinimumThroughputBillingCommitment": {"Status": "ON"}},
        ),
        (
            "UpdateStreamWarmThroughput provisioned",
            KIN + "UpdateStreamWarmThroughput",
            {"StreamName": s, "WarmThroughputMiBps": 10},
        ),
        (
            "UpdateStreamRecordDistributionStrategy",
            KIN + "UpdateStreamRecordDistributionStrategy",
            {"StreamARN": arn, "RecordDistributionStrategy": "AUTO"},
        ),
        ("CreateQueue empty", KIN + "CreateQueue", {}),
        ("Unknown op", KIN + "Nope", {}),
        ("Not json", KIN + "ListStreams", b"{nope"),
    ]


def all_cases() -> list[tuple[str, str, Any]]:
    """(name, X-Amz-Target, body) for every case, DynamoDB's operations given their prefix."""
    out = [
        (name, DDB + op, body)
        for name, op, body in item_cases() + read_cases() + batch_cases() + table_cases()
    ]
    out += streams_cases() + kinesis_cases()
    out += [("DDB unknown op", DDB + "Nope", {}), ("DDB not json", DDB + "GetItem", b"{nope")]
    return out


def main(argv: list[str]) -> int:
    """Set both endpoints up, send every case to each, print the differences (all with --all)."""
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    left, right = argv[1], argv[2]
    show_all = "--all" in argv
    for endpoint in (left, right):
        setup(endpoint)
    differ = 0
    cases = all_cases()
    for name, target, body in cases:
        a = call(left, target, body)
        b = call(right, target, body)
        same = a[:2] == b[:2] and a[2] == b[2]
        if same and not show_all:
            continue
        differ += not same
        mark = "=" if same else ("~" if a[:2] == b[:2] else "!")
        print(
            f"{mark} {name} [{target.split('.')[-1]}]\n   A {a[0]} {a[1]}: {a[2][:300]}\n   B {b[0]} {b[1]}: {b[2][:300]}"
        )
    print(f"{differ} of {len(cases)} differ", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
