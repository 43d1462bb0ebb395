"""Hostile request bodies for every DynamoDB, Kinesis and DynamoDB Streams operation.

Property-based (hypothesis, bounded) against one real server: wrong types, random objects,
byte flips of plausible bodies, invalid UTF-8, deep nesting, CBOR garbage, odd headers. Every
answer must be a 2xx or a 4xx in AWS's error shape, never a 5xx or a dropped connection; a
rejected request must change nothing; the server must stay healthy.
"""

from __future__ import annotations

import threading
from typing import Any

import cbor2
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.e2e.hostile_helpers import (
    NUMBER_ENVELOPE_OPS,
    NUMBER_MESSAGE_OPS,
    NUMBERS_BAD,
    NUMBERS_OK,
    OPERATIONS,
    RAW_JSON_NUMBERS,
    SCALE,
    TABLE,
    Raw,
    Tracker,
    check_answer,
    headers_for,
    module_state,
    null_variants,
    number_positions,
    numeric_members,
    realistic_bodies,
    sample_body,
    top_members,
    tracked,
)

SETTINGS = dict(
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
    ],
)

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(["", "S", "N", "0", "-1", "1e999", "AAAA"])
)
json_values = st.recursive(
    json_scalars,
    lambda c: (
        st.lists(c, max_size=3)
        | st.dictionaries(st.text(max_size=6) | st.sampled_from(["S", "N", "M", "L", "B"]), c, max_size=3)
    ),
    max_leaves=10,
)
ops = st.sampled_from(OPERATIONS)


@pytest.fixture(scope="module")
def state(request):
    yield from module_state(request, "hostile-bodies")


@pytest.fixture
def tracker(state):
    yield from tracked(state)


@settings(max_examples=150 * SCALE, **SETTINGS)
@given(op=ops, data=st.data())
def test_wrong_types(tracker, op, data):
    svc, name = op
    body = sample_body(svc, name)
    members = top_members(svc, name) or ["X"]
    for m in data.draw(st.lists(st.sampled_from(members + ["Unknown", "__type"]), min_size=1, max_size=3)):
        body[m] = data.draw(json_values)
    tracker.send(headers_for(svc, name), orjson.dumps(body), (op, body))


@settings(max_examples=60 * SCALE, **SETTINGS)
@given(op=ops, body=st.dictionaries(st.text(max_size=10), json_values, max_size=5))
def test_random_objects(tracker, op, body):
    svc, name = op
    tracker.send(headers_for(svc, name), orjson.dumps(body), (op, body))


_mutation = st.tuples(
    st.sampled_from(["flip", "set", "insert", "delete", "truncate"]),
    st.integers(0, 10_000),
    st.integers(0, 255),
)


def _mutate(raw: bytes, muts) -> bytes:
    b = bytearray(raw)
    for kind, pos, val in muts:
        if not b:
            break
        i = pos % len(b)
        if kind == "flip":
            b[i] ^= 1 << (val % 8)
        elif kind == "set":
            b[i] = val
        elif kind == "insert":
            b.insert(i, val)
        elif kind == "delete":
            del b[i]
        else:
            del b[i:]
    return bytes(b)


@settings(max_examples=200 * SCALE, **SETTINGS)
@given(op=ops, muts=st.lists(_mutation, min_size=1, max_size=4))
def test_byte_flips_of_plausible_bodies(tracker, op, muts):
    svc, name = op
    body = _mutate(orjson.dumps(sample_body(svc, name)), muts)
    tracker.send(headers_for(svc, name), body, (op, body))


