"""Kinesis on three ``--cluster`` nodes over one real PostgreSQL (tests/pgserver.py), with boto3
clients on every node. Each test checks the outcome from what the clients were told and what an
independent reader sees through every node: every acknowledged record is stored exactly once,
sequence numbers strictly increase per shard in read order, every node shows the same records;
streams made or resharded on one node are usable on the others; iterators and fan-out cross
nodes."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from botocore.exceptions import ClientError

from tests.conftest import ServerProcess, free_port, start_server
from tests.pgserver import PostgresServer

NODES = 3
PRODUCERS_PER_NODE = 2
BATCHES = 15
BATCH = 20
#: SubscribeToShard sessions last this long; the heartbeat is longer, so a subscriber that is
#: not woken by the append (only polls at its heartbeat) ends its session without the record
SESSION_SECONDS = "20"
HEARTBEAT_SECONDS = "600"


@pytest.fixture
def database(postgres: PostgresServer, request) -> str:
    return postgres.create_database("k_" + request.node.name.lower()[:50])


@pytest.fixture
def nodes(tmp_path: Path, database: str) -> Iterator[list[ServerProcess]]:
    key_file = tmp_path / "kinesis-kms.key"  # one key for every node (docs/cluster.md)
    key_file.write_text("ab" * 32)
    started = []
    for n in range(NODES):
        (tmp_path / f"node{n}").mkdir()
        started.append(
            start_server(
                tmp_path / f"node{n}",
                "--store",
                database,
                "--cluster",
                "--durability",
                "relaxed",
                "--kinesis-limits",
                "off",
                "--efo-session-seconds",
                SESSION_SECONDS,
                "--efo-heartbeat-seconds",
                HEARTBEAT_SECONDS,
                "--kms-key-file",
                str(key_file),
            )
        )
    yield started
    for srv in started:
        assert srv.stop() == 0, srv.read_log()


def kinesis(srv: ServerProcess):
    return srv.client("kinesis")


def wait_active(kin, name: str) -> dict:
    kin.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})
    return kin.describe_stream(StreamName=name)["StreamDescription"]


def read_shard(kin, name: str, shard: str) -> list[dict]:
    """Every record of a shard, from TRIM_HORIZON until GetRecords returns nothing more."""
    it = kin.get_shard_iterator(StreamName=name, ShardId=shard, ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]
    out: list[dict] = []
    while it:
        page = kin.get_records(ShardIterator=it, Limit=1000)
        out += page["Records"]
        if not page["Records"] and page.get("MillisBehindLatest", 0) == 0:
            break
        it = page.get("NextShardIterator")
    return out


def produce_everywhere(nodes: list[ServerProcess], name: str) -> dict[bytes, tuple[str, str]]:
    """PutRecords of unique payloads from producers on every node at once, to the same few
    partition keys (so the same shards); returns payload -> (shard, sequence number) as the
    producers were told."""
    acknowledged: dict[bytes, tuple[str, str]] = {}
    failures: list[BaseException] = []
    lock = threading.Lock()

    def producer(srv: ServerProcess, number: int) -> None:
        try:
            kin = kinesis(srv)
            for b in range(BATCHES):
                batch = [
                    {"Data": f"p{number}-b{b}-r{r}".encode(), "PartitionKey": f"key-{r % 4}"}
                    for r in range(BATCH)
                ]
                answer = kin.put_records(StreamName=name, Records=batch)
                with lock:
                    for sent, result in zip(batch, answer["Records"]):
                        if "SequenceNumber" in result:
                            acknowledged[sent["Data"]] = (result["ShardId"], result["SequenceNumber"])
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [
        threading.Thread(target=producer, args=(srv, n * PRODUCERS_PER_NODE + p))
        for n, srv in enumerate(nodes)
        for p in range(PRODUCERS_PER_NODE)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, failures
    return acknowledged


def test_concurrent_producers_on_every_node_get_unique_increasing_sequence_numbers(
    nodes: list[ServerProcess],
):
    """Six producers on three nodes append to the same shards at once. An independent reader on
    each node finds every acknowledged record exactly once, at the sequence number its producer
    was told, in strictly increasing order per shard, and the same records on every node. (With
    per-node shard counters two nodes issue the same counter: records overwrite each other and
    sequence numbers repeat.)"""
    kinesis(nodes[0]).create_stream(StreamName="shared", ShardCount=2)
    shards = [s["ShardId"] for s in wait_active(kinesis(nodes[0]), "shared")["Shards"]]
    acknowledged = produce_everywhere(nodes, "shared")
    assert len(acknowledged) == NODES * PRODUCERS_PER_NODE * BATCHES * BATCH
    assert len({seq for _, seq in acknowledged.values()}) == len(acknowledged), "a sequence number repeats"
    views = []
    for srv in nodes:
        kin = kinesis(srv)
        view = {}
        for shard in shards:
            got = read_shard(kin, "shared", shard)
            numbers = [int(r["SequenceNumber"]) for r in got]
            assert numbers == sorted(set(numbers)), f"{shard} not strictly increasing on {srv.endpoint}"
            for r in got:
                assert r["Data"] not in view, f"{r['Data']!r} stored twice"
                view[r["Data"]] = (shard, r["SequenceNumber"])
        assert view == acknowledged, f"{srv.endpoint}: missing or misplaced records"
        views.append(view)
    assert views[0] == views[1] == views[2]


def test_stream_created_and_resharded_on_one_node_is_used_on_the_others(nodes: list[ServerProcess]):
    """CreateStream on A, PutRecord on B at once (before any notification could arrive, B
    looks the stream up); a split on A is seen by B and C: B routes to the children, records
    put to the parent before the split are read through C, and the parent's last record is
    below its EndingSequenceNumber on every node."""
    a, b, c = (kinesis(srv) for srv in nodes)
    a.create_stream(StreamName="made-on-a", ShardCount=1)
    wait_active(b, "made-on-a")
    before = b.put_record(StreamName="made-on-a", Data=b"before", PartitionKey="k")
    assert before["ShardId"] == "shardId-000000000000"
    a.split_shard(
        StreamName="made-on-a", ShardToSplit="shardId-000000000000", NewStartingHashKey=str(1 << 127)
    )
    described = wait_active(a, "made-on-a")
    assert [s["ShardId"] for s in described["Shards"]] == [
        "shardId-000000000000",
        "shardId-000000000001",
        "shardId-000000000002",
    ]
    for kin in (b, c):
        shards = {s["ShardId"]: s for s in kin.list_shards(StreamName="made-on-a")["Shards"]}
        assert set(shards) == {"shardId-000000000000", "shardId-000000000001", "shardId-000000000002"}
        ending = int(shards["shardId-000000000000"]["SequenceNumberRange"]["EndingSequenceNumber"])
        assert int(before["SequenceNumber"]) < ending
    after = b.put_record(StreamName="made-on-a", Data=b"after", PartitionKey="k")
    assert after["ShardId"] in ("shardId-000000000001", "shardId-000000000002")
    assert [r["Data"] for r in read_shard(c, "made-on-a", "shardId-000000000000")] == [b"before"]
    assert [r["Data"] for r in read_shard(c, "made-on-a", after["ShardId"])] == [b"after"]


def test_stream_deleted_on_one_node_is_gone_on_the_others(nodes: list[ServerProcess]):
    a, b = kinesis(nodes[0]), kinesis(nodes[1])
    a.create_stream(StreamName="short-lived", ShardCount=1)
    wait_active(b, "short-lived")
    a.delete_stream(StreamName="short-lived")
    a.get_waiter("stream_not_exists").wait(StreamName="short-lived", WaiterConfig={"Delay": 0.1})
    with pytest.raises(ClientError) as err:
        b.put_record(StreamName="short-lived", Data=b"x", PartitionKey="k")
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_iterators_and_positions_from_one_node_work_on_another(nodes: list[ServerProcess]):
    """A TRIM_HORIZON iterator and a NextShardIterator issued by A read on B and C; a LATEST
    iterator taken on C after records were put through A starts after them."""
    a, b, c = (kinesis(srv) for srv in nodes)
    a.create_stream(StreamName="iterated", ShardCount=1)
    wait_active(a, "iterated")
    for i in range(3):
        a.put_record(StreamName="iterated", Data=f"r{i}".encode(), PartitionKey="k")
    it = a.get_shard_iterator(
        StreamName="iterated", ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON"
    )
    first = b.get_records(ShardIterator=it["ShardIterator"], Limit=2)
    assert [r["Data"] for r in first["Records"]] == [b"r0", b"r1"]
    rest = c.get_records(ShardIterator=first["NextShardIterator"])
    assert [r["Data"] for r in rest["Records"]] == [b"r2"]
    latest = c.get_shard_iterator(
        StreamName="iterated", ShardId="shardId-000000000000", ShardIteratorType="LATEST"
    )
    b.put_record(StreamName="iterated", Data=b"r3", PartitionKey="k")
    assert [r["Data"] for r in a.get_records(ShardIterator=latest["ShardIterator"])["Records"]] == [b"r3"]


def test_subscribe_on_one_node_receives_records_put_through_another(nodes: list[ServerProcess]):
    """A consumer registered on A subscribes through B; a record put through A reaches it during
    the session. The session is shorter than the heartbeat, so a subscriber that only looked
    again at its heartbeat would end the session without it: B must be woken by A's append."""
    a, b = kinesis(nodes[0]), kinesis(nodes[1])
    a.create_stream(StreamName="pushed", ShardCount=1)
    arn = wait_active(a, "pushed")["StreamARN"]
    consumer = a.register_stream_consumer(StreamARN=arn, ConsumerName="app")["Consumer"]
    b.get_waiter("stream_exists").wait(StreamName="pushed")
    for _ in range(100):
        if (
            b.describe_stream_consumer(ConsumerARN=consumer["ConsumerARN"])["ConsumerDescription"][
                "ConsumerStatus"
            ]
            == "ACTIVE"
        ):
            break
    events = b.subscribe_to_shard(
        ConsumerARN=consumer["ConsumerARN"],
        ShardId="shardId-000000000000",
        StartingPosition={"Type": "LATEST"},
    )["EventStream"]
    put = a.put_record(StreamName="pushed", Data=b"across", PartitionKey="k")
    received = []
    for event in events:
        received += event["SubscribeToShardEvent"]["Records"]
        if received:
            break
    assert [(r["Data"], r["SequenceNumber"]) for r in received] == [(b"across", put["SequenceNumber"])]


