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
import contextlib
import faulthandler
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from itertools import chain, islice
from typing import Any, Protocol

from rocksdict import (
    BlockBasedIndexType,
    BlockBasedOptions,
    BottommostLevelCompaction,
    Cache,
    CompactOptions,
    DBRecoveryMode,
    Env,
    Options,
    Rdict,
    ReadOptions,
    WriteBatch,
    WriteOptions,
)

from . import keyspace
from .datadir import DataDirError, DurableMark

log = logging.getLogger("tidestream.storage")

#: event-loop turns a group commit waits before its fsync, so requests already readable on
#: other connections join it. Measured (16 writers): 0 turns 7.1k PutItem per core-second,
#: 1: 7.7-9.5k, 2: 8.4k, 4: 10.6-10.9k, 8: 10.5-10.8k, 16: 10.1k; one writer is not slowed.
GATHER_YIELDS = 4

#: block cache for data blocks and the partitioned index and filter blocks. Measured with a
#: million items (80 MB store, random GetItem keys): 8 MB 6.5 µs per lookup, 16 MB 5.9,
#: 32 MB 5.7, 64 MB 6.7: the OS page cache holds the data blocks, so a small cache suffices
DEFAULT_BLOCK_CACHE_MB = 16
#: a file in the store directory that says every table file has the current format
TABLE_FORMAT_FILE = "TIDESTREAM-TABLE-FORMAT"
TABLE_FORMAT = "2"

#: a write: key -> value bytes, or None to delete (a Sequence, so a list of puts only fits too)
Writes = Sequence[tuple[bytes, bytes | None]]

#: seconds between write probes while the disk is full (recovery needs no restart)
PROBE_INTERVAL = 0.5
#: the probe's key: outside every service's key range (see the prefixes in the services)
PROBE_KEY = keyspace.PROBE_KEY
#: seconds writes may still fail once space is back before the store is closed and reopened.
#: Measured: after a refused WAL append under group commit RocksDB stays read-only ("Writer has
#: previous error", still after 60 s); a bare rocksdict loop resumed by itself after ~5 s. The
#: reopen is cheap and safe either way, so it comes soon.
REOPEN_AFTER = 1.0
#: free bytes below which the disk still counts as full (RocksDB needs room for a WAL block)
MIN_FREE_BYTES = 1 << 20

#: tests only (tests/e2e/test_readable_tail.py): a file that holds fsyncs back (see
#: :func:`hold_fsync`), so a test can look at what readers see between a write and its fsync.
#: Unset in every real server (one None check per fsync).
FSYNC_HOLD = os.environ.get("TIDESTREAM_TEST_FSYNC_HOLD")

#: a readable tail's hook: called on the event loop right before each group commit's fsync
#: (strict durability), it returns what to run once that fsync succeeded (None: nothing new)
DurableHook = Callable[[], "Callable[[], None] | None"]


class StorageError(Exception):
    """RocksDB refused a read or a write: corruption, an I/O error, a full disk.

    Raised instead of a short answer or a silent success; the HTTP layer turns it into the
    service's internal-error shape. ``disk_full`` tells the one condition that heals by itself
    once space is freed (writes are refused meanwhile; reads keep working).
    """

    def __init__(self, message: str, *, disk_full: bool = False) -> None:
        super().__init__(message)
        self.disk_full = disk_full

    @classmethod
    def wrap(cls, exc: BaseException, action: str) -> StorageError:
        """RocksDB's status text, with what we were doing (rocksdict raises bare Exception)."""
        text = str(exc)
        return cls(f"{action}: {text}", disk_full="No space left on device" in text)


class WriteConflict(Exception):
    """A checked write (``write_checked``, only on a store several nodes share) found a value it
    depends on changed by another node since it was read: nothing was written; the caller
    reads again and retries (dynamodb/writes.py). ``keys``: those of the keys read that
    changed, when known (a deadlock says nothing about which)."""

    def __init__(self, message: str, keys: list[bytes] | None = None) -> None:
        super().__init__(message)
        self.keys = keys


