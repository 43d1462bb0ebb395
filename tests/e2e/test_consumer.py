"""The KCL-compatible consumer runtime (tidestream.consumer) against a real server: worker
processes coordinating through the lease table, crashes, graceful hand-over and resharding.

Workers are separate processes (tests/e2e/consumer_worker.py) appending every processor event to
one shared log; the log's line order is the order of events across all workers. Nothing waits on
the wall clock: every wait polls the lease table or the log.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections import Counter, defaultdict

import pytest

from tests.conftest import start_on_test_store, start_server
from tests.e2e.consumer_helpers import (
    checkpoint_of,
    create_stream,
    delivered_keys,
    deliveries,
    lease_rows,
    owners,
    put_records,
    read_events,
    settled,
    start_worker,
    stop_all,
    wait_until,
)
from tidestream.consumer import (
    AsyncRecordProcessor,
    AsyncWorker,
    Checkpointer,
    ConsumerConfig,
    ExtendedSequenceNumber,
    Lease,
    LeaseTable,
    RecordProcessor,
    ShutdownException,
    Worker,
)
from tidestream.consumer.held import HeldLease
from tidestream.consumer.shard_sync import list_shards, sync_shards
from tidestream.consumer.taker import LeaseObserver, choose_leases_to_take, target_lease_count

LEASE_ATTRIBUTES = {
    "leaseKey": "S",
    "leaseCounter": "N",
    "checkpoint": "S",
    "checkpointSubSequenceNumber": "N",
    "ownerSwitchesSinceCheckpoint": "N",
    "startingHashKey": "S",
    "endingHashKey": "S",
}


@pytest.fixture
def clients(srv):
    return srv.client("kinesis"), srv.client("dynamodb")


@pytest.fixture(scope="module")
def efo_server(request, tmp_path_factory):
    """Short SubscribeToShard sessions (AWS: 5 minutes), so fan-out tests resubscribe often."""
    server = start_on_test_store(
        request,
        tmp_path_factory.mktemp("efo"),
        "--durability",
        "relaxed",
        "--efo-session-seconds",
        "2",
        "--efo-heartbeat-seconds",
        "0.3",
    )
    yield server
    server.stop()


@pytest.fixture(params=["polling", "fanout"])
def retrieval(request, srv, efo_server):
    """(server, retrieval mode): polling on the shared server, fan-out on the short-session one."""
    if request.param == "polling":
        return srv, "polling"
    return efo_server, "fanout"


@pytest.fixture
def workers():
    started: list = []
    yield started
    stop_all(started)


def last_sequence_per_shard(written: set[tuple[str, str]]) -> dict[str, str]:
    best: dict[str, str] = {}
    for shard, seq in written:
        if shard not in best or int(seq) > int(best[shard]):
            best[shard] = seq
    return best


def assert_never_redelivered_behind_a_checkpoint(events: list[dict]) -> None:
    """Once a checkpoint at S is written for a shard, no record at or before S is delivered again
    by anyone: duplicates are only ever records after the last checkpoint."""
    checkpointed: dict[str, int] = {}
    for event in events:
        if event["event"] == "checkpoint" and event["seq"].isdigit():
            checkpointed[event["shard"]] = max(checkpointed.get(event["shard"], 0), int(event["seq"]))
        elif event["event"] == "record":
            assert int(event["seq"]) > checkpointed.get(event["shard"], -1), event


def assert_resumed_right_after_checkpoint(events: list[dict], written: set[tuple[str, str]]) -> None:
    """Every initialize at a sequence number is followed, by that worker on that shard, by the very
    next record written to the shard after that number (or by nothing yet)."""
    by_shard: dict[str, list[int]] = defaultdict(list)
    for shard, seq in written:
        by_shard[shard].append(int(seq))
    for init in (e for e in events if e["event"] == "initialize" and e["checkpoint"].isdigit()):
        later = [
            int(e["seq"])
            for e in deliveries(events)
            if e["order"] > init["order"] and e["worker"] == init["worker"] and e["shard"] == init["shard"]
        ]
        expected = [s for s in sorted(by_shard[init["shard"]]) if s > int(init["checkpoint"])]
        if later and expected:
            assert later[0] == expected[0], (init, later[:3], expected[:3])


def test_one_worker_reads_both_shards_checkpoints_and_a_new_worker_resumes(clients, srv, tmp_path, workers):
    kinesis, dynamodb = clients
    create_stream(kinesis, "orders", 2)
    first = put_records(kinesis, "orders", 60, "first")
    assert len({shard for shard, _ in first}) == 2
    log = tmp_path / "events.log"
    workers.append(start_worker(srv.endpoint, tmp_path, "orders", "app-a", "w1", log))
    wait_until(lambda: delivered_keys(read_events(log)) >= first, "every record processed", workers=workers)
    final = last_sequence_per_shard(first)
    wait_until(
        lambda: all(
            checkpoint_of(lease_rows(dynamodb, "app-a"), shard) == seq for shard, seq in final.items()
        ),
        "checkpoints at the last records",
        workers=workers,
    )

    rows = lease_rows(dynamodb, "app-a")
    table = dynamodb.describe_table(TableName="app-a")["Table"]
    assert table["KeySchema"] == [{"AttributeName": "leaseKey", "KeyType": "HASH"}]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    for item in rows.values():  # KCL's attribute names and types
        for name, kind in LEASE_ATTRIBUTES.items():
            assert kind in item[name], (name, item)
        assert item["leaseOwner"] == {"S": "w1"}
        assert "parentShardId" not in item

    workers[0].kill()  # a crash after the checkpoints: nothing may be re-delivered
    second = put_records(kinesis, "orders", 40, "second")
    workers.append(start_worker(srv.node_endpoint(1), tmp_path, "orders", "app-a", "w2", log))
    wait_until(
        lambda: delivered_keys(read_events(log)) >= first | second,
        "the new records processed",
        workers=workers,
    )
    events = read_events(log)
    by_w2 = [(e["shard"], e["seq"]) for e in deliveries(events) if e["worker"] == "w2"]
    assert set(by_w2) == second and len(by_w2) == len(second)
    assert {
        e["shard"]: e["checkpoint"] for e in events if e["event"] == "initialize" and e["worker"] == "w2"
    } == final
    assert max(Counter((e["shard"], e["seq"]) for e in deliveries(events)).values()) == 1
    for shard in final:  # per-shard order is the stream's order
        seqs = [int(e["seq"]) for e in deliveries(events) if e["shard"] == shard]
        assert seqs == sorted(seqs)
    assert owners(lease_rows(dynamodb, "app-a")) == {shard: "w2" for shard in final}
    assert_resumed_right_after_checkpoint(events, first | second)


def test_three_workers_share_four_shards_and_survive_a_sigkill(retrieval, tmp_path, workers):
    server, mode = retrieval
    kinesis, dynamodb = server.client("kinesis"), server.client("dynamodb")
    create_stream(kinesis, "clicks", 4)
    log = tmp_path / "events.log"
    for number, name in enumerate(("w1", "w2", "w3")):
        workers.append(
            start_worker(
                server.node_endpoint(number),
                tmp_path,
                "clicks",
                "app-b",
                name,
                log,
                checkpoint_every=2,
                max_records=5,
                retrieval=mode,
            )
        )

    def balanced():
        lease_owners = owners(lease_rows(dynamodb, "app-b"))
        held = Counter(lease_owners.values())
        return (
            len(lease_owners) == 4
            and set(held) == {"w1", "w2", "w3"}
            and settled(read_events(log), lease_owners)
            and held
        )

    held = wait_until(balanced, "each of three workers holding a lease", workers=workers)
    assert sum(held.values()) == 4
    first = put_records(kinesis, "clicks", 80, "first")
    wait_until(lambda: delivered_keys(read_events(log)) >= first, "first records processed", workers=workers)

    victim = workers[1]
    victim_shards = {shard for shard, owner in owners(lease_rows(dynamodb, "app-b")).items() if owner == "w2"}
    assert victim_shards
    second = put_records(kinesis, "clicks", 120, "second")
    wait_until(
        lambda: any(
            e["worker"] == "w2" and e["data"].startswith("second") for e in deliveries(read_events(log))
        ),
        "the victim processing",
        workers=workers,
    )
    victim.kill()
    wait_until(
        lambda: set(owners(lease_rows(dynamodb, "app-b")).values()) <= {"w1", "w3"},
        "the victim's leases taken over",
        workers=workers,
    )
    third = put_records(kinesis, "clicks", 40, "third")
    written = first | second | third
    wait_until(lambda: delivered_keys(read_events(log)) >= written, "every record processed", workers=workers)

    events = read_events(log)
    assert delivered_keys(events) == written
    assert_never_redelivered_behind_a_checkpoint(events)
    assert_resumed_right_after_checkpoint(events, written)
    survivors_init = {
        e["shard"]
        for e in events
        if e["event"] == "initialize"
        and e["worker"] != "w2"
        and e["order"] > max(x["order"] for x in events if x["worker"] == "w2")
    }
    assert victim_shards <= survivors_init
    if mode == "fanout":  # the three workers shared one registered stream consumer
        stream_arn = kinesis.describe_stream_summary(StreamName="clicks")["StreamDescriptionSummary"][
            "StreamARN"
        ]
        consumers = kinesis.list_stream_consumers(StreamARN=stream_arn)["Consumers"]
        assert [c["ConsumerName"] for c in consumers] == ["app-b"]


def test_graceful_shutdown_hands_leases_over_without_duplicates(clients, srv, tmp_path, workers):
    kinesis, dynamodb = clients
    create_stream(kinesis, "payments", 2)
    log = tmp_path / "events.log"
    # checkpoints only at shutdown: without the hand-off checkpoint every record would come again
    for number, name in enumerate(("w1", "w2")):
        workers.append(
            start_worker(
                srv.node_endpoint(number), tmp_path, "payments", "app-c", name, log, checkpoint_every=0
            )
        )
    wait_until(
        lambda: (
            Counter((o := owners(lease_rows(dynamodb, "app-c"))).values()) == Counter(["w1", "w2"])
            and settled(read_events(log), o)
        ),
        "one lease each, balancing over",
        workers=workers,
    )
    first = put_records(kinesis, "payments", 60, "first")
    wait_until(lambda: delivered_keys(read_events(log)) >= first, "first records processed", workers=workers)
    w1_shard = next(s for s, o in owners(lease_rows(dynamodb, "app-c")).items() if o == "w1")

    assert workers[0].terminate() == 0
    rows = lease_rows(dynamodb, "app-c")
    last_of_w1 = last_sequence_per_shard({k for k in first if k[0] == w1_shard})[w1_shard]
    assert checkpoint_of(rows, w1_shard) == last_of_w1
    assert owners(rows)[w1_shard] in (None, "w2")  # released (or already taken by w2)
    wait_until(
        lambda: set(owners(lease_rows(dynamodb, "app-c")).values()) == {"w2"},
        "w2 holding both",
        workers=workers,
    )
    second = put_records(kinesis, "payments", 60, "second")
    wait_until(
        lambda: delivered_keys(read_events(log)) >= first | second,
        "second records processed",
        workers=workers,
    )
    assert workers[1].terminate() == 0

    events = read_events(log)
    counts = Counter((e["shard"], e["seq"]) for e in deliveries(events))
    assert set(counts) == first | second and max(counts.values()) == 1
    assert [e["event"] for e in events if e["worker"] == "w1" and e["shard"] == w1_shard][-2:] == [
        "shutdown_requested",
        "checkpoint",
    ]
    handed = [
        e for e in events if e["event"] == "initialize" and e["worker"] == "w2" and e["shard"] == w1_shard
    ]
    assert handed and handed[-1]["checkpoint"] == last_of_w1
    final = lease_rows(dynamodb, "app-c")
    assert set(owners(final).values()) == {None}  # w2 released everything at its own shutdown


def test_split_and_merge_parents_are_processed_before_children(retrieval, tmp_path, workers):
    server, mode = retrieval
    kinesis, dynamodb = server.client("kinesis"), server.client("dynamodb")
    create_stream(kinesis, "events", 2)
    written = put_records(kinesis, "events", 300, "before")
    log = tmp_path / "events.log"
    workers.append(start_worker(server.endpoint, tmp_path, "events", "app-d", "w1", log, retrieval=mode))
    # reshard while the parent still has a backlog: its children become readable long before
    # the parent is drained, so only the parent gate keeps their records back
    wait_until(lambda: deliveries(read_events(log)), "consumption started", workers=workers)
    shard0 = kinesis.list_shards(StreamName="events")["Shards"][0]
    low, high = int(shard0["HashKeyRange"]["StartingHashKey"]), int(shard0["HashKeyRange"]["EndingHashKey"])
    kinesis.split_shard(
        StreamName="events", ShardToSplit=shard0["ShardId"], NewStartingHashKey=str((low + high) // 2)
    )
    parent_backlog = {k for k in written if k[0] == shard0["ShardId"]} - delivered_keys(read_events(log))
    if mode == "polling":  # a fan-out event carries the whole backlog: no gate to test there
        assert parent_backlog  # the scenario needs a parent not yet drained when its children appear
    wait_until(lambda: len(kinesis.list_shards(StreamName="events")["Shards"]) == 4, "split applied")
    written |= put_records(kinesis, "events", 80, "split")
    children = [
        s["ShardId"]
        for s in kinesis.list_shards(StreamName="events")["Shards"]
        if s.get("ParentShardId") == shard0["ShardId"]
    ]
    assert len(children) == 2
    kinesis.merge_shards(StreamName="events", ShardToMerge=children[0], AdjacentShardToMerge=children[1])
    wait_until(lambda: len(kinesis.list_shards(StreamName="events")["Shards"]) == 5, "merge applied")
    written |= put_records(kinesis, "events", 80, "merged")
    shards = kinesis.list_shards(StreamName="events")["Shards"]
    assert {shard for shard, _ in written} >= {children[0], children[1], shards[-1]["ShardId"]}
    wait_until(lambda: delivered_keys(read_events(log)) >= written, "every record processed", workers=workers)

    events = read_events(log)
    counts = Counter((e["shard"], e["seq"]) for e in deliveries(events))
    assert set(counts) == written and max(counts.values()) == 1
    order: dict[str, list[int]] = defaultdict(list)
    for event in deliveries(events):
        order[event["shard"]].append(event["n"])
    for shard in shards:
        for parent in (shard.get("ParentShardId"), shard.get("AdjacentParentShardId")):
            if parent and order[parent] and order[shard["ShardId"]]:
                assert max(order[parent]) < min(order[shard["ShardId"]]), (parent, shard["ShardId"])
    rows = wait_until(
        lambda: (
            (r := lease_rows(dynamodb, "app-d"))
            and all(checkpoint_of(r, s) == "SHARD_END" for s in (shard0["ShardId"], *children))
            and r
        ),
        "closed shards at SHARD_END",
        workers=workers,
    )
    assert set(rows[shard0["ShardId"]]["childShardIds"]["SS"]) == set(children)
    merged = shards[-1]["ShardId"]
    assert set(rows[merged]["parentShardId"]["SS"]) == set(children)
    assert set(rows[children[0]]["parentShardId"]["SS"]) == {shard0["ShardId"]}
    assert rows[children[0]]["childShardIds"]["SS"] == [merged]
    ended = [e["shard"] for e in events if e["event"] == "shard_ended"]
    assert sorted(ended) == sorted([shard0["ShardId"], *children])


# --- the lease state machine on a real server, and the balancing rules ---------------------------


def test_lease_writes_are_fenced_by_counter_and_owner(srv):
    dynamodb = srv.client("dynamodb")
    table = LeaseTable(dynamodb, "fence")
    assert table.create_if_missing() is True and table.create_if_missing() is False
    assert table.create_lease_if_absent(
        Lease(
            "shardId-000000000002",
            parent_shard_ids=frozenset({"p0", "p1"}),
            starting_hash_key="0",
            ending_hash_key="99",
        )
    )
    assert not table.create_lease_if_absent(Lease("shardId-000000000002"))
    seen = table.get_lease("shardId-000000000002")
    assert (seen.lease_counter, seen.lease_owner, seen.checkpoint.sequence_number) == (
        0,
        None,
        "TRIM_HORIZON",
    )

    assert table.take(seen, "w1") == 1
    assert table.take(seen, "w2") is None  # a stale view cannot take
    assert not table.renew(seen.lease_key, "w2", 1)  # nor renew another's lease
    assert table.renew(seen.lease_key, "w1", 1)
    stolen = table.get_lease(seen.lease_key)
    assert table.take(stolen, "w2") == 3
    assert table.get_lease(seen.lease_key).owner_switches_since_checkpoint == 1

    loser = HeldLease(stolen, 2, "w1")
    late = Checkpointer(table, loser)
    late.delivered("5")
    with pytest.raises(ShutdownException):
        late.checkpoint()
    assert (
        loser.lost.is_set() and table.get_lease(seen.lease_key).checkpoint.sequence_number == "TRIM_HORIZON"
    )

    owner = HeldLease(table.get_lease(seen.lease_key), 3, "w2")
    checkpointer = Checkpointer(table, owner)
    checkpointer.delivered("100")
    for refused in ("101", "TRIM_HORIZON", "SHARD_END", "x1"):
        with pytest.raises(ValueError):
            checkpointer.checkpoint(refused)
    checkpointer.checkpoint("50")
    with pytest.raises(ValueError):
        checkpointer.checkpoint("40")  # behind the checkpoint
    checkpointer.checkpoint()
    item = dynamodb.get_item(TableName="fence", Key={"leaseKey": {"S": seen.lease_key}})["Item"]
    assert item["checkpoint"] == {"S": "100"} and item["leaseCounter"] == {"N": "5"}
    assert item["ownerSwitchesSinceCheckpoint"] == {"N": "0"} and item["checkpointSubSequenceNumber"] == {
        "N": "0"
    }
    assert sorted(item["parentShardId"]["SS"]) == ["p0", "p1"]
    assert (item["startingHashKey"], item["endingHashKey"]) == ({"S": "0"}, {"S": "99"})

    assert not table.release(seen.lease_key, "w1", 5)
    assert table.release(seen.lease_key, "w2", 5)
    item = dynamodb.get_item(TableName="fence", Key={"leaseKey": {"S": seen.lease_key}})["Item"]
    assert "leaseOwner" not in item and item["leaseCounter"] == {"N": "6"}


def test_a_lease_written_by_java_kcl_is_read_and_its_unknown_attributes_survive(srv):
    dynamodb = srv.client("dynamodb")
    table = LeaseTable(dynamodb, "kcl-app")
    table.create_if_missing()
    dynamodb.put_item(
        TableName="kcl-app",
        Item={  # as KCL 3.x writes a held lease
            "leaseKey": {"S": "shardId-000000000000"},
            "leaseOwner": {"S": "java-worker"},
            "leaseCounter": {"N": "41"},
            "checkpoint": {"S": "49590338271490256608559692538361571095921575989136588898"},
            "checkpointSubSequenceNumber": {"N": "0"},
            "ownerSwitchesSinceCheckpoint": {"N": "2"},
            "pendingCheckpoint": {"S": "49590338271490256608559692538361571095921575989136588999"},
            "pendingCheckpointSubSequenceNumber": {"N": "0"},
            "throughputKBps": {"N": "12.5"},
            "childShardIds": {"SS": ["shardId-000000000003"]},
        },
    )
    lease = table.get_lease("shardId-000000000000")
    assert lease.lease_owner == "java-worker" and lease.lease_counter == 41
    assert lease.pending_checkpoint.sequence_number.endswith("8999")
    assert lease.child_shard_ids == {"shardId-000000000003"} and "throughputKBps" in lease.extra
    assert table.take(lease, "py-worker") == 42
    item = dynamodb.get_item(TableName="kcl-app", Key={"leaseKey": {"S": lease.lease_key}})["Item"]
    assert item["throughputKBps"] == {"N": "12.5"} and item["ownerSwitchesSinceCheckpoint"] == {"N": "3"}
    # a KCL 3.x graceful hand-off in progress (checkpointOwner set) is not renewed over
    dynamodb.update_item(
        TableName="kcl-app",
        Key={"leaseKey": {"S": lease.lease_key}},
        UpdateExpression="SET checkpointOwner = :o",
        ExpressionAttributeValues={":o": {"S": "x"}},
    )
    assert not table.renew(lease.lease_key, "py-worker", 42)


def lease(key: str, owner: str | None, counter: int = 1, checkpoint: str = "TRIM_HORIZON") -> Lease:
    return Lease(key, counter, owner, ExtendedSequenceNumber(checkpoint))


def test_balancing_targets_and_stealing():
    assert [target_lease_count(n, w, 100) for n, w in ((0, 3), (4, 3), (2, 5), (9, 3))] == [0, 2, 1, 3]
    assert target_lease_count(9, 1, 4) == 4
    observer = LeaseObserver()
    table = [lease("s0", "a"), lease("s1", "a"), lease("s2", "a"), lease("s3", "b")]
    observer.observe(table, now=100.0)
    rng = random.Random(7)
    chosen = choose_leases_to_take(table, "c", set(), observer, 10.0, 100, 1, rng, now=101.0)
    assert len(chosen) == 1 and chosen[0].lease_owner == "a"  # one, from the busiest worker
    assert [
        x.lease_owner
        for x in choose_leases_to_take(table, "c", set(), observer, 10.0, 100, 5, rng, now=101.0)
    ] == ["a"]  # only above target
    expired = choose_leases_to_take(table, "c", set(), observer, 10.0, 100, 1, rng, now=111.0)
    assert len(expired) == 4  # every owner silent for the failover time: all are ours
    balanced = [lease("s0", "a"), lease("s1", "a"), lease("s2", "b"), lease("s3", "c")]
    observer.observe(balanced, now=100.0)
    assert choose_leases_to_take(balanced, "c", {"s3"}, observer, 10.0, 100, 1, rng, now=101.0) == []
    finished = [lease("s0", None, checkpoint="SHARD_END"), lease("s1", None)]
    assert [
        x.lease_key
        for x in choose_leases_to_take(finished, "c", set(), observer, 10.0, 100, 1, rng, now=101.0)
    ] == ["s1"]


def test_expiry_is_judged_by_the_observers_own_clock():
    observer = LeaseObserver()
    held = lease("s0", "a", counter=5)
    observer.observe([held], now=100.0)
    assert not observer.is_expired(held, 10.0, now=109.0)
    assert observer.is_expired(held, 10.0, now=110.5)
    renewed = lease("s0", "a", counter=6)
    observer.observe([renewed], now=110.5)  # the counter moved: alive again
    assert not observer.is_expired(renewed, 10.0, now=115.0)
    assert observer.is_expired(lease("s1", None), 10.0, now=0.0)  # nobody's: free at once
    assert (
        choose_leases_to_take([renewed], "b", set(), observer, 10.0, 100, 1, random.Random(1), now=115.0)
        == []
    )  # one lease, its owner at target


def test_asyncio_face_processes_checkpoints_and_hands_over(clients):
    kinesis, dynamodb = clients
    create_stream(kinesis, "async-stream", 1)
    written = put_records(kinesis, "async-stream", 30, "a")
    seen: list[str] = []

    class Collector(AsyncRecordProcessor):
        async def process_records(self, input):
            seen.extend(record.sequence_number for record in input.records)
            await input.checkpointer.checkpoint()

        async def shard_ended(self, input):
            await input.checkpointer.checkpoint()

    config = ConsumerConfig(
        "async-app",
        "async-stream",
        worker_id="aio",
        failover_time_millis=2000,
        max_records=7,
        idle_time_between_reads_millis=50,
        throughput_backoff_millis=100,
    )
    worker = AsyncWorker(config, Collector, kinesis, dynamodb)

    async def main() -> None:
        running = asyncio.create_task(worker.run())
        while len(seen) < len(written) and not running.done():
            await asyncio.sleep(0.05)
        await worker.shutdown()
        await asyncio.wait_for(running, 60)

    asyncio.run(main())
    assert seen == sorted((seq for _, seq in written), key=int)
    row = lease_rows(dynamodb, "async-app")["shardId-000000000000"]
    assert row["checkpoint"]["S"] == seen[-1] and "leaseOwner" not in row


def test_shard_sync_pages_through_shards_and_starts_leases_where_kcl_does(clients):
    kinesis, dynamodb = clients
    create_stream(kinesis, "synced", 2)
    kinesis.split_shard(
        StreamName="synced", ShardToSplit="shardId-000000000000", NewStartingHashKey=str(2**126)
    )
    wait_until(lambda: len(list_shards(kinesis, "synced")) == 4, "split applied")
    assert [s["ShardId"] for s in list_shards(kinesis, "synced", page_size=1)] == [
        f"shardId-00000000000{i}" for i in range(4)
    ]
    table = LeaseTable(dynamodb, "sync-app")
    table.create_if_missing()
    config = ConsumerConfig("sync-app", "synced", initial_position="LATEST")
    assert sync_shards(kinesis, table, config) == 4
    leases = {lease.lease_key: lease for lease in table.list_leases()}
    assert {k: v.checkpoint.sequence_number for k, v in leases.items()} == {
        "shardId-000000000000": "SHARD_END",  # closed before the first start: nothing new on it
        "shardId-000000000001": "LATEST",
        "shardId-000000000002": "LATEST",
        "shardId-000000000003": "LATEST",
    }
    assert leases["shardId-000000000002"].parent_shard_ids == {"shardId-000000000000"}
    assert sync_shards(kinesis, table, config) == 0
    kinesis.merge_shards(
        StreamName="synced", ShardToMerge="shardId-000000000002", AdjacentShardToMerge="shardId-000000000003"
    )
    wait_until(lambda: len(list_shards(kinesis, "synced")) == 5, "merge applied")
    assert sync_shards(kinesis, table, config) == 1
    merged = table.get_lease("shardId-000000000004")
    assert merged.checkpoint.sequence_number == "TRIM_HORIZON"  # a child is read from its start
    assert merged.parent_shard_ids == {"shardId-000000000002", "shardId-000000000003"}


def test_polling_renews_an_expired_iterator_after_the_last_record_and_backs_off_when_throttled():
    """AWS answers scripted with botocore's Stubber (an expired iterator takes 5 minutes to get
    from a real server); the fetcher's requests are checked against the Kinesis model."""
    import boto3
    from botocore.stub import Stubber

    from tidestream.consumer.retrieval import PollingFetcher

    kinesis = boto3.client(
        "kinesis", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b"
    )
    stub = Stubber(kinesis)
    shard = {"StreamName": "s", "ShardId": "shardId-000000000000"}
    record = {"SequenceNumber": "11", "PartitionKey": "k", "Data": b"x"}
    stub.add_response(
        "get_shard_iterator",
        {"ShardIterator": "i" * 10},
        {**shard, "ShardIteratorType": "AT_SEQUENCE_NUMBER", "StartingSequenceNumber": "7"},
    )
    stub.add_response(
        "get_records",
        {"Records": [record], "NextShardIterator": "j" * 10, "MillisBehindLatest": 5},
        {"ShardIterator": "i" * 10, "Limit": 3},
    )
    stub.add_client_error("get_records", "ExpiredIteratorException", http_status_code=400)
    stub.add_response(
        "get_shard_iterator",
        {"ShardIterator": "k" * 10},
        {**shard, "ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "StartingSequenceNumber": "11"},
    )
    stub.add_client_error("get_records", "ProvisionedThroughputExceededException", http_status_code=400)
    stub.add_response(
        "get_records",
        {
            "Records": [{**record, "SequenceNumber": "12"}],
            "MillisBehindLatest": 0,
            "ChildShards": [
                {
                    "ShardId": "shardId-000000000002",
                    "ParentShards": ["shardId-000000000000"],
                    "HashKeyRange": {"StartingHashKey": "0", "EndingHashKey": "9"},
                }
            ],
        },
        {"ShardIterator": "k" * 10, "Limit": 3},
    )
    config = ConsumerConfig(
        "app",
        "s",
        max_records=3,
        idle_time_between_reads_millis=1,
        throughput_backoff_millis=1,
        max_throughput_backoff_millis=4,
    )
    fetcher = PollingFetcher(
        kinesis, config, "shardId-000000000000", ExtendedSequenceNumber("7"), threading.Event()
    )
    with stub:
        first = fetcher.get_records()
        assert [r.sequence_number for r in first.records] == ["11"] and first.millis_behind_latest == 5
        throttled = fetcher.get_records()  # expired -> renewed after 11 -> throttled
        assert throttled.records == [] and not throttled.shard_ended and fetcher.backoff > 0
        last = fetcher.get_records()
        assert [r.sequence_number for r in last.records] == ["12"] and last.shard_ended
        assert last.child_shard_ids == {"shardId-000000000002"} and fetcher.backoff == 0
        stub.assert_no_pending_responses()


def test_fanout_sessions_that_end_mid_consumption_lose_and_repeat_nothing(efo_server):
    """Subscriptions end every 2 s here (5 minutes on AWS) while records keep arriving: each
    resubscription starts after the last ContinuationSequenceNumber, and the stream consumer
    registered by the first worker is reused by the next one."""
    from tidestream.consumer.fanout import FanOutFetcher, StreamConsumerRegistration

    kinesis = efo_server.client("kinesis")
    create_stream(kinesis, "sessions", 1)
    config = ConsumerConfig("app-efo", "sessions", retrieval="fanout", throughput_backoff_millis=100)
    registration = StreamConsumerRegistration(kinesis, "sessions", config.stream_consumer_name)
    fetcher = FanOutFetcher(
        kinesis,
        config,
        "shardId-000000000000",
        ExtendedSequenceNumber("TRIM_HORIZON"),
        threading.Event(),
        registration,
    )
    written: list[str] = []
    received: list[str] = []

    def read_and_count() -> int:
        received.extend(record.sequence_number for record in fetcher.get_records().records)
        return len(received)

    try:
        for round_number in range(5):
            written += sorted(
                (seq for _, seq in put_records(kinesis, "sessions", 5, f"r{round_number}")), key=int
            )
            next_session = fetcher.subscriptions + 1
            # this round's records arrive, then the session ends and the next one begins
            wait_until(
                lambda next_session=next_session, written=written: (
                    read_and_count() >= len(written) and fetcher.subscriptions >= next_session
                ),
                f"round {round_number} received and a new session started",
            )
    finally:
        fetcher.close()
    assert received == written
    consumers = kinesis.list_stream_consumers(
        StreamARN=kinesis.describe_stream_summary(StreamName="sessions")["StreamDescriptionSummary"][
            "StreamARN"
        ]
    )["Consumers"]
    assert [c["ConsumerName"] for c in consumers] == ["app-efo"]
    again = StreamConsumerRegistration(kinesis, "sessions", "app-efo").consumer_arn()
    assert again == registration.consumer_arn() == consumers[0]["ConsumerARN"]


class KplCollector(RecordProcessor):
    """Collects (sequence, sub-sequence, data); on its first batch tries the checkpoints the test
    names and records which were refused."""

    def __init__(self, seen: list, checkpoints: list, refused: list) -> None:
        self.seen, self.checkpoints, self.refused = seen, checkpoints, refused

    def process_records(self, input) -> None:
        self.seen.extend(
            (r.sequence_number, r.sub_sequence_number, r.data.decode(), r.partition_key, r.aggregated)
            for r in input.records
        )
        while self.checkpoints:
            sequence_number, sub_sequence_number = self.checkpoints.pop(0)
            try:
                input.checkpointer.checkpoint(sequence_number, sub_sequence_number)
            except ValueError:
                self.refused.append((sequence_number, sub_sequence_number))

    def shard_ended(self, input) -> None:
        input.checkpointer.checkpoint()


def test_kpl_aggregates_are_deaggregated_and_resumed_by_sub_sequence_number(retrieval):
    """Aggregates written with the KPL framing (tests/unit/test_kpl.py's writer) reach the
    processor as user records; a checkpoint inside an aggregate is written with its sub-sequence
    number, and the next worker resumes right after that user record, not after the aggregate."""
    from tests.unit.test_kpl import aggregate

    server, mode = retrieval
    kinesis, dynamodb = server.client("kinesis"), server.client("dynamodb")
    stream, app = f"kpl-{mode}", f"kpl-app-{mode}"
    create_stream(kinesis, stream, 1)
    sequences = [
        kinesis.put_record(
            StreamName=stream,
            PartitionKey=f"outer{a}",
            Data=aggregate([(f"pk{a}-{u}", None, f"a{a}-u{u}".encode()) for u in range(4)]),
        )["SequenceNumber"]
        for a in range(3)
    ]
    plain = kinesis.put_record(StreamName=stream, PartitionKey="plain", Data=b"plain")["SequenceNumber"]

    def run_worker(worker_id: str, checkpoints: list, want: int) -> tuple[list, list]:
        seen: list = []
        refused: list = []
        config = ConsumerConfig(
            app,
            stream,
            worker_id=worker_id,
            retrieval=mode,
            failover_time_millis=2000,
            idle_time_between_reads_millis=100,
            throughput_backoff_millis=100,
        )
        worker = Worker(config, lambda: KplCollector(seen, checkpoints, refused), kinesis, dynamodb).start()
        try:
            wait_until(lambda: len(seen) >= want and not checkpoints, f"{worker_id}: {want} user records")
        finally:
            assert worker.shutdown(30)
        return seen, refused

    middle = sequences[1]
    seen, refused = run_worker("kpl-1", [(plain, 1), (middle, 2), (middle, 1)], 13)
    assert [(s, sub, data) for s, sub, data, _, _ in seen] == [
        *[(sequences[a], u, f"a{a}-u{u}") for a in range(3) for u in range(4)],
        (plain, 0, "plain"),
    ]
    assert [(pk, aggregated) for *_, pk, aggregated in seen[:2]] == [("pk0-0", True), ("pk0-1", True)]
    assert seen[-1][3:] == ("plain", False)
    # past the last delivered user record, and behind the checkpoint: refused, nothing written
    assert refused == [(plain, 1), (middle, 1)]
    row = lease_rows(dynamodb, app)["shardId-000000000000"]
    assert (row["checkpoint"]["S"], row["checkpointSubSequenceNumber"]["N"]) == (middle, "2")

    resumed, _ = run_worker("kpl-2", [], 6)
    assert [(s, sub, data) for s, sub, data, _, _ in resumed] == [
        (middle, 3, "a1-u3"),
        *[(sequences[2], u, f"a2-u{u}") for u in range(4)],
        (plain, 0, "plain"),
    ]


class ChangeCollector(RecordProcessor):
    """Decodes each record's data (the DynamoDB Streams record as JSON) and checkpoints each batch."""

    def __init__(self, changes: list) -> None:
        self.changes = changes

    def process_records(self, input) -> None:
        import json

        from tidestream.consumer import decode_stream_record

        for record in input.records:
            change = decode_stream_record(json.loads(record.data), "streamed")
            assert change.sequence_number == record.sequence_number
            self.changes.append(
                (
                    change.event_name,
                    change.keys["pk"],
                    (change.new_image or {}).get("n"),
                    (change.old_image or {}).get("n"),
                )
            )
        input.checkpointer.checkpoint()

    def shard_ended(self, input) -> None:
        input.checkpointer.checkpoint()


def test_a_tables_dynamodb_stream_is_a_source_for_the_same_worker(srv):
    """The DynamoDB Streams adapter: shards from DescribeStream, records from GetRecords, each
    record's data the stream record's JSON; checkpoints in the same lease table, resumed by the
    next worker."""
    from tidestream.consumer.dynamodb_streams import DynamoDBStreamsAdapter

    dynamodb, streams = srv.client("dynamodb"), srv.client("dynamodbstreams")
    arn = dynamodb.create_table(
        TableName="streamed",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]["LatestStreamArn"]
    for i in range(5):
        dynamodb.put_item(TableName="streamed", Item={"pk": {"S": f"k{i}"}, "n": {"N": str(i)}})
    dynamodb.update_item(
        TableName="streamed",
        Key={"pk": {"S": "k1"}},
        UpdateExpression="SET n = :n",
        ExpressionAttributeValues={":n": {"N": "10"}},
    )
    dynamodb.delete_item(TableName="streamed", Key={"pk": {"S": "k2"}})
    adapter = DynamoDBStreamsAdapter(streams)

    def consume(worker_id: str, want: int) -> list:
        changes: list = []
        config = ConsumerConfig(
            "streams-app",
            arn,
            worker_id=worker_id,
            failover_time_millis=2000,
            idle_time_between_reads_millis=100,
            initial_position="TRIM_HORIZON",
        )
        worker = Worker(config, lambda: ChangeCollector(changes), adapter, dynamodb).start()
        try:
            wait_until(lambda: len(changes) >= want, f"{worker_id}: {want} changes")
        finally:
            assert worker.shutdown(30)
        return changes

    first = consume("streams-1", 7)
    assert first == [
        *[("INSERT", f"k{i}", i, None) for i in range(5)],
        ("MODIFY", "k1", 10, 1),
        ("REMOVE", "k2", None, 2),
    ]
    dynamodb.put_item(TableName="streamed", Item={"pk": {"S": "k9"}, "n": {"N": "9"}})
    assert consume("streams-2", 1) == [("INSERT", "k9", 9, None)]  # resumed after the checkpoint
    shards = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    rows = lease_rows(dynamodb, "streams-app")
    assert set(rows) == {shard["ShardId"] for shard in shards}
    last = streams.get_records(
        ShardIterator=streams.get_shard_iterator(
            StreamArn=arn, ShardId=shards[-1]["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
    )["Records"]
    assert checkpoint_of(rows, shards[-1]["ShardId"]) == last[-1]["dynamodb"]["SequenceNumber"]


def test_fanout_survives_the_server_dying_mid_subscription(tmp_path):
    """A SIGKILLed server breaks the subscription's connection mid-session: the fetcher backs off,
    resubscribes once the server is back, and continues after the last event it received."""
    from tidestream.consumer.fanout import FanOutFetcher, StreamConsumerRegistration

    server = start_server(tmp_path, "--efo-heartbeat-seconds", "0.3")
    try:
        kinesis = server.client("kinesis")
        create_stream(kinesis, "crashing", 1)
        config = ConsumerConfig(
            "app-crash",
            "crashing",
            retrieval="fanout",
            throughput_backoff_millis=100,
            max_throughput_backoff_millis=500,
        )
        fetcher = FanOutFetcher(
            kinesis,
            config,
            "shardId-000000000000",
            ExtendedSequenceNumber("TRIM_HORIZON"),
            threading.Event(),
            StreamConsumerRegistration(kinesis, "crashing", "app-crash"),
        )
        received: list[str] = []

        def read_and_count() -> int:
            received.extend(record.sequence_number for record in fetcher.get_records().records)
            return len(received)

        written = sorted((seq for _, seq in put_records(kinesis, "crashing", 5, "before")), key=int)
        wait_until(lambda: read_and_count() >= 5, "records before the crash")
        server.kill()
        server.start()
        written += sorted((seq for _, seq in put_records(kinesis, "crashing", 5, "after")), key=int)
        wait_until(lambda: read_and_count() >= 10, "records after the restart")
        fetcher.close()
        assert received == written and fetcher.subscriptions >= 2
    finally:
        server.stop()
