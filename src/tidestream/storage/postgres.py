"""The PostgreSQL engine (``--store postgresql://...``): the same ordered key-value interface as
:class:`~.engine.RocksEngine`, over one table of ``bytea`` keys and values.

Why this shape (docs/decisions/0004-cluster-mode.md): the services already speak an ordered
keyspace, so one ordered table keeps every prefix, scan and atomic batch meaning what it means on
RocksDB. A B-tree entry is limited to ~2.7 KB and DynamoDB keys (index entries carry two keys)
reach ~6 KB, so the unique index is on (first 1024 bytes of the key, SHA-256 of the key) and a
scan orders by (head, key): byte order of the head and then of the whole key is byte order of
the key, and PostgreSQL finishes the order with an incremental sort of equal heads.

Calls are synchronous, like the engine interface, through psycopg's libpq layer with binary
prepared statements (measured here: ~26 µs and ~12 µs of client CPU per point read, against ~58
µs through psycopg's Python layer and ~41 µs through asyncpg). Writes commit with
``synchronous_commit = off`` (one round trip, no fsync wait on the event loop); durability is a
*group flush* like RocksEngine's group commit: a second connection, in an executor thread,
commits a one-row update of this node's own row with ``synchronous_commit = on``; PostgreSQL
flushes the WAL up to that commit record, so through every commit made before it. (A
transaction that only takes a transaction id writes no WAL and flushes nothing: measured.)

The driver is imported here only: the default RocksDB path never loads it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import struct
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from . import keyspace
from .engine import (
    FSYNC_HOLD,
    DurableHook,
    StorageError,
    WriteConflict,
    Writes,
    fail_waiters,
    hold_fsync,
    prepare_hooks,
    resolve_waiters,
    run_hooks,
)

try:
    import psycopg
    from psycopg import pq
except ImportError as _missing:  # pragma: no cover - the message is what the user needs
    raise StorageError(
        "--store postgresql:// needs the PostgreSQL driver: pip install 'tidestream[postgresql]'"
    ) from _missing

log = logging.getLogger("tidestream.storage")

T = TypeVar("T")

#: seconds the invalidation listener waits for notifications before it checks for close()
LISTEN_POLL = 1.0
#: seconds between attempts to get the listener's connection back
LISTEN_RETRY = 1.0
#: the schema this code reads and writes; a database stamped newer is refused (like FORMAT)
#: 2: records with named fields, as data dir format 3 (storage/migrate.py ``name_record_fields``)
SCHEMA_VERSION = 2
#: key bytes held in the unique index (a B-tree entry must stay under ~2.7 KB)
KEY_HEAD = 1024
#: rows fetched by the first page of a scan; later pages grow to SCAN_PAGE_MAX (most scans
#: stop early: Query with a Limit, a metadata lookup, the publisher's next batch)
SCAN_PAGE_FIRST = 64
SCAN_PAGE_MAX = 1024
#: taken while creating or migrating the schema, so nodes starting together don't race
SCHEMA_LOCK = 0x7469_6465  # "tide"
#: held by the one node serving a database, for as long as its session lives: multi-node
#: correctness is not built yet (docs/decisions/0004-cluster-mode.md), so a second node is
#: refused instead of silently corrupting counters and the outbox
NODE_LOCK = 0x7469_6466
BYTEA_OID = 17
INT8_OID = 20
#: PostgreSQL's SQLSTATEs for a deadlock and a serialization failure: the checked write lost a
#: race (it takes its locks in order, so this is a backstop), retried like a changed value
CONFLICT_STATES = (b"40P01", b"40001")

_HEAD = f"substring(k from 1 for {KEY_HEAD})"
_HEAD_OF = f"substring($%d::bytea from 1 for {KEY_HEAD})"

SCHEMA = [
    "CREATE TABLE IF NOT EXISTS tidestream_meta (name text PRIMARY KEY, value text NOT NULL)",
    "CREATE TABLE IF NOT EXISTS tidestream_kv (k bytea NOT NULL, v bytea NOT NULL)",
    f"CREATE UNIQUE INDEX IF NOT EXISTS tidestream_kv_key ON tidestream_kv (({_HEAD}), (sha256(k)))",
]

_RANGE = f"{_HEAD} >= {_HEAD_OF % 1} AND {_HEAD} <= {_HEAD_OF % 2} AND k >= $1 AND k < $2"
STATEMENTS = {
    b"get": f"SELECT v FROM tidestream_kv WHERE {_HEAD} = {_HEAD_OF % 1} AND sha256(k) = sha256($1) AND k = $1",
    b"scan": f"SELECT k, v FROM tidestream_kv WHERE {_RANGE} ORDER BY {_HEAD}, k LIMIT $3",
    b"scan_reverse": f"SELECT k, v FROM tidestream_kv WHERE {_RANGE} ORDER BY {_HEAD} DESC, k DESC LIMIT $3",
    # one statement, so one round trip and one atomic commit for puts and deletes together
    b"write": (
        "WITH gone AS (DELETE FROM tidestream_kv USING unnest($3::bytea[]) AS d(key)"
        f" WHERE {_HEAD} = substring(d.key from 1 for {KEY_HEAD}) AND sha256(k) = sha256(d.key)"
        " AND k = d.key)"
        " INSERT INTO tidestream_kv (k, v) SELECT * FROM unnest($1::bytea[], $2::bytea[])"
        f" ON CONFLICT (({_HEAD}), (sha256(k))) DO UPDATE SET v = excluded.v"
    ),
    # cluster mode's checked write (write_checked): lock the keys it read, in the order given
    # (sorted, so two nodes never wait for each other in a cycle), then read them again
    b"lock_keys": "SELECT pg_advisory_xact_lock(id) FROM unnest($1::int8[]) AS l(id)",
    # the same, after shared locks on $2 (an item write's tables: many writers share a table's
    # lock, a change of its definition takes it alone); UNION ALL runs its parts in order, so
    # shared locks are always taken before exclusive ones, each set sorted: no cycle
    b"lock_keys_shared_first": (
        "SELECT pg_advisory_xact_lock_shared(id) FROM unnest($2::int8[]) AS s(id)"
        " UNION ALL SELECT pg_advisory_xact_lock(id) FROM unnest($1::int8[]) AS l(id)"
    ),
    # cluster mode's cache invalidation: every node LISTENs (see PostgresEngine.announce)
    b"notify": "SELECT pg_notify('tidestream_meta', $1::text)",
    # one index lookup per key, as ``get`` makes: a plain join with unnest() let the generic
    # plan, made while the table was small, be a hash join over a scan of every row, which it
    # stayed as the table grew (each checked write then read the whole store)
    b"get_many": (
        "SELECT found.k, found.v FROM unnest($1::bytea[]) AS d(key), LATERAL (SELECT k, v FROM tidestream_kv"
        f" WHERE {_HEAD} = substring(d.key from 1 for {KEY_HEAD}) AND sha256(k) = sha256(d.key) AND k = d.key"
        " LIMIT 1) AS found"
    ),
}


# range deletes (delete_range): recorded at once, done by a thread in batches ------------------
#: rows a background range delete removes per transaction (short transactions: the rows are
#: not held long and nothing waits behind one huge DELETE)
DELETE_BATCH = 2000
#: seconds between looks for range deletes left by other nodes (one killed in the middle)
DELETE_POLL = 5.0
#: ``tidestream_meta`` rows naming a range still to delete: name PENDING_DELETE + a digest of
#: the range, value ``<start hex>:<end hex>``
PENDING_DELETE = "delete_range:"
_RANGE_NAMED = (
    f"{_HEAD} >= substring(%(start)s::bytea from 1 for {KEY_HEAD})"
    f" AND {_HEAD} <= substring(%(end)s::bytea from 1 for {KEY_HEAD}) AND k >= %(start)s AND k < %(end)s"
)
DELETE_SOME = (
    "DELETE FROM tidestream_kv WHERE ctid = ANY(ARRAY("
    f"SELECT ctid FROM tidestream_kv WHERE {_RANGE_NAMED} LIMIT {DELETE_BATCH}))"
)
STATEMENTS[b"pending_delete"] = "INSERT INTO tidestream_meta VALUES ($1, $2) ON CONFLICT DO NOTHING"


def bytea_array(values: list[bytes]) -> bytes:
    """PostgreSQL's binary array format for ``bytea[]`` (one dimension, no NULLs)."""
    if not values:
        return struct.pack(">iiI", 0, 0, BYTEA_OID)
    parts = [struct.pack(">iiIii", 1, 0, BYTEA_OID, len(values), 1)]
    for value in values:
        parts.append(struct.pack(">i", len(value)))
        parts.append(value)
    return b"".join(parts)


