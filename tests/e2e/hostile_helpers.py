"""Shared pieces of the hostile-input tests: one server, a raw client, AWS error-shape checks,
model-driven sample bodies and a state snapshot ("a rejected request writes nothing")."""

from __future__ import annotations

import base64
import http.client
import os
import socket
import time
from contextlib import contextmanager
from typing import Any
from unittest import mock

import orjson
import pytest

from tests.conftest import ServerProcess, start_on_test_store
from tidestream.protocol import load_model, operation_names, target_prefix

SERVICES = ("dynamodb", "kinesis", "dynamodbstreams")
CTYPE = {
    "dynamodb": "application/x-amz-json-1.0",
    "kinesis": "application/x-amz-json-1.1",
    "dynamodbstreams": "application/x-amz-json-1.0",
}
CBOR = "application/x-amz-cbor-1.1"
AUTH = (
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/{svc}/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64
)
OPERATIONS = sorted((svc, op) for svc in SERVICES for op in operation_names(svc))
TABLE = "hostile-fixture"
STREAM = "hostile-fixture-stream"


def start_hostile_server(request: pytest.FixtureRequest, name: str, **env: str) -> ServerProcess:
    """The hostile files' own server, on this run's store (three nodes in the cluster run)."""
    tmp = request.getfixturevalue("tmp_path_factory").mktemp(name)
    with mock.patch.dict(os.environ, env):
        return start_on_test_store(request, tmp, "--durability", "relaxed", "--kinesis-limits", "off")


def target(svc: str, op: str) -> str:
    return f"{target_prefix(svc)}.{op}"


def headers_for(svc: str, op: str, cbor: bool = False) -> dict[str, str]:
    return {
        "Host": "localhost",
        "X-Amz-Target": target(svc, op),
        "Content-Type": CBOR if cbor else CTYPE[svc],
        "X-Amz-Date": "20240101T000000Z",
        "Authorization": AUTH.format(svc="dynamodb" if svc != "kinesis" else "kinesis"),
    }


class Raw:
    """A keep-alive HTTP/1.1 client that reconnects after the server closes."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn: http.client.HTTPConnection | None = None

    def request(
        self, headers: dict[str, str], body: bytes, method: str = "POST", path: str = "/"
    ) -> tuple[int, dict[str, str], bytes]:
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        c = self.conn
        try:
            c.request(method, path, body=body, headers=headers)
            r = c.getresponse()
            data = r.read()
        except (http.client.HTTPException, OSError) as e:  # a dropped connection is a failure
            c.close()
            self.conn = None
            raise AssertionError(f"no response: {e!r} for {headers} {body[:200]!r}") from None
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        if hdrs.get("connection", "").lower() == "close":
            c.close()
            self.conn = None
        return r.status, hdrs, data

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def decode(hdrs: dict[str, str], data: bytes) -> Any:
    if "cbor" in hdrs.get("content-type", ""):
        from tidestream.protocol.cbor import loads  # keeps AWS's tag-1 milliseconds as is

        return loads(data)
    return orjson.loads(data)


def check_answer(status: int, hdrs: dict[str, str], data: bytes, what: Any = "") -> bool:
    """Every answer is a 2xx or a 4xx in AWS's error shape; never a 5xx. True if rejected."""
    assert status < 500, (status, data[:500], what)
    if status < 300:
        return False
    assert 400 <= status < 500, (status, data[:300], what)
    body = decode(hdrs, data)
    assert isinstance(body, dict) and isinstance(body.get("__type"), str), (body, what)
    if not body["__type"].endswith("UnknownOperationException"):  # AWS sends that one bare
        assert isinstance(body.get("message", body.get("Message")), str), (body, what)
    return True


# --------------------------------------------------------------------------- model samples