def test_encryption_started_on_one_node_applies_to_records_put_through_another(nodes: list[ServerProcess]):
    """StartStreamEncryption on A: B's next append is encrypted (B's stream record is stale
    until it hears of the change; its append sees the store's record and reloads)."""
    a, b = kinesis(nodes[0]), kinesis(nodes[1])
    a.create_stream(StreamName="sealed", ShardCount=1)
    wait_active(b, "sealed")
    a.start_stream_encryption(StreamName="sealed", EncryptionType="KMS", KeyId="alias/aws/kinesis")
    wait_active(a, "sealed")
    put = b.put_record(StreamName="sealed", Data=b"secret", PartitionKey="k")
    assert put.get("EncryptionType") == "KMS"
    got = read_shard(a, "sealed", "shardId-000000000000")
    assert [(r["Data"], r.get("EncryptionType")) for r in got] == [(b"secret", "KMS")]


def read_closed_shard_one_by_one(kin, name: str, shard: str) -> list[dict]:
    """A closed shard read one record per GetRecords until ChildShards: a record stored after
    the counter the shard closed at would never be reached."""
    it = kin.get_shard_iterator(StreamName=name, ShardId=shard, ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]
    out: list[dict] = []
    while it:
        page = kin.get_records(ShardIterator=it, Limit=1)
        out += page["Records"]
        if "ChildShards" in page:
            return out
        it = page.get("NextShardIterator")
    raise AssertionError(f"{shard} never ended")


