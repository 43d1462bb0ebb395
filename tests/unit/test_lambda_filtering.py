"""Lambda event filtering (FilterCriteria of an event source mapping).

Examples are AWS's own where AWS gives one:
  [EF]  https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html
        ("Filter rule syntax": the comparison-operator table, and its notes)
  [DDB] https://docs.aws.amazon.com/lambda/latest/dg/with-ddb-filtering.html
  [KDS] https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis-filtering.html
  [EB]  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html
        (the same pattern language; Lambda lists the operators, EventBridge details them)
The error text "Invalid filter pattern definition." is AWS's answer to CreateEventSourceMapping
(CloudFormation relays it in aws/aws-cdk#23057; LocalStack's provider quotes the AWS CLI's
"An error occurred (InvalidParameterValueException) ... Invalid filter pattern definition.").
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tidestream.lambda_.filtering import (
    MAX_PATTERN_LENGTH,
    FilterCriteriaError,
    compile_filters,
    validate_filter_criteria,
)


def criteria(*patterns: object) -> dict:
    return {"Filters": [{"Pattern": p if isinstance(p, str) else json.dumps(p)} for p in patterns]}


def matches(pattern: object, record: dict) -> bool:
    predicate = compile_filters(criteria(pattern))
    assert predicate is not None
    return predicate(record)


# [DDB] "An example record from your DynamoDB table's stream"
DDB_RECORD = {
    "eventID": "1",
    "eventVersion": "1.0",
    "eventName": "INSERT",
    "dynamodb": {
        "ApproximateCreationDateTime": "1678831218.0",
        "Keys": {"CustomerName": {"S": "AnyCompany Industries"}},
        "NewImage": {
            "AccountManager": {"S": "Pat Candella"},
            "PaymentTerms": {"S": "60 days"},
            "CustomerName": {"S": "AnyCompany Industries"},
        },
        "SequenceNumber": "111",
        "SizeBytes": 26,
        "StreamViewType": "NEW_IMAGE",
    },
}


def kinesis_record(data: object) -> dict:
    """[KDS]'s example record, with ``data`` already decoded as the poller hands it over."""
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": "1",
            "sequenceNumber": "49590338271490256608559692538361571095921575989136588898",
            "data": data,
            "approximateArrivalTimestamp": 1545084650.987,
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": "shardId-000000000006:49590338271490256608559692538361571095921575989136588898",
        "eventName": "aws:kinesis:record",
        "awsRegion": "us-east-2",
        "eventSourceARN": "arn:aws:kinesis:us-east-2:123456789012:stream/lambda-stream",
    }


# --- AWS's documented examples --------------------------------------------------------------------


def test_dynamodb_keys_and_new_image():
    # [DDB] "Filtering with table keys": {"dynamodb": {"Keys": {"CustomerName": {"S": ["AnyCompany Industries"]}}}}
    assert matches({"dynamodb": {"Keys": {"CustomerName": {"S": ["AnyCompany Industries"]}}}}, DDB_RECORD)
    assert not matches({"dynamodb": {"Keys": {"CustomerName": {"S": ["Other"]}}}}, DDB_RECORD)
    # [DDB] "Filtering with table attributes": AccountManager is "Pat Candella" or "Shirley Rodriguez"
    pattern = {"dynamodb": {"NewImage": {"AccountManager": {"S": ["Pat Candella", "Shirley Rodriguez"]}}}}
    assert matches(pattern, DDB_RECORD)
    other = json.loads(json.dumps(DDB_RECORD))
    other["dynamodb"]["NewImage"]["AccountManager"]["S"] = "Someone Else"
    assert not matches(pattern, other)
    # CDK's documented example: {eventName: isEqual('INSERT')} -> {"eventName": ["INSERT"]}
    assert matches({"eventName": ["INSERT"]}, DDB_RECORD)
    assert not matches({"eventName": ["MODIFY", "REMOVE"]}, DDB_RECORD)