@settings(max_examples=60 * SCALE, **SETTINGS)
@given(
    op=ops,
    junk=st.sampled_from(
        [b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x00", b"\xc0\xaf", b"\\ud800", b"\\u0000"]
    ),
)
def test_invalid_utf8_in_strings(tracker, op, junk):
    svc, name = op
    raw = orjson.dumps(sample_body(svc, name))
    raw = raw.replace(b'"hostile-x"', b'"host' + junk + b'ile"').replace(b'"v"', b'"' + junk + b'"')
    if b"hostile" not in raw:
        raw = b'{"' + junk + b'":"' + junk + b'"}'
    tracker.send(headers_for(svc, name), raw, (op, raw))


def test_non_object_and_empty_bodies_every_operation(state):
    t = Tracker(state, every=25)
    for svc, name in OPERATIONS:
        for body in (b"", b"null", b"[]", b"1", b'"s"', b"true", b"{", b"{}}", b"{} {}", b" "):
            t.send(headers_for(svc, name), body, (svc, name, body))
    state.healthy()


def test_deep_nesting_every_operation(state):
    """orjson refuses JSON nested deeper than 1024 levels: that is a SerializationException,
    never a 500; nesting the parser accepts but DynamoDB does not is a ValidationException."""
    t = Tracker(state, every=25)
    deep_array = b"[" * 10_000 + b"]" * 10_000
    deep_member = b'{"TableName":' + b"[" * 5000 + b"]" * 5000 + b"}"
    for svc, name in OPERATIONS:
        for body in (deep_array, deep_member):
            status, err = t.send(headers_for(svc, name), body, (svc, name, "deep"))
            assert status == 400
            assert err["__type"].endswith(("SerializationException", "UnknownOperationException")), err
    state.healthy()


@pytest.mark.parametrize("levels,ok", [(31, True), (32, False), (300, False), (510, False)])
@pytest.mark.parametrize("kind", ["M", "L"])
def test_deep_attribute_values(state, levels, ok, kind):
    t = Tracker(state)
    value = b'{"S":"x"}'
    for _ in range(levels):
        value = (b'{"M":{"a":' + value + b"}}") if kind == "M" else (b'{"L":[' + value + b"]}")
    body = (
        b'{"TableName":"'
        + TABLE.encode()
        + b'","Item":{"pk":{"S":"deep"},"sk":{"N":"1"},"d":'
        + value
        + b"}}"
    )
    status, resp = t.send(headers_for("dynamodb", "PutItem"), body, ("deep", levels))
    if ok:
        assert status == 200, resp
        state.ddb.delete_item(TableName=TABLE, Key={"pk": {"S": "deep"}, "sk": {"N": "1"}})
        t.before = state.snapshot()
    else:
        assert status == 400
        assert resp["message"].startswith("Nesting Levels have exceeded supported limits"), resp
    # the same through an update that would nest an existing document too deep
    status, resp = t.send(
        headers_for("dynamodb", "UpdateItem"),
        (
            b'{"TableName":"' + TABLE.encode() + b'","Key":{"pk":{"S":"a"},"sk":{"N":"0"}},'
            b'"UpdateExpression":"SET doc.l[0] = :v","ExpressionAttributeValues":{":v":' + value + b"}}"
        ),
        ("deep update", levels),
    )
    if levels >= 31:
        assert status == 400 and "Nesting Levels" in resp["message"], resp
    elif status == 200:
        t.before = state.snapshot()
    state.healthy()


cbor_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats()
    | st.text(max_size=8)
    | st.binary(max_size=8)
    | st.integers(0, 4).map(
        lambda i: [
            cbor2.undefined,
            cbor2.CBORTag(1, "x"),
            cbor2.CBORTag(1, 10**30),
            cbor2.CBORTag(99, [1]),
            cbor2.CBORSimpleValue(77),
        ][i]
    ),
    lambda c: (
        st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=6) | st.integers(0, 9), c, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=120 * SCALE, **SETTINGS)
@given(op=ops, data=st.data())
def test_cbor_garbage(tracker, op, data):
    svc, name = op
    how = data.draw(st.sampled_from(["bytes", "values", "sample", "mutated"]))
    if how == "bytes":
        body = data.draw(st.binary(min_size=1, max_size=64))
    elif how == "values":
        body = cbor2.dumps(data.draw(st.dictionaries(st.text(max_size=10), cbor_values, max_size=4)))
    elif how == "sample":
        sample = sample_body(svc, name)
        for m in data.draw(st.lists(st.sampled_from(top_members(svc, name) or ["X"]), max_size=2)):
            sample[m] = data.draw(cbor_values)
        body = cbor2.dumps(sample)
    else:
        body = _mutate(
            cbor2.dumps(sample_body(svc, name)), data.draw(st.lists(_mutation, min_size=1, max_size=3))
        )
    tracker.send(headers_for(svc, name, cbor=True), body, (op, how, body[:100]))


