"""Clients that send and never read must not make the server buffer without bound.

Against one real server process: an HTTP/1.1 client pipelining GetItem requests for large items
without reading a byte, an HTTP/2 client sending large bodies on many streams that never end,
and SubscribeToShard subscribers that stop reading while records are written. Each time the
server's resident memory (``/proc/<pid>/status`` VmRSS) must stay within a generous bound and
other clients must be served meanwhile. Before flow control each of these grew the server by
hundreds of MB (the senders here stop early once the server has clearly grown past the bound, so
a regression fails the test instead of exhausting the machine).
"""

from __future__ import annotations

import json
import os
import select
import socket
import time
from unittest import mock

import h2.events
import h2.exceptions
import pytest
from botocore.eventstream import EventStreamBuffer
from botocore.exceptions import ClientError

from tests.conftest import start_on_test_store, start_server
from tests.e2e.h2client import H2Client

#: resident memory the server may gain while a client misbehaves (today's code needs < 1/2)
BOUND_MB = 60
#: a sender stops here: far past the bound, so the test fails without eating the machine
GIVE_UP_MB = 3 * BOUND_MB
TABLE = "flow"
BIG = "x" * (64 * 1024)  # each GetItem answer is ~64 KB


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def settled_rss_mb(pid: int, seconds: float = 10.0) -> float:
    """The server's RSS once it stops changing (it is still working through what it read)."""
    last = rss_mb(pid)
    stop_at = time.monotonic() + seconds
    while time.monotonic() < stop_at:
        time.sleep(0.3)
        now = rss_mb(pid)
        if abs(now - last) < 0.5:
            return now
        last = now
    return last


@pytest.fixture
def server(request, tmp_path):
    """A fresh server per test: each starts from a clean memory baseline (in the cluster run,
    three nodes: the memory measured is node 0's, the one the flood is sent to)."""
    s = start_on_test_store(request, tmp_path, "--durability", "relaxed", "--kinesis-limits", "off")
    ddb = s.client("dynamodb")
    ddb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.put_item(TableName=TABLE, Item={"pk": {"S": "big"}, "data": {"S": BIG}})
    yield s
    assert s.stop() == 0, s.read_log()


def served(server) -> None:
    """Another client gets a full answer meanwhile."""
    item = server.client("dynamodb").get_item(TableName=TABLE, Key={"pk": {"S": "big"}})["Item"]
    assert item["data"]["S"] == BIG


def flood(
    sock: socket.socket, request: bytes, count: int, pid: int, start_mb: float, seconds: float = 20.0
) -> int:
    """Send *request* up to *count* times without reading; stop when the server has stopped
    reading (no progress for 2 s), after *seconds*, or once it grew past GIVE_UP_MB."""
    sock.setblocking(False)
    pending = memoryview(request * 256)
    sent = 0
    idle_since = time.monotonic()
    stop_at = idle_since + seconds
    while sent < count * len(request) and time.monotonic() < stop_at:
        if rss_mb(pid) - start_mb > GIVE_UP_MB:
            break
        _, writable, _ = select.select([], [sock], [], 0.2)
        if not writable:
            if time.monotonic() - idle_since > 2.0:
                break
            continue
        try:
            n = sock.send(pending)
        except BlockingIOError:
            continue
        sent += n
        pending = pending[n:] or memoryview(request * 256)
        idle_since = time.monotonic()
    return sent // len(request)


def _get_item_request(port: int) -> bytes:
    body = json.dumps({"TableName": TABLE, "Key": {"pk": {"S": "big"}}}).encode()
    return (
        b"POST / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/x-amz-json-1.0\r\n"
        b"X-Amz-Target: DynamoDB_20120810.GetItem\r\nContent-Length: %d\r\n\r\n%s" % (port, len(body), body)
    )


def test_pipelined_requests_never_read_keep_memory_bounded(server):
    pid = server.proc.pid
    before = rss_mb(pid)
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        total = 100_000
        sent = flood(sock, _get_item_request(server.port), total, pid, before)
        grown = rss_mb(pid) - before
        print(f"pipelined: {sent} GetItem requests sent unread, server grew {grown:.1f} MB")
        served(server)
        assert sent < total, "the server read every request: nothing stopped it"
        assert grown < BOUND_MB, f"server grew {grown:.0f} MB for {sent} unread requests"
        # the client was only slow: reading now, it gets answers in order
        sock.setblocking(True)
        sock.settimeout(10)
        assert sock.recv(16) == b"HTTP/1.1 200 OK\r\n"[:16]
    served(server)