def _sample(model: dict, shape_name: str, depth: int = 0) -> Any:
    shape = model["shapes"][shape_name]
    t = shape["type"]
    if shape_name == "AttributeValue":
        return {"S": "v"}
    if t == "structure":
        if depth > 4:
            return {}
        req = set(shape.get("required", ()))
        return {
            k: _sample(model, m["shape"], depth + 1)
            for k, m in shape["members"].items()
            if k in req or depth == 0
        }
    if t == "list":
        return [] if depth > 4 else [_sample(model, shape["member"]["shape"], depth + 1)]
    if t == "map":
        return {} if depth > 4 else {"k": _sample(model, shape["value"]["shape"], depth + 1)}
    if t == "string":
        if "enum" in shape:
            return shape["enum"][0]
        return "hostile-x"[: max(int(shape.get("max", 9)), 1)]
    if t in ("integer", "long"):
        return int(shape.get("min", 1))
    if t in ("double", "float"):
        return 1.5
    if t == "boolean":
        return True
    if t == "blob":
        return base64.b64encode(b"abc").decode()
    if t == "timestamp":
        return 1_700_000_000
    return None


_SAMPLES: dict[tuple[str, str], dict] = {}


def sample_body(svc: str, op: str) -> dict:
    """A plausible body for the operation: every top-level member, nested required members."""
    key = (svc, op)
    if key not in _SAMPLES:
        model = load_model(svc)
        inp = model["operations"][op].get("input")
        _SAMPLES[key] = _sample(model, inp["shape"]) if inp else {}
    return orjson.loads(orjson.dumps(_SAMPLES[key]))


def top_members(svc: str, op: str) -> list[str]:
    model = load_model(svc)
    inp = model["operations"][op].get("input")
    return list(model["shapes"][inp["shape"]]["members"]) if inp else []


# --------------------------------------------------------------------------- state


class State:
    """What a rejected request must not change: tables, the fixture table's items, streams and
    the fixture stream's records."""

    def __init__(self, srv: ServerProcess) -> None:
        self.ddb = srv.client("dynamodb")
        self.kin = srv.client("kinesis")
        self.raw = Raw(srv.port)
        self.srv = srv
        self.iterator: str | None = None

    def setup(self) -> None:
        self.srv.reset()
        self.ddb.create_table(
            TableName=TABLE,
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "N"},
            ],
        )
        for i in range(3):
            self.ddb.put_item(
                TableName=TABLE,
                Item={
                    "pk": {"S": "a"},
                    "sk": {"N": str(i)},
                    "n": {"N": str(i * 10)},
                    "doc": {"M": {"l": {"L": [{"S": "x"}, {"N": "1"}]}, "s": {"SS": ["p", "q"]}}},
                },
            )
        self.kin.create_stream(StreamName=STREAM, ShardCount=1)
        for _ in range(100):
            if (
                self.kin.describe_stream_summary(StreamName=STREAM)["StreamDescriptionSummary"][
                    "StreamStatus"
                ]
                == "ACTIVE"
            ):
                break
            time.sleep(0.05)
        self.kin.put_record(StreamName=STREAM, PartitionKey="p", Data=b"fixture")
        shard = self.kin.list_shards(StreamName=STREAM)["Shards"][0]["ShardId"]
        self.iterator = self.kin.get_shard_iterator(
            StreamName=STREAM, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]

    def snapshot(self) -> tuple:
        tables = tuple(self.ddb.list_tables()["TableNames"])
        items = None
        if TABLE in tables:
            items = orjson.dumps(
                sorted(self.ddb.scan(TableName=TABLE)["Items"], key=lambda i: (i["pk"]["S"], i["sk"]["N"])),
                option=orjson.OPT_SORT_KEYS,
            )
        streams = tuple(self.kin.list_streams()["StreamNames"])
        records = None
        if STREAM in streams and self.iterator:
            records = len(self.kin.get_records(ShardIterator=self.iterator, Limit=10000)["Records"])
        return tables, items, streams, records

    def healthy(self) -> None:
        c = http.client.HTTPConnection("127.0.0.1", self.srv.port, timeout=10)
        try:
            c.request("GET", "/_tidestream/health")
            r = c.getresponse()
            data = r.read()
        finally:
            c.close()
        assert r.status == 200 and orjson.loads(data)["status"] == "ok", data


