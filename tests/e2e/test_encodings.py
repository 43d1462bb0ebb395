"""HTTP content encodings as AWS handles them: compressed request bodies (gzip, deflate),
AWS's answers to bodies that do not decode, and compressed responses chosen from
Accept-Encoding.

Source of every expectation, unless a test says otherwise: ScyllaDB's Alternator suite, whose
tests run against DynamoDB itself and are marked where DynamoDB differs:
``test/alternator/test_compressed_request.py`` (gzip and deflate bodies, 500 for bodies that do
not decode and for unknown encodings, concatenated gzip members accepted, trailing junk after a
gzip member accepted (marked ``dynamodb_bug``), concatenated deflate streams refused) and
``test/alternator/test_compressed_response.py`` (the 4 KiB threshold, gzip and deflate, the
Accept-Encoding table below, repeated headers: the last one counts).
The CRC rule (x-amz-crc32 is the checksum of the compressed bytes): smithy-rs issue 129,
aws-sdk-java-v2 issue 2293 ("DynamoDB uses the gzipped content for the c[hecksum]").
"""

from __future__ import annotations

import gzip
import http.client
import zlib

import orjson
import pytest

from tests.conftest import make_table
from tests.e2e.h2client import H2Client

PUT = "DynamoDB_20120810.PutItem"
GET = "DynamoDB_20120810.GetItem"
BIG = "x" * 4096  # an item with this attribute answers GetItem with more than 4 KiB


def _put_body(pk: str, **extra: str) -> bytes:
    item = {"pk": {"S": pk}, **{k: {"S": v} for k, v in extra.items()}}
    return orjson.dumps({"TableName": "enc", "Item": item})


def _post(srv, target: str, body: bytes, headers: list[tuple[str, str]] | None = None):
    """One raw request; *headers* may repeat a name (http.client sends each one)."""
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
    c.putrequest("POST", "/", skip_accept_encoding=True)
    c.putheader("Content-Type", "application/x-amz-json-1.0")
    c.putheader("X-Amz-Target", target)
    c.putheader("Content-Length", str(len(body)))
    for name, value in headers or []:
        c.putheader(name, value)
    c.endheaders(body)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r, data


@pytest.fixture
def ddb(srv):
    client = srv.client("dynamodb")
    make_table(client, "enc")
    return client


def _stored(ddb, pk: str) -> dict | None:
    return ddb.get_item(TableName="enc", Key={"pk": {"S": pk}}, ConsistentRead=True).get("Item")


# request bodies -------------------------------------------------------------------------
def test_deflate_request_body(srv, ddb):
    """test_deflate_request_valid: a zlib-format body with Content-Encoding: deflate."""
    r, data = _post(srv, PUT, zlib.compress(_put_body("d", v="1")), [("Content-Encoding", "deflate")])
    assert r.status == 200, data
    assert _stored(ddb, "d") == {"pk": {"S": "d"}, "v": {"S": "1"}}


def test_deflate_request_body_chunked_and_over_http2(srv, ddb):
    """The same decoding for a chunked body and for an HTTP/2 stream."""
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
    body = zlib.compress(_put_body("chunked"))
    headers = {
        "X-Amz-Target": PUT,
        "Content-Type": "application/x-amz-json-1.0",
        "Content-Encoding": "deflate",
    }
    c.request("POST", "/", body=iter([body[:5], body[5:]]), headers=headers, encode_chunked=True)
    r = c.getresponse()
    assert r.status == 200, r.read()
    c.close()
    h2 = H2Client(srv.port)
    try:
        sid = h2.request(
            "PutItem",
            service="DynamoDB_20120810",
            payload=zlib.compress(_put_body("h2")),
            extra=[("content-encoding", "deflate")],
        )
        h2.pump(lambda: h2.responses[sid].ended)
        assert h2.responses[sid].status == 200, bytes(h2.responses[sid].data)
    finally:
        h2.close()
    assert _stored(ddb, "chunked") and _stored(ddb, "h2")


def test_identity_tokens_are_accepted(srv, ddb):
    """``amz-1.0`` is the AWS JSON services' "no encoding" (their request examples send it;
    only unknown codings are refused); ``identity`` is RFC 9110's."""
    for coding in ("amz-1.0", "identity", "gzip, amz-1.0"):
        body = _put_body(coding)
        if coding.startswith("gzip"):
            body = gzip.compress(body)
        r, data = _post(srv, PUT, body, [("Content-Encoding", coding)])
        assert r.status == 200, (coding, data)
        assert _stored(ddb, coding)


def test_gzip_members_and_trailing_bytes(srv, ddb):
    """test_gzip_request_two_gzips (concatenated members are one body) and
    test_gzip_request_with_extra_junk (DynamoDB ignores bytes after the last member)."""
    body = _put_body("two", v="2")
    two = gzip.compress(body[:10]) + gzip.compress(body[10:])
    r, data = _post(srv, PUT, two, [("Content-Encoding", "gzip")])
    assert r.status == 200, data
    assert _stored(ddb, "two") == {"pk": {"S": "two"}, "v": {"S": "2"}}
    r, data = _post(srv, PUT, gzip.compress(_put_body("junk")) + b"junk", [("Content-Encoding", "gzip")])
    assert r.status == 200, data
    assert _stored(ddb, "junk")


