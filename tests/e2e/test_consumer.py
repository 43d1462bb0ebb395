"""The KCL-compatible consumer runtime (tidestream.consumer) against a real server: worker
processes coordinating through the lease table, crashes, graceful hand-over and resharding.

Workers are separate processes (tests/e2e/consumer_worker.py) appending every processor event to
one shared log; the log's line order is the order of events across all workers. Nothing waits on
the wall clock: every wait polls the lease table or the log.
"""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest

from tests.e2e.consumer_helpers import (checkpoint_of, create_stream, deliveries, delivered_keys, lease_rows,
                                        owners, put_records, read_events, settled, start_worker, stop_all,
                                        wait_until)

LEASE_ATTRIBUTES = {"leaseKey": "S", "leaseCounter": "N", "checkpoint": "S",
                    "checkpointSubSequenceNumber": "N", "ownerSwitchesSinceCheckpoint": "N",
                    "startingHashKey": "S", "endingHashKey": "S"}


@pytest.fixture
def clients(srv):
    return srv.client("kinesis"), srv.client("dynamodb")


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
        later = [int(e["seq"]) for e in deliveries(events) if e["order"] > init["order"]
                 and e["worker"] == init["worker"] and e["shard"] == init["shard"]]
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
    wait_until(lambda: all(checkpoint_of(lease_rows(dynamodb, "app-a"), shard) == seq
                           for shard, seq in final.items()), "checkpoints at the last records", workers=workers)

    rows = lease_rows(dynamodb, "app-a")
    table = dynamodb.describe_table(TableName="app-a")["Table"]
    assert table["KeySchema"] == [{"AttributeName": "leaseKey", "KeyType": "HASH"}]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    for item in rows.values():       # KCL's attribute names and types
        for name, kind in LEASE_ATTRIBUTES.items():
            assert kind in item[name], (name, item)
        assert item["leaseOwner"] == {"S": "w1"}
        assert "parentShardId" not in item

    workers[0].kill()            # a crash after the checkpoints: nothing may be re-delivered
    second = put_records(kinesis, "orders", 40, "second")
    workers.append(start_worker(srv.endpoint, tmp_path, "orders", "app-a", "w2", log))
    wait_until(lambda: delivered_keys(read_events(log)) >= first | second, "the new records processed",
               workers=workers)
    events = read_events(log)
    by_w2 = [(e["shard"], e["seq"]) for e in deliveries(events) if e["worker"] == "w2"]
    assert set(by_w2) == second and len(by_w2) == len(second)
    assert [e["checkpoint"] for e in events if e["event"] == "initialize" and e["worker"] == "w2"] != []
    assert Counter(k for k in ((e["shard"], e["seq"]) for e in deliveries(events))).most_common(1)[0][1] == 1
    for shard in final:              # per-shard order is the stream's order
        seqs = [int(e["seq"]) for e in deliveries(events) if e["shard"] == shard]
        assert seqs == sorted(seqs)
    assert owners(lease_rows(dynamodb, "app-a")) == {shard: "w2" for shard in final}
    assert_resumed_right_after_checkpoint(events, first | second)


def test_three_workers_share_four_shards_and_survive_a_sigkill(clients, srv, tmp_path, workers):
    kinesis, dynamodb = clients
    create_stream(kinesis, "clicks", 4)
    log = tmp_path / "events.log"
    for name in ("w1", "w2", "w3"):
        workers.append(start_worker(srv.endpoint, tmp_path, "clicks", "app-b", name, log,
                                    checkpoint_every=2, max_records=5))

    def balanced():
        lease_owners = owners(lease_rows(dynamodb, "app-b"))
        held = Counter(lease_owners.values())
        return (len(lease_owners) == 4 and set(held) == {"w1", "w2", "w3"}
                and settled(read_events(log), lease_owners) and held)

    held = wait_until(balanced, "each of three workers holding a lease", workers=workers)
    assert sum(held.values()) == 4
    first = put_records(kinesis, "clicks", 80, "first")
    wait_until(lambda: delivered_keys(read_events(log)) >= first, "first records processed", workers=workers)

    victim = workers[1]
    victim_shards = {shard for shard, owner in owners(lease_rows(dynamodb, "app-b")).items() if owner == "w2"}
    assert victim_shards
    second = put_records(kinesis, "clicks", 120, "second")
    wait_until(lambda: any(e["worker"] == "w2" and e["data"].startswith("second")
                           for e in deliveries(read_events(log))), "the victim processing", workers=workers)
    victim.kill()
    wait_until(lambda: set(owners(lease_rows(dynamodb, "app-b")).values()) <= {"w1", "w3"},
               "the victim's leases taken over", workers=workers)
    third = put_records(kinesis, "clicks", 40, "third")
    written = first | second | third
    wait_until(lambda: delivered_keys(read_events(log)) >= written, "every record processed", workers=workers)

    events = read_events(log)
    assert delivered_keys(events) == written
    assert_never_redelivered_behind_a_checkpoint(events)
    assert_resumed_right_after_checkpoint(events, written)
    survivors_init = {e["shard"] for e in events if e["event"] == "initialize" and e["worker"] != "w2"
                      and e["order"] > max(x["order"] for x in events if x["worker"] == "w2")}
    assert victim_shards <= survivors_init
    rows = lease_rows(dynamodb, "app-b")
    assert all(int(rows[s]["ownerSwitchesSinceCheckpoint"]["N"]) >= 0 for s in rows)


