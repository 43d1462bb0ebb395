"""Enhanced fan-out over HTTP/1.1 with unmodified boto3: consumers and SubscribeToShard."""

from __future__ import annotations

import http.client
import re
import time

import cbor2
import pytest
from botocore.exceptions import ClientError, EventStreamError

from ..conftest import start_server

SHARD0 = "shardId-000000000000"


def code(exc: pytest.ExceptionInfo) -> str:
    return exc.value.response["Error"]["Code"]


def make_stream(kin, name: str = "s", shards: int = 1) -> str:
    kin.create_stream(StreamName=name, ShardCount=shards)
    return kin.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]


@pytest.fixture
def kin(srv):
    return srv.client("kinesis")


@pytest.fixture(scope="module")
def fast(tmp_path_factory):
    """A server with short SubscribeToShard sessions and heartbeats."""
    s = start_server(
        tmp_path_factory.mktemp("efo"),
        "--durability",
        "relaxed",
        "--efo-session-seconds",
        "2.5",
        "--efo-heartbeat-seconds",
        "0.3",
    )
    yield s
    s.stop()


@pytest.fixture(scope="module")
def hour_heartbeats(tmp_path_factory):
    """A server whose idle SubscribeToShard sessions send an event once an hour: a record can
    only reach a subscriber within a test's wait by being pushed when it is appended."""
    s = start_server(tmp_path_factory.mktemp("efo-hour"), "--efo-heartbeat-seconds", "3600", on_disk=False)
    yield s
    s.stop()


def test_consumer_lifecycle(kin):
    arn = make_stream(kin)
    c = kin.register_stream_consumer(StreamARN=arn, ConsumerName="app-1")["Consumer"]
    assert re.fullmatch(re.escape(arn) + r"/consumer/app-1:\d{10}", c["ConsumerARN"])
    assert c["ConsumerStatus"] in ("CREATING", "ACTIVE")
    d = kin.describe_stream_consumer(ConsumerARN=c["ConsumerARN"])["ConsumerDescription"]
    assert d["ConsumerStatus"] == "ACTIVE" and d["StreamARN"] == arn and d["ConsumerName"] == "app-1"
    d2 = kin.describe_stream_consumer(StreamARN=arn, ConsumerName="app-1")["ConsumerDescription"]
    assert d2["ConsumerARN"] == c["ConsumerARN"]
    with pytest.raises(ClientError) as e:
        kin.register_stream_consumer(StreamARN=arn, ConsumerName="app-1")
    assert code(e) == "ResourceInUseException"
    summary = kin.describe_stream_summary(StreamName="s")["StreamDescriptionSummary"]
    assert summary["ConsumerCount"] == 1
    # pagination
    for i in range(2, 8):
        kin.register_stream_consumer(StreamARN=arn, ConsumerName=f"app-{i}")
    names, token = [], None
    while True:
        kw = {"NextToken": token} if token else {}
        page = kin.list_stream_consumers(StreamARN=arn, MaxResults=3, **kw)
        assert len(page["Consumers"]) <= 3
        names += [x["ConsumerName"] for x in page["Consumers"]]
        token = page.get("NextToken")
        if not token:
            break
    assert names == [f"app-{i}" for i in range(1, 8)]
    # deregister by ARN and by stream ARN + name
    kin.deregister_stream_consumer(ConsumerARN=c["ConsumerARN"])
    kin.deregister_stream_consumer(StreamARN=arn, ConsumerName="app-2")
    with pytest.raises(ClientError) as e:
        kin.describe_stream_consumer(ConsumerARN=c["ConsumerARN"])
    assert code(e) == "ResourceNotFoundException"
    left = [x["ConsumerName"] for x in kin.list_stream_consumers(StreamARN=arn)["Consumers"]]
    assert left == [f"app-{i}" for i in range(3, 8)]
    # a consumer re-registered under the same name is a different consumer (ARN has the time)
    assert kin.describe_stream_summary(StreamName="s")["StreamDescriptionSummary"]["ConsumerCount"] == 5


def test_consumer_limit_and_delete_stream(kin):
    arn = make_stream(kin)
    for i in range(20):
        kin.register_stream_consumer(StreamARN=arn, ConsumerName=f"c{i:02d}")
    with pytest.raises(ClientError) as e:
        kin.register_stream_consumer(StreamARN=arn, ConsumerName="one-too-many")
    assert code(e) == "LimitExceededException"
    with pytest.raises(ClientError) as e:
        kin.delete_stream(StreamName="s")
    assert code(e) == "ResourceInUseException"
    kin.delete_stream(StreamName="s", EnforceConsumerDeletion=True)
    # a new stream of the same name starts without consumers
    arn = make_stream(kin)
    assert kin.list_stream_consumers(StreamARN=arn)["Consumers"] == []
    with pytest.raises(ClientError) as e:
        kin.list_stream_consumers(StreamARN=arn.replace("/s", "/missing"))
    assert code(e) == "ResourceNotFoundException"


