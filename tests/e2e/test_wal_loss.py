"""A write-ahead log that lost acknowledged writes is refused at startup, not silently replayed short.

Each test makes acknowledged writes (strict durability), SIGKILLs the server (no clean close, so
the writes are only in the WAL), damages the WAL as a disk or an operator would, and restarts.
A torn tail (the last record cut short) still starts; anything more is refused until
``tidestream repair`` accepts the loss and says how much it was.
"""

from __future__ import annotations

import glob
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ServerProcess, assert_refused_start, start_server

ITEMS = 300


def _write_and_kill(tmp_path: Path, *args: str) -> Path:
    """ITEMS acknowledged puts, then SIGKILL; returns the store's newest WAL file."""
    s = start_server(tmp_path, *args)  # strict durability by default: each put is fsynced before its answer
    ddb = s.client()
    ddb.create_table(
        TableName="wal",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for i in range(ITEMS):
        ddb.put_item(TableName="wal", Item={"pk": {"S": f"k{i:04d}"}, "pad": {"S": "x" * 200}})
    if "relaxed" in args:
        time.sleep(0.5)  # let the interval fsync (every 50 ms) cover the writes
    s.kill()
    wals = sorted(glob.glob(str(tmp_path / "data" / "store" / "*.log")), key=os.path.getmtime)
    assert wals and os.path.getsize(wals[-1]) > ITEMS * 200, "the writes should still be in the WAL"
    return Path(wals[-1])


def _repair(tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tidestream", "repair", "--data-dir", str(tmp_path / "data")],
        capture_output=True,
        text=True,
        timeout=60,
    )


def _present(server: ServerProcess) -> list[int]:
    ddb = server.client()
    return [
        i
        for i in range(ITEMS)
        if "Item" in ddb.get_item(TableName="wal", Key={"pk": {"S": f"k{i:04d}"}}, ConsistentRead=True)
    ]


def _flip(wal: Path, fraction: float) -> None:
    offset = int(wal.stat().st_size * fraction)
    with open(wal, "r+b") as f:
        f.seek(offset)
        data = f.read(4)
        f.seek(offset)
        f.write(bytes(b ^ 0xFF for b in data))


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9])
def test_flipped_bytes_in_the_wal_refuse_start_then_repair_reports_the_loss(tmp_path, fraction):
    wal = _write_and_kill(tmp_path)
    _flip(wal, fraction)
    message = assert_refused_start(tmp_path, "refused")
    assert wal.name in message and "tidestream repair --data-dir" in message, message
    assert "acknowledged" in message
    assert_refused_start(
        tmp_path, "refused-again"
    )  # the refusal sticks: the failed start did not accept the loss

    repaired = _repair(tmp_path)
    assert repaired.returncode == 0, repaired.stderr
    lost = int(repaired.stdout.split("lost ")[1].split()[0])
    s = start_server(tmp_path)
    try:
        present = _present(s)
        # point-in-time recovery keeps a prefix of the writes; the report counts exactly the rest
        # (a PutItem on a plain table is one write batch of two keys, the item and the table's
        # stats: two sequence numbers)
        assert present == list(range(len(present))) and len(present) < ITEMS
        assert lost == 2 * (ITEMS - len(present)), repaired.stdout
    finally:
        s.stop()


def test_relaxed_durability_records_the_mark_too(tmp_path):
    wal = _write_and_kill(tmp_path, "--durability", "relaxed")
    _flip(wal, 0.1)
    assert "acknowledged" in assert_refused_start(tmp_path, "refused")


def test_relaxed_durability_restarts_after_kill_without_a_false_alarm(tmp_path):
    _write_and_kill(tmp_path, "--durability", "relaxed")
    s = start_server(tmp_path, "--durability", "relaxed")
    try:
        assert _present(s) == list(range(ITEMS))
        assert "torn record" not in s.read_log()
    finally:
        s.stop()


def test_deleted_wal_refuses_start_then_repair_starts_empty(tmp_path):
    wal = _write_and_kill(tmp_path)
    wal.unlink()
    message = assert_refused_start(tmp_path, "refused")
    assert "write-ahead log" in message and str(tmp_path / "data" / "store") in message, message

    repaired = _repair(tmp_path)
    assert repaired.returncode == 0, repaired.stderr
    assert "lost " in repaired.stdout, repaired.stdout
    s = start_server(tmp_path)
    try:
        ddb = s.client()
        # the table itself was in the deleted log: nothing of it survived, and nothing pretends it did
        assert "wal" not in ddb.list_tables()["TableNames"]
    finally:
        s.stop()


def test_wal_cut_in_half_is_not_taken_for_a_torn_tail(tmp_path):
    wal = _write_and_kill(tmp_path)
    with open(wal, "r+b") as f:
        f.truncate(wal.stat().st_size // 2)
    assert "acknowledged" in assert_refused_start(tmp_path, "refused")


def test_torn_tail_starts_and_keeps_every_earlier_write(tmp_path):
    wal = _write_and_kill(tmp_path)
    with open(wal, "r+b") as f:  # the last record cut short, as a crash mid-append leaves it
        f.truncate(wal.stat().st_size - 5)
    s = start_server(tmp_path)
    try:
        assert _present(s) == list(range(ITEMS - 1))
        assert "torn record" in s.read_log()
    finally:
        s.stop()
    s = start_server(tmp_path)  # and the mark was reset: the next start is clean too
    s.stop()


def test_repair_on_a_healthy_data_dir_reports_no_loss(tmp_path):
    _write_and_kill(tmp_path)
    repaired = _repair(tmp_path)
    assert repaired.returncode == 0, repaired.stderr
    assert "no acknowledged write was lost" in repaired.stdout, repaired.stdout
    s = start_server(tmp_path)
    try:
        assert _present(s) == list(range(ITEMS))
    finally:
        s.stop()


def test_repair_refuses_while_a_server_runs(tmp_path):
    s = start_server(tmp_path)
    try:
        repaired = _repair(tmp_path)
        assert repaired.returncode == 2
        assert "in use by another tidestream server" in repaired.stderr
        assert "Traceback" not in repaired.stderr and len(repaired.stderr.strip().splitlines()) == 1
    finally:
        s.stop()
