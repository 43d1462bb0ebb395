"""HTTP/1.1 framing under abuse, over raw sockets, against one real server.

Bad chunked encoding, conflicting or absurd Content-Length, truncated bodies, pipelines mixing
good and bad requests, slow senders, idle connections, oversized and gzip-bomb bodies. Each
request the server can answer gets an answer (a 4xx in AWS's error shape when it is rejected),
slow and idle connections are cut (request deadline and idle timeout shortened here through
``TIDESTREAM_REQUEST_TIMEOUT`` / ``TIDESTREAM_IDLE_TIMEOUT``), and the server keeps serving.
"""

from __future__ import annotations

import gzip
import os
import socket
import threading
import time

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.e2e.hostile_helpers import (
    TABLE,
    State,
    check_answer,
    parse_responses,
    raw_socket,
    read_all,
    start_hostile_server,
)

SCALE = int(os.environ.get("TIDESTREAM_HOSTILE_SCALE", "1"))
SETTINGS = dict(
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
REQUEST_TIMEOUT = 1.0
IDLE_TIMEOUT = 2.0

HEAD = (
    b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.0\r\n"
    b"X-Amz-Target: DynamoDB_20120810.%s\r\n"
)


def req(op: bytes = b"ListTables", body: bytes = b"{}", extra: bytes = b"") -> bytes:
    return HEAD % op + extra + b"Content-Length: %d\r\n\r\n" % len(body) + body


GOOD = req()
PUT = req(b"PutItem", orjson.dumps({"TableName": TABLE, "Item": {"pk": {"S": "h"}, "sk": {"N": "1"}}}))


@pytest.fixture(scope="module")
def state(request):
    srv = start_hostile_server(
        request,
        "hostile-http",
        TIDESTREAM_REQUEST_TIMEOUT=str(REQUEST_TIMEOUT),
        TIDESTREAM_IDLE_TIMEOUT=str(IDLE_TIMEOUT),
    )
    st_ = State(srv)
    st_.setup()
    yield st_
    st_.raw.close()
    assert srv.stop() == 0, srv.read_log()


@pytest.fixture
def port(state):
    before = state.snapshot()
    yield state.srv.port
    state.healthy()
    after = state.snapshot()
    assert after == before, "a rejected request changed state"


def _exchange(port: int, data: bytes, shutdown: bool = False, timeout: float = 5.0) -> bytes:
    with raw_socket(port, timeout) as s:
        try:
            s.sendall(data)
            if shutdown:
                s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        return read_all(s)


def _assert_rejected_once(buf: bytes, status: int | None = None) -> None:
    resps = parse_responses(buf)
    assert len(resps) == 1, buf[:500]
    code, hdrs, body = resps[0]
    assert check_answer(code, hdrs, body, buf[:200])
    if status is not None:
        assert code == status, buf[:300]
    assert hdrs.get("connection") == "close"


FRAMING = {
    "bad chunk size": HEAD % b"PutItem" + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
    "chunk size overflow": HEAD % b"PutItem"
    + b"Transfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\n{}\r\n0\r\n\r\n",
    "chunk missing CRLF": HEAD % b"PutItem" + b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}XX0\r\n\r\n",
    "CL and TE": HEAD % b"PutItem"
    + b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
    "two Content-Lengths": HEAD % b"PutItem" + b"Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}}",
    "absurd Content-Length": HEAD % b"PutItem" + b"Content-Length: 99999999999999999999999\r\n\r\n{}",
    "negative Content-Length": HEAD % b"PutItem" + b"Content-Length: -2\r\n\r\n{}",
    "garbage request line": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
    "space in header name": HEAD % b"PutItem" + b"Bad Header: x\r\nContent-Length: 2\r\n\r\n{}",
    "bare LF soup": b"POST / HTTP/1.1\nHost: x\n\x00\x01: \xff\n\n",
    "HTTP/9": b"POST / HTTP/9.9\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
}


@pytest.mark.parametrize("name", sorted(FRAMING))
def test_bad_framing_is_answered_400_then_closed(port, name):
    buf = _exchange(port, FRAMING[name])
    _assert_rejected_once(buf)


def test_oversized_declared_body_is_answered_at_once(port):
    with raw_socket(port) as s:
        s.sendall(HEAD % b"PutItem" + b"Content-Length: %d\r\n\r\n" % (64 * 1024 * 1024))
        _assert_rejected_once(read_all(s), 413)


def test_oversized_chunked_body(port):
    with raw_socket(port, 10) as s:
        s.sendall(HEAD % b"PutItem" + b"Transfer-Encoding: chunked\r\n\r\n")
        chunk = b"100000\r\n" + b" " * 0x100000 + b"\r\n"
        try:
            for _ in range(20):
                s.sendall(chunk)
        except OSError:
            pass
        _assert_rejected_once(read_all(s), 413)