def test_concatenated_deflate_streams_are_not_one_body(srv, ddb):
    """test_deflate_request_two_deflates is scylla_only: DynamoDB reads the first stream only,
    so the request fails (here: the first 10 bytes are not a whole JSON document)."""
    body = _put_body("two-deflates")
    r, data = _post(
        srv, PUT, zlib.compress(body[:10]) + zlib.compress(body[10:]), [("Content-Encoding", "deflate")]
    )
    assert r.status == 400 and b"SerializationException" in data, data
    assert _stored(ddb, "two-deflates") is None
    r, data = _post(srv, PUT, zlib.compress(body) + b"junk", [("Content-Encoding", "deflate")])
    assert r.status == 200, data


UNDECODABLE = {
    # test_garbage_content_encoding
    "unknown encoding": ("garbage", lambda b: b),
    # test_broken_gzip_content / test_deflate_request_not_deflated
    "plain body called gzip": ("gzip", lambda b: b),
    "plain body called deflate": ("deflate", lambda b: b),
    # test_gzip_request_with_missing_character
    "truncated gzip": ("gzip", lambda b: gzip.compress(b)[:-1]),
    "truncated deflate": ("deflate", lambda b: zlib.compress(b)[:-3]),
    # test_gzip_request_empty / test_deflate_request_empty
    "empty gzip": ("gzip", lambda b: b""),
    "empty deflate": ("deflate", lambda b: b""),
    # a raw (headerless) deflate stream is not the zlib format RFC 9110 calls deflate
    "raw deflate": ("deflate", lambda b: zlib.compress(b, wbits=-15)),
}


@pytest.mark.parametrize("case", sorted(UNDECODABLE))
def test_undecodable_body_is_a_client_error_and_writes_nothing(srv, ddb, case):
    """DynamoDB answers HTTP 500 InternalServerError (ScyllaDB's suite); tidestream answers 400
    SerializationException naming the problem, on purpose (docs/fidelity.md: bad input is
    never a 500, and a 500 makes SDKs retry what cannot succeed). Nothing is written either way."""
    coding, encode = UNDECODABLE[case]
    r, data = _post(srv, PUT, encode(_put_body("bad")), [("Content-Encoding", coding)])
    assert r.status == 400, data
    err = orjson.loads(data)
    assert err["__type"].endswith("#SerializationException")  # coral namespace, as AWS
    assert err["message"].startswith("The request body could not be decoded: ")
    assert _stored(ddb, "bad") is None


def test_undecodable_kinesis_body_is_a_serialization_error(srv):
    """Kinesis answers in its own error shape (no namespace in ``__type``)."""
    r, data = _post(srv, "Kinesis_20131202.ListStreams", b"{}", [("Content-Encoding", "gzip")])
    assert r.status == 400, data
    assert orjson.loads(data)["__type"] == "SerializationException"


def test_deflate_bomb_is_bounded(srv, ddb):
    """A body inflating past the 16 MiB request limit is refused after inflating at most that
    much (AWS accepts up to about 1 GB inflated: tidestream's cap is documented; the gzip bomb
    is test_hostile_http's)."""
    padded = b'{"TableName":"enc",' + b" " * (64 * 1024 * 1024) + b'"Item":{"pk":{"S":"bomb"}}}'
    r, data = _post(srv, PUT, zlib.compress(padded, 9), [("Content-Encoding", "deflate")])
    assert r.status == 413, data
    assert _stored(ddb, "bomb") is None


# responses -----------------------------------------------------------------------------
def _get(srv, pk: str, headers: list[tuple[str, str]]):
    body = orjson.dumps({"TableName": "enc", "Key": {"pk": {"S": pk}}})
    return _post(srv, GET, body, headers)


def _inflate(coding: str | None, data: bytes) -> bytes:
    if coding == "gzip":
        return gzip.decompress(data)
    if coding == "deflate":
        return zlib.decompress(data)
    return data


@pytest.mark.parametrize("coding", ["gzip", "deflate"])
def test_large_response_compressed_with_crc_of_the_wire_bytes(srv, ddb, coding):
    ddb.put_item(TableName="enc", Item={"pk": {"S": "big"}, "x": {"S": BIG}})
    r, data = _get(srv, "big", [("Accept-Encoding", coding)])
    assert r.status == 200 and r.getheader("Content-Encoding") == coding
    assert int(r.getheader("x-amz-crc32")) == zlib.crc32(data)
    assert orjson.loads(_inflate(coding, data))["Item"]["x"]["S"] == BIG
    assert len(data) * 30 < len(BIG)


