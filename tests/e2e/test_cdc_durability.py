"""Change capture survives kill -9: every acknowledged change reaches the stream after restart."""

from __future__ import annotations

import json
import threading
import time

import pytest
from botocore.exceptions import BotoCoreError, ClientError

from tests.conftest import start_server
from tests.e2e.cdc_helpers import read_all, setup_cdc


def _writer(client, n: int, acked: list, stop: threading.Event) -> None:
    i = 0
    while not stop.is_set():
        key = f"w{n}-{i}"
        try:
            kind = i % 4
            if kind == 0:
                client.put_item(TableName="orders", Item={"pk": {"S": key}, "v": {"N": str(i)}})
            elif kind == 1:
                client.update_item(
                    TableName="orders",
                    Key={"pk": {"S": key}},
                    UpdateExpression="SET v = :v",
                    ExpressionAttributeValues={":v": {"N": str(i)}},
                )
            elif kind == 2:
                client.batch_write_item(
                    RequestItems={
                        "orders": [{"PutRequest": {"Item": {"pk": {"S": key}, "v": {"N": str(i)}}}}]
                    }
                )
            else:
                client.transact_write_items(
                    TransactItems=[
                        {"Put": {"TableName": "orders", "Item": {"pk": {"S": key}, "v": {"N": str(i)}}}}
                    ]
                )
        except (BotoCoreError, ClientError, OSError):
            return
        acked.append(key)
        i += 1


@pytest.mark.slow
def test_sigkill_loses_no_acknowledged_change(tmp_path):
    s = start_server(tmp_path)  # strict durability
    setup_cdc(s, shards=2)
    acked: list[list[str]] = [[] for _ in range(4)]
    stop = threading.Event()
    threads = [threading.Thread(target=_writer, args=(s.client(), n, acked[n], stop)) for n in range(4)]
    for t in threads:
        t.start()
    while sum(map(len, acked)) < 300:
        time.sleep(0.01)
    s.kill()
    stop.set()
    for t in threads:
        t.join(10)
    s2 = start_server(tmp_path)
    try:
        kin = s2.client("kinesis")
        want = {k for keys in acked for k in keys}
        deadline = time.time() + 20
        got: set[str] = set()
        while time.time() < deadline:
            got = {json.loads(r["Data"])["dynamodb"]["Keys"]["pk"]["S"] for r in read_all(kin, "changes")}
            if want <= got:
                break
            time.sleep(0.1)
        missing = want - got
        assert not missing, (
            f"{len(missing)} acknowledged changes never reached the stream, e.g. {sorted(missing)[:5]}"
        )
    finally:
        s2.stop()


@pytest.mark.slow
def test_chaos_duplicates_and_reorders_but_never_loses(tmp_path):
    s = start_server(
        tmp_path, "--cdc-chaos", "duplicate=0.3,reorder=0.3,delay-ms=30", "--durability", "relaxed"
    )
    try:
        ddb, kin, _ = setup_cdc(s, shards=1)
        for i in range(60):
            ddb.put_item(TableName="orders", Item={"pk": {"S": f"k{i}"}})
        deadline = time.time() + 20
        recs: list[dict] = []
        while time.time() < deadline:
            recs = [json.loads(r["Data"]) for r in read_all(kin, "changes")]
            if {r["dynamodb"]["Keys"]["pk"]["S"] for r in recs} >= {f"k{i}" for i in range(60)} and len(
                recs
            ) > 60:
                break
            time.sleep(0.05)
        keys = [r["dynamodb"]["Keys"]["pk"]["S"] for r in recs]
        assert set(keys) == {f"k{i}" for i in range(60)}
        ids = [r["eventID"] for r in recs]
        assert len(ids) > len(set(ids)), "chaos produced no duplicate"
        assert keys != sorted(keys, key=lambda k: int(k[1:])), "chaos produced no reordering"
    finally:
        s.stop()


def test_changes_pending_at_a_crash_are_published_without_new_writes(tmp_path):
    """A restart publishes what the outbox still holds at once, not at the next table write."""
    s = start_server(tmp_path, "--kinesis-limits", "on")
    ddb, kin, _ = setup_cdc(s, shards=1)  # one PROVISIONED shard: 1,000 records/s, so a backlog builds
    for b in range(80):
        ddb.batch_write_item(
            RequestItems={"orders": [{"PutRequest": {"Item": {"pk": {"S": f"k{b}-{i}"}}}} for i in range(25)]}
        )
    s.kill()  # 2,000 changes acknowledged; some are certainly still in the outbox
    s2 = start_server(tmp_path, "--kinesis-limits", "on")
    try:
        kin = s2.client("kinesis")
        deadline = time.time() + 20
        got: set[str] = set()
        while time.time() < deadline and len(got) < 2000:
            got = {json.loads(r["Data"])["dynamodb"]["Keys"]["pk"]["S"] for r in read_all(kin, "changes")}
            time.sleep(0.2)
        assert len(got) == 2000, f"{2000 - len(got)} changes still unpublished after restart"
    finally:
        s2.stop()


def test_sigkill_after_inline_appends_issues_no_sequence_number_twice(tmp_path):
    """Changes appended in their item's commit don't write the shard counter's row; after a
    kill -9 the restarted server takes the counter from the shard's last record, so the next
    changes neither overwrite records nor repeat a sequence number."""
    s = start_server(tmp_path)
    ddb, _, _ = setup_cdc(s, shards=1)
    for i in range(30):  # one at a time, nothing waits in the outbox: each goes inline
        ddb.put_item(TableName="orders", Item={"pk": {"S": f"before{i}"}})
    s.kill()
    s2 = start_server(tmp_path)
    try:
        ddb2, kin = s2.client("dynamodb"), s2.client("kinesis")
        for i in range(30):
            ddb2.put_item(TableName="orders", Item={"pk": {"S": f"after{i}"}})
        want = {f"before{i}" for i in range(30)} | {f"after{i}" for i in range(30)}
        deadline = time.time() + 20
        records: list[dict] = []
        while time.time() < deadline and len(records) < len(want):
            time.sleep(0.3)  # a shard takes 5 GetRecords calls per second
            records = read_all(kin, "changes")
        keys = [json.loads(r["Data"])["dynamodb"]["Keys"]["pk"]["S"] for r in records]
        assert set(keys) == want and len(keys) == len(want)
        numbers = [int(r["SequenceNumber"]) for r in records]
        assert numbers == sorted(set(numbers)), "a sequence number was issued twice or out of order"
    finally:
        s2.stop()


def test_clean_stop_writes_the_shard_counter_rows_inline_appends_left_behind(tmp_path):
    """A clean stop leaves each shard counter's row current (a release that trusts the rows
    alone can then take over the data dir): checked in the raw store after SIGTERM."""
    from rocksdict import AccessType, Options, Rdict

    from tidestream.kinesis import records

    s = start_server(tmp_path)
    ddb, _, _ = setup_cdc(s, shards=1)
    for i in range(5):
        ddb.put_item(TableName="orders", Item={"pk": {"S": f"k{i}"}})
    assert s.stop() == 0
    db = Rdict(str(tmp_path / "data" / "store"), Options(raw_mode=True), access_type=AccessType.read_only())
    try:
        stored = list(db.items())
    finally:
        db.close()
    rows = [records.decode_counter(v)[0] for k, v in stored if k.startswith(records.COUNTER_PREFIX)]
    last = [k for k, _ in stored if k.startswith(records.PREFIX)][-1]
    assert rows == [5] and int.from_bytes(last[-8:], "big") == 5
