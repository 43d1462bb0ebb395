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

from tidestream.protocol import load_model, operation_names, target_prefix
from tests.conftest import ServerProcess, start_server

SERVICES = ("dynamodb", "kinesis", "dynamodbstreams")
CTYPE = {"dynamodb": "application/x-amz-json-1.0", "kinesis": "application/x-amz-json-1.1",
         "dynamodbstreams": "application/x-amz-json-1.0"}
CBOR = "application/x-amz-cbor-1.1"
AUTH = ("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/{svc}/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64)
OPERATIONS = sorted((svc, op) for svc in SERVICES for op in operation_names(svc))
TABLE = "hostile-fixture"
STREAM = "hostile-fixture-stream"


def start_hostile_server(tmp_path_factory, name: str, **env: str) -> ServerProcess:
    tmp = tmp_path_factory.mktemp(name)
    with mock.patch.dict(os.environ, env):
        return start_server(tmp, "--durability", "relaxed", "--kinesis-limits", "off")


def target(svc: str, op: str) -> str:
    return f"{target_prefix(svc)}.{op}"


def headers_for(svc: str, op: str, cbor: bool = False) -> dict[str, str]:
    return {"Host": "localhost", "X-Amz-Target": target(svc, op),
            "Content-Type": CBOR if cbor else CTYPE[svc],
            "X-Amz-Date": "20240101T000000Z",
            "Authorization": AUTH.format(svc="dynamodb" if svc != "kinesis" else "kinesis")}


class Raw:
    """A keep-alive HTTP/1.1 client that reconnects after the server closes."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn: http.client.HTTPConnection | None = None

    def request(self, headers: dict[str, str], body: bytes, method: str = "POST",
                path: str = "/") -> tuple[int, dict[str, str], bytes]:
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
        return {k: _sample(model, m["shape"], depth + 1) for k, m in shape["members"].items()
                if k in req or depth == 0}
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
            TableName=TABLE, BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "sk", "AttributeType": "N"}])
        for i in range(3):
            self.ddb.put_item(TableName=TABLE, Item={
                "pk": {"S": "a"}, "sk": {"N": str(i)}, "n": {"N": str(i * 10)},
                "doc": {"M": {"l": {"L": [{"S": "x"}, {"N": "1"}]}, "s": {"SS": ["p", "q"]}}}})
        self.kin.create_stream(StreamName=STREAM, ShardCount=1)
        for _ in range(100):
            if self.kin.describe_stream_summary(StreamName=STREAM)["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE":
                break
            time.sleep(0.05)
        self.kin.put_record(StreamName=STREAM, PartitionKey="p", Data=b"fixture")
        shard = self.kin.list_shards(StreamName=STREAM)["Shards"][0]["ShardId"]
        self.iterator = self.kin.get_shard_iterator(StreamName=STREAM, ShardId=shard,
                                                    ShardIteratorType="TRIM_HORIZON")["ShardIterator"]

    def snapshot(self) -> tuple:
        tables = tuple(self.ddb.list_tables()["TableNames"])
        items = None
        if TABLE in tables:
            items = orjson.dumps(sorted(self.ddb.scan(TableName=TABLE)["Items"],
                                        key=lambda i: (i["pk"]["S"], i["sk"]["N"])),
                                 option=orjson.OPT_SORT_KEYS)
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
        except socket.timeout:
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
        length = int(head[k + 16:head.find(b"\r\n", k)]) if k >= 0 else 0
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
        out.append((status, hdrs, buf[head_end + 4: head_end + 4 + length]))
        i = head_end + 4 + length


#: TIDESTREAM_HOSTILE_SCALE=20 for a long bug hunt; CI runs the bounded default
SCALE = int(os.environ.get("TIDESTREAM_HOSTILE_SCALE", "1"))


def module_state(tmp_path_factory, name: str, *args: str):
    """Body of a module-scoped ``state`` fixture: one hostile server, set up, stopped cleanly."""
    srv = start_hostile_server(tmp_path_factory, name, *args) if args else start_hostile_server(tmp_path_factory, name)
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