def test_resharding_on_one_node_while_others_append_loses_no_record(nodes: list[ServerProcess]):
    """Producers on B and C append while A doubles the shard count (whichever node settles
    the UPDATING stream closes the old shards). Every acknowledged record is read exactly once:
    from the open shards, and from each closed shard one record at a time up to where it
    closed (a record appended to a parent after its end was read would be unreachable)."""
    a = kinesis(nodes[0])
    a.create_stream(StreamName="growing", ShardCount=2)
    wait_active(a, "growing")
    acknowledged: dict[bytes, str] = {}
    failures: list[BaseException] = []
    resharded = threading.Event()

    def producer(srv: ServerProcess, number: int) -> None:
        kin = kinesis(srv)
        try:
            b = after = 0
            while after < 10:  # batches once the resharding is done
                after += resharded.is_set()
                batch = [{"Data": f"p{number}-b{b}-r{r}".encode(), "PartitionKey": f"k{r}"} for r in range(5)]
                answer = kin.put_records(StreamName="growing", Records=batch)
                for sent, result in zip(batch, answer["Records"]):
                    if "SequenceNumber" in result:
                        acknowledged[sent["Data"]] = result["ShardId"]
                b += 1
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=producer, args=(srv, n)) for n, srv in enumerate(nodes[1:] * 2)]
    for t in threads:
        t.start()
    while len(acknowledged) < 100 and not failures:
        threading.Event().wait(0.01)
    a.update_shard_count(StreamName="growing", TargetShardCount=4, ScalingType="UNIFORM_SCALING")
    wait_active(a, "growing")
    resharded.set()
    for t in threads:
        t.join()
    assert not failures, failures
    shards = kinesis(nodes[2]).list_shards(StreamName="growing")["Shards"]
    assert len([s for s in shards if "EndingSequenceNumber" not in s["SequenceNumberRange"]]) == 4
    seen: list[bytes] = []
    for shard in shards:
        if "EndingSequenceNumber" in shard["SequenceNumberRange"]:
            got = read_closed_shard_one_by_one(a, "growing", shard["ShardId"])
        else:
            got = read_shard(a, "growing", shard["ShardId"])
        for r in got:
            assert acknowledged.get(r["Data"]) == shard["ShardId"], r["Data"]
        seen += [r["Data"] for r in got]
    assert len(seen) == len(set(seen)), "a record is stored twice"
    assert set(seen) == set(acknowledged)
    assert {shard for shard in acknowledged.values()} - {s["ShardId"] for s in shards[:2]}, (
        "no child got a record"
    )