def _subscribe(kin, carn: str, position: dict, shard: str = SHARD0):
    return kin.subscribe_to_shard(ConsumerARN=carn, ShardId=shard, StartingPosition=position)["EventStream"]


def _records(stream, want: int, timeout: float = 5.0) -> tuple[list, list]:
    """Read events until *want* records arrived; returns (records, events)."""
    recs, events = [], []
    t0 = time.time()
    for ev in stream:
        e = ev["SubscribeToShardEvent"]
        events.append(e)
        recs += e["Records"]
        if len(recs) >= want or time.time() - t0 > timeout:
            break
    return recs, events


def test_subscribe_pushes_records(hour_heartbeats):
    kin = hour_heartbeats.client("kinesis")
    arn = make_stream(kin)
    carn = kin.register_stream_consumer(StreamARN=arn, ConsumerName="c")["Consumer"]["ConsumerARN"]
    first = kin.put_record(StreamName="s", Data=b"before", PartitionKey="p")
    stream = _subscribe(kin, carn, {"Type": "TRIM_HORIZON"})
    live = iter(stream)
    opening = next(live)["SubscribeToShardEvent"]
    assert [r["Data"] for r in opening["Records"]] == [b"before"]
    assert opening["Records"][0]["SequenceNumber"] == first["SequenceNumber"]
    # appended after the session's first event; with hourly heartbeats the next event can only
    # come from the append waking the session (a poll would wait an hour: boto3's read timeout)
    kin.put_records(StreamName="s", Records=[{"Data": b"late-%d" % i, "PartitionKey": "p"} for i in range(3)])
    recs, events = [], []
    for ev in live:
        events.append(ev["SubscribeToShardEvent"])
        recs += events[-1]["Records"]
        if len(recs) >= 3:
            break
    assert [r["Data"] for r in recs] == [b"late-0", b"late-1", b"late-2"]
    assert events[-1]["ContinuationSequenceNumber"] == recs[-1]["SequenceNumber"]
    assert events[-1]["MillisBehindLatest"] == 0
    # the same consumer and shard again within 5 s: in use
    with pytest.raises(ClientError) as e:
        _subscribe(kin, carn, {"Type": "LATEST"})
    assert code(e) == "ResourceInUseException"
    stream.close()