def test_cbor_deep_nesting(state):
    t = Tracker(state, every=10)
    for body in (
        b"\x81" * 100_000 + b"\xa0",
        b"\xbf" * 5000,
        b"\xa1\x61a" * 3000 + b"\xf6",
        b"\xd8\x01" * 10_000 + b"\x00",
        b"\x9f" * 20_000 + b"\xff" * 20_000,
        b"\x5f" + b"\x41a" * 1000 + b"\xff",
        b"\x7a\xff\xff\xff\xff",
        b"\x9b" + b"\xff" * 8,
    ):
        for svc, name in (("kinesis", "PutRecord"), ("kinesis", "ListStreams"), ("dynamodb", "PutItem")):
            t.send(headers_for(svc, name, cbor=True), body, (name, body[:10]))
    state.healthy()


header_text = st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=255, blacklist_characters="\x7f"), max_size=40
)


@settings(max_examples=100 * SCALE, **SETTINGS)
@given(op=ops, data=st.data())
def test_odd_headers(tracker, op, data):
    svc, name = op
    h = headers_for(svc, name)
    choice = data.draw(
        st.sampled_from(["target", "ctype", "both", "drop-target", "drop-ctype", "big-target"])
    )
    if choice in ("target", "both"):
        h["X-Amz-Target"] = data.draw(
            header_text
            | st.sampled_from(
                [
                    h["X-Amz-Target"] + ".",
                    h["X-Amz-Target"].lower(),
                    "." + name,
                    "DynamoDB_20120810.",
                    "Kinesis_20131202." + name,
                    "DynamoDB_20120810." + name + "\t",
                    "a.b.c",
                ]
            )
        ).strip()
    if choice in ("ctype", "both"):
        h["Content-Type"] = data.draw(
            header_text
            | st.sampled_from(
                [
                    "application/x-amz-cbor-1.1",
                    "application/json",
                    "text/plain",
                    "",
                    "application/x-amz-json-1.0; charset=utf-8",
                    "application/x-amz-cbor-1.1;x",
                    "multipart/form-data; boundary=x",
                ]
            )
        ).strip()
    if choice == "drop-target":
        del h["X-Amz-Target"]
    if choice == "drop-ctype":
        del h["Content-Type"]
    if choice == "big-target":
        h["X-Amz-Target"] = target_big = "DynamoDB_20120810." + "A" * data.draw(st.integers(100, 50_000))
        assert target_big
    body = orjson.dumps(sample_body(svc, name))
    tracker.send(h, body, (op, h))


def test_huge_target_and_headers(state):
    """Headers past 64 KiB are answered 431 (not buffered without bound)."""
    from tests.e2e.hostile_helpers import Raw

    raw = Raw(state.srv.port)
    h = headers_for("dynamodb", "ListTables")
    h["X-Amz-Target"] = "DynamoDB_20120810." + "A" * 200_000
    status, hdrs, data = raw.request(h, b"{}")
    assert status == 431 and check_answer(status, hdrs, data)
    raw.close()
    state.healthy()


# --------------------------------------------------------------------------- numbers and nulls


@pytest.mark.parametrize("number", NUMBERS_OK, ids=lambda n: n[:24] + f"~{len(n)}")
def test_numbers_at_the_limits_are_accepted_everywhere(tracker, number):
    for op, body in number_positions(number):
        status, resp = tracker.send(headers_for("dynamodb", op), orjson.dumps(body), (op, number[:40]))
        if op == "ExecuteStatement" and number in PARTIQL_EXPONENT_BEYOND_INT:
            # PartiQL reads a parameter like Java's BigDecimal, whose exponent is a 32-bit int:
            # AWS refuses it there (docs/fidelity.md "PartiQL: round 4", paritysuite
            # partiqlParameterNumbers), though the item operations take the zero it denotes
            assert (status, resp["message"]) == (
                400,
                f"The parameter cannot be converted to a numeric value: {number}",
            )
            continue
        assert status == 200, (op, number[:40], resp)


#: accepted by the item operations, refused as a PartiQL parameter (see above)
PARTIQL_EXPONENT_BEYOND_INT = {"0e999999999999999999999"}


@pytest.mark.parametrize("number", list(NUMBERS_BAD), ids=lambda n: repr(n[:24]) + f"~{len(n)}")
def test_numbers_beyond_the_limits_are_rejected_everywhere(tracker, number):
    for op, body in number_positions(number):
        status, resp = tracker.send(headers_for("dynamodb", op), orjson.dumps(body), (op, number[:40]))
        assert status == 400 and resp["__type"].endswith("ValidationException"), (op, number[:40], resp)
        if op in NUMBER_MESSAGE_OPS:
            envelope = "1 validation error detected: " if op in NUMBER_ENVELOPE_OPS else ""
            want = envelope + NUMBERS_BAD[number]
            assert resp["message"] == want, (op, number[:40], resp["message"][:200])