def active_consumer(kin, stream_arn: str, name: str) -> str:
    """Register a consumer and wait until it is ACTIVE; its ARN."""
    arn = kin.register_stream_consumer(StreamARN=stream_arn, ConsumerName=name)["Consumer"]["ConsumerARN"]
    for _ in range(100):
        status = kin.describe_stream_consumer(ConsumerARN=arn)["ConsumerDescription"]["ConsumerStatus"]
        if status == "ACTIVE":
            break
    return arn


def subscribe(kin, consumer_arn: str):
    return kin.subscribe_to_shard(
        ConsumerARN=consumer_arn, ShardId="shardId-000000000000", StartingPosition={"Type": "LATEST"}
    )["EventStream"]


def test_a_subscription_is_refused_on_another_node_for_five_seconds_then_takes_over(
    nodes: list[ServerProcess],
):
    """AWS's rule for one consumer and shard, across nodes: a second SubscribeToShard within
    5 s of the first is ResourceInUseException on any node; one after 5 s takes over, and the
    first session ends (without the records appended after the takeover, which the new one
    gets). Before, each node kept its own sessions: node B accepted the second subscription at
    once and A's session went on. The heartbeat is longer than the sessions, so only a
    wake-up ends A's session before its end or delivers a record to it."""
    a, b, c = (kinesis(srv) for srv in nodes)
    a.create_stream(StreamName="taken", ShardCount=1)
    consumer = active_consumer(a, wait_active(a, "taken")["StreamARN"], "app")
    old = iter(subscribe(a, consumer))
    assert next(old)["SubscribeToShardEvent"]["Records"] == []  # the session's first event
    with pytest.raises(ClientError) as refused:
        subscribe(b, consumer)
    assert refused.value.response["Error"]["Code"] == "ResourceInUseException"
    assert "Another active subscription exists" in refused.value.response["Error"]["Message"]
    time.sleep(5.2)
    new = iter(subscribe(c, consumer))
    next(new)
    put = b.put_record(StreamName="taken", Data=b"after-takeover", PartitionKey="k")
    old_records = [r for event in old for r in event["SubscribeToShardEvent"]["Records"]]
    assert old_records == []  # ended by the takeover, not at its session's end with the record
    received = []
    for event in new:
        received += event["SubscribeToShardEvent"]["Records"]
        if received:
            break
    assert [(r["Data"], r["SequenceNumber"]) for r in received] == [
        (b"after-takeover", put["SequenceNumber"])
    ]


def register_at_once(
    kin, stream_arn: str, name: str, start: threading.Barrier, outcomes: list[tuple[str, str]]
) -> None:
    """RegisterStreamConsumer once ``start`` lets every thread go; its outcome appended."""
    start.wait()
    try:
        consumer = kin.register_stream_consumer(StreamARN=stream_arn, ConsumerName=name)["Consumer"]
        outcomes.append(("ok", consumer["ConsumerARN"]))
    except ClientError as err:
        outcomes.append((err.response["Error"]["Code"], ""))


