"""A write-ahead log damaged in a way that makes RocksDB's log reader loop (facebook/rocksdb#13333)
must end the start with an error, not hang forever with a core at 100% (found by the torn-tail
test: one random tail in ~60 did it, and the server spun for 25 minutes)."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

WRITER = """
import os, sys
from tidestream.storage.engine import RocksEngine
engine = RocksEngine(sys.argv[1], durability="relaxed")
for i in range(20):
    engine.write([(b"\\x01k%d" % i, b"v" * 50)])
engine._db.flush_wal(True)
os._exit(0)  # a crash: the log is not closed cleanly
"""
OPENER = """
import sys
from tidestream.storage.engine import RocksEngine
RocksEngine(sys.argv[1]).close()
print("opened")
"""


def test_a_log_that_makes_rocksdb_loop_ends_the_start(tmp_path: Path):
    store = tmp_path / "store"
    subprocess.run([sys.executable, "-c", WRITER, str(store)], check=True, timeout=60)
    log = max(store.glob("*.log"), key=lambda p: int(p.stem))
    with open(log, "ab") as f:
        f.write(random.Random(17).randbytes(333))  # these bytes make RocksDB 9.x loop
    env = {**os.environ, "TIDESTREAM_OPEN_TIMEOUT": "2"}
    # before the watchdog this never returned (the timeout below is the failure)
    r = subprocess.run(
        [sys.executable, "-c", OPENER, str(store)], env=env, capture_output=True, text=True, timeout=120
    )
    if r.returncode == 0:  # a RocksDB whose log reader no longer loops opens it: fine too
        assert "opened" in r.stdout
        return
    assert r.returncode == 1, r.stderr[-2000:]
    assert "Timeout (0:00:02)!" in r.stderr and "_open_store" in r.stderr, r.stderr[-2000:]