def test_response_under_4_kib_is_not_compressed(srv, ddb):
    """test_compressed_response: a response below DynamoDB's 4 KiB threshold leaves as is."""
    ddb.put_item(TableName="enc", Item={"pk": {"S": "small"}, "x": {"S": "x" * 3000}})
    r, data = _get(srv, "small", [("Accept-Encoding", "gzip, deflate")])
    assert r.status == 200 and r.getheader("Content-Encoding") is None
    assert int(r.getheader("x-amz-crc32")) == zlib.crc32(data)
    assert orjson.loads(data)["Item"]["x"]["S"] == "x" * 3000


# test_compressed_response_accept_encodings, DynamoDB's answers (None: not compressed)
ACCEPT = [
    ("identity", None),
    ("", None),
    ("br", None),
    ("zstd", None),
    ("compress", None),
    ("x-gzip", None),
    ("gzip, deflate", "gzip"),
    ("br, identity, deflate, gzip", "deflate"),
    ("GZIP, identity", "gzip"),
    ("dog, gzip ,, cat", "gzip"),
    ("gzip;q=0.8, deflate;q=0.5", "gzip"),
    ("br, gzip;q=0, deflate; q = 0.5 , identity;q=0", "deflate"),
    ("*", "gzip"),
    ("*, deflate;q=0.5", "gzip"),
    ("*, deflate", "deflate"),
    ("*, identity", "gzip"),
    ("*, gzip;q=0.5", "deflate"),
    ("gzip ;q=0", None),
    ("identity;q=0", None),
    ("*;q=0", None),
    ("*;q=0.5,identity", "gzip"),
    ("gzip;q=0.5,identity;q=0.8", "gzip"),
    ("br;q=0.8,identity;q=0.5,*;q=0", None),
    ('"gzip"', None),
    ("gzip br", None),
    ("gzip:q=1", None),
    ("deflate;q=0.5, gzip;q=31", "gzip"),
    ("gzip;q=31,deflate;q=51", "gzip"),
    ("deflate;q=0.5, gzip;q=0.2", "deflate"),
    ("deflate;q=0.5, gzip;q=1;q=0.2", "gzip"),
    ("deflate;q=0.5,gzip;q=0.", "deflate"),
    ("deflate;q=0.5,gzip;q=0.x", "gzip"),
    ("deflate;q=-0.5,gzip;q=0.2", "gzip"),
    ("gzip;nq=1;q=0 ", None),
    ("gzip;q=0, gzip;q=1, gzip;q=0", "gzip"),
    ("br,identity;q=0.5,gzip;q=0.0001", "gzip"),
]


def test_accept_encoding_negotiation(srv, ddb):
    ddb.put_item(TableName="enc", Item={"pk": {"S": "big"}, "x": {"S": BIG}})
    wrong = []
    for accept, expected in ACCEPT:
        r, data = _get(srv, "big", [("Accept-Encoding", accept)])
        got = r.getheader("Content-Encoding")
        assert orjson.loads(_inflate(got, data))["Item"]["x"]["S"] == BIG
        if got != expected:
            wrong.append((accept, expected, got))
    # repeated headers: DynamoDB considers the last one only
    for values, expected in ((["identity", "gzip"], "gzip"), (["gzip", "identity"], None)):
        r, _data = _get(srv, "big", [("Accept-Encoding", v) for v in values])
        if r.getheader("Content-Encoding") != expected:
            wrong.append((values, expected, r.getheader("Content-Encoding")))
    assert wrong == []


def test_http2_response_compressed(srv, ddb):
    ddb.put_item(TableName="enc", Item={"pk": {"S": "big"}, "x": {"S": BIG}})
    h2 = H2Client(srv.port)
    try:
        sid = h2.request(
            "GetItem",
            {"TableName": "enc", "Key": {"pk": {"S": "big"}}},
            service="DynamoDB_20120810",
            extra=[("accept-encoding", "deflate, gzip")],
        )
        h2.pump(lambda: h2.responses[sid].ended)
        resp = h2.responses[sid]
    finally:
        h2.close()
    assert resp.status == 200 and resp.headers.get("content-encoding") == "deflate"
    assert int(resp.headers["x-amz-crc32"]) == zlib.crc32(bytes(resp.data))
    assert orjson.loads(zlib.decompress(bytes(resp.data)))["Item"]["x"]["S"] == BIG


def test_http2_undecodable_body_is_a_client_error(srv, ddb):
    """The HTTP/2 path answers a body that does not decode as HTTP/1.1 does (400, nothing done)."""
    h2 = H2Client(srv.port)
    try:
        sid = h2.request(
            "PutItem",
            service="DynamoDB_20120810",
            payload=_put_body("h2-bad"),
            extra=[("content-encoding", "gzip")],
        )
        h2.pump(lambda: h2.responses[sid].ended)
        resp = h2.responses[sid]
    finally:
        h2.close()
    assert resp.status == 400
    assert resp.json()["__type"].endswith("#SerializationException")
    assert _stored(ddb, "h2-bad") is None
