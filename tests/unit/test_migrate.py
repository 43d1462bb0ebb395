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