def test_graceful_shutdown_hands_leases_over_without_duplicates(clients, srv, tmp_path, workers):
    kinesis, dynamodb = clients
    create_stream(kinesis, "payments", 2)
    log = tmp_path / "events.log"
    # checkpoints only at shutdown: without the hand-off checkpoint every record would come again
    for name in ("w1", "w2"):
        workers.append(start_worker(srv.endpoint, tmp_path, "payments", "app-c", name, log, checkpoint_every=0))
    wait_until(lambda: Counter((o := owners(lease_rows(dynamodb, "app-c"))).values()) == Counter(["w1", "w2"])
               and settled(read_events(log), o), "one lease each, balancing over", workers=workers)
    first = put_records(kinesis, "payments", 60, "first")
    wait_until(lambda: delivered_keys(read_events(log)) >= first, "first records processed", workers=workers)
    w1_shard = next(s for s, o in owners(lease_rows(dynamodb, "app-c")).items() if o == "w1")

    assert workers[0].terminate() == 0
    rows = lease_rows(dynamodb, "app-c")
    last_of_w1 = last_sequence_per_shard({k for k in first if k[0] == w1_shard})[w1_shard]
    assert checkpoint_of(rows, w1_shard) == last_of_w1
    assert owners(rows)[w1_shard] in (None, "w2")   # released (or already taken by w2)
    wait_until(lambda: set(owners(lease_rows(dynamodb, "app-c")).values()) == {"w2"}, "w2 holding both",
               workers=workers)
    second = put_records(kinesis, "payments", 60, "second")
    wait_until(lambda: delivered_keys(read_events(log)) >= first | second, "second records processed",
               workers=workers)
    assert workers[1].terminate() == 0

    events = read_events(log)
    counts = Counter((e["shard"], e["seq"]) for e in deliveries(events))
    assert set(counts) == first | second and max(counts.values()) == 1
    assert [e["event"] for e in events if e["worker"] == "w1" and e["shard"] == w1_shard][-2:] == \
        ["shutdown_requested", "checkpoint"]
    handed = [e for e in events if e["event"] == "initialize" and e["worker"] == "w2" and e["shard"] == w1_shard]
    assert handed and handed[-1]["checkpoint"] == last_of_w1
    final = lease_rows(dynamodb, "app-c")
    assert set(owners(final).values()) == {None}      # w2 released everything at its own shutdown


def test_split_and_merge_parents_are_processed_before_children(clients, srv, tmp_path, workers):
    kinesis, dynamodb = clients
    create_stream(kinesis, "events", 2)
    written = put_records(kinesis, "events", 300, "before")
    log = tmp_path / "events.log"
    workers.append(start_worker(srv.endpoint, tmp_path, "events", "app-d", "w1", log))
    # reshard while the parent still has a backlog: its children become readable long before
    # the parent is drained, so only the parent gate keeps their records back
    wait_until(lambda: deliveries(read_events(log)), "consumption started", workers=workers)
    shard0 = kinesis.list_shards(StreamName="events")["Shards"][0]
    low, high = int(shard0["HashKeyRange"]["StartingHashKey"]), int(shard0["HashKeyRange"]["EndingHashKey"])
    kinesis.split_shard(StreamName="events", ShardToSplit=shard0["ShardId"],
                        NewStartingHashKey=str((low + high) // 2))
    parent_backlog = {k for k in written if k[0] == shard0["ShardId"]} - delivered_keys(read_events(log))
    assert parent_backlog    # the scenario needs a parent not yet drained when its children appear
    wait_until(lambda: len(kinesis.list_shards(StreamName="events")["Shards"]) == 4, "split applied")
    written |= put_records(kinesis, "events", 80, "split")
    children = [s["ShardId"] for s in kinesis.list_shards(StreamName="events")["Shards"]
                if s.get("ParentShardId") == shard0["ShardId"]]
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
    rows = wait_until(lambda: (r := lease_rows(dynamodb, "app-d")) and all(
        checkpoint_of(r, s) == "SHARD_END" for s in (shard0["ShardId"], *children)) and r,
        "closed shards at SHARD_END", workers=workers)
    assert set(rows[shard0["ShardId"]]["childShardIds"]["SS"]) == set(children)
    merged = shards[-1]["ShardId"]
    assert set(rows[merged]["parentShardId"]["SS"]) == set(children)
    assert set(rows[children[0]]["parentShardId"]["SS"]) == {shard0["ShardId"]}
    assert rows[children[0]]["childShardIds"]["SS"] == [merged]
    ended = [e["shard"] for e in events if e["event"] == "shard_ended"]
    assert sorted(ended) == sorted([shard0["ShardId"], *children])
