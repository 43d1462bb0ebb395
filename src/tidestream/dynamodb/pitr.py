"""Point-in-time recovery: a per-table history of previous item images.

With continuous backups on, every committed change also writes, in the same atomic batch, the
item's image *before* the change under

    PITR_LOG + table uid (4) + commit time in µs (8) + sequence (8)

so the table as it was at any moment T of the window is: the current items, with each item
that changed after T replaced by the old image of its first change after T (or removed when
that image is "absent"). Tables without continuous backups write nothing here; the cost on the
write path is one attribute test per change. The history is pruned to RecoveryPeriodInDays and
dropped when continuous backups are turned off or the table is deleted.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import struct
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import cbor2

from ..storage import keyspace
from ..storage.engine import Engine, StorageError, StorageTrouble
from ..storage.keys import prefix_end

if TYPE_CHECKING:
    from .itemstore import Change, ItemStore
    from .state import DynamoState
    from .tables import Table

log = logging.getLogger("tidestream")

PITR_LOG = keyspace.PITR_LOG
DAY = 86400.0
#: seconds between prunes of history older than the recovery period
PRUNE_INTERVAL = 3600.0
#: orders history entries of one microsecond; starts at a random point so that two nodes'
#: entries of one microsecond (several nodes share a store) never share a key
_sequence = itertools.count(int.from_bytes(os.urandom(4), "big") << 32)


def _table_prefix(uid: int) -> bytes:
    return PITR_LOG + struct.pack(">I", uid)


def _micros(at: float) -> int:
    return max(int(at * 1_000_000), 0)


def _time_key(uid: int, micros: int) -> bytes:
    return _table_prefix(uid) + struct.pack(">Q", micros)


def history_write(ch: Change, now: float) -> tuple[bytes, bytes]:
    """The history entry for one change, to go in the change's own write batch."""
    key = _time_key(ch.table.uid, _micros(now)) + struct.pack(">Q", next(_sequence))
    return key, cbor2.dumps({"key": ch.key, "old": ch.old})


def window(table: Table, now: float) -> tuple[float, float]:
    """(EarliestRestorableDateTime, LatestRestorableDateTime): history is written with each
    commit, so the latest restorable moment is now."""
    return max(table.pitr_enabled_at, now - table.pitr_days * DAY), now


def prune(engine: Engine, table: Table, now: float) -> None:
    """Forget history older than the recovery period."""
    earliest, _ = window(table, now)
    engine.delete_range(_table_prefix(table.uid), _time_key(table.uid, _micros(earliest)))


def forget_until(engine: Engine, table: Table, now: float) -> None:
    """Drop the history written until ``now`` (continuous backups off). Bounded in time, not the
    whole prefix: on PostgreSQL the range is deleted later, in batches, and continuous
    backups switched on again meanwhile write new history above ``now``, which must stay (a
    restore never reads history before the new EarliestRestorableDateTime anyway)."""
    engine.delete_range(_table_prefix(table.uid), _time_key(table.uid, _micros(now) + 1))


def forget(engine: Engine, table: Table) -> None:
    """Drop a table's whole history (continuous backups off, or the table deleted)."""
    prefix = _table_prefix(table.uid)
    engine.delete_range(prefix, prefix_end(prefix))


def items_at(items: ItemStore, table: Table, moment: float) -> Iterator[dict]:
    """The table's items as they were at ``moment`` (changes at ``moment`` included)."""
    start = _time_key(table.uid, _micros(moment) + 1)
    before: dict[bytes, dict | None] = {}
    for _, raw in items.engine.scan(start, prefix_end(_table_prefix(table.uid))):
        entry = cbor2.loads(raw)
        before.setdefault(entry["key"], entry["old"])
    lo, hi = items.table_bounds(table)
    for key, item in items.scan_range(lo, hi):
        if key not in before:
            yield item
    for old in before.values():
        if old is not None:
            yield old


async def pruner(state: DynamoState, stopping: asyncio.Event, interval: float = PRUNE_INTERVAL) -> None:
    """Prune every PITR table's history hourly, so the disk holds RecoveryPeriodInDays of it."""
    trouble = StorageTrouble(log, "point-in-time history pruning")
    while not stopping.is_set():
        try:
            await asyncio.wait_for(stopping.wait(), interval)
            return
        except TimeoutError:
            pass
        try:
            now = time.time()
            for table in state.catalog.all():
                if table.pitr:
                    prune(state.engine, table, now)
            trouble.ok()
        except StorageError as err:  # a full disk or corruption: the next round retries
            trouble.failed(err)
