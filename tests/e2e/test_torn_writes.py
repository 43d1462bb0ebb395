"""A data dir whose last write was cut short opens cleanly and keeps everything before the tear."""

from __future__ import annotations

import glob
import os

import pytest

from tests.conftest import start_server


def test_truncated_wal_tail_opens_and_keeps_earlier_writes(tmp_path):
    s = start_server(tmp_path)
    ddb = s.client()
    ddb.create_table(
        TableName="torn",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for i in range(50):
        ddb.put_item(TableName="torn", Item={"pk": {"S": f"k{i}"}, "pad": {"S": "x" * 200}})
    s.kill()
    wals = sorted(glob.glob(str(tmp_path / "data" / "store" / "*.log")), key=os.path.getmtime)
    assert wals, "expected a RocksDB write-ahead log"
    wal = wals[-1]
    size = os.path.getsize(wal)
    with open(wal, "r+b") as f:  # cut the last write in half, as a crash mid-append would
        f.truncate(size - 150)
    s2 = start_server(tmp_path)
    try:
        ddb = s2.client()
        found = [i for i in range(50) if "Item" in ddb.get_item(TableName="torn", Key={"pk": {"S": f"k{i}"}})]
        # everything before the torn record survives; at most the torn tail is gone
        assert found == list(range(len(found))) and len(found) >= 48, found
        ddb.put_item(TableName="torn", Item={"pk": {"S": "after"}})
        assert "Item" in ddb.get_item(TableName="torn", Key={"pk": {"S": "after"}})
    finally:
        s2.stop()


def test_garbage_in_wal_tail_opens(tmp_path):
    s = start_server(tmp_path)
    ddb = s.client()
    ddb.create_table(
        TableName="torn",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.put_item(TableName="torn", Item={"pk": {"S": "kept"}})
    s.kill()
    wal = sorted(glob.glob(str(tmp_path / "data" / "store" / "*.log")), key=os.path.getmtime)[-1]
    with open(wal, "ab") as f:
        f.write(b"\xab" * 333)  # fixed bytes: some random tails make RocksDB loop (test_open_watchdog.py)
    s2 = start_server(tmp_path)
    try:
        assert "Item" in s2.client().get_item(TableName="torn", Key={"pk": {"S": "kept"}})
    finally:
        s2.stop()


def test_second_server_on_same_data_dir_refuses(tmp_path):
    s = start_server(tmp_path)
    try:
        with pytest.raises(RuntimeError, match="in use by another tidestream server"):
            start_server(tmp_path)
    finally:
        s.stop()
