"""The storage engine's options hold on every open, and old stores are upgraded to them.

Reopening a data dir, rocksdict used to take the table options from the store's OPTIONS file,
which does not record the block cache or the bloom filter: after every restart the cache was
RocksDB's 8 MB default and the filter was gone. Real RocksDB stores on real files here.
"""

from __future__ import annotations

import glob
import os
import re

from rocksdict import BlockBasedOptions, Options, Rdict

from tidestream.storage.engine import TABLE_FORMAT_FILE, RocksEngine

MIB = 1024 * 1024


def _fill(engine: RocksEngine, n: int = 5000) -> None:
    for start in range(0, n, 500):
        engine.write([(b"\x01k%08d" % i, b"v" * 40) for i in range(start, start + 500)])


def _latest_options_text(path: str) -> str:
    newest = max(glob.glob(os.path.join(path, "OPTIONS-*")), key=lambda p: int(p.rsplit("-", 1)[1]))
    with open(newest) as f:
        return f.read()


def _index_partitions(engine: RocksEngine) -> int:
    props = engine.property("rocksdb.aggregated-table-properties") or ""
    m = re.search(r"# index partitions=(\d+)", props)
    return int(m.group(1)) if m else 0


def test_reopened_store_keeps_cache_filter_and_partitioned_index(tmp_path):
    path = str(tmp_path / "store")
    engine = RocksEngine(path, block_cache_mb=24)
    _fill(engine)
    engine.upgrade_tables()  # flushes the memtable into table files
    engine.close()
    for _ in range(2):  # the first reopen used to drop the options; check a second one too
        engine = RocksEngine(path, block_cache_mb=24)
        try:
            assert engine.property("rocksdb.block-cache-capacity") == str(24 * MIB)
            text = _latest_options_text(path)
            assert "filter_policy=bloomfilter" in text
            assert "index_type=kTwoLevelIndexSearch" in text
            assert "partition_filters=true" in text
            assert _index_partitions(engine) > 0
            assert engine.get(b"\x01k%08d" % 4321) == b"v" * 40
        finally:
            engine.close()


def test_new_store_is_marked_current_and_needs_no_upgrade(tmp_path):
    path = str(tmp_path / "store")
    engine = RocksEngine(path)
    engine.close()
    assert os.path.exists(os.path.join(path, TABLE_FORMAT_FILE))
    engine = RocksEngine(path)
    assert engine.upgrade_needed is False
    engine.close()


def test_store_from_an_older_release_is_rewritten_in_the_new_layout(tmp_path):
    path = str(tmp_path / "store")
    old = Options(raw_mode=True)  # the table options of earlier releases: one index block per file
    old.create_if_missing(True)
    table = BlockBasedOptions()
    table.set_bloom_filter(10, False)
    old.set_block_based_table_factory(table)
    db = Rdict(path, old)
    for i in range(5000):
        db.put(b"\x01k%08d" % i, b"v" * 40)
    db.flush()
    old_files = {f["name"] for f in db.live_files()}
    db.close()
    assert old_files

    engine = RocksEngine(path)
    try:
        assert engine.upgrade_needed is True
        assert _index_partitions(engine) == 0
        engine.upgrade_tables()
        assert _index_partitions(engine) > 0
        assert not old_files & {f["name"] for f in engine._db.live_files()}
        assert all(engine.get(b"\x01k%08d" % i) == b"v" * 40 for i in range(0, 5000, 7))
    finally:
        engine.close()
    engine = RocksEngine(path)
    assert engine.upgrade_needed is False
    engine.close()
