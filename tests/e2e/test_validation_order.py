"""AWS's validation order: checks that need no table answer before the table (or stream) lookup.

Every request below is both semantically invalid and names a table or stream that does not
exist; AWS answers ValidationException, not ResourceNotFoundException. Sources of the order:
- ExtendDB PR 192 (2026, captured with the AWS CLI against a missing table): expression syntax,
  overlap, undefined and unused names/values, legacy ``Expected`` structure and BatchGetItem
  duplicate keys are answered before the existence check; key presence/type and item size after.
- dynalite's test suite (run against AWS when written) sends all its ValidationException cases
  to tables that do not exist ("abc"): mixed legacy/expression parameters, empty maps, Select
  combinations, Segment/TotalSegments, more than 100 keys across tables.
- aws-sdk-js's integration suite (run against AWS): DescribeStream with a malformed StreamArn
  answers ValidationException "Invalid StreamArn".
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.conftest import make_table

MISSING = "missing-table"
INV = "One or more parameter values were invalid: "
KEY = {"pk": {"S": "a"}}
V = {":v": {"S": "x"}}


def _call(client, op: str, params: dict) -> tuple[str, str]:
    with pytest.raises(ClientError) as e:
        getattr(client, op)(**params)
    return e.value.response["Error"]["Code"], e.value.response["Error"]["Message"]


def _t(**kw) -> dict:
    return {"TableName": MISSING, **kw}


_ONE = "1 validation error detected: "
_MIXED = "Can not use both expression and non-expression parameters in the same request: "

#: (id, operation, params, the start of AWS's message)
CASES = [
    # GetItem
    (
        "get-mixed",
        "get_item",
        _t(Key=KEY, ProjectionExpression="a", AttributesToGet=["a"]),
        _MIXED + "Non-expression parameters: {AttributesToGet} Expression parameters: {ProjectionExpression}",
    ),
    (
        "get-empty-names",
        "get_item",
        _t(Key=KEY, ProjectionExpression="a", ExpressionAttributeNames={}),
        "ExpressionAttributeNames must not be empty",
    ),
    (
        "get-unused-name",
        "get_item",
        _t(Key=KEY, ProjectionExpression="a", ExpressionAttributeNames={"#b": "b"}),
        "Value provided in ExpressionAttributeNames unused in expressions: keys: {#b}",
    ),
    (
        "get-names-without-expression",
        "get_item",
        _t(Key=KEY, ExpressionAttributeNames={"#b": "b"}),
        "ExpressionAttributeNames can only be specified when using expressions",
    ),
    (
        "get-projection-syntax",
        "get_item",
        _t(Key=KEY, ProjectionExpression="a,,b"),
        "Invalid ProjectionExpression: Syntax error",
    ),
    (
        "get-projection-overlap",
        "get_item",
        _t(Key=KEY, ProjectionExpression="a, a"),
        "Invalid ProjectionExpression: Two document paths overlap",
    ),
    # PutItem
    (
        "put-return-values",
        "put_item",
        _t(Item=KEY, ReturnValues="ALL_NEW"),
        _ONE + "ReturnValues can only be ALL_OLD or NONE",
    ),
    (
        "put-undefined-value",
        "put_item",
        _t(Item=KEY, ConditionExpression="a = :v"),
        _ONE + "Invalid ConditionExpression: An expression attribute value used in expression is not defined",
    ),
    (
        "put-empty-values",
        "put_item",
        _t(Item=KEY, ConditionExpression="a = :v", ExpressionAttributeValues={}),
        _ONE + "ExpressionAttributeValues must not be empty",
    ),
    (
        "put-expected-arity",
        "put_item",
        _t(Item=KEY, Expected={"a": {"ComparisonOperator": "EQ"}}),
        _ONE + INV + "Value or AttributeValueList must be used with ComparisonOperator: EQ for Attribute: a",
    ),
    (
        "put-mixed",
        "put_item",
        _t(Item=KEY, ConditionExpression="attribute_exists(a)", Expected={"a": {"Exists": False}}),
        _MIXED + "Non-expression parameters: {Expected} Expression parameters: {ConditionExpression}",
    ),
    # DeleteItem
    (
        "delete-exists-false-with-value",
        "delete_item",
        _t(Key=KEY, Expected={"a": {"Exists": False, "Value": {"S": "x"}}}),
        _ONE + INV + "Value cannot be used when Exists is false for Attribute: a",
    ),
    (
        "delete-unused-value",
        "delete_item",
        _t(Key=KEY, ConditionExpression="attribute_exists(a)", ExpressionAttributeValues=V),
        "Value provided in ExpressionAttributeValues unused in expressions: keys: {:v}",
    ),
    # UpdateItem
    (
        "update-overlap",
        "update_item",
        _t(Key=KEY, UpdateExpression="SET a = :v, a = :v", ExpressionAttributeValues=V),
        "Invalid UpdateExpression: Two document paths overlap with each other",
    ),
    (
        "update-syntax",
        "update_item",
        _t(Key=KEY, UpdateExpression="SET", ExpressionAttributeValues=V),
        "Invalid UpdateExpression: Syntax error",
    ),
    (
        "update-attribute-updates-no-value",
        "update_item",
        _t(Key=KEY, AttributeUpdates={"a": {"Action": "PUT"}}),
        INV + "Only DELETE action is allowed when no attribute value is specified",
    ),
    (
        "update-values-without-expression",
        "update_item",
        _t(Key=KEY, ExpressionAttributeValues=V),
        _ONE + "ExpressionAttributeValues can only be specified when using expressions",
    ),
    # Query
    (
        "query-no-key-condition",
        "query",
        _t(),
        "Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.",
    ),
    (
        "query-specific-without-projection",
        "query",
        _t(KeyConditionExpression="pk = :v", ExpressionAttributeValues=V, Select="SPECIFIC_ATTRIBUTES"),
        INV + "Select type SPECIFIC_ATTRIBUTES requires a ProjectionExpression or AttributesToGet",
    ),
    (
        "query-count-with-projection",
        "query",
        _t(
            KeyConditionExpression="pk = :v",
            ExpressionAttributeValues=V,
            Select="COUNT",
            ProjectionExpression="a",
        ),
        "Cannot specify the ProjectionExpression when choosing to get COUNT",
    ),
    (
        "query-all-projected-on-table",
        "query",
        _t(KeyConditionExpression="pk = :v", ExpressionAttributeValues=V, Select="ALL_PROJECTED_ATTRIBUTES"),
        INV + "Select type ALL_PROJECTED_ATTRIBUTES is not supported for tables; use ALL_ATTRIBUTES",
    ),
    (
        "query-key-syntax",
        "query",
        _t(KeyConditionExpression="pk = = :v", ExpressionAttributeValues=V),
        "Invalid KeyConditionExpression: Syntax error",
    ),
    (
        "query-unused-name",
        "query",
        _t(
            KeyConditionExpression="pk = :v",
            ExpressionAttributeValues=V,
            ExpressionAttributeNames={"#n": "n"},
        ),
        "Value provided in ExpressionAttributeNames unused in expressions: keys: {#n}",
    ),
    (
        "query-mixed",
        "query",
        _t(
            KeyConditionExpression="pk = :v",
            ExpressionAttributeValues=V,
            QueryFilter={"a": {"ComparisonOperator": "NOT_NULL"}},
        ),
        _MIXED,
    ),
    # Scan
    (
        "scan-segment-without-total",
        "scan",
        _t(Segment=0),
        "The TotalSegments parameter is required but was not present in the request when Segment parameter is present",
    ),
    (
        "scan-segment-too-big",
        "scan",
        _t(Segment=3, TotalSegments=3),
        "The Segment parameter is zero-based and must be less than parameter TotalSegments",
    ),
    (
        "scan-filter-undefined-name",
        "scan",
        _t(FilterExpression="#a = :v", ExpressionAttributeValues=V),
        "Invalid FilterExpression: An expression attribute name used in the document path is not defined",
    ),
    (
        "scan-mixed",
        "scan",
        _t(FilterExpression="attribute_exists(a)", ScanFilter={"a": {"ComparisonOperator": "NOT_NULL"}}),
        _MIXED + "Non-expression parameters: {ScanFilter} Expression parameters: {FilterExpression}",
    ),
    (
        "scan-specific-without-projection",
        "scan",
        _t(Select="SPECIFIC_ATTRIBUTES"),
        INV + "Select type SPECIFIC_ATTRIBUTES requires a ProjectionExpression or AttributesToGet",
    ),
    # BatchGetItem
    (
        "batch-get-over-100-across-tables",
        "batch_get_item",
        {
            "RequestItems": {
                MISSING: {"Keys": [{"pk": {"S": str(i)}} for i in range(100)]},
                MISSING + "-2": {"Keys": [{"pk": {"S": "100"}}]},
            }
        },
        "Too many items requested for the BatchGetItem call",
    ),
    (
        "batch-get-duplicates",
        "batch_get_item",
        {"RequestItems": {MISSING: {"Keys": [KEY, KEY]}}},
        "Provided list of item keys contains duplicates",
    ),
    (
        "batch-get-unused-name",
        "batch_get_item",
        {
            "RequestItems": {
                MISSING: {"Keys": [KEY], "ProjectionExpression": "a", "ExpressionAttributeNames": {"#b": "b"}}
            }
        },
        "Value provided in ExpressionAttributeNames unused in expressions: keys: {#b}",
    ),
    # BatchWriteItem
    (
        "batch-write-no-request",
        "batch_write_item",
        {"RequestItems": {MISSING: [{}]}},
        "1 validation error detected: Value null at 'requestItems.missing-table.member.writeRequest'",
    ),
    # TransactWriteItems
    (
        "transact-write-two-actions",
        "transact_write_items",
        {"TransactItems": [{"Put": _t(Item=KEY), "Delete": _t(Key=KEY)}]},
        "TransactItems can only contain one of Check, Put, Update or Delete",
    ),
    (
        "transact-write-update-overlap",
        "transact_write_items",
        {
            "TransactItems": [
                {"Update": _t(Key=KEY, UpdateExpression="SET a = :v, a = :v", ExpressionAttributeValues=V)}
            ]
        },
        "Invalid UpdateExpression: Two document paths overlap with each other",
    ),
    (
        "transact-write-unused-value",
        "transact_write_items",
        {
            "TransactItems": [
                {
                    "Put": _t(
                        Item=KEY, ExpressionAttributeValues=V, ConditionExpression="attribute_not_exists(pk)"
                    )
                }
            ]
        },
        "Value provided in ExpressionAttributeValues unused in expressions: keys: {:v}",
    ),
    # TransactGetItems
    (
        "transact-get-unused-name",
        "transact_get_items",
        {
            "TransactItems": [
                {"Get": _t(Key=KEY, ProjectionExpression="a", ExpressionAttributeNames={"#b": "b"})}
            ]
        },
        "Value provided in ExpressionAttributeNames unused in expressions: keys: {#b}",
    ),
    # UpdateTable
    (
        "update-table-nothing",
        "update_table",
        _t(),
        # AWS's 2026 text (ack-api-quirks DDB-TABLE-442, see test_messages_2026.py)
        "At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, GlobalSecondaryIndexUpdates, "
        "SSESpecification, ReplicaUpdates, MultiAccountReplicaReady, ReplicaTransitRoleArn, "
        "MultiRegionConsistency, DeletionProtectionEnabled, OnDemandThroughput, WarmThroughput or TableClass "
        "is required",
    ),
    (
        "update-table-stream-without-view",
        "update_table",
        _t(StreamSpecification={"StreamEnabled": True}),
        INV + "If stream is being enabled then UpdateViewType is required",
    ),
    # UpdateKinesisStreamingDestination (LocalStack's AWS recording: 'update-missing-params')
    (
        "streaming-update-no-config",
        "update_kinesis_streaming_destination",
        _t(StreamArn="arn:aws:kinesis:us-east-1:000000000000:stream/some-stream"),
        "Streaming destination cannot be updated with given parameters: "
        "UpdateKinesisStreamingConfiguration cannot be null or contain only null values",
    ),
]


@pytest.fixture
def raw(srv):
    return srv.client("dynamodb", parameter_validation=False)


@pytest.mark.parametrize("op, params, message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_semantic_error_before_table_lookup(raw, op, params, message):
    code, msg = _call(raw, op, params)
    assert code == "ValidationException", msg
    if op in ("put_item", "update_item", "delete_item") and not message.startswith("1 validation"):
        # the item writes answer these inside the envelope (paritysuite captures/cross-region-
        # latest.json, regions on AWS's newer validation framework, 2026-09-20)
        message = "1 validation error detected: " + message
    assert msg.startswith(message), msg


@pytest.mark.parametrize(
    "op, params",
    [
        ("get_item", _t(Key={"other": {"S": "a"}}, ProjectionExpression="a")),
        ("put_item", _t(Item={"pk": {"N": "1"}}, ConditionExpression="a = :v", ExpressionAttributeValues=V)),
        ("update_item", _t(Key=KEY, UpdateExpression="SET pk = :v", ExpressionAttributeValues=V)),
        ("query", _t(KeyConditionExpression="nokey = :v", ExpressionAttributeValues=V)),
        ("scan", _t(IndexName="no-such-index", Select="ALL_ATTRIBUTES")),
        ("batch_get_item", {"RequestItems": {MISSING: {"Keys": [{"pk": {"N": "1"}}, {"pk": {"N": "1.0"}}]}}}),
        ("transact_get_items", {"TransactItems": [{"Get": _t(Key={"other": {"S": "a"}})}]}),
    ],
)
def test_schema_checks_after_table_lookup(raw, op, params):
    """What needs the schema (key names and types, index names, the key attributes an update may
    not touch) cannot be judged without the table: a missing table answers not-found."""
    assert _call(raw, op, params) == ("ResourceNotFoundException", "Requested resource not found")


def test_schema_checks_still_apply_once_the_table_exists(raw, ddb):
    make_table(ddb, MISSING)
    assert _call(
        raw, "update_item", _t(Key=KEY, UpdateExpression="SET pk = :v", ExpressionAttributeValues=V)
    ) == ("ValidationException", INV + "Cannot update attribute pk. This attribute is part of the key")
    assert _call(
        raw, "query", _t(IndexName="nope", KeyConditionExpression="pk = :v", ExpressionAttributeValues=V)
    ) == ("ValidationException", "The table does not have the specified index: nope")
    assert _call(
        raw,
        "transact_write_items",
        {
            "TransactItems": [
                {"Update": _t(Key=KEY, UpdateExpression="SET pk = :v", ExpressionAttributeValues=V)}
            ]
        },
    ) == ("ValidationException", INV + "Cannot update attribute pk. This attribute is part of the key")


STREAM_ARN_CASES = [
    ("describe_stream", {"StreamArn": "arn:aws:dynamodb:us-east-1:000000000000:not-a-table-stream"}),
    ("describe_stream", {"StreamArn": "arn:aws:kinesis:us-east-1:000000000000:table/t/stream/2024-01-01"}),
    (
        "get_shard_iterator",
        {
            "StreamArn": "arn:aws:dynamodb:us-east-1:000000000000:table/t-only-no-stream",
            "ShardId": "shardId-00000001700000000000-00000000",
            "ShardIteratorType": "LATEST",
        },
    ),
]


@pytest.mark.parametrize("op, params", STREAM_ARN_CASES)
def test_malformed_stream_arn_before_lookup(srv, op, params):
    streams = srv.client("dynamodbstreams", parameter_validation=False)
    assert _call(streams, op, params) == ("ValidationException", "Invalid StreamArn")


def test_iterator_parameters_before_stream_lookup(srv):
    streams = srv.client("dynamodbstreams", parameter_validation=False)
    arn = "arn:aws:dynamodb:us-east-1:000000000000:table/missing/stream/2024-01-01T00:00:00.000"
    shard = "shardId-00000001700000000000-00000000"
    assert _call(
        streams,
        "get_shard_iterator",
        {"StreamArn": arn, "ShardId": shard, "ShardIteratorType": "AT_SEQUENCE_NUMBER"},
    ) == ("ValidationException", "Must provide SequenceNumber for ShardIteratorType AT_SEQUENCE_NUMBER")
    assert (
        _call(
            streams, "get_shard_iterator", {"StreamArn": arn, "ShardId": shard, "ShardIteratorType": "LATEST"}
        )[0]
        == "ResourceNotFoundException"
    )


def _deep(levels: int) -> dict:
    v: dict = {"S": "leaf"}
    for _ in range(levels):
        v = {"M": {"n": v}}
    return v


def test_transaction_actions_are_checked_in_order_before_any_lookup(raw, ddb):
    """paritysuite dynamodb-conformance, validation-ordering/transactions (us-east-1 and
    eu-west-2, 2026-10-09)."""
    make_table(ddb, "present")
    bad_check = {
        "ConditionCheck": {"TableName": "present", "Key": KEY, "ConditionExpression": "attribute_not_exists("}
    }
    syntax = 'Invalid ConditionExpression: Syntax error; token: "<EOF>", near: "("'
    deep_put = {"Put": {"TableName": "present", "Item": {**KEY, "data": _deep(32)}}}
    nesting = (
        "Nesting Levels have exceeded supported limits: Attributes in the item have nested "
        "levels beyond supported limit"
    )
    assert _call(raw, "transact_write_items", {"TransactItems": [{"Put": _t(Item=KEY)}, bad_check]}) == (
        "ValidationException",
        syntax,
    )
    assert _call(raw, "transact_write_items", {"TransactItems": [bad_check, deep_put]}) == (
        "ValidationException",
        syntax,
    )
    assert _call(raw, "transact_write_items", {"TransactItems": [deep_put, bad_check]}) == (
        "ValidationException",
        nesting,
    )
    unused = dict(
        bad_check["ConditionCheck"],
        ConditionExpression="attribute_not_exists(pk)",
        ExpressionAttributeValues=V,
    )
    assert _call(
        raw,
        "transact_write_items",
        {"TransactItems": [{"Put": {"TableName": "present", "Item": KEY}}, {"ConditionCheck": unused}]},
    ) == (
        "ValidationException",
        "Value provided in ExpressionAttributeValues unused in expressions: keys: {:v}",
    )
    assert "Item" not in ddb.get_item(TableName="present", Key=KEY)


def test_key_condition_clauses_in_written_order_before_lookup(raw, ddb):
    """paritysuite dynamodb-conformance, validation-ordering/queryKeyCondition (eu-west-2,
    2026-10): the first undefined value or number given to begins_with, in the order the clauses
    are written, before the table lookup or the count of conditions."""
    make_table(ddb, "comp", range_key="sk")
    operand = (
        "Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or "
        "function: begins_with, operand type: N"
    )
    undefined = (
        "Invalid KeyConditionExpression: An expression attribute value used in expression is not "
        "defined; attribute value: :missing"
    )
    n, p, s = {":n": {"N": "1"}}, {":p": {"S": "q"}}, {":s": {"S": "a"}}

    def query(table, kce, values):
        return _call(
            raw,
            "query",
            {"TableName": table, "KeyConditionExpression": kce, "ExpressionAttributeValues": values},
        )

    assert query("comp", "pk = :missing AND begins_with(sk, :n)", n) == ("ValidationException", undefined)
    assert query("comp", "begins_with(sk, :n) AND pk = :missing", n) == ("ValidationException", operand)
    assert query("comp", "pk = :p AND begins_with(sk, :n) AND sk = :missing", {**p, **n}) == (
        "ValidationException",
        operand,
    )
    assert query("comp", "pk = :p AND begins_with(sk, :n) AND sk > :s", {**p, **n, **s}) == (
        "ValidationException",
        operand,
    )
    assert query(MISSING, "pk = :p AND begins_with(sk, :n)", {**p, **n}) == ("ValidationException", operand)
    assert query(MISSING, "pk = :p AND begins_with(sk, :s)", {**p, **s})[0] == "ResourceNotFoundException"