class TableChanged(WriteConflict):
    """A checked item write found its table's stored definition changed since this node read it
    (another node added an index, switched on point-in-time recovery, dropped the table): the
    item store has re-read the table, so the caller's next attempt writes what the table now
    needs. ``gone``: the table no longer exists (or is another table of the same name)."""

    def __init__(self, gone: bool) -> None:
        super().__init__("the table changed on another node", [])
        self.gone = gone


#: seconds RocksDB may take to open a store (replaying its write-ahead log) before the process
#: gives up: some damaged logs make RocksDB's log reader loop forever while it holds the GIL
#: (facebook/rocksdb#13333; reproduced here with random bytes appended to a log), and nothing
#: else in the process can run to notice. Replaying even a full 64 MB log takes seconds.
OPEN_TIMEOUT = float(os.environ.get("TIDESTREAM_OPEN_TIMEOUT", "120"))


@contextlib.contextmanager
def _open_watchdog() -> Iterator[None]:
    """Exit the process (status 1, ``Timeout`` and the stack in ``_open_store`` on stderr) if
    RocksDB's open hangs: faulthandler's timer runs in its own C thread and works while a
    native call holds the GIL, which no Python-level timeout can do (docs/storage-failures.md,
    "A start that hangs on a damaged log")."""
    sys.stderr.flush()
    faulthandler.dump_traceback_later(OPEN_TIMEOUT, exit=True)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


class StorageTrouble:
    """A background task's storage errors, logged once per cause (not once per retry) and
    once more when the task works again; the task itself keeps running and retries."""

    def __init__(self, logger: logging.Logger, task: str) -> None:
        self.logger = logger
        self.task = task
        self._last: str | None = None

    def failed(self, err: StorageError) -> None:
        text = str(err)
        if text != self._last:
            self.logger.error("%s: %s; retrying", self.task, text)
            self._last = text

    def ok(self) -> None:
        if self._last is not None:
            self.logger.info("%s: storage works again", self.task)
            self._last = None


def engine_options(block_cache_mb: int = DEFAULT_BLOCK_CACHE_MB) -> Options:
    """RocksDB options: bounded memory, and lookups whose cost does not grow with the data.

    A single index block and filter per table file grow with the file (3 MB and 1.3 MB at a
    million items) and cannot stay in a block cache whose shards are far smaller, so every
    lookup re-read and decompressed them (283 µs per get at 1M items). Partitioned index and
    filters keep only a small top level pinned, and load 4 KB partitions through the cache
    (7 µs per get at 1M items, memory bounded by the cache).
    """
    opts = Options(raw_mode=True)
    opts.create_if_missing(True)
    # corruption found by a read, a flush or a compaction stops writes (they fail loudly)
    # instead of being propagated into new files
    opts.set_paranoid_checks(True)
    opts.set_wal_recovery_mode(DBRecoveryMode.point_in_time())
    opts.increase_parallelism(2)
    # bounded memory: a local server should idle small and not grow with the data set
    opts.set_write_buffer_size(16 * 1024 * 1024)
    opts.set_max_write_buffer_number(2)
    table = BlockBasedOptions()
    table.set_block_cache(Cache(block_cache_mb * 1024 * 1024))
    table.set_cache_index_and_filter_blocks(True)
    table.set_pin_l0_filter_and_index_blocks_in_cache(True)
    table.set_index_type(BlockBasedIndexType.two_level_index_search())
    table.set_partition_filters(True)
    table.set_metadata_block_size(4096)
    table.set_pin_top_level_index_and_filter(True)
    # point reads (GetItem, the old image of every write) skip files without the key
    table.set_bloom_filter(10, False)
    opts.set_block_based_table_factory(table)
    return opts


def _needs_table_upgrade(path: str) -> bool:
    """True for a store written before partitioned index and filters (its files keep the
    old layout until they are rewritten); a new store is marked current at once."""
    marker = os.path.join(path, TABLE_FORMAT_FILE)
    if os.path.exists(marker):
        return False
    if not os.path.exists(os.path.join(path, "CURRENT")):
        os.makedirs(path, exist_ok=True)
        _write_marker(marker)
        return False
    return True