class Tracker:
    """Sends requests, checks answers, and checks that rejected ones changed nothing."""

    def __init__(self, state: State, every: int = 1) -> None:
        self.state = state
        self.raw = state.raw
        self.before = state.snapshot()
        self.every = every
        self.sent = 0
        self.accepted = 0

    def send(self, headers: dict[str, str], body: bytes, what: Any = "") -> tuple[int, Any]:
        status, hdrs, data = self.raw.request(headers, body)
        rejected = check_answer(status, hdrs, data, what)
        self.sent += 1
        if not rejected:
            self.accepted += 1
            self.before = self.state.snapshot()
        elif self.sent % self.every == 0:
            after = self.state.snapshot()
            assert after == self.before, ("a rejected request changed state", what, body[:300])
        return status, decode(hdrs, data) if data else None


@contextmanager
def raw_socket(port: int, timeout: float = 5.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        yield s
    finally:
        s.close()


def read_all(s: socket.socket, until_closed: bool = True, want: int | None = None) -> bytes:
    """Read until the server closes (or ``want`` complete responses have arrived)."""
    buf = b""
    while True:
        if want is not None and _count_responses(buf) >= want:
            return buf
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            return buf + b"<RESET>"
        except TimeoutError:
            return buf + b"<TIMEOUT>"
        if not chunk:
            return buf
        buf += chunk


def _count_responses(buf: bytes) -> int:
    n, i = 0, 0
    while True:
        j = buf.find(b"HTTP/1.1 ", i)
        if j < 0:
            return n
        head_end = buf.find(b"\r\n\r\n", j)
        if head_end < 0:
            return n
        head = buf[j:head_end].lower()
        k = head.find(b"content-length: ")
        length = int(head[k + 16 : head.find(b"\r\n", k)]) if k >= 0 else 0
        if len(buf) < head_end + 4 + length:
            return n
        n += 1
        i = head_end + 4 + length


def parse_responses(buf: bytes) -> list[tuple[int, dict[str, str], bytes]]:
    out, i = [], 0
    while True:
        j = buf.find(b"HTTP/1.1 ", i)
        if j < 0:
            return out
        head_end = buf.find(b"\r\n\r\n", j)
        if head_end < 0:
            return out
        lines = buf[j:head_end].decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        hdrs = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            hdrs[k.strip().lower()] = v.strip()
        length = int(hdrs.get("content-length", "0"))
        out.append((status, hdrs, buf[head_end + 4 : head_end + 4 + length]))
        i = head_end + 4 + length


#: TIDESTREAM_HOSTILE_SCALE=20 for a long bug hunt; CI runs the bounded default
SCALE = int(os.environ.get("TIDESTREAM_HOSTILE_SCALE", "1"))


def module_state(request: pytest.FixtureRequest, name: str):
    """Body of a module-scoped ``state`` fixture: one hostile server, set up, stopped cleanly."""
    srv = start_hostile_server(request, name)
    state = State(srv)
    state.setup()
    yield state
    state.raw.close()
    assert srv.stop() == 0, srv.read_log()


def tracked(state):
    """Body of a ``tracker`` fixture: checks nothing was written and the server is healthy."""
    t = Tracker(state)
    yield t
    state.healthy()


# --------------------------------------------------------------------------- numbers and nulls

OVERFLOW = "Number overflow. Attempting to store a number with magnitude larger than supported range"
UNDERFLOW = "Number underflow. Attempting to store a number with magnitude smaller than supported range"
DIGITS = "Attempting to store more than 38 significant digits in a Number"

#: DynamoDB numbers at the edges of what is allowed: 38 significant digits, 1E-130 .. 9.99..E+125
NUMBERS_OK = [
    "9.9999999999999999999999999999999999999E+125",
    "-9.9999999999999999999999999999999999999E+125",
    "1E-130",
    "-1e-130",
    "0." + "0" * 129 + "1",
    "1" * 38,
    "-" + "9" * 38,
    "1" + "0" * 125,
    "0" * 20_000 + "1",
    "1" + "0" * 20_000 + "e-20000",
    "0e999999999999999999999",
    "-0",
    "+.5",
]

#: beyond the limits (or not numbers at all), with DynamoDB's message
NUMBERS_BAD = {
    "1E+126": OVERFLOW,
    "-1e126": OVERFLOW,
    "1e1000000": OVERFLOW,
    "1e99999999999999999999": OVERFLOW,
    "1" + "0" * 200: OVERFLOW,
    "1E-131": UNDERFLOW,
    "-1e-1000000": UNDERFLOW,
    "1e-99999999999999999999": UNDERFLOW,
    "0." + "0" * 20_000 + "1": UNDERFLOW,
    "1" * 39: DIGITS,
    "-1.23456789012345678901234567890123456789": DIGITS,
    "1" * 16_000: DIGITS,
    "1" * 39 + "e1000000": DIGITS,
    "1" * 16_000 + "x": "The parameter cannot be converted to a numeric value: " + "1" * 16_000 + "x",
    "1\n": "The parameter cannot be converted to a numeric value: 1\n",
    "\u0661\u0662": "The parameter cannot be converted to a numeric value: \u0661\u0662",
    "NaN": "The parameter cannot be converted to a numeric value: NaN",
    "1e": "The parameter cannot be converted to a numeric value: 1e",
}


def number_positions(n: str) -> list[tuple[str, dict]]:
    """DynamoDB bodies placing the number text *n* in every kind of place a number goes, all
    against the fixture table (pk S, sk N): item attribute, key, set, nested document,
    expression value, legacy Expected / AttributeUpdates, batch and transaction items."""
    item = {"pk": {"S": "num"}, "sk": {"N": "1"}}
    key = {"pk": {"S": "a"}, "sk": {"N": "0"}}
    value = {":v": {"N": n}}
    return [
        ("PutItem", {"TableName": TABLE, "Item": {**item, "x": {"N": n}}}),
        ("PutItem", {"TableName": TABLE, "Item": {**item, "sk": {"N": n}}}),
        ("PutItem", {"TableName": TABLE, "Item": {**item, "x": {"NS": ["2", n]}}}),
        ("PutItem", {"TableName": TABLE, "Item": {**item, "x": {"M": {"l": {"L": [{"N": n}]}}}}}),
        ("GetItem", {"TableName": TABLE, "Key": {"pk": {"S": "a"}, "sk": {"N": n}}}),
        (
            "UpdateItem",
            {
                "TableName": TABLE,
                "Key": key,
                "UpdateExpression": "SET x = :v",
                "ExpressionAttributeValues": value,
            },
        ),
        (
            "UpdateItem",
            {
                "TableName": TABLE,
                "Key": key,
                "UpdateExpression": "ADD n :v",
                "ExpressionAttributeValues": value,
            },
        ),
        (
            "UpdateItem",
            {"TableName": TABLE, "Key": key, "AttributeUpdates": {"x": {"Action": "PUT", "Value": {"N": n}}}},
        ),
        (
            "DeleteItem",
            {
                "TableName": TABLE,
                "Key": {**key, "sk": {"N": "9"}},
                "Expected": {"n": {"ComparisonOperator": "NE", "AttributeValueList": [{"N": n}]}},
            },
        ),
        (
            "Query",
            {
                "TableName": TABLE,
                "KeyConditionExpression": "pk = :p AND sk > :v",
                "ExpressionAttributeValues": {":p": {"S": "a"}, **value},
            },
        ),
        ("Scan", {"TableName": TABLE, "FilterExpression": "n < :v", "ExpressionAttributeValues": value}),
        ("Scan", {"TableName": TABLE, "ExclusiveStartKey": {"pk": {"S": "a"}, "sk": {"N": n}}}),
        ("BatchWriteItem", {"RequestItems": {TABLE: [{"PutRequest": {"Item": {**item, "x": {"N": n}}}}]}}),
        ("BatchGetItem", {"RequestItems": {TABLE: {"Keys": [{"pk": {"S": "a"}, "sk": {"N": n}}]}}}),
        (
            "TransactWriteItems",
            {"TransactItems": [{"Put": {"TableName": TABLE, "Item": {**item, "x": {"N": n}}}}]},
        ),
        (
            "ExecuteStatement",
            {
                "Statement": f'SELECT * FROM "{TABLE}" WHERE pk = ? AND sk = ?',
                "Parameters": [{"S": "a"}, {"N": n}],
            },
        ),
    ]


#: the parts of number_positions whose answer must carry the number's own message (the others
#: must only be a 4xx: PartiQL and reads may word it their own way)
NUMBER_MESSAGE_OPS = (
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "BatchWriteItem",
    "TransactWriteItems",
    "GetItem",
)

#: of those, the operations that answer a refused value inside the validation envelope
#: (paritysuite dynamodb-conformance error-messages/valueLayers, four regions, 2026-10-09)
NUMBER_ENVELOPE_OPS = ("PutItem", "UpdateItem", "DeleteItem")

#: JSON numbers for numeric members (raw text: beyond double range, beyond int64, negative zero)
RAW_JSON_NUMBERS = [
    b"1e1000000",
    b"-1e1000000",
    b"1e-1000000",
    b"123456789012345678901234567890",
    b"-9223372036854775809",
    b"1e308",
    b"-0.0",
    b"0.5",
    b"-1",
    b"0",
    b"0." + b"0" * 20_000 + b"1",
    b"1" + b"0" * 20_000,
]


def numeric_members(svc: str) -> list[tuple[str, str]]:
    """(operation, top-level member) for every integer/long/double/timestamp member of *svc*
    (shard counts included: even with ``--kinesis-limits off`` a 10**29 must be refused)."""
    model = load_model(svc)
    out = []
    for op in sorted(operation_names(svc)):
        inp = model["operations"][op].get("input")
        if not inp:
            continue
        for member, spec in model["shapes"][inp["shape"]]["members"].items():
            if model["shapes"][spec["shape"]]["type"] in ("integer", "long", "double", "float", "timestamp"):
                out.append((op, member))
    return out


def realistic_bodies() -> list[tuple[str, str, dict]]:
    """Bodies that reach past validation into the services (real table and stream names)."""
    item = {"pk": {"S": "a"}, "sk": {"N": "7"}, "l": {"L": [{"S": "x"}]}, "s": {"SS": ["p"]}}
    key = {"pk": {"S": "a"}, "sk": {"N": "0"}}
    ddb = [
        (
            "PutItem",
            {
                "TableName": TABLE,
                "Item": item,
                "Expected": {"x": {"ComparisonOperator": "IN", "AttributeValueList": [{"S": "a"}]}},
            },
        ),
        (
            "UpdateItem",
            {
                "TableName": TABLE,
                "Key": key,
                "UpdateExpression": "SET #a = list_append(l, :l)",
                "ExpressionAttributeNames": {"#a": "l"},
                "ExpressionAttributeValues": {":l": {"L": [{"S": "y"}]}},
            },
        ),
        (
            "Query",
            {
                "TableName": TABLE,
                "KeyConditions": {"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "a"}]}},
                "AttributesToGet": ["pk"],
                "QueryFilter": {
                    "n": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [{"N": "1"}, {"N": "2"}]}
                },
            },
        ),
        (
            "Scan",
            {
                "TableName": TABLE,
                "ScanFilter": {"n": {"ComparisonOperator": "IN", "AttributeValueList": [{"N": "1"}]}},
            },
        ),
        ("BatchGetItem", {"RequestItems": {TABLE: {"Keys": [key], "AttributesToGet": ["pk"]}}}),
        (
            "BatchWriteItem",
            {"RequestItems": {TABLE: [{"PutRequest": {"Item": item}}, {"DeleteRequest": {"Key": key}}]}},
        ),
        (
            "TransactWriteItems",
            {
                "TransactItems": [
                    {"Put": {"TableName": TABLE, "Item": item}},
                    {
                        "ConditionCheck": {
                            "TableName": TABLE,
                            "Key": key,
                            "ConditionExpression": "attribute_exists(pk)",
                        }
                    },
                ]
            },
        ),
        ("TransactGetItems", {"TransactItems": [{"Get": {"TableName": TABLE, "Key": key}}]}),
        (
            "ExecuteStatement",
            {"Statement": f'SELECT * FROM "{TABLE}" WHERE pk = ?', "Parameters": [{"S": "a"}]},
        ),
        (
            "BatchExecuteStatement",
            {
                "Statements": [
                    {
                        "Statement": f'SELECT * FROM "{TABLE}" WHERE pk = ? AND sk = ?',
                        "Parameters": [{"S": "a"}, {"N": "0"}],
                    }
                ]
            },
        ),
        (
            "ExecuteTransaction",
            {
                "TransactStatements": [
                    {
                        "Statement": f'SELECT * FROM "{TABLE}" WHERE pk = ? AND sk = ?',
                        "Parameters": [{"S": "a"}, {"N": "0"}],
                    }
                ]
            },
        ),
        (
            "CreateTable",
            {
                "TableName": "hostile-null",
                "BillingMode": "PAY_PER_REQUEST",
                "KeySchema": [{"AttributeName": "k", "KeyType": "HASH"}],
                "AttributeDefinitions": [{"AttributeName": "k", "AttributeType": "S"}],
                "GlobalSecondaryIndexes": [
                    {
                        "IndexName": "g",
                        "KeySchema": [{"AttributeName": "k", "KeyType": "HASH"}],
                        "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["x"]},
                    }
                ],
                "Tags": [{"Key": "k", "Value": "v"}],
            },
        ),
        (
            "TagResource",
            {
                "ResourceArn": f"arn:aws:dynamodb:us-east-1:000000000000:table/{TABLE}",
                "Tags": [{"Key": "k", "Value": "v"}],
            },
        ),
    ]
    kin = [
        ("PutRecords", {"StreamName": STREAM, "Records": [{"PartitionKey": "p", "Data": "YQ=="}]}),
        ("AddTagsToStream", {"StreamName": STREAM, "Tags": {"k": "v"}}),
        ("RemoveTagsFromStream", {"StreamName": STREAM, "TagKeys": ["k"]}),
        ("ListShards", {"StreamName": STREAM, "ShardFilter": {"Type": "AT_LATEST"}}),
        ("EnableEnhancedMonitoring", {"StreamName": STREAM, "ShardLevelMetrics": ["IncomingBytes"]}),
        (
            "TagResource",
            {"ResourceARN": f"arn:aws:kinesis:us-east-1:000000000000:stream/{STREAM}", "Tags": {"k": "v"}},
        ),
    ]
    return [("dynamodb", op, b) for op, b in ddb] + [("kinesis", op, b) for op, b in kin]


def null_variants(body: Any, path: tuple = ()) -> list[tuple[tuple, Any]]:
    """(path, copy of *body* with null at path) for every list element and map value."""
    out: list[tuple[tuple, Any]] = []
    if isinstance(body, dict):
        items: list[tuple[Any, Any]] = list(body.items())
    elif isinstance(body, list):
        items = list(enumerate(body))
    else:
        return out
    for k, v in items:
        copy = orjson.loads(orjson.dumps(body))
        copy[k] = None
        out.append(((*path, k), copy))
        for sub_path, sub in null_variants(v, (*path, k)):
            whole = orjson.loads(orjson.dumps(body))
            whole[k] = sub
            out.append((sub_path, whole))
    return out