def _open_streams(client: H2Client, count: int) -> list[int]:
    sids = []
    for _ in range(count):
        sid = client.conn.get_next_available_stream_id()
        client.conn.send_headers(
            sid,
            [
                (":method", "POST"),
                (":path", "/"),
                (":scheme", "http"),
                (":authority", f"127.0.0.1:{client.port}"),
                ("x-amz-target", "DynamoDB_20120810.PutItem"),
                ("content-type", "application/x-amz-json-1.0"),
            ],
        )
        sids.append(sid)
    client.flush()
    return sids


def _send_round(client: H2Client, sent: dict[int, int], per_stream: int, refused: set[int]) -> bool:
    """One round robin of DATA frames within the windows; True if anything went out."""
    chunk = b"x" * 16384
    progress = False
    for sid in sent:
        n = min(len(chunk), per_stream - sent[sid], client.conn.local_flow_control_window(sid))
        if sid in refused or n <= 0:
            continue
        try:
            client.conn.send_data(sid, chunk[:n])
        except h2.exceptions.StreamClosedError:
            refused.add(sid)
            continue
        sent[sid] += n
        progress = True
    client.flush()
    return progress


def _read_resets(client: H2Client, refused: set[int]) -> bool:
    """Read what the server sent (window updates, resets); False once nothing comes back."""
    try:
        data = client.sock.recv(65536)
    except TimeoutError:
        return False  # windows closed and nothing comes back: the server stopped taking data
    for ev in client.conn.receive_data(data):
        if isinstance(ev, h2.events.StreamReset):
            refused.add(ev.stream_id)
    client.flush()
    return bool(data)


def _send_bodies(
    client: H2Client, sids: list[int], per_stream: int, pid: int, start_mb: float, seconds: float = 20.0
) -> tuple[int, set[int]]:
    """Send *per_stream* bytes on every stream, round robin, never ending one; read only to
    learn of window updates and resets. Returns (bytes sent, streams the server refused)."""
    sent = {sid: 0 for sid in sids}
    refused: set[int] = set()
    stop_at = time.monotonic() + seconds
    client.sock.settimeout(2.0)
    while time.monotonic() < stop_at and rss_mb(pid) - start_mb < GIVE_UP_MB:
        progress = _send_round(client, sent, per_stream, refused)
        if all(sent[s] >= per_stream or s in refused for s in sids):
            break
        if not progress and not _read_resets(client, refused):
            break
    return sum(sent.values()), refused


def test_http2_bodies_never_completed_keep_memory_bounded(server):
    pid = server.proc.pid
    before = rss_mb(pid)
    client = H2Client(server.port)
    try:
        sids = _open_streams(client, 40)
        sent, refused = _send_bodies(client, sids, 8 * 1024 * 1024, pid, before)
        grown = rss_mb(pid) - before
        print(
            f"HTTP/2: {sent >> 20} MB of bodies sent, {len(refused)} streams refused, "
            f"server grew {grown:.1f} MB"
        )
        served(server)
        other = H2Client(server.port)
        try:
            assert other.call("ListStreams").status == 200
        finally:
            other.close()
        assert grown < BOUND_MB, f"server grew {grown:.0f} MB with {sent >> 20} MB of bodies sent"
        assert sent < 40 * 8 * 1024 * 1024, "the server took every byte: nothing stopped it"
        assert refused, "stuck incomplete bodies are refused so older streams can finish"
    finally:
        client.close()
    served(server)


def test_http2_answers_never_read_keep_memory_bounded(server):
    """HTTP/2's pipelining: every stream a GetItem for a large item, and the client grants no
    window, so each answer waits in the server; the streams per connection are capped."""
    pid = server.proc.pid
    big = "y" * (200 * 1024)
    server.client("dynamodb").put_item(TableName=TABLE, Item={"pk": {"S": "huge"}, "data": {"S": big}})
    before = rss_mb(pid)
    client = H2Client(server.port, auto_ack=False)
    try:
        client.call("ListStreams")  # the server's SETTINGS have arrived
        body = json.dumps({"TableName": TABLE, "Key": {"pk": {"S": "huge"}}}).encode()
        opened = 0
        while opened < 1000:
            try:
                sid = client.conn.get_next_available_stream_id()
                client.conn.send_headers(
                    sid,
                    [
                        (":method", "POST"),
                        (":path", "/"),
                        (":scheme", "http"),
                        (":authority", "x"),
                        ("x-amz-target", "DynamoDB_20120810.GetItem"),
                        ("content-type", "application/x-amz-json-1.0"),
                    ],
                )
            except h2.exceptions.TooManyStreamsError:
                break
            client.conn.send_data(sid, body, end_stream=True)
            client.flush()
            opened += 1
        grown = settled_rss_mb(pid) - before
        print(f"HTTP/2 answers: {opened} streams opened, server grew {grown:.1f} MB")
        served(server)
        assert grown < BOUND_MB, f"server grew {grown:.0f} MB for {opened} unread answers"
    finally:
        client.close()
    served(server)