def test_kinesis_data_key():
    # [KDS] data {"record": 12345, "order": {"type": "buy", "stock": "ANYCO", "quantity": 1000}}
    # filtered with {"data": {"order": {"type": ["buy"]}}}
    pattern = {"data": {"order": {"type": ["buy"]}}}
    data = {"record": 12345, "order": {"type": "buy", "stock": "ANYCO", "quantity": 1000}}
    assert matches(pattern, kinesis_record(data))
    assert not matches(pattern, kinesis_record({**data, "order": {**data["order"], "type": "sell"}}))
    # [KDS] "As long as the data the producer puts into the stream is valid JSON, you can use
    # event filtering to filter records using the data key": non-JSON data never matches a data
    # pattern, whatever the pattern says (even exists: false)
    assert not matches(pattern, kinesis_record("buy"))
    assert not matches({"data": {"order": [{"exists": False}]}}, kinesis_record("not json"))
    # ... while a pattern without data still filters on the metadata
    assert matches({"kinesis": {"partitionKey": ["1"]}}, kinesis_record("not json"))


def test_comparison_operator_table():
    """[EF] "Filter rule syntax": the patterns of the rows of AWS's table; the records are ours."""
    rows = [
        # (comparison, pattern, a matching record, a record that does not match)
        ("Null", {"UserID": [None]}, {"UserID": None}, {"UserID": "x"}),
        ("Empty", {"LastName": [""]}, {"LastName": ""}, {"LastName": "x"}),
        ("Equals", {"Name": ["Alice"]}, {"Name": "Alice"}, {"Name": "alice"}),
        (
            "Equals (ignore case)",
            {"Name": [{"equals-ignore-case": "alice"}]},
            {"Name": "ALICE"},
            {"Name": "Alicia"},
        ),
        (
            "And",
            {"Location": ["New York"], "Day": ["Monday"]},
            {"Location": "New York", "Day": "Monday"},
            {"Location": "New York", "Day": "Tuesday"},
        ),
        ("Or", {"PaymentType": ["Credit", "Debit"]}, {"PaymentType": "Debit"}, {"PaymentType": "Cash"}),
        (
            "Or (multiple fields)",
            {"$or": [{"Location": ["New York"]}, {"Day": ["Monday"]}]},
            {"Location": "Paris", "Day": "Monday"},
            {"Location": "Paris", "Day": "Sunday"},
        ),
        ("Not", {"Weather": [{"anything-but": ["Raining"]}]}, {"Weather": "Sunny"}, {"Weather": "Raining"}),
        ("Numeric (equals)", {"Price": [{"numeric": ["=", 100]}]}, {"Price": 100.0}, {"Price": 101}),
        ("Numeric (range)", {"Price": [{"numeric": [">", 10, "<=", 20]}]}, {"Price": 20}, {"Price": 10}),
        ("Exists", {"ProductName": [{"exists": True}]}, {"ProductName": "x"}, {"Other": "x"}),
        ("Does not exist", {"ProductName": [{"exists": False}]}, {"Other": "x"}, {"ProductName": "x"}),
        ("Begins with", {"Region": [{"prefix": "us-"}]}, {"Region": "us-east-1"}, {"Region": "eu-west-1"}),
        ("Ends with", {"FileName": [{"suffix": ".png"}]}, {"FileName": "a.png"}, {"FileName": "a.jpg"}),
    ]
    for name, pattern, good, bad in rows:
        assert matches(pattern, good), name
        assert not matches(pattern, bad), name


def test_null_and_empty_are_not_missing():
    # [EF]'s Null and Empty rows match a null / empty value; a missing field is neither
    assert not matches({"UserID": [None]}, {})
    assert not matches({"LastName": [""]}, {})
    assert matches({"UserID": [{"exists": True}]}, {"UserID": None})


