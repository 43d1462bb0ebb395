"""The format-2 migration moves backup items out of Lambda's range and resumes after a crash."""

from __future__ import annotations

import struct

import cbor2

from tidestream.storage import keyspace, migrate
from tidestream.storage.engine import RocksEngine


def test_move_resumes_where_a_crash_left_it_and_leaves_lambda_alone(monkeypatch):
    engine = RocksEngine(None, in_memory=True)
    uid = struct.pack(">I", 5)
    old = [keyspace.FORMAT1_BACKUP_ITEMS + uid + bytes([n]) for n in range(5)]
    function = keyspace.LAMBDA_FUNCTIONS + b"000000000000/us-east-1/fn"
    engine.write(
        [(keyspace.BACKUP_RECORDS + b"arn", cbor2.dumps({"uid": 5})), (function, b"{}")]
        + [(key, b"item%d" % n) for n, key in enumerate(old)]
    )
    # a crash after the first batch: item 0 already moved (put and delete in one batch)
    engine.write([(keyspace.BACKUP_ITEMS + uid + b"\x00", b"item0"), (old[0], None)])
    monkeypatch.setattr(migrate, "BATCH", 2)
    assert migrate.move_backup_items(engine) == 4
    assert migrate.move_backup_items(engine) == 0
    backup_items = keyspace.BACKUP_ITEMS + uid
    assert list(engine.scan(backup_items, backup_items + b"\xff")) == [
        (backup_items + bytes([n]), b"item%d" % n) for n in range(5)
    ]
    assert list(engine.scan(keyspace.LAMBDA, keyspace.PITR_LOG)) == [(function, b"{}")]


def test_naming_record_fields_resumes_and_keeps_named_records(monkeypatch):
    engine = RocksEngine(None, in_memory=True)
    old_records = [
        cbor2.dumps({"e": "id%d" % n, "n": n, "k": {"pk": {"S": "a"}}, "t": 1.5, "new": {"pk": {"S": "a"}}})
        for n in range(3)
    ]
    records = [keyspace.DYNAMODB_STREAMS_RECORDS + struct.pack(">IQ", 1, n) for n in range(3)]
    consumer = keyspace.KINESIS_CONSUMERS + b"\x00\x00\x00\x01cons"
    engine.write(
        list(zip(records, old_records))
        + [(consumer, b'{"sid":1,"sarn":"arn","name":"cons","created":5,"status":"ACTIVE","until":0}')]
    )
    monkeypatch.setattr(migrate, "BATCH", 2)
    assert migrate.name_record_fields(engine) == 4
    assert migrate.name_record_fields(engine) == 0  # a rerun (after a crash) finds them named
    stored = [cbor2.loads(value) for _, value in engine.scan(records[0], records[-1] + b"\x00")]
    assert stored == [
        {
            "event_id": "id%d" % n,
            "event_name": name,
            "keys": {"pk": {"S": "a"}},
            "created_at": 1.5,
            "new": {"pk": {"S": "a"}},
        }
        for n, name in enumerate(("INSERT", "MODIFY", "REMOVE"))
    ]
    assert engine.get(consumer) == (
        b'{"stream_id":1,"stream_arn":"arn","name":"cons","created":5,"status":"ACTIVE","until":0}'
    )