def test_gzip_bomb_is_bounded(port):
    bomb = gzip.compress(b" " * (64 * 1024 * 1024), 9)  # ~64 KiB on the wire
    assert len(bomb) < 200_000
    buf = _exchange(port, req(b"PutItem", bomb, b"Content-Encoding: gzip\r\n"))
    _assert_rejected_once(buf, 413)


def test_tiny_chunks_cost_linear_time(port):
    body = b"1\r\n \r\n" * 100_000 + b"2\r\n{}\r\n0\r\n\r\n"
    t0 = time.monotonic()
    with raw_socket(port, 10) as s:
        s.sendall(HEAD % b"ListTables" + b"Transfer-Encoding: chunked\r\n\r\n" + body)
        buf = read_all(s, want=1)
    assert parse_responses(buf)[0][0] == 200
    assert time.monotonic() - t0 < 5


def test_chunked_trailers_do_not_override_headers(port):
    """httptools reports trailers through on_header: they must not replace the real target
    (nor the content type) of the request they end."""
    trailer = (
        b"X-Amz-Target: DynamoDB_20120810.DescribeEndpoints\r\nContent-Type: application/x-amz-cbor-1.1\r\n"
    )
    with raw_socket(port) as s:
        s.sendall(
            HEAD % b"ListTables" + b"Transfer-Encoding: chunked\r\n\r\n"
            b"2\r\n{}\r\n0\r\n" + trailer + b"\r\n" + GOOD
        )
        resps = parse_responses(read_all(s, want=2))
    assert [r[0] for r in resps] == [200, 200]
    for _code, hdrs, body in resps:
        assert hdrs["content-type"] == "application/x-amz-json-1.0"
        assert "TableNames" in orjson.loads(body), body


def test_huge_trailer_is_cut(port):
    """httptools buffers a trailer whole: an endless one is cut like an endless header."""
    head = HEAD % b"ListTables" + b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\nX-Pad: "
    buf = _exchange(port, head + b"p" * 1_000_000 + b"\r\n\r\n")
    _assert_rejected_once(buf, 431)


def test_huge_headers_are_cut(port):
    buf = _exchange(port, b"POST / HTTP/1.1\r\nHost: x\r\n" + b"X-Pad: " + b"p" * 1_000_000 + b"\r\n\r\n")
    _assert_rejected_once(buf, 431)
    buf = _exchange(port, b"POST / HTTP/1.1\r\nHost: x\r\n" + b"X-A: b\r\n" * 50_000 + b"\r\n")
    _assert_rejected_once(buf, 431)


def test_truncated_body_then_half_close_gets_an_answer(port):
    buf = _exchange(port, PUT[:-5], shutdown=True)
    _assert_rejected_once(buf, 400)


def test_full_requests_then_half_close_are_all_answered(port, state):
    buf = _exchange(port, GOOD * 5, shutdown=True)
    assert [r[0] for r in parse_responses(buf)] == [200] * 5


def test_truncated_body_then_reset_leaves_server_healthy(port):
    for _ in range(20):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(PUT[:-3])
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()  # RST


KINDS = {
    "good": (GOOD, 200),
    "bad json": (req(b"ListTables", b"{nope"), 400),
    "unknown op": (req(b"Nope"), 400),
    "bad value": (req(b"PutItem", b'{"TableName":"' + TABLE.encode() + b'","Item":{"pk":{"S":"x"}}}'), 400),
    # AWS answers 500; tidestream 400 on purpose (see test_encodings.py)
    "bad gzip": (req(b"ListTables", b"not gzip", b"Content-Encoding: gzip\r\n"), 400),
    "chunked good": (
        HEAD % b"ListTables" + b"Transfer-Encoding: chunked\r\n\r\n1\r\n{\r\n1\r\n}\r\n0\r\n\r\n",
        200,
    ),
    "framing": (HEAD % b"ListTables" + b"Content-Length: 2\r\nContent-Length: 4\r\n\r\n{}", 400),
}


@settings(max_examples=60 * SCALE, **SETTINGS)
@given(
    kinds=st.lists(st.sampled_from(sorted(KINDS)), min_size=1, max_size=8),
    cuts=st.lists(st.integers(1, 400), max_size=6),
)
def test_pipelines_mixing_good_and_bad(port, kinds, cuts):
    data = b"".join(KINDS[k][0] for k in kinds)
    expected = []
    for k in kinds:
        expected.append(KINDS[k][1])
        if k == "framing":
            break
    closes = "framing" in kinds
    with raw_socket(port, 5) as s:
        pos = 0
        for c in cuts:  # split the pipeline at random points
            s.sendall(data[pos : pos + c])
            pos += c
        if pos < len(data):
            s.sendall(data[pos:])
        buf = read_all(s, want=None if closes else len(expected))
    resps = parse_responses(buf)
    assert [r[0] for r in resps] == expected, (kinds, buf[:600])
    for code, hdrs, body in resps:
        check_answer(code, hdrs, body, kinds)