def test_exact_values_keep_their_type():
    # [EF] "For strings, Lambda uses exact character-by-character matching ... For numbers,
    # Lambda also uses string representation. For example, 300, 300.0, and 3.0e2 are not
    # considered equal."
    assert not matches({"n": [300]}, {"n": 300.0})
    assert matches({"n": [300]}, {"n": 300})
    assert not matches({"n": [300]}, {"n": "300"})
    assert not matches({"b": [True]}, {"b": 1})
    assert matches({"b": [True]}, {"b": True})
    assert not matches({"b": [1]}, {"b": True})


def test_exists_only_on_leaves():
    # [EB] "Exists matching only works on leaf nodes. It does not work on intermediate nodes."
    assert not matches({"detail": [{"exists": True}]}, {"detail": {"state": "x"}})
    assert matches({"detail": [{"exists": False}]}, {"detail": {"state": "x"}})
    assert matches({"detail": {"state": [{"exists": False}]}}, {})  # parent missing: child missing
    assert not matches({"a": [{"exists": True}]}, {"a": []})


def test_arrays_in_the_record_match_if_any_element_does():
    # [EB] "If the value in the event is an array, then the event pattern matches if the
    # intersection of the event pattern array and the event array is non-empty."
    assert matches({"resources": ["arn:b"]}, {"resources": ["arn:a", "arn:b"]})
    assert not matches({"resources": ["arn:c"]}, {"resources": ["arn:a", "arn:b"]})
    assert matches({"items": {"sku": ["x"]}}, {"items": [{"sku": "y"}, {"sku": "x"}]})
    # one element must satisfy the whole object pattern
    assert not matches(
        {"items": {"sku": ["x"], "qty": [2]}}, {"items": [{"sku": "x", "qty": 1}, {"sku": "y", "qty": 2}]}
    )
    assert matches({"n": [{"numeric": [">", 5]}]}, {"n": [1, [2, [9]]]})
    nested: list = [7]
    for _ in range(5000):  # deeper than Python's recursion limit: walked iteratively
        nested = [nested]
    assert matches({"n": [7]}, {"n": nested})
    assert not matches({"n": {"m": ["x"]}}, {"n": nested})


def test_anything_but_forms():
    # [EB] anything-but: a value, a list, prefix, suffix, equals-ignore-case, wildcard
    assert matches({"state": [{"anything-but": "initializing"}]}, {"state": "running"})
    assert not matches({"state": [{"anything-but": "initializing"}]}, {"state": "initializing"})
    assert matches({"x": [{"anything-but": [100, 200]}]}, {"x": 300})
    assert not matches({"x": [{"anything-but": [100, 200]}]}, {"x": 200})
    assert not matches({"x": [{"anything-but": [100, 200]}]}, {"x": 200.0})  # numbers compare as numbers
    assert matches({"x": [{"anything-but": [100]}]}, {"x": "100"})  # a string is not the number
    assert not matches({"state": [{"anything-but": "initializing"}]}, {})  # must exist
    assert matches({"state": [{"anything-but": {"prefix": "init"}}]}, {"state": "running"})
    assert not matches({"state": [{"anything-but": {"prefix": "init"}}]}, {"state": "initializing"})
    assert not matches({"f": [{"anything-but": {"suffix": ".txt"}}]}, {"f": "a.txt"})
    assert matches({"f": [{"anything-but": {"suffix": ".txt"}}]}, {"f": "a.png"})
    ignore = {"s": [{"anything-but": {"equals-ignore-case": ["Stopped", "overloaded"]}}]}
    assert not matches(ignore, {"s": "OVERLOADED"}) and matches(ignore, {"s": "running"})
    wildcard = {"f": [{"anything-but": {"wildcard": "*/lib/*"}}]}
    assert not matches(wildcard, {"f": "a/lib/b"}) and matches(wildcard, {"f": "a/src/b"})


