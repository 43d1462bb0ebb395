"""Bringing a store written in an older data dir format up to :data:`~.datadir.FORMAT_VERSION`.

Each step rewrites keys in atomic batches that put the new key and delete the old one together,
so a crash mid-way leaves every key in exactly one place and the next start simply resumes. Only
once every step is fsynced is the new version written to ``FORMAT``: an older tidestream then
refuses the data dir instead of misreading it.
"""

from __future__ import annotations

import logging
import struct

import cbor2

from . import keyspace
from .datadir import FORMAT_VERSION, DataDir
from .engine import RocksEngine
from .keys import prefix_end

log = logging.getLogger("tidestream")

#: keys rewritten per atomic batch (bounds memory for big backups)
BATCH = 1000


def migrate(data_dir: DataDir, engine: RocksEngine) -> None:
    """Rewrite what ``data_dir``'s format stores differently from today's, then record today's."""
    found = data_dir.format_version
    if found >= FORMAT_VERSION:
        return
    moved = move_backup_items(engine)  # format 1 -> 2, the only step so far
    engine.sync()
    data_dir.record_format()
    log.info(
        "data dir %s migrated from format %d to %d (%d backup items moved out of Lambda's key range)",
        data_dir.path,
        found,
        FORMAT_VERSION,
        moved,
    )


def move_backup_items(engine: RocksEngine) -> int:
    """Format 2: each backup's items move from ``\\x07`` + uid to ``\\x09`` + uid. The uids come
    from the backup records, so Lambda's keys under ``\\x07`` are never taken for items."""
    moved = 0
    for _, raw in engine.scan(keyspace.BACKUP_RECORDS, prefix_end(keyspace.BACKUP_RECORDS)):
        uid = struct.pack(">I", cbor2.loads(raw)["uid"])
        old = keyspace.FORMAT1_BACKUP_ITEMS + uid
        skip = len(keyspace.FORMAT1_BACKUP_ITEMS)
        batch: list[tuple[bytes, bytes | None]] = []
        for key, value in engine.scan(old, prefix_end(old)):
            batch += [(keyspace.BACKUP_ITEMS + key[skip:], value), (key, None)]
            if len(batch) >= 2 * BATCH:
                engine.write(batch)
                moved += len(batch) // 2
                batch = []
        if batch:
            engine.write(batch)
            moved += len(batch) // 2
    return moved
