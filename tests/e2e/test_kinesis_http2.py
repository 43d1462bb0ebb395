"""Kinesis over HTTP/2: prior-knowledge h2c on plain TCP and h2 over TLS (ALPN), as the Java
SDK's async client (KCL) speaks it -- regular operations, concurrent streams, flow control,
SubscribeToShard, stream resets and connection errors."""

from __future__ import annotations

import base64
import datetime
import json
import socket
import ssl
import subprocess
import sys
import time
import urllib.request

import cbor2
import pytest

from ..conftest import ServerProcess, free_port
from .h2client import H2Client

SHARD0 = "shardId-000000000000"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def setup_stream(
    c: H2Client, name: str = "s", consumer: str | None = None, mode: str = "PROVISIONED"
) -> str | None:
    assert (
        c.call(
            "CreateStream", {"StreamName": name, "ShardCount": 1, "StreamModeDetails": {"StreamMode": mode}}
        ).status
        == 200
    )
    if consumer is None:
        return None
    arn = c.call("DescribeStreamSummary", {"StreamName": name}).json()["StreamDescriptionSummary"][
        "StreamARN"
    ]
    r = c.call("RegisterStreamConsumer", {"StreamARN": arn, "ConsumerName": consumer})
    return r.json()["Consumer"]["ConsumerARN"]


def test_h2c_regular_operations_and_concurrency(srv):
    c = H2Client(srv.port)
    try:
        setup_stream(c)
        r = c.call("PutRecord", {"StreamName": "s", "Data": b64(b"one"), "PartitionKey": "p"})
        assert r.status == 200 and r.headers["content-type"] == "application/x-amz-json-1.1"
        first = r.json()["SequenceNumber"]
        # 50 requests in flight at once on one connection
        sids = [
            c.request("PutRecord", {"StreamName": "s", "Data": b64(b"n%d" % i), "PartitionKey": "p"})
            for i in range(50)
        ]
        c.pump(lambda: all(c.responses[s].ended for s in sids))
        assert [c.responses[s].status for s in sids] == [200] * 50
        assert len({c.responses[s].json()["SequenceNumber"] for s in sids}) == 50
        shards = c.call("ListShards", {"StreamName": "s"}).json()["Shards"]
        assert [s["ShardId"] for s in shards] == [SHARD0]
        it = c.call(
            "GetShardIterator", {"StreamName": "s", "ShardId": SHARD0, "ShardIteratorType": "TRIM_HORIZON"}
        ).json()["ShardIterator"]
        recs = c.call("GetRecords", {"ShardIterator": it}).json()["Records"]
        assert len(recs) == 51 and recs[0]["SequenceNumber"] == first
        assert base64.b64decode(recs[0]["Data"]) == b"one"
        err = c.call("DescribeStream", {"StreamName": "missing"})
        assert err.status == 400 and err.json()["__type"] == "ResourceNotFoundException"
        health = c.call("ListStreams", {})
        assert health.json()["StreamNames"] == ["s"]
    finally:
        c.close()


def test_h2c_flow_control_large_bodies(srv):
    c = H2Client(srv.port)
    try:
        setup_stream(c, mode="ON_DEMAND")  # no per-shard MiB/s limits
        big = b64(b"z" * 400_000)  # uploads larger than the default 64 KiB window, too
        for _ in range(4):
            assert c.call("PutRecord", {"StreamName": "s", "Data": big, "PartitionKey": "p"}).status == 200
        it = c.call(
            "GetShardIterator", {"StreamName": "s", "ShardId": SHARD0, "ShardIteratorType": "TRIM_HORIZON"}
        ).json()["ShardIterator"]
    finally:
        c.close()
    # a client with a 16 KiB stream window: the ~2 MB answer must wait for WINDOW_UPDATEs
    small = H2Client(srv.port, window=16384)
    try:
        r = small.call("GetRecords", {"ShardIterator": it})
        assert r.status == 200 and len(r.data) > 2_000_000 and r.frames > 100
        assert len(r.json()["Records"]) == 4
    finally:
        small.close()
    # a client that never opens its window: the server waits (and keeps serving others)
    stuck = H2Client(srv.port, window=16384, auto_ack=False)
    other = H2Client(srv.port)
    try:
        sid = stuck.request("GetRecords", {"ShardIterator": it})
        with pytest.raises(TimeoutError):
            stuck.pump(lambda: stuck.responses[sid].ended, timeout=0.5)
        assert 0 < len(stuck.responses[sid].data) <= 16384
        assert other.call("ListStreams", {}).status == 200
    finally:
        stuck.close()
        other.close()