def int8_array(values: list[int]) -> bytes:
    """PostgreSQL's binary array format for ``int8[]`` (one dimension, no NULLs)."""
    if not values:
        return struct.pack(">iiI", 0, 0, INT8_OID)
    head = struct.pack(">iiIii", 1, 0, INT8_OID, len(values), 1)
    return head + b"".join(struct.pack(">iq", 8, value) for value in values)


def key_lock_id(key: bytes) -> int:
    """The advisory lock standing for one key (64 bits of its hash: a collision only makes two
    keys share a lock, which is safe). A lock, not a row lock: an absent item has no row."""
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big", signed=True)


def redacted(dsn: str) -> str:
    """The store URL without its password (for logs and the health page)."""
    parts = urlsplit(dsn)
    if parts.password is None:
        return dsn
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


class PostgresEngine:
    """The storage interface over PostgreSQL, one node (see the module docstring).

    ``durability='strict'``: :meth:`sync_future` resolves after a group flush covers every
    write made so far. ``'relaxed'``: acknowledged at once; PostgreSQL's WAL writer flushes
    within three ``wal_writer_delay`` (600 ms by default).
    """

    name = "postgresql"
    in_memory = False

    def __init__(self, dsn: str, durability: str = "strict", *, cluster: bool = False) -> None:
        self.dsn = dsn
        self.durability = durability
        #: several nodes share the database: item writes go through :meth:`write_checked`
        self.cluster = cluster
        #: inside write_checked's transaction: a lost connection must fail it, not reconnect
        self._in_transaction = False
        #: cluster mode: called on the event loop with a key another node announced changed
        #: (None: notifications may have been missed, reload everything)
        self._listeners: list[Callable[[bytes | None], None]] = []
        self._listening: threading.Thread | None = None
        self._closing = threading.Event()
        #: the range-delete thread, and what wakes it (a range recorded, or close())
        self._deleting: threading.Thread | None = None
        self._deletes_waiting = threading.Event()
        self._node_id = uuid.uuid4().hex
        self._leases: AdvisoryLeases | None = None
        self.written = 0
        self._synced = 0
        self._waiters: list[tuple[int, asyncio.Future]] = []
        #: readable tails advanced by each group flush, as RocksEngine's group commit does
        self.durable_hooks: list[DurableHook] = []
        self._sync_task: asyncio.Future | None = None
        #: the flush connection is used by one executor thread at a time, and closed under it
        self._flush_lock = threading.Lock()
        #: why the database can't be used right now, for /_tidestream/health; None: fine
        self.write_problem: str | None = None
        self.server_version = ""
        self._conn = self._connect(prepare=False)
        found = self._migrate()
        self._claim(self._conn)
        self._prepare(self._conn)
        self._flush_conn = self._connect(prepare=False, synchronous=True)
        #: this process's row for the group flush (removed by close())
        self._flush_row = f"flush:{uuid.uuid4()}"
        if not cluster:  # rows of nodes killed before close() go: this node is the only one
            self._flush_conn.execute("DELETE FROM tidestream_meta WHERE name LIKE 'flush:%'")
        self._flush_conn.execute("INSERT INTO tidestream_meta VALUES (%s, '')", (self._flush_row,))
        if found < SCHEMA_VERSION:
            self._upgrade(found)

    # connections ---------------------------------------------------------------------------
    def _connect(self, *, prepare: bool = True, synchronous: bool = False) -> psycopg.Connection:
        """An autocommit connection; the request connection commits without waiting for the
        WAL flush (the group flush does that) and always uses the generic plans measured."""
        try:
            conn = psycopg.connect(self.dsn, autocommit=True, connect_timeout=10)
            if not synchronous:
                conn.execute("SET synchronous_commit = off")
            conn.execute("SET plan_cache_mode = force_generic_plan")
        except psycopg.Error as err:
            raise StorageError(f"cannot connect to the store {redacted(self.dsn)}: {_text(err)}") from None
        self.server_version = str(conn.info.server_version)
        if prepare:
            self._prepare(conn)
        return conn

    @staticmethod
    def _prepare(conn: psycopg.Connection) -> None:
        for name, sql in STATEMENTS.items():
            _check(conn.pgconn.prepare(name, sql.encode()), "preparing statements")

    def _migrate(self) -> int:
        """Create the schema, or check the one found, under an advisory lock (nodes that start
        together wait for each other); a database written by a newer release is refused."""
        try:
            with self._conn.transaction():
                self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
                for ddl in SCHEMA:
                    self._conn.execute(ddl)
                row = self._conn.execute(
                    "SELECT value FROM tidestream_meta WHERE name = 'schema_version'"
                ).fetchone()
                if row is None:
                    self._conn.execute(
                        "INSERT INTO tidestream_meta VALUES ('schema_version', %s)", (str(SCHEMA_VERSION),)
                    )
                    found = SCHEMA_VERSION
                else:
                    found = int(row[0])
        except psycopg.Error as err:
            raise StorageError(f"cannot set up the store {redacted(self.dsn)}: {_text(err)}") from None
        if found > SCHEMA_VERSION:
            raise StorageError(
                f"the store {redacted(self.dsn)} has schema version {found}, newer than this "
                f"release's {SCHEMA_VERSION}: run a newer tidestream"
            )
        return found

    def _upgrade(self, found: int) -> None:
        """Rewrite records stored by an older schema (this node holds the node lock). The new
        version is stamped by the synchronous flush connection, whose commit flushes the WAL
        through every rewrite before it: a crash before the stamp leaves a store the next start
        upgrades again (each step skips what it already did)."""
        from .migrate import name_record_fields

        renamed = name_record_fields(self)
        try:
            self._flush_conn.execute(
                "UPDATE tidestream_meta SET value = %s WHERE name = 'schema_version'", (str(SCHEMA_VERSION),)
            )
        except psycopg.Error as err:
            raise StorageError(f"cannot upgrade the store {redacted(self.dsn)}: {_text(err)}") from None
        log.info(
            "store %s upgraded from schema %d to %d (%d records given named fields)",
            redacted(self.dsn),
            found,
            SCHEMA_VERSION,
            renamed,
        )

    def _run(self, name: bytes, params: list[bytes], action: str) -> pq.abc.PGresult:
        """One prepared statement on the request connection (reconnecting first if the last
        call lost it); any failure is a StorageError, never a short answer."""
        if self._conn.closed or self._conn.pgconn.status != pq.ConnStatus.OK:
            if self._in_transaction:
                raise self._failed(action, "the connection was lost in a transaction")
            try:
                self._reconnect()
            except StorageError as err:
                self.write_problem = f"database unreachable: {err}"
                raise
        try:
            result = self._conn.pgconn.exec_prepared(name, params, [1] * len(params), 1)
        except psycopg.Error as err:
            raise self._failed(action, _text(err)) from None
        status = result.status
        if status != pq.ExecStatus.TUPLES_OK and status != pq.ExecStatus.COMMAND_OK:
            if result.error_field(pq.DiagnosticField.SQLSTATE) in CONFLICT_STATES:
                raise WriteConflict(action)
            raise self._failed(action, (result.error_message or b"").decode(errors="replace").strip())
        if self.write_problem is not None:
            self.write_problem = None
            log.info("the store %s answers again", redacted(self.dsn))
        return result

    def _reconnect(self) -> None:
        try:
            self._conn.close()
        except psycopg.Error:
            pass
        self._conn = self._connect()
        self._claim(self._conn)

    def _claim(self, conn: psycopg.Connection) -> None:
        """Take the database's node lock on this session, or refuse: another node serves it.
        The lock goes with the session, so a node that dies (or whose connection is cut)
        frees it."""
        how = "pg_try_advisory_lock_shared" if self.cluster else "pg_try_advisory_lock"
        try:
            row = conn.execute(f"SELECT {how}(%s)", (NODE_LOCK,)).fetchone()
        except psycopg.Error as err:
            raise StorageError(f"cannot lock the store {redacted(self.dsn)}: {_text(err)}") from None
        if row is None or not row[0]:
            conn.close()
            if self.cluster:
                raise StorageError(
                    f"a tidestream node without --cluster is serving the store {redacted(self.dsn)}; "
                    "stop it or restart it with --cluster (docs/cluster.md)"
                )
            raise StorageError(
                f"another tidestream node is serving the store {redacted(self.dsn)}; several nodes on "
                "one database need --cluster on every node (docs/cluster.md)"
            )

    def _failed(self, action: str, text: str) -> StorageError:
        if self._conn.pgconn.status != pq.ConnStatus.OK and self.write_problem is None:
            self.write_problem = f"database unreachable: {text}"
            log.error("lost the store %s: %s", redacted(self.dsn), text)
        return StorageError(f"{action}: {text}")

    # reads -----------------------------------------------------------------------------------
    def get(self, key: bytes) -> bytes | None:
        result = self._run(b"get", [key], "read failed")
        return result.get_value(0, 0) if result.ntuples else None

    def scan(self, start: bytes, end: bytes, reverse: bool = False) -> Iterator[tuple[bytes, bytes]]:
        """Keys in [start, end), ascending, or descending when ``reverse``, fetched in pages
        that continue after the last key seen (no cursor or transaction stays open)."""
        page = SCAN_PAGE_FIRST
        statement = b"scan_reverse" if reverse else b"scan"
        while start < end:
            result = self._run(statement, [start, end, struct.pack(">q", page)], "range read failed")
            rows = result.ntuples
            for row in range(rows):
                yield result.get_value(row, 0), result.get_value(row, 1)  # type: ignore[misc]
            if rows < page:
                return
            last = result.get_value(rows - 1, 0)
            assert last is not None
            if reverse:
                end = last
            else:
                start = last + b"\x00"  # the smallest key after ``last``
            page = min(page * 4, SCAN_PAGE_MAX)

    def scan_page(self, start: bytes, end: bytes, limit: int) -> list[tuple[bytes, bytes]]:
        """The first ``limit`` keys of [start, end) read by one statement, so from one snapshot
        (``scan`` pages are several): cluster mode's publisher reads the outbox head with it."""
        result = self._run(b"scan", [start, end, struct.pack(">q", limit)], "range read failed")
        return [(result.get_value(row, 0), result.get_value(row, 1)) for row in range(result.ntuples)]  # type: ignore[misc]

    # writes ----------------------------------------------------------------------------------
    def write(self, writes: Writes) -> None:
        """All writes in one statement, so one atomic commit (the last write of a key wins, as
        in a RocksDB batch). In cluster mode in key order: two nodes updating the same rows
        (table statistics) then lock them in one order and never deadlock."""
        final = dict(writes)
        puts = [(k, v) for k, v in final.items() if v is not None]
        deletes = [k for k, v in final.items() if v is None]
        if self.cluster:
            puts.sort()
            deletes.sort()
        params = [bytea_array([k for k, _ in puts]), bytea_array([v for _, v in puts]), bytea_array(deletes)]
        self._run(b"write", params, "write failed")
        self.written += 1

    def write_checked(
        self,
        writes: Writes,
        keys: list[bytes],
        unchanged: Callable[[list[bytes | None]], bool],
        shared: list[bytes] | None = None,
    ) -> None:
        """Write only if the values of ``keys`` (read earlier by the caller) are still what it
        read, as ``unchanged`` tells from their current values; else raise WriteConflict and
        write nothing. One transaction: lock the keys (advisory locks in sorted order: no
        deadlock between nodes; an absent key has no row to lock), read them, compare, write.
        This is cluster mode's optimistic concurrency (docs/decisions/0004-cluster-mode.md).
        ``shared``: keys also read, under shared locks (an item write's table definitions; their
        values follow those of ``keys``)."""

        def compare_then_write(current: list[bytes | None]) -> None:
            if not unchanged(current):
                raise WriteConflict("changed since read")
            self.write(writes)

        if shared:
            self.write_locked(keys, keys + shared, compare_then_write, shared)
        else:
            self.write_locked(keys, keys, compare_then_write)

    def _run_raw(self, sql: bytes) -> None:
        """A statement without parameters (BEGIN, COMMIT) on the request connection."""
        if self._conn.closed or self._conn.pgconn.status != pq.ConnStatus.OK:
            self._reconnect()
        result = self._conn.pgconn.exec_(sql)
        if result.status != pq.ExecStatus.COMMAND_OK:
            text = (result.error_message or b"").decode(errors="replace").strip()
            if result.error_field(pq.DiagnosticField.SQLSTATE) in CONFLICT_STATES:
                raise WriteConflict(text)
            raise self._failed("write failed", text)

    def delete_range(self, start: bytes, end: bytes) -> None:
        """Make [start, end) go. PostgreSQL deletes row by row, so a big range (DeleteTable of a
        big table) would hold the event loop for seconds: the range is recorded (one row, as
        durable as any write) and a thread deletes it in batches on its own connection, while
        its rows may still be read. Every caller but the admin reset deletes rows no one reads
        again (a dropped table's or stream's unique id, records behind a trim horizon); the
        reset of the whole keyspace is a TRUNCATE, which is instant."""
        if (start, end) == keyspace.EVERYTHING:
            self._truncate()
            return
        name = PENDING_DELETE + hashlib.blake2b(start + b":" + end, digest_size=16).hexdigest()
        self._run(b"pending_delete", [name.encode(), f"{start.hex()}:{end.hex()}".encode()], "write failed")
        self.written += 1
        self._deletes_waiting.set()

    # cluster mode: DynamoDB reads and range deletes (dynamodb/ transactions, ItemStore) -----
    def get_many(self, keys: list[bytes]) -> list[bytes | None]:
        """The values of ``keys`` (None: absent) read by one statement, so as of one snapshot:
        a transaction committed by any node is in it entirely or not at all (TransactGetItems)."""
        result = self._run(b"get_many", [bytea_array(keys)], "read failed")
        found = {result.get_value(row, 0): result.get_value(row, 1) for row in range(result.ntuples)}
        return [found.get(key) for key in keys]

    # durability ------------------------------------------------------------------------------
    async def durable(self) -> None:
        fut = self.sync_future()
        if fut is not None:
            await fut

    def sync_future(self) -> asyncio.Future | None:
        """A future done once every write made so far is flushed by PostgreSQL (strict mode);
        None if that is already so or the mode doesn't wait."""
        if self.durability != "strict" or self._synced >= self.written:
            return None
        fut = asyncio.get_running_loop().create_future()
        self._waiters.append((self.written, fut))
        if self._sync_task is None:
            self._sync_task = asyncio.ensure_future(self._sync_loop())
        return fut

    async def _sync_loop(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._waiters:
                await asyncio.sleep(0)  # requests already readable join this flush
                covered = self.written
                published = prepare_hooks(self.durable_hooks)
                await loop.run_in_executor(None, self._flush)
                self._synced = covered
                self._waiters = resolve_waiters(self._waiters, covered)
                run_hooks(published)
        except BaseException as exc:  # a failed flush: nobody may be acknowledged
            self._waiters = fail_waiters(self._waiters, exc)
            raise
        finally:
            self._sync_task = None

    def _flush(self) -> None:
        """Commit a write with ``synchronous_commit = on``: PostgreSQL flushes the WAL through
        its commit record, which covers every earlier commit. Each node updates its own row,
        so nodes never wait for each other's row lock."""
        if FSYNC_HOLD:  # tests only, as RocksEngine._fsync
            hold_fsync(FSYNC_HOLD)
        with self._flush_lock:
            try:
                if self._flush_conn.closed or self._flush_conn.pgconn.status != pq.ConnStatus.OK:
                    self._flush_conn = self._connect(prepare=False, synchronous=True)
                self._flush_conn.execute(
                    "UPDATE tidestream_meta SET value = value WHERE name = %s", (self._flush_row,)
                )
            except psycopg.Error as err:
                raise StorageError(f"flush failed: {_text(err)}") from None

    # cluster mode: cache invalidation -----------------------------------------------------
    def announce(self, key: bytes) -> None:
        """Tell the other nodes that the metadata entry at ``key`` changed (after its write
        committed; they reload it from the store). Cluster mode only."""
        payload = f"{self._node_id}:{key.hex()}".encode()
        self._run(b"notify", [payload], "notify failed")

    def listen(self, callback: Callable[[bytes | None], None]) -> None:
        """``callback(key)`` on the event loop for each key another node announces; started by
        :meth:`start_background`."""
        self._listeners.append(callback)

    def _listen_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """The listener thread: its own connection, LISTEN, and each notification handed to the
        loop. After a lost connection every cache is reloaded (notifications were missed)."""
        while not self._closing.is_set():
            try:
                with psycopg.connect(self.dsn, autocommit=True, connect_timeout=10) as conn:
                    conn.execute("LISTEN tidestream_meta")
                    while not self._closing.is_set():
                        for note in conn.notifies(timeout=LISTEN_POLL):
                            self._heard(loop, note.payload)
            except psycopg.Error as err:
                if self._closing.is_set():
                    return
                log.warning("cache invalidation listener lost the store: %s", _text(err))
                self._closing.wait(LISTEN_RETRY)
                self._heard(loop, None)

    def _heard(self, loop: asyncio.AbstractEventLoop, payload: str | None) -> None:
        """Hand one notification (None: reload all) to the loop; this node's own, and anything
        on the channel that is not ``node:hexkey``, are ignored."""
        node, _, key = (payload or "").partition(":")
        if node == self._node_id:
            return
        try:
            changed = bytes.fromhex(key) if payload is not None else None
        except ValueError:
            return
        for callback in self._listeners:
            try:
                loop.call_soon_threadsafe(callback, changed)
            except RuntimeError:  # the loop is closed: the node is shutting down
                return

    def start_background(self) -> None:
        """The range-delete thread, and in cluster mode the invalidation listener (PostgreSQL's
        WAL writer flushes in relaxed mode)."""
        if self._deleting is None:
            self._deleting = threading.Thread(target=self._delete_loop, daemon=True)
            self._deleting.start()
        if self.cluster and self._listeners and self._listening is None:
            loop = asyncio.get_running_loop()
            self._listening = threading.Thread(target=self._listen_loop, args=(loop,), daemon=True)
            self._listening.start()

    # cluster mode: Kinesis appends ---------------------------------------------------------
    def write_locked(
        self,
        lock_keys: list[bytes],
        read_keys: list[bytes],
        body: Callable[[list[bytes | None]], T],
        shared_keys: list[bytes] | None = None,
    ) -> T:
        """``body(values of read_keys)`` inside one transaction holding the advisory locks of
        ``lock_keys`` (the ids write_checked takes, in sorted order: the two never deadlock);
        ``body`` writes through :meth:`write` and raises to write nothing. Unlike write_checked,
        the writes are computed under the locks: a Kinesis append numbers its records from the
        shard counters it reads here, so two nodes never issue one sequence number and a
        shard's records commit in counter order (docs/decisions/0004-cluster-mode.md).
        ``shared_keys``: locked shared, before the others (see ``lock_keys_shared_first``)."""
        self._run_raw(b"BEGIN")
        self._in_transaction = True
        try:
            self._lock(lock_keys, shared_keys)
            result = self._run(b"get_many", [bytea_array(read_keys)], "read failed")
            current = {result.get_value(row, 0): result.get_value(row, 1) for row in range(result.ntuples)}
            answer = body([current.get(k) for k in read_keys])
            self._in_transaction = False
            self._run_raw(b"COMMIT")
        except BaseException:
            self._in_transaction = False
            if self._conn.pgconn.status == pq.ConnStatus.OK:
                self._conn.pgconn.exec_(b"ROLLBACK")
            raise
        return answer

    def _lock(self, lock_keys: list[bytes], shared_keys: list[bytes] | None) -> None:
        """The advisory locks of a write_locked transaction, in one round trip."""
        exclusive = int8_array(sorted({key_lock_id(k) for k in lock_keys}))
        if not shared_keys:
            self._run(b"lock_keys", [exclusive], "lock failed")
            return
        shared = int8_array(sorted({key_lock_id(k) for k in shared_keys}))
        self._run(b"lock_keys_shared_first", [exclusive, shared], "lock failed")

    def _truncate(self) -> None:
        """The whole keyspace at once (the admin reset), and every range delete still pending:
        those are taken first, in the order the deleting thread takes them (meta row, then the
        rows), so neither waits for the other in a cycle; a pending delete of a dropped table
        must not run on after the reset, when ids start again and a new table gets the same."""
        try:
            if self._conn.closed or self._conn.pgconn.status != pq.ConnStatus.OK:
                self._reconnect()
            with self._conn.transaction():
                self._conn.execute("DELETE FROM tidestream_meta WHERE name LIKE %s", (PENDING_DELETE + "%",))
                self._conn.execute("TRUNCATE tidestream_kv")
        except psycopg.Error as err:
            raise self._failed("write failed", _text(err)) from None
        self.written += 1

    def _delete_loop(self) -> None:
        """The range-delete thread: every pending range (this node's, or left by a node that
        died), batch by batch, on a connection of its own; then it waits for the next one."""
        conn: psycopg.Connection | None = None
        while not self._closing.is_set():
            try:
                if conn is None or conn.closed:
                    conn = psycopg.connect(self.dsn, autocommit=True, connect_timeout=10)
                    conn.execute("SET synchronous_commit = off")
                pending = conn.execute(
                    "SELECT name, value FROM tidestream_meta WHERE name LIKE %s", (PENDING_DELETE + "%",)
                ).fetchall()
                for name, value in pending:
                    self._delete_pending(conn, name, value)
            except psycopg.Error as err:
                if self._closing.is_set():
                    break
                log.warning("range delete: %s; retrying", _text(err))
                conn = None
            self._deletes_waiting.wait(DELETE_POLL)
            self._deletes_waiting.clear()
        if conn is not None:
            conn.close()

    def _delete_pending(self, conn: psycopg.Connection, name: str, value: str) -> None:
        """One pending range, DELETE_BATCH rows per transaction; the last one also removes the
        range's row. Each holds the row (FOR UPDATE): a reset that removed it stops this."""
        start_hex, _, end_hex = value.partition(":")
        bounds = {"start": bytes.fromhex(start_hex), "end": bytes.fromhex(end_hex)}
        while not self._closing.is_set():
            with conn.transaction():
                held = conn.execute("SELECT 1 FROM tidestream_meta WHERE name = %s FOR UPDATE", (name,))
                if held.fetchone() is None:
                    return
                deleted = conn.execute(DELETE_SOME, bounds).rowcount
                if deleted < DELETE_BATCH:
                    conn.execute("DELETE FROM tidestream_meta WHERE name = %s", (name,))
                    return

    # cluster mode: leases ----------------------------------------------------------------
    def leases(self) -> AdvisoryLeases:
        """This node's elections for single-leader jobs (one per engine; closed with it)."""
        if self._leases is None:
            from .leases import LEASE_RETRY

            self._leases = AdvisoryLeases(self.dsn, LEASE_RETRY)
        return self._leases

    # operations ------------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        """The database as /_tidestream/health shows it; one round trip, so an unreachable
        database shows here (and makes the node report 503) before a request fails on it."""
        state: dict[str, Any] = {"url": redacted(self.dsn), "schema_version": SCHEMA_VERSION}
        try:
            if self._conn.closed or self._conn.pgconn.status != pq.ConnStatus.OK:
                self._reconnect()
            self._conn.execute("SELECT 1")
            self.write_problem = None
        except (psycopg.Error, StorageError) as err:
            self.write_problem = f"database unreachable: {_text(err)}"
        state["server_version"] = self.server_version
        return state

    def close(self) -> None:
        self._closing.set()
        self._deletes_waiting.set()
        if self._leases is not None:
            self._leases.close()
        if self._listening is not None:
            self._listening.join(timeout=LISTEN_POLL * 5)
        if self._deleting is not None:
            self._deleting.join(timeout=LISTEN_POLL * 5)
        with self._flush_lock:
            try:
                self._flush_conn.execute("DELETE FROM tidestream_meta WHERE name = %s", (self._flush_row,))
            except psycopg.Error as err:
                log.warning("removing this node's flush row: %s", _text(err))
            for conn in (self._conn, self._flush_conn):
                try:
                    conn.close()
                except psycopg.Error as err:
                    log.error("closing the store connection: %s", _text(err))


class AdvisoryLeases:
    """Cluster mode's elections (storage/leases.py): one session advisory lock per job name on
    a connection of its own, so PostgreSQL frees every lease this node holds when the node dies
    or its session is cut. A follower tries again at most once per ``retry`` seconds; a leader
    checks as often that its session still lives (else it no longer leads: another node may)."""

    def __init__(self, dsn: str, retry: float) -> None:
        self.dsn = dsn
        self.retry = retry
        self._conn: psycopg.Connection | None = None
        self._held: set[str] = set()
        #: job -> monotonic time of its last try (follower) or check (leader)
        self._asked: dict[str, float] = {}
        #: the node number claimed (claim_number), and whether the session holding it was lost
        #: (then another node may claim it: this node must capture no more changes)
        self.number: int | None = None
        self.number_lost = False

    def leads(self, job: str) -> bool:
        now = time.monotonic()
        if now - self._asked.get(job, -self.retry) < self.retry:
            return job in self._held
        self._asked[job] = now
        try:
            conn = self._connection()
            if job in self._held:
                conn.execute("SELECT 1")
                return True
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (lease_lock_id(job),)).fetchone()
        except (psycopg.Error, StorageError) as err:
            self._lost(err)
            return False
        if row is not None and row[0]:
            self._held.add(job)
        return job in self._held

    def claim_number(self, count: int) -> int:
        """A number in [0, count) that no other live node holds, for as long as this node's
        lease session lives (change capture keeps its counters apart with it)."""
        conn = self._connection()
        for number in range(count):
            job = f"node-number:{number}"
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (lease_lock_id(job),)).fetchone()
            if row is not None and row[0]:
                self.number = number
                return number
        raise StorageError(f"more than {count} tidestream nodes serve the store {redacted(self.dsn)}")

    def _connection(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed or self._conn.pgconn.status != pq.ConnStatus.OK:
            self._held.clear()  # a new session holds nothing
            if self.number is not None and not self.number_lost:
                self.number_lost = True
                log.error(
                    "lost the session holding node number %d: change capture stops; restart this node",
                    self.number,
                )
            try:
                self._conn = psycopg.connect(self.dsn, autocommit=True, connect_timeout=10)
            except psycopg.Error as err:
                raise StorageError(
                    f"cannot connect to the store {redacted(self.dsn)}: {_text(err)}"
                ) from None
        return self._conn

    def _lost(self, err: BaseException) -> None:
        if self._held:
            log.error("lost the leases %s: %s", sorted(self._held), _text(err))
        self._held.clear()
        if self._conn is not None:
            try:
                self._conn.close()
            except psycopg.Error:
                pass
            self._conn = None

    def close(self) -> None:
        """Give every lease back at once (a clean stop: another node takes over now)."""
        self._held.clear()
        if self._conn is not None:
            try:
                self._conn.close()
            except psycopg.Error as err:
                log.warning("closing the lease connection: %s", _text(err))


def lease_lock_id(job: str) -> int:
    """The advisory lock of a job's lease (64 bits of a hash of its name, like item keys')."""
    return key_lock_id(b"tidestream-lease:" + job.encode())


def _check(result: pq.abc.PGresult, action: str) -> None:
    if result.status not in (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK):
        raise StorageError(f"{action}: {(result.error_message or b'').decode(errors='replace').strip()}")


def _text(err: BaseException) -> str:
    """PostgreSQL's message on one line."""
    return " ".join(str(err).split()) or type(err).__name__


__all__ = ["PostgresEngine", "bytea_array", "redacted"]