@settings(max_examples=40 * SCALE, **SETTINGS)
@given(
    data=st.binary(min_size=1, max_size=300)
    | st.lists(
        st.sampled_from(
            [
                b"POST / HTTP/1.1\r\n",
                b"Host: x\r\n",
                b"Content-Length: 3\r\n",
                b"\r\n",
                b"{}",
                b"Transfer-Encoding: chunked\r\n",
                b"0\r\n",
                b"X-Amz-Target: DynamoDB_20120810.ListTables\r\n",
                b"\x00",
                b":",
                b" ",
                b"\n",
            ]
        ),
        max_size=12,
    ).map(b"".join)
)
def test_random_bytes_then_half_close(port, data):
    """Whatever arrives, the server answers what it can (never a 5xx) and hangs up promptly."""
    t0 = time.monotonic()
    buf = _exchange(port, data, shutdown=True, timeout=REQUEST_TIMEOUT + 4)
    assert b"<TIMEOUT>" not in buf, (data, buf)
    assert time.monotonic() - t0 < REQUEST_TIMEOUT + 3
    for code, _, _ in parse_responses(buf):
        assert code < 500, (data, buf)


def test_slow_sender_is_cut_with_408(port):
    t0 = time.monotonic()
    with raw_socket(port, 10) as s:
        try:
            for b in PUT:  # one byte every 50 ms: the whole request would take ~10 s
                s.sendall(bytes([b]))
                time.sleep(0.05)
                if time.monotonic() - t0 > REQUEST_TIMEOUT + 3:
                    break
        except OSError:
            pass
        buf = read_all(s)
    _assert_rejected_once(buf, 408)
    assert time.monotonic() - t0 < REQUEST_TIMEOUT + 4


def test_slow_body_is_cut_with_408(port):
    with raw_socket(port, 10) as s:
        s.sendall(HEAD % b"PutItem" + b"Content-Length: 100\r\n\r\n{")
        buf = read_all(s)
    _assert_rejected_once(buf, 408)


def test_idle_connection_is_closed(port):
    with raw_socket(port, IDLE_TIMEOUT + 5) as s:
        s.sendall(GOOD)
        t0 = time.monotonic()
        buf = read_all(s)  # one answer, then the server closes the idle keep-alive connection
    assert [r[0] for r in parse_responses(buf)] == [200]
    assert IDLE_TIMEOUT - 0.5 < time.monotonic() - t0 < IDLE_TIMEOUT + 3


def test_a_reader_that_stalls_is_cut_after_the_idle_timeout(port, state):
    """Pipelined requests whose answers are never read: once the server holds answers it cannot
    send for the idle timeout, it drops the connection and its queue (not just waits)."""
    key = {"pk": {"S": "stall"}, "sk": {"N": "1"}}
    state.ddb.put_item(TableName=TABLE, Item={**key, "pad": {"S": "p" * 300_000}})
    get = req(b"GetItem", orjson.dumps({"TableName": TABLE, "Key": key}))
    sent, got = 0, b""
    try:
        with raw_socket(port, 2) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
            try:
                while sent < 300:  # or until the server stops reading (our send times out)
                    s.sendall(get)
                    sent += 1
            except OSError:
                pass
            time.sleep(IDLE_TIMEOUT * 2 + 1)  # the idle timer fires within two periods
            s.settimeout(10)
            try:
                while chunk := s.recv(1 << 20):
                    got += chunk
            except ConnectionResetError:
                pass
    finally:
        state.ddb.delete_item(TableName=TABLE, Key=key)
    assert got.count(b"HTTP/1.1 200 OK") < sent, "every answer was kept for a reader that stalled"


def test_many_slow_connections_do_not_starve_others(port, state):
    socks = []
    for _ in range(100):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(HEAD % b"PutItem")  # never finishes its headers
        socks.append(s)
    try:
        t0 = time.monotonic()
        for _ in range(20):
            assert state.ddb.list_tables()["TableNames"]
        assert time.monotonic() - t0 < 5
        results = []

        def drain(s):
            results.append(parse_responses(read_all(s)))

        threads = [threading.Thread(target=drain, args=(s,)) for s in socks]
        for t in threads:
            t.start()
        for t in threads:
            t.join(15)
        assert len(results) == 100 and all(r and r[0][0] == 408 for r in results)
    finally:
        for s in socks:
            s.close()


def test_large_answer_gzipped_on_request(port):
    """Regression: a >4 KiB answer with Accept-Encoding: gzip (the server's gzip writer)."""
    body = orjson.dumps({"TableName": "t" * 6000})
    buf = _exchange(port, req(b"DescribeTable", body, b"Accept-Encoding: gzip\r\nConnection: close\r\n"))
    ((code, hdrs, data),) = parse_responses(buf)
    assert code == 400 and hdrs.get("content-encoding") == "gzip"
    assert check_answer(code, {"content-type": hdrs["content-type"]}, gzip.decompress(data))
