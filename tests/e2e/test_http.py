"""The HTTP surface: health, CORS, gzip, error envelope, routing, request ids, crc32."""

from __future__ import annotations

import gzip
import http.client
import json
import zlib

import orjson

from tests.conftest import TEST_STORAGE


def _post(srv, target: str | None, body: bytes, headers: dict | None = None):
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    h = {"Content-Type": "application/x-amz-json-1.0"}
    if target:
        h["X-Amz-Target"] = target
    h.update(headers or {})
    c.request("POST", "/", body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r, data


def test_root_and_health(srv):
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
    c.request("GET", "/")
    r = c.getresponse()
    assert r.status == 200 and r.read().startswith(b"healthy: dynamodb.")
    c.request("GET", "/_tidestream/health")
    r = c.getresponse()
    body = json.loads(r.read())
    c.close()
    assert r.status == 200 and body["storage"] == TEST_STORAGE and body["version"]


def test_cors_preflight(srv):
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
    c.request("OPTIONS", "/", headers={"Origin": "http://x", "Access-Control-Request-Method": "POST"})
    r = c.getresponse()
    r.read()
    c.close()
    assert r.status == 200 and r.getheader("Access-Control-Allow-Origin") == "*"


def test_unknown_operation(srv):
    r, data = _post(srv, "DynamoDB_20120810.NoSuchThing", b"{}")
    assert r.status == 400
    assert orjson.loads(data)["__type"] == "com.amazon.coral.service#UnknownOperationException"


def test_malformed_json_is_serialization_error(srv):
    r, data = _post(srv, "DynamoDB_20120810.ListTables", b"{not json")
    assert r.status == 400
    assert orjson.loads(data)["__type"] == "com.amazon.coral.service#SerializationException"


def test_response_has_request_id_and_crc32(srv):
    r, data = _post(srv, "DynamoDB_20120810.ListTables", b"{}")
    assert r.status == 200
    assert r.getheader("x-amzn-RequestId")
    assert int(r.getheader("x-amz-crc32")) == zlib.crc32(data)
    assert orjson.loads(data) == {"TableNames": []}


def test_gzip_request_and_response(srv):
    body = gzip.compress(
        b'{"TableName":"gzz","KeySchema":[{"AttributeName":"k","KeyType":"HASH"}],'
        b'"AttributeDefinitions":[{"AttributeName":"k","AttributeType":"S"}],'
        b'"BillingMode":"PAY_PER_REQUEST"}'
    )
    r, data = _post(srv, "DynamoDB_20120810.CreateTable", body, {"Content-Encoding": "gzip"})
    assert r.status == 200, data
    r, data = _post(
        srv, "DynamoDB_20120810.DescribeTable", b'{"TableName":"gzz"}', {"Accept-Encoding": "gzip"}
    )
    assert r.status == 200
    if r.getheader("Content-Encoding") == "gzip":
        data = gzip.decompress(data)
    assert orjson.loads(data)["Table"]["TableName"] == "gzz"


def test_oversized_body_gets_413(srv):
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    c.putrequest("POST", "/")
    c.putheader("X-Amz-Target", "DynamoDB_20120810.ListTables")
    c.putheader("Content-Length", str(64 * 1024 * 1024))
    c.endheaders()
    r = c.getresponse()
    r.read()
    assert r.status == 413


def test_pipelined_requests_answer_in_order(srv):
    import socket

    reqs = b""
    for i in range(5):
        body = orjson.dumps({"Limit": i + 1})
        reqs += (
            b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: DynamoDB_20120810.ListTables\r\n"
            b"Content-Type: application/x-amz-json-1.0\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
        )
    with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as s:
        s.sendall(reqs)
        buf = b""
        while buf.count(b"HTTP/1.1 200") < 5:
            chunk = s.recv(65536)
            assert chunk, buf
            buf += chunk
    assert buf.count(b"HTTP/1.1 200 OK") == 5


def test_regions_and_accounts_are_isolated(srv):
    east = srv.client("dynamodb", region="us-east-1")
    west = srv.client("dynamodb", region="eu-west-1")
    other_account = srv.client("dynamodb", region="us-east-1", access_key="111122223333")
    for c in (east,):
        c.create_table(
            TableName="iso",
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    assert east.list_tables()["TableNames"] == ["iso"]
    assert west.list_tables()["TableNames"] == []
    assert other_account.list_tables()["TableNames"] == []
    arn = east.describe_table(TableName="iso")["Table"]["TableArn"]
    assert arn == "arn:aws:dynamodb:us-east-1:000000000000:table/iso"