def _events(c: H2Client, sid: int, n: int, timeout: float = 5.0) -> list:
    c.pump(lambda: len(c.responses[sid].events()) >= n or c.responses[sid].ended, timeout)
    return c.responses[sid].events()


def test_h2c_subscribe_to_shard_with_reset(srv):
    c = H2Client(srv.port)
    try:
        carn = setup_stream(c, consumer="kcl")
        sub = {"ConsumerARN": carn, "ShardId": SHARD0, "StartingPosition": {"Type": "LATEST"}}
        sid = c.request("SubscribeToShard", sub)
        evs = _events(c, sid, 2)
        assert c.responses[sid].status == 200
        assert c.responses[sid].headers["content-type"] == "application/vnd.amazon.eventstream"
        assert [e.headers[":event-type"] for e in evs] == ["initial-response", "SubscribeToShardEvent"]
        # other requests share the connection while the subscription streams
        # (that the record is pushed on append, not found by a poll, test_kinesis_fanout.py
        # test_subscribe_pushes_records shows without a clock)
        r = c.call("PutRecord", {"StreamName": "s", "Data": b64(b"pushed"), "PartitionKey": "p"})
        evs = _events(c, sid, 3)
        payload = json.loads(evs[2].payload)
        assert payload["Records"][0]["SequenceNumber"] == r.json()["SequenceNumber"]
        assert base64.b64decode(payload["Records"][0]["Data"]) == b"pushed"
        # RST_STREAM ends the subscription at once: subscribing again is allowed right away
        c.reset(sid)
        time.sleep(0.2)
        sid2 = c.request("SubscribeToShard", sub)
        evs = _events(c, sid2, 2)
        assert c.responses[sid2].status == 200 and len(evs) == 2
        # while it is live, a third one is refused (ResourceInUseException, a normal error reply)
        r = c.call("SubscribeToShard", sub)
        assert r.status == 400 and r.json()["__type"] == "ResourceInUseException"
    finally:
        c.close()


def test_h2c_cbor_subscription(srv):
    c = H2Client(srv.port)
    try:
        carn = setup_stream(c, consumer="java")
        c.call("PutRecord", {"StreamName": "s", "Data": b64(b"\x00\x01raw"), "PartitionKey": "p"})
        sid = c.request(
            "SubscribeToShard",
            {"ConsumerARN": carn, "ShardId": SHARD0, "StartingPosition": {"Type": "TRIM_HORIZON"}},
            cbor=True,
        )
        evs = _events(c, sid, 2)
        assert evs[0].payload == cbor2.dumps({})
        ev = cbor2.loads(evs[1].payload, semantic_decoders={1: lambda v, imm: cbor2.CBORTag(1, v)})
        assert ev["Records"][0]["Data"] == b"\x00\x01raw"
        assert ev["Records"][0]["ApproximateArrivalTimestamp"].tag == 1
        assert ev["ContinuationSequenceNumber"] == ev["Records"][0]["SequenceNumber"]
    finally:
        c.close()


