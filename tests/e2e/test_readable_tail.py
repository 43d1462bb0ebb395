"""Readers never see a record before its fsync (strict durability): the readable tail.

The server runs with ``TIDESTREAM_TEST_FSYNC_HOLD`` (storage/engine.py ``hold_fsync``): a file
that makes group-commit fsyncs wait, so a test can read between a write and its fsync. The
server is idle apart from the test's own calls (no TTL, no retention work due), so the first
fsync held after a write is the one covering it. A power loss at that moment would take the
record back; no reader (GetRecords, GetShardIterator LATEST / AT_TIMESTAMP, SubscribeToShard's
read, DynamoDB Streams GetRecords) may see it, and none may skip it once it is durable.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import start_server
from tests.e2e.cdc_helpers import setup_cdc

#: generous: only a stuck server gets near it (never a timing assert)
DEADLINE = 60.0


class FsyncGate:
    """The test's side of ``hold_fsync``: hold every fsync, let some through, open."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.held = Path(str(path) + ".held")

    def _write(self, text: str) -> None:
        tmp = Path(str(self.path) + ".test-tmp")
        tmp.write_text(text)
        os.replace(tmp, self.path)

    def hold(self) -> None:
        self._write("0")

    def let_one_through(self) -> None:
        self._write("1")

    def open(self) -> None:
        self.path.unlink(missing_ok=True)

    def wait_held(self, count: int) -> None:
        """Until the server's *count*-th held fsync is waiting."""
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            if self.held.exists() and self.held.read_text() == str(count):
                return
            time.sleep(0.01)
        raise AssertionError(f"fsync number {count} never reached the gate")


class Background:
    """A call running in a thread (it returns only once its fsync is done)."""

    def __init__(self, call: Callable[[], Any]) -> None:
        self.result: Any = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(call,), daemon=True)
        self._thread.start()

    def _run(self, call: Callable[[], Any]) -> None:
        try:
            self.result = call()
        except BaseException as exc:  # noqa: BLE001 - re-raised by join()
            self.error = exc

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def join(self) -> Any:
        self._thread.join(DEADLINE)
        assert not self._thread.is_alive(), "the call never returned"
        if self.error is not None:
            raise self.error
        return self.result


@pytest.fixture(params=["rocksdb", "postgresql"])
def gated(tmp_path, monkeypatch, request):
    """A strict server whose fsyncs (RocksDB) or group flushes (PostgreSQL) wait at the gate."""
    store: list[str] = []
    if request.param == "postgresql":
        pg = request.getfixturevalue("postgres")
        store = ["--store", pg.create_database("t_" + re.sub(r"\W", "_", request.node.name.lower())[:50])]
    gate = FsyncGate(tmp_path / "fsync-hold")
    monkeypatch.setenv("TIDESTREAM_TEST_FSYNC_HOLD", str(gate.path))
    server = start_server(tmp_path, "--durability", "strict", "--kinesis-limits", "off", *store)
    yield server, gate
    gate.open()
    server.stop()


def _shard_iterator(kin, stream: str, kind: str, **kw) -> str:
    shard = kin.list_shards(StreamName=stream)["Shards"][0]["ShardId"]
    return kin.get_shard_iterator(StreamName=stream, ShardId=shard, ShardIteratorType=kind, **kw)[
        "ShardIterator"
    ]


def test_put_records_unreadable_until_fsynced(gated):
    server, gate = gated
    kin = server.client("kinesis")
    kin.create_stream(StreamName="tail", ShardCount=1)
    horizon = _shard_iterator(kin, "tail", "TRIM_HORIZON")
    before = time.time() - 1
    gate.hold()
    put = Background(
        lambda: kin.put_records(StreamName="tail", Records=[{"Data": b"one", "PartitionKey": "a"}])
    )
    gate.wait_held(1)
    reader = server.client("kinesis")
    assert reader.get_records(ShardIterator=horizon)["Records"] == []
    at_time = _shard_iterator(reader, "tail", "AT_TIMESTAMP", Timestamp=before)
    assert reader.get_records(ShardIterator=at_time)["Records"] == []
    latest = _shard_iterator(reader, "tail", "LATEST")  # taken before the put is acknowledged
    assert put.running  # the put waits for the fsync held at the gate
    gate.open()
    sequence = put.join()["Records"][0]["SequenceNumber"]
    for iterator in (horizon, at_time, latest):  # durable now: readable, and nobody skips it
        records = reader.get_records(ShardIterator=iterator)["Records"]
        assert [(r["SequenceNumber"], r["Data"]) for r in records] == [(sequence, b"one")]


def test_dynamodb_streams_record_unreadable_until_fsynced(gated):
    server, gate = gated
    ddb, streams = server.client("dynamodb"), server.client("dynamodbstreams")
    arn = ddb.create_table(
        TableName="tailed",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )["TableDescription"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    horizon = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]
    gate.hold()
    put = Background(lambda: ddb.put_item(TableName="tailed", Item={"id": {"S": "x"}}))
    gate.wait_held(1)
    reader = server.client("dynamodbstreams")
    assert reader.get_records(ShardIterator=horizon)["Records"] == []
    latest = reader.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="LATEST")[
        "ShardIterator"
    ]
    assert put.running
    gate.open()
    put.join()
    for iterator in (horizon, latest):
        records = reader.get_records(ShardIterator=iterator)["Records"]
        assert [r["dynamodb"]["NewImage"] for r in records] == [{"id": {"S": "x"}}]


def test_change_records_unreadable_until_fsynced(gated):
    """A commit's first change is appended in the item's own commit (readable with its fsync);
    the second waits in the outbox, and the publisher's append of it waits for an fsync of its
    own before a reader may see it."""
    server, gate = gated
    ddb, kin, _arn = setup_cdc(server, table="orders", stream="changes", shards=1)
    horizon = _shard_iterator(kin, "changes", "TRIM_HORIZON")
    gate.hold()
    items = [{"PutRequest": {"Item": {"pk": {"S": key}}}} for key in ("k1", "k2")]
    put = Background(lambda: ddb.batch_write_item(RequestItems={"orders": items}))
    gate.wait_held(1)  # the items' commit, holding the first change record
    assert kin.get_records(ShardIterator=horizon)["Records"] == []
    gate.let_one_through()
    assert put.join()["UnprocessedItems"] == {}
    gate.wait_held(2)  # the publisher's append of the second change record
    first = kin.get_records(ShardIterator=horizon)
    assert [json.loads(r["Data"])["dynamodb"]["Keys"] for r in first["Records"]] == [{"pk": {"S": "k1"}}]
    gate.open()
    deadline = time.monotonic() + DEADLINE
    second: list = []
    while not second and time.monotonic() < deadline:
        second = kin.get_records(ShardIterator=first["NextShardIterator"])["Records"]
        time.sleep(0.02)
    assert [json.loads(r["Data"])["dynamodb"]["Keys"] for r in second] == [{"pk": {"S": "k2"}}]