def _write_marker(marker: str) -> None:
    with open(marker, "w") as f:
        f.write(TABLE_FORMAT + "\n")
        f.flush()
        os.fsync(f.fileno())


def resolve_waiters(
    waiters: list[tuple[int, asyncio.Future]], covered: int
) -> list[tuple[int, asyncio.Future]]:
    """Group commit: answer the waiters whose writes the flush covered; return the others."""
    still = []
    for target, fut in waiters:
        if target <= covered:
            if not fut.done():
                fut.set_result(None)
        else:
            still.append((target, fut))
    return still


def fail_waiters(waiters: list[tuple[int, asyncio.Future]], exc: BaseException) -> list:
    """Group commit: a failed flush acknowledges nobody; returns the (empty) waiter list."""
    for _, fut in waiters:
        if not fut.done():
            fut.set_exception(exc)
    return []


def prepare_hooks(hooks: list[DurableHook]) -> list[Callable[[], None]]:
    """Readable tails: each hook notes what the coming fsync covers (one call per hook per
    group commit, never per write); the returned callables publish it once the fsync is done."""
    return [publish for hook in hooks if (publish := hook()) is not None]


def run_hooks(published: list[Callable[[], None]]) -> None:
    """After a successful fsync: move the readable tails the hooks noted before it."""
    for publish in published:
        publish()


#: fsyncs held so far by :func:`hold_fsync` (tests only)
_held_count = 0


def hold_fsync(path: str) -> None:
    """Tests only (:data:`FSYNC_HOLD`): while the file at *path* exists and reads ``0``, the
    fsync waits; a number above 0 lets that many through (counted down); no file, no wait.
    ``<path>.held`` says how many fsyncs have waited so far (written as one starts waiting)."""
    global _held_count
    waiting = False
    while True:
        try:
            with open(path) as f:
                passes = int(f.read().strip() or 0)
        except FileNotFoundError:
            return
        if passes > 0:
            _replace_file(path, str(passes - 1))
            return
        if not waiting:
            waiting = True
            _held_count += 1
            _replace_file(path + ".held", str(_held_count))
        time.sleep(0.01)