def test_h2_connection_errors_do_not_hurt_the_server(srv):
    # a protocol violation (DATA on stream 0): the server answers GOAWAY and closes
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
    s.sendall(
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
        + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
        + b"\x00\x00\x01\x00\x00\x00\x00\x00\x00x"
    )
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    s.close()
    assert b"\x00\x00\x08\x07\x00\x00\x00\x00\x00" in data  # a GOAWAY frame
    # a client that vanishes mid-subscription
    c = H2Client(srv.port)
    carn = setup_stream(c, consumer="gone")
    sid = c.request(
        "SubscribeToShard", {"ConsumerARN": carn, "ShardId": SHARD0, "StartingPosition": {"Type": "LATEST"}}
    )
    _events(c, sid, 1)
    c.sock.close()
    with urllib.request.urlopen(srv.endpoint + "/_tidestream/health", timeout=5) as r:
        assert r.status == 200
    c2 = H2Client(srv.port)
    try:
        assert c2.call("ListStreams", {}).json()["StreamNames"] == ["s"]
    finally:
        c2.close()


# TLS -----------------------------------------------------------------------------------------
def _self_signed(tmp_path) -> tuple[str, str]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return str(cert_path), str(key_path)


def start_tls_server(tmp, cert: str, key: str) -> ServerProcess:
    """A server with --tls-cert/--tls-key (the conftest helper probes plain HTTP, so probe here)."""
    s = ServerProcess(free_port(), None, ["--tls-cert", cert, "--tls-key", key], log_path=tmp / "server.log")
    cmd = [sys.executable, "-m", "tidestream", "serve", "--port", str(s.port), "--in-memory", *s.args]
    with open(s.log_path, "ab") as log:  # the child keeps its own descriptor
        s.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    ctx = ssl.create_default_context(cafile=cert)
    deadline = time.time() + 20
    while time.time() < deadline:
        if s.proc.poll() is not None:
            raise RuntimeError("TLS server exited: " + s.read_log())
        try:
            with urllib.request.urlopen(
                f"https://localhost:{s.port}/_tidestream/health", timeout=1, context=ctx
            ) as r:
                if r.status == 200:
                    return s
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("TLS server did not start: " + s.read_log())


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tls")
    cert, key = _self_signed(tmp)
    s = start_tls_server(tmp, cert, key)
    s.cert = cert  # type: ignore[attr-defined]
    yield s
    s.stop()


def _tls_ctx(cert: str) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=cert)
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    return ctx


def test_tls_alpn_h2_subscribe(tls_server):
    c = H2Client(tls_server.port, tls=_tls_ctx(tls_server.cert))
    try:
        carn = setup_stream(c, "tls", consumer="c")
        assert c.call("ListShards", {"StreamName": "tls"}).json()["Shards"][0]["ShardId"] == SHARD0
        sid = c.request(
            "SubscribeToShard",
            {"ConsumerARN": carn, "ShardId": SHARD0, "StartingPosition": {"Type": "TRIM_HORIZON"}},
        )
        _events(c, sid, 2)
        c.call("PutRecord", {"StreamName": "tls", "Data": b64(b"secure"), "PartitionKey": "p"})
        evs = _events(c, sid, 3)
        recs = json.loads(evs[2].payload)["Records"]
        assert base64.b64decode(recs[0]["Data"]) == b"secure"
    finally:
        c.close()


def test_tls_http11_with_boto3(tls_server):
    import boto3
    from botocore.config import Config as BotoConfig

    kin = boto3.client(
        "kinesis",
        endpoint_url=f"https://localhost:{tls_server.port}",
        region_name="us-east-1",
        aws_access_key_id="AKID",
        aws_secret_access_key="s",
        verify=tls_server.cert,
        config=BotoConfig(retries={"max_attempts": 1}),
    )
    kin.create_stream(StreamName="b", ShardCount=1)
    arn = kin.describe_stream_summary(StreamName="b")["StreamDescriptionSummary"]["StreamARN"]
    carn = kin.register_stream_consumer(StreamARN=arn, ConsumerName="c")["Consumer"]["ConsumerARN"]
    kin.put_record(StreamName="b", Data=b"over-tls", PartitionKey="p")
    stream = kin.subscribe_to_shard(
        ConsumerARN=carn, ShardId=SHARD0, StartingPosition={"Type": "TRIM_HORIZON"}
    )["EventStream"]
    ev = next(iter(stream))["SubscribeToShardEvent"]
    assert ev["Records"][0]["Data"] == b"over-tls"
    stream.close()