# SubscribeToShard -------------------------------------------------------------------------------
SUBSCRIBERS = 10  # each stalls on its own connection
RECORD = b"r" * 200
KERNEL_BUFFER = 64 * 1024


def _subscribe_request(port: int, consumer_arn: str) -> bytes:
    body = json.dumps(
        {
            "ConsumerARN": consumer_arn,
            "ShardId": "shardId-000000000000",
            "StartingPosition": {"Type": "LATEST"},
        }
    ).encode()
    return (
        b"POST / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/x-amz-json-1.1\r\n"
        b"X-Amz-Target: Kinesis_20131202.SubscribeToShard\r\nContent-Length: %d\r\n\r\n%s"
        % (port, len(body), body)
    )


def _read_records(sock: socket.socket, want: int, seconds: float = 30.0) -> tuple[int, bool]:
    """Read the event stream until *want* records arrived or it ended; returns (records, ended).
    The HTTP chunks are undone first (EventStreamBuffer wants the bare messages)."""
    sock.setblocking(True)
    sock.settimeout(seconds)
    raw = b""
    while b"\r\n\r\n" not in raw:
        raw += sock.recv(65536)
    head, _, pending = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    events, got, ended = EventStreamBuffer(), 0, False
    deadline = time.monotonic() + seconds
    while got < want and not ended and time.monotonic() < deadline:
        pending += sock.recv(1 << 20)
        while (size_end := pending.find(b"\r\n")) >= 0:  # feed every complete chunk
            size = int(pending[:size_end], 16)
            if len(pending) < size_end + 2 + size + 2:
                break
            events.add_data(pending[size_end + 2 : size_end + 2 + size])
            pending = pending[size_end + 2 + size + 2 :]
            ended = size == 0
        for msg in events:
            if msg.headers.get(":event-type") == "SubscribeToShardEvent":
                got += len(json.loads(msg.payload)["Records"])
    return got, ended


def test_stalled_subscribers_keep_memory_bounded(server):
    kin = server.client("kinesis")
    kin.create_stream(StreamName="flow", ShardCount=1)
    arn = kin.describe_stream_summary(StreamName="flow")["StreamDescriptionSummary"]["StreamARN"]
    arns = [
        kin.register_stream_consumer(StreamARN=arn, ConsumerName=f"c{i}")["Consumer"]["ConsumerARN"]
        for i in range(SUBSCRIBERS)
    ]
    socks = []
    try:
        for carn in arns:
            s = socket.create_connection(("127.0.0.1", server.port))
            # loopback autotunes receive buffers up to tcp_rmem's max (32 MB here), which would
            # hide the server's buffering: keep the kernel's share small
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, KERNEL_BUFFER)
            s.sendall(_subscribe_request(server.port, carn))
            socks.append(s)
        time.sleep(0.5)  # the subscriptions are open (LATEST): what follows is pushed to them
        pid = server.proc.pid
        before = rss_mb(pid)
        written = 0
        batch = [{"Data": RECORD, "PartitionKey": str(i)} for i in range(500)]
        while written < 60_000 and rss_mb(pid) - before < GIVE_UP_MB:
            assert kin.put_records(StreamName="flow", Records=batch)["FailedRecordCount"] == 0
            written += len(batch)
        grown = rss_mb(pid) - before
        print(f"fan-out: {written} records to {SUBSCRIBERS} stalled subscribers, server grew {grown:.1f} MB")
        served(server)
        assert grown < BOUND_MB, f"server grew {grown:.0f} MB for {SUBSCRIBERS} stalled subscribers"
        # a stalled subscriber lost nothing: reading now, it gets every record in its session
        assert _read_records(socks[0], written) == (written, False)
    finally:
        for s in socks:
            s.close()
    served(server)