def test_starting_positions(kin):
    arn = make_stream(kin, shards=2)
    carns = [
        kin.register_stream_consumer(StreamARN=arn, ConsumerName=f"c{i}")["Consumer"]["ConsumerARN"]
        for i in range(4)
    ]
    out = [
        kin.put_record(StreamName="s", Data=b"r%d" % i, PartitionKey="p", ExplicitHashKey="0")
        for i in range(5)
    ]
    seqs = [o["SequenceNumber"] for o in out]
    stream = _subscribe(kin, carns[0], {"Type": "AT_SEQUENCE_NUMBER", "SequenceNumber": seqs[2]})
    assert [r["Data"] for r in _records(stream, 3)[0]] == [b"r2", b"r3", b"r4"]
    stream.close()
    stream = _subscribe(kin, carns[1], {"Type": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": seqs[2]})
    assert [r["Data"] for r in _records(stream, 2)[0]] == [b"r3", b"r4"]
    stream.close()
    stream = _subscribe(kin, carns[2], {"Type": "AT_TIMESTAMP", "Timestamp": time.time() - 60})
    assert len(_records(stream, 5)[0]) == 5
    stream.close()
    # LATEST: nothing old; the first event is an empty one whose continuation resumes after r4
    stream = _subscribe(kin, carns[3], {"Type": "LATEST"})
    ev = next(iter(stream))["SubscribeToShardEvent"]
    assert ev["Records"] == [] and ev["ContinuationSequenceNumber"] == seqs[4]
    stream.close()
    with pytest.raises(ClientError) as e:
        _subscribe(
            kin,
            carns[0],
            {"Type": "AT_SEQUENCE_NUMBER", "SequenceNumber": seqs[0]},
            shard="shardId-000000000001",
        )
    assert code(e) == "InvalidArgumentException"
    with pytest.raises(ClientError) as e:
        _subscribe(kin, carns[0], {"Type": "TRIM_HORIZON"}, shard="shardId-000000000009")
    assert code(e) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        bogus = carns[0][:-1] + ("1" if carns[0].endswith("0") else "0")  # another creation time
        _subscribe(kin, bogus, {"Type": "TRIM_HORIZON"})
    assert code(e) == "ResourceNotFoundException"


def test_closed_shard_ends_with_child_shards(kin):
    arn = make_stream(kin)
    carn = kin.register_stream_consumer(StreamARN=arn, ConsumerName="c")["Consumer"]["ConsumerARN"]
    kin.put_record(StreamName="s", Data=b"old", PartitionKey="p")
    kin.split_shard(StreamName="s", ShardToSplit=SHARD0, NewStartingHashKey=str(2**127))
    events = [ev["SubscribeToShardEvent"] for ev in _subscribe(kin, carn, {"Type": "TRIM_HORIZON"})]
    assert [r["Data"] for r in events[0]["Records"]] == [b"old"]
    last = events[-1]
    assert last["Records"] == [] and "ContinuationSequenceNumber" not in last
    assert sorted(c["ShardId"] for c in last["ChildShards"]) == [
        "shardId-000000000001",
        "shardId-000000000002",
    ]
    assert all(c["ParentShards"] == [SHARD0] for c in last["ChildShards"])


def test_heartbeats_session_end_and_deregistration(fast):
    kin = fast.client("kinesis")
    fast.reset()
    arn = make_stream(kin)
    carn = kin.register_stream_consumer(StreamARN=arn, ConsumerName="c")["Consumer"]["ConsumerARN"]
    t0 = time.time()
    events = [ev["SubscribeToShardEvent"] for ev in _subscribe(kin, carn, {"Type": "LATEST"})]
    took = time.time() - t0
    assert took > 2.3  # the session ends by itself, not before its time (AWS: after 5 minutes)
    assert len(events) >= 5 and all(e["Records"] == [] for e in events)  # idle heartbeats
    # a deregistered consumer's live subscription ends
    stream = _subscribe(kin, carn, {"Type": "LATEST"})
    it = iter(stream)
    next(it)
    kin.deregister_stream_consumer(ConsumerARN=carn)
    with pytest.raises(EventStreamError) as e:
        for _ in it:
            pass
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_takeover_after_five_seconds(kin):
    arn = make_stream(kin)
    carn = kin.register_stream_consumer(StreamARN=arn, ConsumerName="c")["Consumer"]["ConsumerARN"]
    old = _subscribe(kin, carn, {"Type": "TRIM_HORIZON"})
    it = iter(old)
    next(it)
    time.sleep(5.2)
    new = _subscribe(kin, carn, {"Type": "TRIM_HORIZON"})
    t0 = time.time()
    for _ in it:  # the old session ends once the new one took over
        pass
    # sessions last 5 minutes here: ending within a minute can only be the takeover
    assert time.time() - t0 < 60
    assert next(iter(new))["SubscribeToShardEvent"]["Records"] == []
    new.close()


def test_cbor_subscribe_and_errors(srv, kin):
    arn = make_stream(kin)
    carn = kin.register_stream_consumer(StreamARN=arn, ConsumerName="c")["Consumer"]["ConsumerARN"]
    kin.put_record(StreamName="s", Data=b"\x00bin", PartitionKey="p")
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    body = cbor2.dumps({"ConsumerARN": carn, "ShardId": SHARD0, "StartingPosition": {"Type": "TRIM_HORIZON"}})
    conn.request(
        "POST",
        "/",
        body,
        {"Content-Type": "application/x-amz-cbor-1.1", "X-Amz-Target": "Kinesis_20131202.SubscribeToShard"},
    )
    resp = conn.getresponse()
    assert resp.status == 200 and resp.getheader("Content-Type") == "application/vnd.amazon.eventstream"
    from botocore.eventstream import EventStreamBuffer

    buf, msgs = EventStreamBuffer(), []
    while len(msgs) < 2:
        buf.add_data(resp.read1(65536))
        msgs += list(buf)
    assert msgs[0].headers[":event-type"] == "initial-response"
    assert msgs[1].headers[":content-type"] == "application/x-amz-cbor-1.1"
    ev = cbor2.loads(msgs[1].payload, semantic_decoders={1: lambda v, imm: cbor2.CBORTag(1, v)})
    rec = ev["Records"][0]
    assert rec["Data"] == b"\x00bin"  # raw bytes in CBOR
    assert rec["ApproximateArrivalTimestamp"].tag == 1 and isinstance(
        rec["ApproximateArrivalTimestamp"].value, int
    )
    conn.close()
    # a CBOR request's error comes back as CBOR, as AWS answers the Java SDK
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    conn.request(
        "POST",
        "/",
        cbor2.dumps({"StreamName": "nope"}),
        {"Content-Type": "application/x-amz-cbor-1.1", "X-Amz-Target": "Kinesis_20131202.DescribeStream"},
    )
    resp = conn.getresponse()
    assert resp.status == 400 and resp.getheader("Content-Type") == "application/x-amz-cbor-1.1"
    err = cbor2.loads(resp.read())
    assert err == {
        "__type": "ResourceNotFoundException",
        "message": "Stream nope under account 000000000000 not found.",
    }
    conn.close()