def _replace_file(path: str, text: str) -> None:
    """Write *text* to *path* atomically (a reader never sees it half written)."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


class Engine(Protocol):
    """The narrow interface the services use (a second implementation must fit it)."""

    def get(self, key: bytes) -> bytes | None: ...
    def scan(self, start: bytes, end: bytes, reverse: bool = False) -> Iterator[tuple[bytes, bytes]]: ...

    #: called before each group commit's fsync (see :func:`prepare_hooks`)
    durable_hooks: list[DurableHook]

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

    def __init__(
        self,
        path: str | None,
        durability: str = "strict",
        in_memory: bool = False,
        relaxed_interval: float = 0.05,
        block_cache_mb: int = DEFAULT_BLOCK_CACHE_MB,
    ) -> None:
        self.durability = "none" if in_memory else durability
        self.in_memory = in_memory
        self.relaxed_interval = relaxed_interval
        opts = engine_options(block_cache_mb)
        self._tmp: str | None = None
        if in_memory:
            opts.set_env(Env.mem_env())
            self._tmp = tempfile.mkdtemp(prefix="tidestream-mem-")
            path = os.path.join(self._tmp, "db")
        assert path is not None
        self.path = path
        self._opts = opts
        self.upgrade_needed = not in_memory and _needs_table_upgrade(path)
        self._db = self._open_store(path, opts)
        self._set_read_options()
        self._wo = WriteOptions()
        if in_memory:
            self._wo.disable_wal = True  # type: ignore[method-assign,assignment]  # a property; rocksdict's stub says method
        # group commit state
        self.written = 0  # number of write() calls so far
        self._synced = 0  # write count covered by the last completed fsync
        self._sync_task: asyncio.Future | None = None
        #: the loop the current group commit runs on (set with ``_sync_task``)
        self._group_loop: asyncio.AbstractEventLoop | None = None
        self._waiters: list[tuple[int, asyncio.Future]] = []
        #: readable tails (Kinesis shards, DynamoDB streams) advanced by each group commit
        self.durable_hooks: list[DurableHook] = []
        self._relaxed_task: asyncio.Task | None = None
        self._lock = threading.Lock()
        #: held by maintenance work in the executor (table upgrade); close() waits for it
        self._maintenance = threading.Lock()
        self._closed = False
        #: why writes are refused right now (disk full), for /_tidestream/health; None: fine
        self.write_problem: str | None = None
        self._probe_task: asyncio.Task | None = None

    def _open_rdict(self) -> Rdict:
        return self._open_store(self.path, self._opts)

    def _set_read_options(self) -> None:
        """Every read verifies block checksums (RocksDB's default; stated because the error
        handling relies on it); set once on the handle, so reads pay nothing per call."""
        ro = ReadOptions()
        ro.set_verify_checksums(True)
        self._db.set_read_options(ro)

    @staticmethod
    def _open_store(path: str, opts: Options) -> Rdict:
        """Open RocksDB, turning its refusals into one-line :class:`StoreOpenError` messages."""
        try:
            # the column family's options are passed explicitly: reopening an existing store,
            # rocksdict otherwise takes them from the OPTIONS file, where the block cache and
            # the bloom filter are not recorded (8 MB default cache, no filter after a restart)
            with _open_watchdog():
                return Rdict(path, opts, column_families={"default": opts})
        except Exception as err:  # noqa: BLE001 - rocksdict raises plain Exception
            cause = str(err).strip() or type(err).__name__
            if "While lock file" in cause:
                raise StoreOpenError(
                    f"the store {path} is locked by another process (RocksDB: {cause}); stop it first",
                    locked=True,
                ) from None
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
        try:
            return self._db.get(key)
        except Exception as exc:  # noqa: BLE001 - rocksdict raises bare Exception
            raise StorageError.wrap(exc, "read failed") from None

    def scan(self, start: bytes, end: bytes, reverse: bool = False) -> Iterator[tuple[bytes, bytes]]:
        """Keys in [start, end), ascending, or descending when ``reverse``.

        An iterator also stops being valid when RocksDB hits an error (a corrupt block); the
        status check at the end makes that an exception, never a silently shorter range.
        """
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
        try:
            it.status()
        except Exception as exc:  # noqa: BLE001 - rocksdict raises bare Exception
            raise StorageError.wrap(exc, "range read failed") from None

    def scan_unchecked(self, start: bytes, end: bytes) -> Iterator[tuple[bytes, bytes]]:
        """Keys in [start, end), ascending, one rocksdict call per key (``scan`` makes four and
        resumes a generator: ~1.2k instructions more per key). RocksDB's status is not checked:
        an error mid-range ends it early and silently, so use it only where the caller knows
        where the range must end and re-reads a short one with ``scan`` (kinesis read_page)."""
        bounds = ReadOptions()
        bounds.set_iterate_upper_bound(end)
        bounds.set_verify_checksums(True)
        try:
            pairs: Iterator[tuple[bytes, bytes]] = self._db.items(from_key=start, read_opt=bounds)  # type: ignore[assignment]
        except Exception as exc:  # noqa: BLE001 - rocksdict raises bare Exception
            raise StorageError.wrap(exc, "range read failed") from None
        # rocksdict keeps a pointer into *end*'s bytes, not a copy: the chain holds *end* (and
        # the options) for as long as the iterator lives (freed early, the range ends at random)
        keep: Iterator[Any] = islice((end, bounds), 0)
        return chain(pairs, keep)

    def property(self, name: str) -> str | None:
        """A RocksDB property (``rocksdb.block-cache-capacity``, ...), for metrics and checks."""
        return self._db.property_value(name)

    # writes ------------------------------------------------------------------------------
    def write(self, writes: Writes) -> None:
        """Apply all writes atomically (one RocksDB write batch); StorageError if refused."""
        try:
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
        except Exception as exc:  # noqa: BLE001 - rocksdict raises bare Exception
            raise self._write_failed(exc) from None
        self.written += 1

    def delete_range(self, start: bytes, end: bytes) -> None:
        wb = WriteBatch(raw_mode=True)
        wb.delete_range(start, end)
        try:
            self._db.write(wb, self._wo)
        except Exception as exc:  # noqa: BLE001 - rocksdict raises bare Exception
            raise self._write_failed(exc) from None
        self.written += 1

    # write failures and recovery -----------------------------------------------------------
    def _write_failed(self, exc: BaseException, action: str = "write failed") -> StorageError:
        """The error to raise for a refused write; a full disk also starts the recovery probe."""
        err = StorageError.wrap(exc, action)
        if err.disk_full and self.write_problem is None:
            self.write_problem = "disk full: " + str(exc)
            log.error("the disk of %s is full; writes are refused until space is freed (%s)", self.path, exc)
            self._start_probe()
        return err

    def _start_probe(self) -> None:
        if self._probe_task is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no event loop (tools, unit tests): the next write tries again
            self.write_problem = None
            return
        self._probe_task = loop.create_task(self._probe_loop())

    async def _probe_loop(self) -> None:
        """Until a test write succeeds: probe; reopen the store if RocksDB stays read-only."""
        loop = asyncio.get_running_loop()
        space_since: float | None = None
        try:
            while self.write_problem is not None:
                await asyncio.sleep(PROBE_INTERVAL)
                if not self._space_available():
                    space_since = None
                    continue
                space_since = space_since or loop.time()
                if not self.in_memory and loop.time() - space_since >= REOPEN_AFTER and self._reopen():
                    space_since = None
                if self._probe_write():
                    self.write_problem = None
                    log.info("the disk of %s has space again; writes resumed", self.path)
        finally:
            self._probe_task = None

    def _space_available(self) -> bool:
        try:
            st = os.statvfs(self.path)
        except OSError:
            return False
        return st.f_bavail * st.f_frsize >= MIN_FREE_BYTES

    def _probe_write(self) -> bool:
        """One small synced write: True once the store takes writes again."""
        try:
            with self._lock:
                self._db.put(PROBE_KEY, b"1", self._wo)
                if not self.in_memory:
                    self._db.flush_wal(True)
        except Exception:  # noqa: BLE001 - still refused
            return False
        return True

    def _reopen(self) -> bool:
        """Close and reopen the Rdict (clears a background error RocksDB won't resume from).

        The data dir's lock file stays held by the server. Fails (and is retried) while an
        iterator still holds the old handle open.
        """
        if not self._maintenance.acquire(blocking=False):
            return False  # a table upgrade is compacting; try again at the next probe
        log.warning("store at %s stays read-only with free space; reopening it", self.path)
        try:
            with self._lock:
                try:
                    self._db.close()
                except Exception as exc:  # noqa: BLE001 - the background error, reported again
                    log.warning("closing the store: %s", exc)
                try:
                    self._db = self._open_rdict()
                    self._set_read_options()
                except Exception as exc:  # noqa: BLE001
                    log.error("reopening the store failed (will retry): %s", exc)
                    return False
        finally:
            self._maintenance.release()
        return True

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
        loop = self._group_loop
        if self._sync_task is None:
            # the loop is looked up once per group, not per write: CPython 3.11's
            # get_running_loop() makes a getpid system call each time; the group's task and
            # every future it resolves belong to this one loop
            self._group_loop = loop = asyncio.get_running_loop()
            self._sync_task = loop.create_task(self._sync_loop(loop))
        assert loop is not None  # set with the group's task
        fut = loop.create_future()
        self._waiters.append((target, fut))
        return fut

    async def _sync_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            while self._waiters:
                # an fsync costs ~80 µs of CPU here whatever it covers: let the requests that
                # are already readable on other connections run first, so they join this group
                for _ in range(GATHER_YIELDS):
                    await asyncio.sleep(0)
                covered = self.written
                sequence = self.latest_sequence()
                published = prepare_hooks(self.durable_hooks)
                await loop.run_in_executor(None, self._fsync, sequence)
                self._synced = covered
                self._waiters = resolve_waiters(self._waiters, covered)
                run_hooks(published)
        except BaseException as exc:  # fsync failure: nobody may be acknowledged
            self._waiters = fail_waiters(self._waiters, exc)
            raise
        finally:
            self._sync_task = None

    def sync(self) -> None:
        """fsync every write so far now, outside group commit (a migration before serving)."""
        self._fsync(self.latest_sequence())

    def _fsync(self, sequence: int) -> None:
        """fsync the WAL; then every write up to ``sequence`` (read before the fsync) is durable."""
        if FSYNC_HOLD:
            hold_fsync(FSYNC_HOLD)
        with self._lock:
            try:
                self._db.flush_wal(True)
            except Exception as exc:  # noqa: BLE001 - rocksdict raises bare Exception
                raise StorageError.wrap(exc, "fsync failed") from None
            if self.durable_mark is not None:
                self.durable_mark.record(sequence)

    def start_background(self) -> None:
        """Start the interval fsync of relaxed mode and a pending table upgrade (needs a
        running loop)."""
        if self.durability == "relaxed" and self._relaxed_task is None:
            self._relaxed_task = asyncio.ensure_future(self._relaxed_loop())
        if self.upgrade_needed:
            self.upgrade_needed = False
            asyncio.get_running_loop().run_in_executor(None, self.upgrade_tables)

    def upgrade_tables(self) -> None:
        """Rewrite every table file in the current layout (a store from an older release), then
        mark the store. Reads and writes go on meanwhile: RocksDB compacts in the background of
        this thread and releases the GIL (1.3 s for a million items)."""
        with self._maintenance:
            if self._closed:
                return
            compact = CompactOptions()
            compact.set_bottommost_level_compaction(BottommostLevelCompaction.force())
            try:
                self._db.compact_range(None, None, compact)
                _write_marker(os.path.join(self.path, TABLE_FORMAT_FILE))
            except Exception as exc:  # noqa: BLE001 - e.g. a full disk: reads stay correct, only slower
                log.warning(
                    "upgrading the table files of %s failed (retried at the next start): %s", self.path, exc
                )

    async def _relaxed_loop(self) -> None:
        """The interval fsync of relaxed mode; a failed fsync is logged and retried (it must not
        end the loop, or nothing would be fsynced again until a restart)."""
        loop = asyncio.get_running_loop()
        trouble = StorageTrouble(log, "interval fsync")
        while True:
            await asyncio.sleep(self.relaxed_interval)
            if self._synced < self.written:
                covered = self.written
                sequence = self.latest_sequence()
                try:
                    await loop.run_in_executor(None, self._fsync, sequence)
                except StorageError as err:
                    trouble.failed(err)
                    continue
                trouble.ok()
                self._synced = covered

    def close(self) -> None:
        if self._relaxed_task is not None:
            self._relaxed_task.cancel()
            self._relaxed_task = None
        try:
            # the locks wait out an interval fsync or a table upgrade still running in the
            # executor (cancelling a task does not stop its thread; closing under it fails with
            # "Already borrowed")
            with self._maintenance, self._lock:
                self._closed = True
                if not self.in_memory:
                    # a background error (corruption, full disk) is reported again by both
                    # calls: log it and finish stopping; acknowledged writes are in the WAL
                    sequence = self.latest_sequence()
                    try:
                        self._db.flush_wal(True)
                        if self.durable_mark is not None:
                            self.durable_mark.record(sequence)
                    except Exception as exc:  # noqa: BLE001
                        log.error("syncing the WAL of %s at shutdown: %s", self.path, exc)
                    try:
                        self._db.close()
                    except Exception as exc:  # noqa: BLE001
                        log.error("closing the store at %s: %s", self.path, exc)
                else:
                    try:  # RocksDB's memory Env cannot SyncWAL, which close() does; nothing to keep
                        self._db.close()
                    except Exception:  # noqa: BLE001
                        pass
        finally:
            if self._tmp:
                shutil.rmtree(self._tmp, ignore_errors=True)