def test_a_consumer_name_registered_on_two_nodes_at_once_is_registered_once(nodes: list[ServerProcess]):
    """Two nodes register the same consumer name at the same moment, twenty times: each time
    exactly one succeeds and the other gets AWS's ResourceInUseException, and the consumer
    that stands is the one its client was told about (its ARN). Before, both succeeded (each
    node checked only what it had read) and the last write stood."""
    clients = [kinesis(srv) for srv in nodes[:2]]
    clients[0].create_stream(StreamName="registered", ShardCount=1)
    stream_arn = wait_active(clients[0], "registered")["StreamARN"]
    wait_active(clients[1], "registered")
    for round_ in range(20):
        name = f"app-{round_}"
        start = threading.Barrier(2)
        outcomes: list[tuple[str, str]] = []
        threads = [
            threading.Thread(target=register_at_once, args=(kin, stream_arn, name, start, outcomes))
            for kin in clients
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(code for code, _ in outcomes) == ["ResourceInUseException", "ok"], (name, outcomes)
        winner = next(arn for code, arn in outcomes if code == "ok")
        for kin in clients:
            assert (
                kin.describe_stream_consumer(StreamARN=stream_arn, ConsumerName=name)["ConsumerDescription"][
                    "ConsumerARN"
                ]
                == winner
            )
    listed = clients[1].list_stream_consumers(StreamARN=stream_arn)["Consumers"]
    assert sorted(c["ConsumerName"] for c in listed) == sorted(f"app-{n}" for n in range(20))


def test_a_reset_on_one_node_ends_the_others_kinesis_sessions_and_streams(nodes: list[ServerProcess]):
    """The admin reset on A wipes the store; B, which holds a SubscribeToShard session and knows
    the stream, ends the session as a reset on B would (quietly, no ResourceNotFound event:
    before, B only reloaded its catalog and its session then found the stream gone), and a
    stream of the same name made afterwards starts empty on every node."""
    a, b = kinesis(nodes[0]), kinesis(nodes[1])
    a.create_stream(StreamName="wiped", ShardCount=1)
    consumer = active_consumer(a, wait_active(a, "wiped")["StreamARN"], "app")
    b.put_record(StreamName="wiped", Data=b"before", PartitionKey="k")
    session = iter(subscribe(b, consumer))
    next(session)
    nodes[0].reset()
    assert [r for event in session for r in event["SubscribeToShardEvent"]["Records"]] == []
    with pytest.raises(ClientError) as gone:
        b.describe_stream_summary(StreamName="wiped")
    assert gone.value.response["Error"]["Code"] == "ResourceNotFoundException"
    b.create_stream(StreamName="wiped", ShardCount=1)
    wait_active(b, "wiped")
    for kin in (a, b):
        assert read_shard(kin, "wiped", "shardId-000000000000") == []


def test_the_encryption_key_is_in_the_store_imported_once_from_a_node_key_file(tmp_path: Path, database: str):
    """Nodes without ``--kms-key-file``: the first node's existing key file is imported into
    the store at its start, a record encrypted through B decrypts through C (neither has a key
    file, and none is made), and a node whose key file holds another key is refused at start
    (never two keys). Before, each node made its own key file and C answered
    KMSInvalidStateException."""
    key = bytes(range(32))
    for n in range(4):
        (tmp_path / f"node{n}" / "data").mkdir(parents=True)
    (tmp_path / "node0" / "data" / "kinesis-kms.key").write_text(key.hex())
    common = ["--store", database, "--cluster", "--durability", "relaxed"]
    started = [start_server(tmp_path / f"node{n}", *common) for n in range(3)]
    try:
        with psycopg.connect(database, autocommit=True) as db:
            row = db.execute("SELECT v FROM tidestream_kv WHERE k = %s", (b"\x00KE",)).fetchone()
        assert row is not None and bytes(row[0]) == key
        b, c = kinesis(started[1]), kinesis(started[2])
        b.create_stream(StreamName="sealed", ShardCount=1)
        wait_active(b, "sealed")
        b.start_stream_encryption(StreamName="sealed", EncryptionType="KMS", KeyId="alias/aws/kinesis")
        wait_active(b, "sealed")
        assert b.put_record(StreamName="sealed", Data=b"secret", PartitionKey="k")["EncryptionType"] == "KMS"
        got = read_shard(c, "sealed", "shardId-000000000000")
        assert [(r["Data"], r.get("EncryptionType")) for r in got] == [(b"secret", "KMS")]
        assert not any((tmp_path / f"node{n}" / "data" / "kinesis-kms.key").exists() for n in (1, 2))
        (tmp_path / "node3" / "data" / "kinesis-kms.key").write_text("cd" * 32)
        log = tmp_path / "node3" / "refused.log"
        with pytest.raises(RuntimeError, match=r"^server exited with 2: "):
            ServerProcess(free_port(), tmp_path / "node3" / "data", common, log_path=log).start()
        assert "is not the one in the store" in log.read_text()
    finally:
        for srv in started:
            assert srv.stop() == 0, srv.read_log()
