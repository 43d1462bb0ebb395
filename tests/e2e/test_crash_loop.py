"""Crash safety under mixed load: SIGKILL at random moments, ten times, on one data dir.

Writers run PutItem, UpdateItem, BatchWriteItem, TransactWriteItems (on a table streaming its
changes to Kinesis) and PutRecords concurrently. After every kill and restart: every acknowledged
item write is present with its acknowledged value, every acknowledged Kinesis record is
readable, and every acknowledged item change reaches the destination stream.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time

import pytest
from botocore.exceptions import BotoCoreError, ClientError

from tests.conftest import start_server
from tests.e2e.cdc_helpers import read_all, setup_cdc

pytestmark = pytest.mark.slow


class Ledger:
    """What the server acknowledged: item key -> value, and Kinesis data -> acknowledged."""

    def __init__(self) -> None:
        self.items: dict[str, int] = {}
        self.records: set[bytes] = set()
        self.lock = threading.Lock()


def _item_writer(client, wid: int, round_: int, ledger: Ledger, stop: threading.Event) -> None:
    i = 0
    while not stop.is_set():
        key = f"r{round_}-w{wid}-{i % 50}"  # rewrite keys so updates and overwrites happen
        value = i
        try:
            kind = i % 4
            if kind == 0:
                client.put_item(TableName="orders", Item={"pk": {"S": key}, "v": {"N": str(value)}})
            elif kind == 1:
                client.update_item(
                    TableName="orders",
                    Key={"pk": {"S": key}},
                    UpdateExpression="SET v = :v",
                    ExpressionAttributeValues={":v": {"N": str(value)}},
                )
            elif kind == 2:
                client.batch_write_item(
                    RequestItems={
                        "orders": [{"PutRequest": {"Item": {"pk": {"S": key}, "v": {"N": str(value)}}}}]
                    }
                )
            else:
                client.transact_write_items(
                    TransactItems=[
                        {"Put": {"TableName": "orders", "Item": {"pk": {"S": key}, "v": {"N": str(value)}}}}
                    ]
                )
        except (BotoCoreError, ClientError, OSError):
            return
        with ledger.lock:
            ledger.items[key] = value
        i += 1


def _record_writer(client, round_: int, ledger: Ledger, stop: threading.Event) -> None:
    i = 0
    while not stop.is_set():
        batch = [f"r{round_}-rec-{i}-{j}".encode() for j in range(20)]
        try:
            r = client.put_records(
                StreamName="raw", Records=[{"Data": d, "PartitionKey": d.decode()} for d in batch]
            )
        except (BotoCoreError, ClientError, OSError):
            return
        with ledger.lock:
            for d, res in zip(batch, r["Records"]):
                if "SequenceNumber" in res:
                    ledger.records.add(d)
        i += 1


def _check(server, ledger: Ledger) -> None:
    ddb, kin = server.client("dynamodb"), server.client("kinesis")
    for key, value in ledger.items.items():
        item = ddb.get_item(TableName="orders", Key={"pk": {"S": key}}, ConsistentRead=True).get("Item")
        assert item is not None, f"acknowledged item {key} lost"
        # a later unacknowledged write of the same key may have landed: values only grow
        assert int(item["v"]["N"]) >= value, (key, item, value)
    raw = {r["Data"] for r in read_all(kin, "raw")}
    assert ledger.records <= raw, f"{len(ledger.records - raw)} acknowledged Kinesis records lost"
    deadline = time.time() + 30
    while True:
        changes = set()
        for r in read_all(kin, "changes"):
            d = json.loads(r["Data"])
            img = d["dynamodb"].get("NewImage")
            if img:
                changes.add((img["pk"]["S"], int(img["v"]["N"])))
        wanted = set(ledger.items.items())
        if wanted <= changes or time.time() > deadline:
            break
        time.sleep(0.2)
    assert wanted <= changes, f"{len(wanted - changes)} acknowledged changes never reached the stream"


def test_ten_sigkills_under_mixed_load(tmp_path):
    rng = random.Random(int(os.environ.get("CRASH_SEED", "7")))
    server = start_server(tmp_path, "--kinesis-limits", "off")
    setup_cdc(server, shards=2)
    server.client("kinesis").create_stream(StreamName="raw", ShardCount=2)
    ledger = Ledger()
    try:
        for round_ in range(10):
            stop = threading.Event()
            threads = [
                threading.Thread(target=_item_writer, args=(server.client(), w, round_, ledger, stop))
                for w in range(3)
            ]
            threads.append(
                threading.Thread(target=_record_writer, args=(server.client("kinesis"), round_, ledger, stop))
            )
            for t in threads:
                t.start()
            time.sleep(rng.uniform(0.2, 0.8))
            server.kill()
            stop.set()
            for t in threads:
                t.join(10)
            server = start_server(tmp_path, "--kinesis-limits", "off")
            _check(server, ledger)
    finally:
        server.stop()
