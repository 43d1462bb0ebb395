"""Opening the store with its recovery checked, and ``tidestream repair``.

RocksDB opens with point-in-time recovery: replay stops at the first bad record of the
write-ahead log, silently. The data dir's :class:`~.datadir.DurableMark` says how far replay must
reach; a start that recovers less is refused (a torn tail of the last group commit excepted) and
``tidestream repair`` is the explicit way to accept the loss.
"""

from __future__ import annotations

import logging
import os

from .datadir import DataDir, DataDirError
from .engine import DEFAULT_BLOCK_CACHE_MB, RocksEngine, StoreOpenError
from .migrate import migrate

log = logging.getLogger("tidestream")


def open_checked(
    data_dir: DataDir, durability: str, block_cache_mb: int = DEFAULT_BLOCK_CACHE_MB
) -> RocksEngine:
    """Open the store of a locked data dir; refuse (``DataDirError``) if acknowledged writes were lost."""
    try:
        engine = RocksEngine(data_dir.store_path, durability=durability, block_cache_mb=block_cache_mb)
    except StoreOpenError as err:
        if err.locked:
            raise
        raise StoreOpenError(
            f"{err}; run `tidestream repair --data-dir {data_dir.path}` to recover what it can", locked=False
        ) from None
    recovered = engine.latest_sequence()
    try:
        dropped = data_dir.check_recovered(recovered)
    except BaseException:
        engine.close()
        raise
    if dropped:
        log.warning(
            "the write-ahead log of %s ended in a torn record: the last %d sequence numbers "
            "(up to %d) were cut short and dropped; everything before them was recovered",
            data_dir.store_path,
            dropped,
            recovered + dropped,
        )
    data_dir.mark.reset(recovered)
    engine.durable_mark = data_dir.mark
    try:
        migrate(data_dir, engine)
    except BaseException:
        engine.close()
        raise
    return engine


def repair(path: str) -> list[str]:
    """Open the data dir's store whatever it lost, say what was lost, and reset the mark so the
    next ``serve`` starts. Refuses (``DataDirError``) while a server holds the data dir."""
    data_dir = DataDir(path)
    if not os.path.isdir(data_dir.store_path):  # checked before open(), which would make a fresh one
        raise DataDirError(f"{data_dir.path} holds no store to repair")
    data_dir.open()
    try:
        report = [
            f"data dir {data_dir.path}: write-ahead log files: " + (", ".join(data_dir.wal_files) or "none")
        ]
        engine = _open_or_rebuild(data_dir.store_path, report)
        try:
            recovered = engine.latest_sequence()
            report.append(_loss(data_dir.mark.load(), recovered))
            data_dir.mark.reset(recovered)
        finally:
            engine.close()
        report.append("repaired: `tidestream serve` will start from this state")
        return report
    finally:
        data_dir.close()


def _open_or_rebuild(store: str, report: list[str]) -> RocksEngine:
    """The store opened (point-in-time recovery), or, if RocksDB refuses it, RocksDB's repair first."""
    try:
        return RocksEngine(store)
    except StoreOpenError as err:
        if err.locked:
            raise
        report.append(f"{err}; running RocksDB's repair (it keeps what it can read)")
    RocksEngine.repair_store(store)
    return RocksEngine(store)


def _loss(recorded: tuple[int, int] | None, recovered: int) -> str:
    if recorded is None:
        return (
            f"recovered writes up to sequence {recovered}; no durable-sequence mark, so "
            "whether acknowledged writes were lost cannot be told"
        )
    durable = recorded[1]
    if recovered >= durable:
        return f"recovered writes up to sequence {recovered}: no acknowledged write was lost"
    return (
        f"recovered writes up to sequence {recovered}, but writes up to {durable} had been "
        f"acknowledged: lost {durable - recovered} sequence numbers ({recovered + 1}..{durable}; "
        "every acknowledged write batch uses at least one)"
    )
