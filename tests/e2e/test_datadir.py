"""Every refusal to use a data dir is one clean log line and exit code 2, never a traceback,
and no deleted file lets two servers share one data dir."""

from __future__ import annotations

import fcntl
import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import assert_refused_start, start_server


def _make_data_dir(tmp_path: Path) -> Path:
    """A used data dir (a table and an item), cleanly stopped."""
    s = start_server(tmp_path)
    ddb = s.client()
    ddb.create_table(
        TableName="tbl",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.put_item(TableName="tbl", Item={"pk": {"S": "a"}})
    assert s.stop() == 0
    return tmp_path / "data"


@pytest.mark.parametrize("deleted", [["tidestream.lock"], ["store/LOCK"], ["tidestream.lock", "store/LOCK"]])
def test_deleting_lock_files_does_not_let_a_second_server_in(tmp_path, deleted):
    first = start_server(tmp_path)
    try:
        ddb = first.client()
        ddb.create_table(
            TableName="tbl",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        for name in deleted:
            (tmp_path / "data" / name).unlink()
        assert "in use by another tidestream server" in assert_refused_start(tmp_path)
        ddb.put_item(TableName="tbl", Item={"pk": {"S": "still-mine"}})
    finally:
        assert first.stop() == 0
    s = start_server(tmp_path)
    try:
        assert "Item" in s.client().get_item(TableName="tbl", Key={"pk": {"S": "still-mine"}})
    finally:
        s.stop()


def test_rocksdb_lock_held_by_another_process_is_a_clean_refusal(tmp_path):
    data = _make_data_dir(tmp_path)
    with open(data / "store" / "LOCK", "r+b") as f:
        fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)  # the POSIX lock RocksDB itself takes
        message = assert_refused_start(tmp_path)
    assert "is locked by another process" in message and "LOCK" in message, message


@pytest.mark.parametrize(
    "content, expected",
    [
        ('{"format": 4}', "newer than this tidestream understands"),
        ('{"format": 0}', "invalid format version 0"),
        ('{"format": -3}', "invalid format version -3"),
        ('{"format": "one"}', "is unreadable"),
        ('{"format": 1.5}', "is unreadable"),
        ("not json", "is unreadable"),
        ("", "is unreadable"),
    ],
)
def test_bad_format_file_is_refused_with_its_reason(tmp_path, content, expected):
    data = _make_data_dir(tmp_path)
    (data / "FORMAT").write_text(content)
    assert expected in assert_refused_start(tmp_path)


def test_store_missing_while_format_present_is_refused(tmp_path):
    data = _make_data_dir(tmp_path)
    shutil.rmtree(data / "store")
    message = assert_refused_start(tmp_path)
    assert "store" in message and "missing" in message, message


def test_foreign_directory_is_refused_and_left_alone(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "photos").mkdir()
    (data / "notes.txt").write_text("mine")
    message = assert_refused_start(tmp_path)
    assert "is not a tidestream data dir" in message and "notes.txt" in message, message
    assert sorted(p.name for p in data.iterdir()) == ["notes.txt", "photos"]


def test_store_rocksdb_cannot_open_names_the_cause_and_repair_fixes_it(tmp_path):
    data = _make_data_dir(tmp_path)
    (data / "store" / "CURRENT").write_text("MANIFEST-999999\n")  # points at a manifest that is not there
    message = assert_refused_start(tmp_path)
    assert "RocksDB cannot open the store" in message and "MANIFEST-999999" in message, message
    assert "tidestream repair --data-dir" in message
    from tests.e2e.test_wal_loss import _repair

    repaired = _repair(tmp_path)
    assert repaired.returncode == 0, repaired.stderr
    assert "running RocksDB's repair" in repaired.stdout, repaired.stdout
    s = start_server(tmp_path)
    try:
        assert "Item" in s.client().get_item(TableName="tbl", Key={"pk": {"S": "a"}})
    finally:
        s.stop()


def test_fresh_and_reused_data_dirs_still_start(tmp_path):
    data = _make_data_dir(tmp_path)
    assert json.loads((data / "FORMAT").read_text()) == {"format": 3}
    s = start_server(tmp_path)
    try:
        assert "Item" in s.client().get_item(TableName="tbl", Key={"pk": {"S": "a"}})
    finally:
        assert s.stop() == 0