def test_prefix_and_suffix_ignoring_case():
    # [EB] {"prefix": {"equals-ignore-case": "EventBridge"}}
    assert matches({"s": [{"prefix": {"equals-ignore-case": "EventBridge"}}]}, {"s": "eventbridge rules"})
    assert matches({"s": [{"suffix": {"equals-ignore-case": ".PNG"}}]}, {"s": "a.png"})
    assert not matches({"s": [{"prefix": "us-"}]}, {"s": 5})  # strings only


def test_numeric():
    # [EB] {"c-count": [{"numeric": [">", 0, "<=", 5]}]}, {"d-count": [{"numeric": ["<", 10]}]}
    rule = {"c": [{"numeric": [">", 0, "<=", 5]}]}
    assert [matches(rule, {"c": v}) for v in (0, 0.5, 5, 5.01, "3")] == [False, True, True, False, False]
    assert matches({"d": [{"numeric": ["<", 10]}]}, {"d": -3})
    assert matches({"d": [{"numeric": [">=", 1e9]}]}, {"d": 5e9})


def test_cidr():
    # [EB] {"sourceIPAddress": [{"cidr": "10.0.0.0/24"}]}
    rule = {"sourceIPAddress": [{"cidr": "10.0.0.0/24"}]}
    assert matches(rule, {"sourceIPAddress": "10.0.0.255"})
    assert not matches(rule, {"sourceIPAddress": "10.0.1.0"})
    assert not matches(rule, {"sourceIPAddress": "not an ip"})
    assert matches({"ip": [{"cidr": "2001:db8::/32"}]}, {"ip": "2001:db8::1"})


def test_wildcard():
    # [EB] {"EventBusArn": [{"wildcard": "arn:aws:events:us-east-1:*:event-bus/*"}]}
    rule = {"arn": [{"wildcard": "arn:aws:events:us-east-1:*:event-bus/*"}]}
    assert matches(rule, {"arn": "arn:aws:events:us-east-1:123456789012:event-bus/default"})
    assert not matches(rule, {"arn": "arn:aws:events:us-west-2:123456789012:event-bus/default"})
    assert matches({"f": [{"wildcard": "dir/*.png"}]}, {"f": "dir/a/b.png"})
    assert not matches({"f": [{"wildcard": "dir/*.png"}]}, {"f": "dir/a.png.txt"})
    assert matches({"f": [{"wildcard": "a*b*a"}]}, {"f": "aba"})
    assert not matches({"f": [{"wildcard": "a*b*a"}]}, {"f": "ab"})  # pieces may not overlap
    assert matches({"f": [{"wildcard": r"lit\*eral"}]}, {"f": "lit*eral"})
    assert not matches({"f": [{"wildcard": r"lit\*eral"}]}, {"f": "litXeral"})


def test_wildcard_on_a_hostile_value():
    """A pattern that sends a backtracking regex into exponential work on this value is a few
    left-to-right scans here (a regression would hang this test, not slow it a little)."""
    rule = compile_filters(criteria({"f": [{"wildcard": "*a*a*a*a*a*a*a*a*b"}]}))
    assert rule is not None
    assert not rule({"f": "a" * 200_000})
    assert rule({"f": "a" * 200_000 + "b"})


def test_filters_are_ored_and_none_means_no_filter():
    # [EF] "Your filters are logically ORed together."
    predicate = compile_filters(criteria({"a": ["1"]}, {"b": ["2"]}))
    assert predicate is not None
    assert predicate({"a": "1"}) and predicate({"b": "2"}) and not predicate({"a": "2"})
    assert compile_filters(None) is None
    assert compile_filters({}) is None
    assert compile_filters({"Filters": []}) is None


# --- what AWS refuses -----------------------------------------------------------------------------

