"""A full disk: writes get a clear error, health says so, recovery needs no restart, nothing
acknowledged is lost, statistics stay true, and a start on a full disk is refused cleanly.

The server's data dir sits on a 16 MiB tmpfs. Mounting needs root (CAP_SYS_ADMIN) or an
unprivileged user+mount namespace; the test skips only when the machine allows neither.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ServerProcess, free_port
from tests.e2e.cdc_helpers import setup_cdc, wait_changes

TABLE = "full"
#: bytes left free by the filler: room for some writes before the disk is full
MARGIN = 1 << 20


def _try_mount(where: Path) -> bool:
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(where)], capture_output=True)
    return r.returncode == 0


def _namespaced_tmpfs(where: Path) -> subprocess.Popen | None:
    """A process holding a private mount namespace with the tmpfs at ``where`` (or None)."""
    if shutil.which("unshare") is None:
        return None
    holder = subprocess.Popen(
        [
            "unshare",
            "-rm",
            "sh",
            "-c",
            f"mount -t tmpfs -o size=16m tmpfs '{where}' && echo mounted && exec sleep 100000",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert holder.stdout is not None
    if holder.stdout.readline().strip() == b"mounted":
        return holder
    holder.kill()
    holder.wait()
    return None


@pytest.fixture
def small_disk(tmp_path) -> Path:
    """A 16 MiB filesystem: a tmpfs mounted here, or else one in a mount namespace of its own
    that servers and test reach through ``/proc/<holder>/root``."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    if _try_mount(mnt):
        try:
            yield mnt
        finally:
            subprocess.run(["umount", "-l", str(mnt)], capture_output=True)
        return
    holder = _namespaced_tmpfs(mnt)
    if holder is None:
        pytest.skip("cannot mount a small tmpfs: mount -t tmpfs and unshare -rm both failed")
    try:
        yield Path(f"/proc/{holder.pid}/root") / mnt.relative_to("/")
    finally:
        holder.kill()
        holder.wait()


def _server(disk: Path, tmp_path: Path, *args: str) -> ServerProcess:
    return ServerProcess(free_port(), disk / "data", list(args), log_path=tmp_path / "server.log")


def _fill(mnt: Path, leave: int) -> Path:
    """Fill the filesystem with a filler file, then give back ``leave`` bytes."""
    filler = mnt / "filler"
    with open(filler, "ab", buffering=0) as f:
        chunk = b"\0" * (1 << 16)
        try:
            while True:
                f.write(chunk)
        except OSError:
            pass
    size = filler.stat().st_size
    os.truncate(filler, max(0, size - leave))
    return filler


def _health(server: ServerProcess) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(server.endpoint + "/_tidestream/health", timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def _put(ddb, i: int) -> None:
    ddb.put_item(TableName=TABLE, Item={"pk": {"S": f"k{i:06d}"}, "v": {"S": "x" * 2000}})


def _scan_keys(ddb) -> set[str]:
    keys: set[str] = set()
    kw: dict = {}
    while True:
        page = ddb.scan(TableName=TABLE, ConsistentRead=True, **kw)
        keys.update(item["pk"]["S"] for item in page["Items"])
        if "LastEvaluatedKey" not in page:
            return keys
        kw = {"ExclusiveStartKey": page["LastEvaluatedKey"]}


def _write_until_full(ddb, acked: set[str]) -> list[ClientError]:
    """PutItem until several writes in a row are refused; returns the refusals."""
    refused: list[ClientError] = []
    for i in range(20_000):
        try:
            _put(ddb, i)
        except ClientError as err:
            refused.append(err)
            if len(refused) >= 5:
                return refused
            continue
        acked.add(f"k{i:06d}")
        refused.clear()
    raise AssertionError("the disk never filled up")


def _wait_for(predicate, what: str, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _try_put(ddb, i: int) -> bool:
    try:
        _put(ddb, i)
        return True
    except ClientError:
        return False


def test_disk_full_refuses_writes_clearly_and_recovers_without_restart(small_disk, tmp_path):
    s = _server(small_disk, tmp_path).start()
    try:
        ddb = s.client()
        ddb.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        filler = _fill(small_disk, MARGIN)
        acked: set[str] = set()
        refused = _write_until_full(ddb, acked)
        assert acked, "no write succeeded before the disk filled"
        for err in refused:  # AWS's internal error shape, with a message that says why
            assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 500
            assert err.response["Error"]["Code"] == "InternalServerError"
            assert "disk is full" in err.response["Error"]["Message"]
        status, health = _health(s)
        assert status == 503 and health["status"] == "degraded", health
        assert "disk full" in health["reason"]
        # reads keep working, and statistics count only what was written
        scanned = _scan_keys(ddb)
        assert acked <= scanned
        assert ddb.describe_table(TableName=TABLE)["Table"]["ItemCount"] == len(scanned)

        filler.unlink()  # space comes back: writes resume without a restart
        _wait_for(lambda: _try_put(ddb, 100_000), "a write to succeed after space was freed")
        acked.add("k100000")
        _wait_for(lambda: _health(s)[0] == 200, "health to recover")
        assert _health(s)[1]["status"] == "ok"
        for i in range(100_001, 100_050):
            _put(ddb, i)
            acked.add(f"k{i:06d}")
        assert s.stop() == 0, s.read_log()
        log = s.read_log()
        assert "disk" in log and "full" in log and "Traceback" not in log, log

        s.start()  # every acknowledged item is there after a restart; the count agrees
        scanned = _scan_keys(ddb)
        assert acked <= scanned, sorted(acked - scanned)[:5]
        assert ddb.describe_table(TableName=TABLE)["Table"]["ItemCount"] == len(scanned)
    finally:
        s.stop()


@pytest.mark.parametrize("durability", ["strict", "relaxed"])
def test_disk_full_with_change_capture_loses_no_acknowledged_change(small_disk, tmp_path, durability):
    """The publisher's writes fail too while the disk is full; it must survive and deliver
    every acknowledged change once space is back (in both durability modes)."""
    s = _server(small_disk, tmp_path, "--durability", durability).start()
    try:
        ddb, kin, _ = setup_cdc(s, table=TABLE, stream="changes", shards=1)
        filler = _fill(small_disk, MARGIN)
        acked: set[str] = set()
        _write_until_full(ddb, acked)
        filler.unlink()
        _wait_for(lambda: _try_put(ddb, 100_000), "a write to succeed after space was freed")
        acked.add("k100000")
        changes = wait_changes(kin, "changes", len(acked), timeout=60)
        published = {c["dynamodb"]["Keys"]["pk"]["S"] for c in changes}
        assert acked <= published, sorted(acked - published)[:5]
        _wait_for(lambda: _health(s)[0] == 200, "health to recover")
        assert s.stop() == 0, s.read_log()
        assert "Traceback" not in s.read_log(), s.read_log()
    finally:
        s.stop()


def test_start_on_a_full_disk_is_refused_cleanly(small_disk, tmp_path):
    s = _server(small_disk, tmp_path).start()
    ddb = s.client()
    ddb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    _put(ddb, 1)
    assert s.stop() == 0
    _fill(small_disk, 0)
    with pytest.raises(RuntimeError, match="exited with 2"):
        s.start()
    log = s.read_log()
    assert "Traceback" not in log, log
    assert "No space left on device" in log, log