@pytest.mark.parametrize("svc", ["dynamodb", "kinesis", "dynamodbstreams"])
def test_hostile_json_numbers_in_every_numeric_member(state, svc):
    t = Tracker(state, every=20)
    for op, member in numeric_members(svc):
        base = orjson.dumps({k: v for k, v in sample_body(svc, op).items() if k != member})
        for raw in RAW_JSON_NUMBERS:
            body = base[:-1] + (b"," if base != b"{}" else b"") + b'"' + member.encode() + b'":' + raw + b"}"
            t.send(headers_for(svc, op), body, (op, member, raw[:30]))
    state.healthy()


def test_null_in_every_list_and_map_position(state):
    t = Tracker(state, every=10)
    for svc, op, body in realistic_bodies():
        for path, variant in null_variants(body):
            t.send(headers_for(svc, op), orjson.dumps(variant), (op, path))
    for svc, op in OPERATIONS:
        for path, variant in null_variants(sample_body(svc, op)):
            t.send(headers_for(svc, op), orjson.dumps(variant), (op, path))
    state.healthy()


@pytest.mark.parametrize(
    "body,path",
    [
        ({"RequestItems": {TABLE: None}}, f"requestItems.{TABLE}.member"),
        ({"RequestItems": {TABLE: [None]}}, f"requestItems.{TABLE}.member.1.member"),
    ],
)
def test_batch_write_null_request_list(tracker, body, path):
    status, resp = tracker.send(headers_for("dynamodb", "BatchWriteItem"), orjson.dumps(body), body)
    assert status == 400 and resp["__type"].endswith("ValidationException"), resp
    assert resp["message"] == (
        f"1 validation error detected: Value null at '{path}' failed to satisfy "
        "constraint: Member must not be null"
    ), resp


# --------------------------------------------------------------------------- patterns

#: the three requests of the report that held the event loop for seconds (backtracking regexes);
#: the validation cost bound itself is proven in tests/unit/test_pattern_safety.py
SLOW_BEFORE = [
    (
        "dynamodb",
        "PutItem",
        {"TableName": TABLE, "Item": {"pk": {"S": "big"}, "sk": {"N": "1" * 16_000 + "x"}}},
        "The parameter cannot be converted to a numeric value: " + "1" * 16_000 + "x",
    ),
    (
        "kinesis",
        "ListTagsForResource",
        {"ResourceARN": "arn:aws" + ":kinesis::123456789012:stream/" * 300 + " x"},
        "Value '{v}' at 'resourceARN' failed to satisfy constraint: Member must satisfy regular expression "
        "pattern: arn:aws.*:kinesis:.*:\\d{{12}}:.*(stream|channel|queue)/\\S+",
    ),
    (
        "kinesis",
        "DescribeStreamSummary",
        {"StreamARN": "arn:aws" + ":kinesis:" * 20_000},
        "Value '{v}' at 'streamARN' failed to satisfy constraint: Member must have length less than or "
        "equal to 2048",
    ),
]


def test_reported_slow_requests_get_their_validation_error_while_others_are_served(state):
    results: dict[str, tuple[int, Any]] = {}

    def send(svc: str, op: str, body: dict) -> None:
        raw = Raw(state.srv.port)
        try:
            status, hdrs, data = raw.request(headers_for(svc, op), orjson.dumps(body))
            results[op] = (status, orjson.loads(data))
        finally:
            raw.close()

    threads = [threading.Thread(target=send, args=(svc, op, body)) for svc, op, body, _ in SLOW_BEFORE]
    for t in threads:
        t.start()
    key = {"pk": {"S": "a"}, "sk": {"N": "0"}}
    assert state.ddb.get_item(TableName=TABLE, Key=key)["Item"]["pk"] == {"S": "a"}
    for t in threads:
        t.join()
    for svc, op, body, message in SLOW_BEFORE:
        status, resp = results[op]
        assert status == 400 and resp["__type"].endswith("ValidationException"), (op, resp)
        value = next(iter(body.values())) if svc == "kinesis" else None
        expected = message.format(v=value) if value is not None else message
        assert expected in resp["message"], (op, resp["message"][-300:])
    state.healthy()