# the server-wide cap --------------------------------------------------------------------------
def _assert_throttled(srv) -> None:
    """Each service's own throttling answer, over HTTP/1.1 (boto3) and HTTP/2."""
    with pytest.raises(ClientError) as err:
        srv.client("dynamodb").list_tables()
    assert err.value.response["Error"] == {
        "Code": "ThrottlingException",
        "Message": "Rate of requests exceeds the allowed throughput.",
    }
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    for service in ("kinesis", "dynamodbstreams"):
        with pytest.raises(ClientError) as err:
            srv.client(service).list_streams()
        assert err.value.response["Error"]["Code"] == "LimitExceededException"
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    h2 = H2Client(srv.port)
    try:
        r = h2.call("ListStreams")
        assert (r.status, r.json()["__type"]) == (400, "LimitExceededException")
    finally:
        h2.close()


def test_requests_beyond_the_cap_get_the_services_throttling_errors(tmp_path):
    """With TIDESTREAM_MAX_REQUESTS=2 and two event streams open, every new request is refused
    the way its service throttles (the SDKs retry these); once they end, requests pass again."""
    with mock.patch.dict(os.environ, {"TIDESTREAM_MAX_REQUESTS": "2"}):
        srv = start_server(tmp_path, "--durability", "relaxed")
    try:
        kin = srv.client("kinesis")
        kin.create_stream(StreamName="cap", ShardCount=1)
        arn = kin.describe_stream_summary(StreamName="cap")["StreamDescriptionSummary"]["StreamARN"]
        carns = [
            kin.register_stream_consumer(StreamARN=arn, ConsumerName=f"c{i}")["Consumer"]["ConsumerARN"]
            for i in range(2)
        ]
        socks = [socket.create_connection(("127.0.0.1", srv.port)) for _ in carns]
        for s, carn in zip(socks, carns):
            s.sendall(_subscribe_request(srv.port, carn))
            s.settimeout(10)
            assert s.recv(12) == b"HTTP/1.1 200"  # the subscription is in progress
        _assert_throttled(srv)
        for s in socks:
            s.close()
        deadline = time.monotonic() + 10
        while True:  # the closed subscriptions end as the server notices the connections are gone
            try:
                assert srv.client("dynamodb").list_tables()["TableNames"] == []
                break
            except ClientError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        assert kin.list_streams()["StreamNames"] == ["cap"]
    finally:
        assert srv.stop() == 0, srv.read_log()


def test_http2_reader_that_stalls_is_cut_after_the_idle_timeout(request, tmp_path):
    """An HTTP/2 client that grants a huge window and then stops reading fills the server's
    write buffer; after the idle timeout the connection is dropped instead of kept forever."""
    idle = 1.0
    with mock.patch.dict(os.environ, {"TIDESTREAM_IDLE_TIMEOUT": str(idle)}):
        srv = start_on_test_store(request, tmp_path, "--durability", "relaxed")
    try:
        ddb = srv.client("dynamodb")
        ddb.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        ddb.put_item(TableName=TABLE, Item={"pk": {"S": "big"}, "data": {"S": BIG}})
        client = H2Client(srv.port, window=2**31 - 1, auto_ack=False)
        try:
            client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, KERNEL_BUFFER)
            client.conn.increment_flow_control_window(2**30)
            client.call("ListStreams")  # the server's SETTINGS (and our window) are through
            body = json.dumps({"TableName": TABLE, "Key": {"pk": {"S": "big"}}}).encode()
            for _ in range(100):  # 100 answers of 64 KB: far more than the buffers take
                sid = client.conn.get_next_available_stream_id()
                client.conn.send_headers(
                    sid,
                    [
                        (":method", "POST"),
                        (":path", "/"),
                        (":scheme", "http"),
                        (":authority", "x"),
                        ("x-amz-target", "DynamoDB_20120810.GetItem"),
                        ("content-type", "application/x-amz-json-1.0"),
                    ],
                )
                client.conn.send_data(sid, body, end_stream=True)
            client.flush()
            time.sleep(idle * 2 + 2)  # the idle timer fires within two periods
            client.sock.settimeout(10)
            received, ended = 0, False
            try:
                while chunk := client.sock.recv(1 << 20):
                    received += len(chunk)
                ended = True
            except ConnectionResetError:
                ended = True
            except TimeoutError:
                pass
            assert ended, f"the stalled connection was kept ({received} bytes were waiting)"
            assert received < 100 * len(BIG), "every answer was kept for a reader that stalled"
        finally:
            client.sock.close()
        served(srv)
    finally:
        assert srv.stop() == 0, srv.read_log()
