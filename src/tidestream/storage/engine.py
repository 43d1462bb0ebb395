"""The storage engine: an ordered key-value store with atomic batches and group commit.

Everything (items, index entries, outboxes, stream records, metadata) lives in one ordered
keyspace, so one atomic batch can hold an item, its index entries and its change-capture outbox
entry. Writes are applied immediately (visible to the next read: read-your-writes) and made
durable by a *group commit*: callers that must not acknowledge before fsync await
:meth:`Engine.durable`, and one WAL fsync serves every write made before it started.

The chosen embedded engine is RocksDB (see docs/decisions/0001-storage-engine.md).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import threading
from typing import Iterator, Protocol

from rocksdict import (BlockBasedOptions, Cache, DBRecoveryMode, Env, Options, Rdict, WriteBatch,
                       WriteOptions)

from .datadir import DataDirError, DurableMark

#: event-loop turns a group commit waits before its fsync, so requests already readable on
#: other connections join it. Measured (16 writers): 0 turns 7.1k PutItem per core-second,
#: 1: 7.7-9.5k, 2: 8.4k, 4: 10.6-10.9k, 8: 10.5-10.8k, 16: 10.1k; one writer is not slowed.
GATHER_YIELDS = 4

#: a write: key -> value bytes, or None to delete
Writes = list[tuple[bytes, bytes | None]]


class Engine(Protocol):
    """The narrow interface the services use (a second implementation must fit it)."""

    def get(self, key: bytes) -> bytes | None: ...
    def scan(self, start: bytes, end: bytes, reverse: bool = False) -> Iterator[tuple[bytes, bytes]]: ...
    def write(self, writes: Writes) -> None: ...
    def delete_range(self, start: bytes, end: bytes) -> None: ...
    async def durable(self) -> None: ...
    def sync_future(self) -> asyncio.Future | None: ...
    def close(self) -> None: ...


class StoreOpenError(DataDirError):
    """RocksDB refused to open the store: ``locked`` when another process holds its LOCK,
    otherwise the store is damaged (corruption) or unreadable."""

    def __init__(self, message: str, locked: bool) -> None:
        super().__init__(message)
        self.locked = locked


class RocksEngine:
    """RocksDB through rocksdict, with group commit of the write-ahead log.

    ``durability='strict'``: :meth:`durable` returns only after the WAL holding every earlier
    write is fsynced; concurrent callers share one fsync. ``'relaxed'``: :meth:`durable` returns
    at once and a background task fsyncs on an interval (a ``kill -9`` loses nothing, since each
    write already reached the OS; power loss may lose the last interval). ``in_memory``: RocksDB's
    memory env, nothing on disk.
    """

    name = "rocksdb"
    #: set once the store's recovery has been checked against it; each group commit then records
    #: the sequence number it made durable (one pwrite per fsync, none per write)
    durable_mark: DurableMark | None = None

    def __init__(self, path: str | None, durability: str = "strict", in_memory: bool = False,
                 relaxed_interval: float = 0.05) -> None:
        self.durability = "none" if in_memory else durability
        self.in_memory = in_memory
        self.relaxed_interval = relaxed_interval
        opts = Options(raw_mode=True)
        opts.create_if_missing(True)
        opts.set_wal_recovery_mode(DBRecoveryMode.point_in_time())
        opts.increase_parallelism(2)
        # bounded memory: a local server should idle small and not grow with the data set
        opts.set_write_buffer_size(16 * 1024 * 1024)
        opts.set_max_write_buffer_number(2)
        table = BlockBasedOptions()
        table.set_block_cache(Cache(16 * 1024 * 1024))
        table.set_cache_index_and_filter_blocks(True)
        table.set_pin_l0_filter_and_index_blocks_in_cache(True)
        # point reads (GetItem, the old image of every write) skip files without the key
        table.set_bloom_filter(10, False)
        opts.set_block_based_table_factory(table)
        self._tmp: str | None = None
        if in_memory:
            opts.set_env(Env.mem_env())
            self._tmp = tempfile.mkdtemp(prefix="tidestream-mem-")
            path = os.path.join(self._tmp, "db")
        assert path is not None
        self.path = path
        self._db = self._open_store(path, opts)
        self._wo = WriteOptions()
        if in_memory:
            self._wo.disable_wal = True
        # group commit state
        self.written = 0  # number of write() calls so far
        self._synced = 0  # write count covered by the last completed fsync
        self._sync_task: asyncio.Future | None = None
        self._waiters: list[tuple[int, asyncio.Future]] = []
        self._relaxed_task: asyncio.Task | None = None
        self._lock = threading.Lock()

    @staticmethod
    def _open_store(path: str, opts: Options) -> Rdict:
        """Open RocksDB, turning its refusals into one-line :class:`StoreOpenError` messages."""
        try:
            return Rdict(path, opts)
        except Exception as err:  # noqa: BLE001 - rocksdict raises plain Exception
            cause = str(err).strip() or type(err).__name__
            if "While lock file" in cause:
                raise StoreOpenError(f"the store {path} is locked by another process "
                                     f"(RocksDB: {cause}); stop it first", locked=True) from None
            raise StoreOpenError(f"RocksDB cannot open the store {path}: {cause}", locked=False) from None

    @staticmethod
    def repair_store(path: str) -> None:
        """RocksDB's own repair (rebuilds the MANIFEST from the files it can read, salvaging
        write-ahead log records it can parse): the last resort when the store cannot open."""
        Rdict.repair(path, Options(raw_mode=True))

    def latest_sequence(self) -> int:
        """RocksDB's last sequence number: after opening, the last write it recovered."""
        return self._db.latest_sequence_number()

    # reads -------------------------------------------------------------------------------
    def get(self, key: bytes) -> bytes | None:
        return self._db.get(key)

    def scan(self, start: bytes, end: bytes, reverse: bool = False) -> Iterator[tuple[bytes, bytes]]:
        """Keys in [start, end), ascending, or descending when ``reverse``."""
        it = self._db.iter()
        if not reverse:
            it.seek(start)
            while it.valid():
                k = it.key()
                if k >= end:
                    return
                yield k, it.value()
                it.next()
        else:
            it.seek_for_prev(end)
            while it.valid():
                k = it.key()
                if k >= end:
                    it.prev()
                    continue
                if k < start:
                    return
                yield k, it.value()
                it.prev()

    # writes ------------------------------------------------------------------------------
    def write(self, writes: Writes) -> None:
        """Apply all writes atomically (one RocksDB write batch)."""
        if len(writes) == 1:
            k, v = writes[0]
            if v is None:
                self._db.delete(k, self._wo)
            else:
                self._db.put(k, v, self._wo)
        else:
            wb = WriteBatch(raw_mode=True)
            for k, v in writes:
                if v is None:
                    wb.delete(k)
                else:
                    wb.put(k, v)
            self._db.write(wb, self._wo)
        self.written += 1

    def delete_range(self, start: bytes, end: bytes) -> None:
        wb = WriteBatch(raw_mode=True)
        wb.delete_range(start, end)
        self._db.write(wb, self._wo)
        self.written += 1

    # durability --------------------------------------------------------------------------
    async def durable(self) -> None:
        """Wait until every write made so far is on disk (strict mode); otherwise return."""
        fut = self.sync_future()
        if fut is not None:
            await fut

    def sync_future(self) -> asyncio.Future | None:
        """A future done once every write made so far is on disk; None if that is already so
        (or the mode doesn't wait). Callers that can't ``await`` attach a callback instead."""
        if self.durability != "strict":
            return None
        target = self.written
        if self._synced >= target:
            return None
        fut = asyncio.get_running_loop().create_future()
        self._waiters.append((target, fut))
        if self._sync_task is None:
            self._sync_task = asyncio.ensure_future(self._sync_loop())
        return fut

    async def _sync_loop(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._waiters:
                # an fsync costs ~80 µs of CPU here whatever it covers: let the requests that
                # are already readable on other connections run first, so they join this group
                for _ in range(GATHER_YIELDS):
                    await asyncio.sleep(0)
                covered = self.written
                sequence = self.latest_sequence()
                await loop.run_in_executor(None, self._fsync, sequence)
                self._synced = covered
                still = []
                for target, fut in self._waiters:
                    if target <= covered:
                        if not fut.done():
                            fut.set_result(None)
                    else:
                        still.append((target, fut))
                self._waiters = still
        except BaseException as exc:  # fsync failure: nobody may be acknowledged
            for _, fut in self._waiters:
                if not fut.done():
                    fut.set_exception(exc)
            self._waiters = []
            raise
        finally:
            self._sync_task = None

    def _fsync(self, sequence: int) -> None:
        """fsync the WAL; then every write up to ``sequence`` (read before the fsync) is durable."""
        with self._lock:
            self._db.flush_wal(True)
            if self.durable_mark is not None:
                self.durable_mark.record(sequence)

    def start_background(self) -> None:
        """Start the interval fsync of relaxed mode (needs a running loop)."""
        if self.durability == "relaxed" and self._relaxed_task is None:
            self._relaxed_task = asyncio.ensure_future(self._relaxed_loop())

    async def _relaxed_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.relaxed_interval)
            if self._synced < self.written:
                covered = self.written
                sequence = self.latest_sequence()
                await loop.run_in_executor(None, self._fsync, sequence)
                self._synced = covered

    def close(self) -> None:
        if self._relaxed_task is not None:
            self._relaxed_task.cancel()
            self._relaxed_task = None
        try:
            # the lock waits out an interval fsync still running in the executor (cancelling its
            # task does not stop the thread; closing under it fails with "Already borrowed")
            with self._lock:
                if not self.in_memory:
                    sequence = self.latest_sequence()
                    self._db.flush_wal(True)
                    if self.durable_mark is not None:
                        self.durable_mark.record(sequence)
                    self._db.close()
                else:
                    try:  # RocksDB's memory Env cannot SyncWAL, which close() does; nothing to keep
                        self._db.close()
                    except Exception:  # noqa: BLE001
                        pass
        finally:
            if self._tmp:
                shutil.rmtree(self._tmp, ignore_errors=True)
