"""Deeply nested request bodies are a client error, never a crash (issue #5).

orjson refuses JSON nested deeper than 1024 levels and cbor2 deeper than its own limit; both
must surface as AWS's SerializationException. Nesting the parsers accept but DynamoDB does not
(more than 32 levels of M/L) is a ValidationException.
"""

from __future__ import annotations

import pytest

from tidestream.dynamodb.sizes import MAX_NESTING, MSG_NESTING, check_item_size
from tidestream.errors import SerializationException, ValidationException
from tidestream.http.app import Application


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 1025 + b"]" * 1025,
        b"[" * 10_000 + b"]" * 10_000,
        b'{"a":' * 2000 + b"1" + b"}" * 2000,
        b'{"TableName":' + b"[" * 5000 + b"]" * 5000 + b"}",
    ],
)
def test_json_deeper_than_orjson_allows(body):
    with pytest.raises(SerializationException):
        Application._parse(body, cbor=False)


def test_json_at_the_limit_parses():
    body = b'{"a":' + b"[" * 1022 + b"]" * 1022 + b"}"
    value = Application._parse(body, cbor=False)["a"]
    for _ in range(1021):
        value = value[0]
    assert value == []


@pytest.mark.parametrize(
    "body", [b"\x81" * 100_000 + b"\xa0", b"\xbf" * 5000, b"\xd8\x01" * 10_000 + b"\x00"]
)
def test_cbor_deeper_than_cbor2_allows(body):
    with pytest.raises(SerializationException):
        Application._parse(body, cbor=True)


def _nest(levels: int, kind: str = "M") -> dict:
    v: dict = {"S": "x"}
    for _ in range(levels):
        v = {"M": {"a": v}} if kind == "M" else {"L": [v]}
    return v


@pytest.mark.parametrize("kind", ["M", "L"])
def test_item_nesting_limit(kind):
    check_item_size({"k": {"S": "1"}, "d": _nest(MAX_NESTING, kind)})
    with pytest.raises(ValidationException) as e:
        check_item_size({"k": {"S": "1"}, "d": _nest(MAX_NESTING + 1, kind)})
    assert e.value.message == MSG_NESTING
    with pytest.raises(ValidationException):  # iterative: far past Python's recursion limit
        check_item_size({"d": _nest(50_000, kind)})