INVALID = [
    "not json",
    "null",
    "[]",
    "{}",
    '{"eventName": "INSERT"}',  # a leaf must be a list (aws/aws-cdk#23057)
    '{"eventName": []}',
    '{"a": [{"unknown-op": 1}]}',
    '{"a": [{"prefix": 1}]}',
    '{"a": [{"prefix": "x", "suffix": "y"}]}',
    '{"a": [{"exists": "yes"}]}',
    '{"a": [{"numeric": [">", "1"]}]}',
    '{"a": [{"numeric": ["~", 1]}]}',
    '{"a": [{"numeric": [">", 5e9, "<", 6e9]}]}',  # out of range
    '{"a": [{"numeric": ["<", 1, ">", 0]}]}',  # upper before lower
    '{"a": [{"numeric": [">", 5, "<", 1]}]}',  # empty range
    '{"a": [{"numeric": ["=", 1, "<", 2]}]}',
    '{"a": [{"anything-but": []}]}',
    '{"a": [{"anything-but": ["x", 1]}]}',
    '{"a": [{"anything-but": {"numeric": [">", 1]}}]}',
    '{"a": [{"anything-but": {"prefix": ""}}]}',
    '{"a": [{"cidr": "10.0.0.0/33"}]}',
    '{"a": [{"wildcard": "a**b"}]}',
    '{"a": [[1]]}',
    '{"$or": [{"a": ["1"]}]}',
    '{"$or": {"a": ["1"]}}',
]


@pytest.mark.parametrize("pattern", INVALID)
def test_invalid_patterns(pattern):
    with pytest.raises(FilterCriteriaError) as info:
        validate_filter_criteria(criteria(pattern))
    assert info.value.message == "Invalid filter pattern definition."


def test_limits():
    validate_filter_criteria(criteria(*[{"a": [str(i)]} for i in range(5)]))
    with pytest.raises(FilterCriteriaError) as info:
        validate_filter_criteria(criteria(*[{"a": [str(i)]} for i in range(6)]))
    assert "exceeds the limit of 5" in info.value.message
    long_value = "x" * (MAX_PATTERN_LENGTH - len('{"a": [""]}'))
    validate_filter_criteria(criteria(json.dumps({"a": [long_value]})))
    with pytest.raises(FilterCriteriaError) as info:
        validate_filter_criteria(criteria(json.dumps({"a": [long_value + "x"]})))
    assert "less than or equal to 4096" in info.value.message
    deep: object = {"k": ["x"]}
    for _ in range(600):
        deep = {"k": deep}
    text = json.dumps(deep, separators=(",", ":"))
    assert len(text) < MAX_PATTERN_LENGTH
    with pytest.raises(FilterCriteriaError):  # never a RecursionError (a 500)
        validate_filter_criteria(criteria(text))
    for bad in ({"Filters": "x"}, {"Filters": [{"Pattern": 5}]}, {"Filters": [{}]}, {"Filters": ["x"]}):
        with pytest.raises(FilterCriteriaError):
            validate_filter_criteria(bad)


# --- a reference model ----------------------------------------------------------------------------

_scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.sampled_from(["", "a", "ab", "b"]))
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=3), max_leaves=6)


def _reference_leaves(value: object) -> list:
    if isinstance(value, list):
        return [leaf for item in value for leaf in _reference_leaves(item)]
    return [] if isinstance(value, dict) else [value]


@settings(max_examples=300, deadline=None)
@given(
    wanted=st.lists(_scalars, min_size=1, max_size=3),
    present=st.booleans(),
    value=_values,
)
def test_exact_list_matches_the_reference(wanted, present, value):
    """A list of exact values matches iff some leaf equals one of them with the same JSON type
    (bool is not int), the definition AWS gives ("Or": any value; arrays: any element)."""
    record = {"k": value} if present else {}
    leaves = _reference_leaves(value) if present else []
    expected = any(type(leaf) is type(w) and leaf == w for leaf in leaves for w in wanted)
    assert matches({"k": wanted}, record) == expected
    # anything-but of strings is the complement among present string leaves
    strings = [w for w in wanted if isinstance(w, str)]
    if strings:
        expected_but = any(not (isinstance(leaf, str) and leaf in strings) for leaf in leaves)
        assert matches({"k": [{"anything-but": strings}]}, record) == expected_but
