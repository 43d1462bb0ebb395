"""DynamoDB Streams state: stream metadata, one shard per stream, records, retention.

Key layout in the shared engine (prefix ``\\x06``):
- ``\\x06K``                      iterator signing secret (32 random bytes, kept across restarts)
- ``\\x06N``                      next stream id (never reused)
- ``\\x06M`` + stream id (4)      stream metadata (CBOR of :class:`StreamMeta`)
- ``\\x06R`` + stream id (4) + counter (8)   one change record (CBOR)

Counters come from one process-wide sequence, so they are strictly increasing per shard (and
across shards); a record's SequenceNumber is ``10**20 + counter`` as 21 decimal digits, the
"prefix + 20 zero-padded digits" shape of AWS's own sequence numbers.

A table's StreamSpecification lives on the DynamoDB :class:`~tidestream.dynamodb.tables.Table`
(``stream_enabled``, ``stream_view_type``, ``stream_label``). This module follows the catalog:
a stream is created the first time it is seen (by the feed, or any Streams call), and an
ENABLED stream whose table was deleted, re-created, or whose stream was disabled or replaced
becomes DISABLED (its shard closed), still readable for 24 hours, then purged.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import cbor2

from ..ids import hex128
from ..signing import stored_secret
from ..storage import keyspace
from ..storage.engine import Engine, WriteConflict
from ..storage.tails import ReadableTails
from ..wakeups import Wakeups

#: a batch of engine writes being built: (key, value), None deletes
Batch = list[tuple[bytes, bytes | None]]

if TYPE_CHECKING:
    from ..dynamodb.tables import Catalog

log = logging.getLogger("tidestream.dynamodbstreams")

PREFIX = keyspace.DYNAMODB_STREAMS
SECRET_KEY = keyspace.DYNAMODB_STREAMS_SECRET
NEXT_ID_KEY = keyspace.DYNAMODB_STREAMS_NEXT_ID
META = keyspace.DYNAMODB_STREAMS_META
RECORDS = keyspace.DYNAMODB_STREAMS_RECORDS

RETENTION_S = 24 * 3600
#: cluster mode: creations of a stream that lost the race for its id to another node, before
#: the caller's write is run again (it reads the streams again first)
CREATE_ATTEMPTS = 20
SEQ_BASE = 10**20
ENABLED = "ENABLED"
DISABLED = "DISABLED"


def meta_key(stream_id: int) -> bytes:
    return META + struct.pack(">I", stream_id)


def record_key(stream_id: int, counter: int) -> bytes:
    return RECORDS + struct.pack(">IQ", stream_id, counter)


def stream_bounds(stream_id: int) -> tuple[bytes, bytes]:
    p = RECORDS + struct.pack(">I", stream_id)
    return p, RECORDS + struct.pack(">I", stream_id + 1)


def sequence_number(counter: int) -> str:
    return str(SEQ_BASE + counter)


def parse_sequence_number(text: str) -> int | None:
    """The counter a sequence number names, or None if it can't be one of ours."""
    if not text.isdigit():
        return None
    n = int(text) - SEQ_BASE
    return n if 0 <= n < SEQ_BASE else None


def label_time(label: str) -> float:
    """A stream label is its creation time, ``YYYY-MM-DDTHH:MM:SS.mmm`` in UTC."""
    try:
        return datetime.strptime(label, "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return time.time()


@dataclass
class StreamMeta:
    id: int
    account: str
    region: str
    table: str
    table_id: str
    label: str
    view_type: str
    key_schema: list[tuple[str, str]]
    created: float
    #: counter of the first possible record (the shard's StartingSequenceNumber)
    start: int
    status: str = ENABLED
    disabled_at: float = 0.0
    #: first counter not trimmed by retention (records below it are gone)
    trimmed_to: int = 0
    #: last counter written, 0 for none (kept in memory; recomputed from records on load)
    last: int = field(default=0, compare=False)

    @property
    def arn(self) -> str:
        return f"arn:aws:dynamodb:{self.region}:{self.account}:table/{self.table}/stream/{self.label}"

    @property
    def shard_id(self) -> str:
        tag = hashlib.md5(self.arn.encode()).hexdigest()[:8]
        return f"shardId-{int(self.created * 1000):020d}-{tag}"

    @property
    def closed(self) -> bool:
        return self.status != ENABLED

    @property
    def horizon(self) -> int:
        """Counter where TRIM_HORIZON starts."""
        return max(self.start, self.trimmed_to)

    def exhausted(self, position: int) -> bool:
        """Whether a reader at *position* has read everything a closed shard will ever hold."""
        return self.closed and position > self.last

    @property
    def ending(self) -> int:
        """Counter of the EndingSequenceNumber of a closed shard."""
        return max(self.start, self.last)

    def to_record(self) -> bytes:
        d = asdict(self)
        d.pop("last")
        return cbor2.dumps(d)

    @classmethod
    def from_record(cls, raw: bytes) -> StreamMeta:
        d = cbor2.loads(raw)
        d["key_schema"] = [tuple(x) for x in d["key_schema"]]
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in d.items() if k in known})


class StreamsState:
    """All DynamoDB streams, indexed in memory over the engine. Runs on the event loop only."""

    def __init__(self, engine: Engine, catalog: Catalog, clock: Callable[[], float] | None = None) -> None:
        self.engine = engine
        #: DynamoDB's table catalog: it says which tables have a stream
        self.catalog = catalog
        self.clock = clock or time.time
        self.retention_interval = 30.0
        self.streams: dict[int, StreamMeta] = {}
        self.by_arn: dict[str, StreamMeta] = {}
        #: (account, region, table name) -> its ENABLED stream
        self.active: dict[tuple[str, str, str], StreamMeta] = {}
        self.counter = 1
        self.next_id = 1
        self.secret = b""
        #: streams created by the feed inside a commit not yet written (forgotten if it fails)
        self._unsaved: list[StreamMeta] = []
        #: stream id -> woken as its readable tail moves (event source mappings wait on it)
        self.wakeups = Wakeups()
        #: stream id -> last counter readers may see (fsynced, in strict durability)
        self.tails = ReadableTails(engine, self.wakeups.notify)
        #: (stream, counter) of the records fed into the commit being built
        self._fed: list[tuple[StreamMeta, int]] = []
        #: several nodes share the store (--cluster): streams may be created, disabled or
        #: trimmed by another node, so metadata is read from the store when answering and
        #: written by checked writes (docs/cluster.md, "Change capture across nodes")
        self.shared = bool(getattr(engine, "cluster", False))
        if self.shared:
            engine.listen(self._heard)  # type: ignore[attr-defined]  # only a cluster engine
        self.reload()

    def _heard(self, key: bytes | None) -> None:
        """A cluster notification: another node's admin reset (``b""``) wipes this cache too;
        the rest is read from the store when needed."""
        if key == b"":
            self.reload()

    # lifecycle ---------------------------------------------------------------------------
    def reload(self) -> None:
        self.wakeups.reset()
        self.tails.reset()
        self._fed.clear()
        self._unsaved.clear()
        self.streams.clear()
        self.by_arn.clear()
        self.active.clear()
        self.counter = 1
        self.next_id = 1
        self._load_streams()
        self.secret = stored_secret(self.engine, SECRET_KEY, self.secret)

    def _load_streams(self) -> None:
        """Index the stored streams not indexed yet, and move the counter and next id past
        what is stored (at start; in a cluster also when a table's stream is missing here:
        another node may have created it)."""
        counter = self.counter
        for _, raw in self.engine.scan(META, META + b"\xff"):
            m = StreamMeta.from_record(raw)
            if m.id in self.streams:
                continue
            m.last = self._stored_last(m)
            counter = max(counter, m.last + 1, m.start + 1, m.trimmed_to)
            self.tails.load(m.id, m.last)
            self._index(m)
        self.counter = counter
        next_id = self.engine.get(NEXT_ID_KEY)
        self.next_id = max(self.next_id, int(next_id) if next_id else 1)

    def _stored_last(self, m: StreamMeta) -> int:
        """The counter of the stream's last stored record (the last trimmed one, or 0, if
        none is left)."""
        lo, hi = stream_bounds(m.id)
        for k, _ in self.engine.scan(lo, hi, reverse=True):
            return struct.unpack(">Q", k[-8:])[0]
        return max(m.trimmed_to - 1, 0)

    # cluster mode: the store is the truth --------------------------------------------------
    def _refresh(self, m: StreamMeta) -> StreamMeta | None:
        """``m`` as stored now (None: purged by another node's retention pass)."""
        return self._adopt(m, self.engine.get(meta_key(m.id)))

    def _adopt(self, m: StreamMeta, raw: bytes | None) -> StreamMeta | None:
        """Take the stored record ``raw`` of ``m``: its status, disabled time and trim point;
        a closed stream's end is its last stored record, whichever node wrote it (never this
        node's memory of it)."""
        if raw is None:
            self._forget(m)
            return None
        stored = StreamMeta.from_record(raw)
        m.status, m.disabled_at, m.trimmed_to = stored.status, stored.disabled_at, stored.trimmed_to
        if m.closed:
            if self.active.get((m.account, m.region, m.table)) is m:
                del self.active[(m.account, m.region, m.table)]
            m.last = max(m.last, self._stored_last(m))
        return m

    def _refresh_all(self) -> None:
        """Every stream as stored (one scan): new ones indexed, known ones refreshed, purged
        ones gone."""
        stored = {
            struct.unpack(">I", k[len(META) :])[0]: raw for k, raw in self.engine.scan(META, META + b"\xff")
        }
        for m in list(self.streams.values()):
            self._adopt(m, stored.get(m.id))
        self._load_streams()

    def _learn_tables(self, account: str, region: str) -> None:
        """Streamed tables created through another node a moment ago (before this node heard
        of them) get their streams too, so ListStreams shows them."""
        catalog = self.catalog
        for name in catalog.stored_names(account, region):
            if (account, region, name) not in catalog.tables:
                t = catalog.stored_table(account, region, name)
                if t is not None and t.stream_enabled and t.stream_label:
                    self.sync_table(t)

    def _forget(self, m: StreamMeta) -> None:
        self.streams.pop(m.id, None)
        if self.by_arn.get(m.arn) is m:
            del self.by_arn[m.arn]
        if self.active.get((m.account, m.region, m.table)) is m:
            del self.active[(m.account, m.region, m.table)]

    def _save_checked(self, m: StreamMeta, was: str) -> None:
        """Write ``m`` only if the stored record still has status ``was`` (another node may
        have disabled it meanwhile); WriteConflict: nothing written."""
        key = meta_key(m.id)

        def unchanged(values: list[bytes | None]) -> bool:
            return values[0] is not None and cbor2.loads(values[0])["status"] == was

        self.engine.write_checked([(key, m.to_record())], [key], unchanged)  # type: ignore[attr-defined]

    def _index(self, m: StreamMeta) -> None:
        self.streams[m.id] = m
        self.by_arn[m.arn] = m
        if m.status == ENABLED:
            self.active[(m.account, m.region, m.table)] = m

    def _save(self, m: StreamMeta, writes: Batch | None = None) -> None:
        if self.shared:
            self._save_checked(m, m.status)
        else:
            self._write([(meta_key(m.id), m.to_record())], writes)

    def _write(self, new: Batch, writes: Batch | None) -> None:
        """Write now, or add to *writes*: the batch of the item commit that called the feed,
        so a commit is one engine write (issue 10)."""
        if writes is None:
            self.engine.write(new)
        else:
            writes.extend(new)

    # following the table catalog ---------------------------------------------------------
    def _create(self, t: Any, writes: Batch | None = None) -> StreamMeta | None:
        if self.shared:
            return self._create_checked(t)
        sid = self.next_id
        self.next_id += 1
        m = self._new_meta(sid, t)
        self._write(
            [(NEXT_ID_KEY, str(self.next_id).encode()), (meta_key(m.id), m.to_record())],
            writes,
        )
        if writes is not None:
            self._unsaved.append(m)
        self._index(m)
        return m

    def _create_checked(self, t: Any) -> StreamMeta | None:
        """Cluster mode: the table's stream under the next id in the store, written at once and
        only if that id is still the next one. Of two nodes creating it at once one wins; the
        other reads the streams again and takes the winner's (or, for another table's stream,
        the id after it). Not for a table the store no longer has with this stream (this
        node's catalog can lag behind another node's DeleteTable, UpdateTable or reset)."""
        if not self._streamed_in_store(t):
            return None
        for _ in range(CREATE_ATTEMPTS):
            raw = self.engine.get(NEXT_ID_KEY)
            sid = int(raw) if raw else 1
            m = self._new_meta(sid, t)
            # every node numbers records from its own clock (cdc/sequencing.py): a start taken
            # from this node's counter could lie above the first record another node (or this
            # change) gives it, which TRIM_HORIZON would then skip; ids keep streams apart
            m.start = 1
            writes: Batch = [(NEXT_ID_KEY, str(sid + 1).encode()), (meta_key(sid), m.to_record())]
            try:
                self.engine.write_checked(writes, [NEXT_ID_KEY], lambda values, seen=raw: values[0] == seen)  # type: ignore[attr-defined]
            except WriteConflict:
                self._load_streams()
                existing = self.by_arn.get(t.stream_arn)
                if existing is not None:
                    return existing if existing.status == ENABLED else None
                continue
            self.next_id = max(self.next_id, sid + 1)
            self._index(m)
            return m
        raise WriteConflict("other nodes kept creating DynamoDB streams")

    def _streamed_in_store(self, t: Any) -> bool:
        """Whether the store's entry of table ``t`` is ``t`` with its stream on (one read)."""
        stored = self.catalog.stored_table(t.account, t.region, t.name)
        return (
            stored is not None
            and stored.table_id == t.table_id
            and stored.stream_enabled
            and stored.stream_label == t.stream_label
        )

    def _new_meta(self, sid: int, t: Any) -> StreamMeta:
        return StreamMeta(
            id=sid,
            account=t.account,
            region=t.region,
            table=t.name,
            table_id=t.table_id,
            label=t.stream_label,
            view_type=t.stream_view_type,
            key_schema=list(t.key_schema),
            created=label_time(t.stream_label),
            start=self.counter,
        )

    def _disable(self, m: StreamMeta, now: float, writes: Batch | None = None) -> None:
        m.status = DISABLED
        m.disabled_at = now
        if self.active.get((m.account, m.region, m.table)) is m:
            del self.active[(m.account, m.region, m.table)]
        if not self.shared:
            self._save(m, writes)
            return
        try:
            self._save_checked(m, ENABLED)
        except WriteConflict:  # another node disabled it first: its record stands
            self._refresh(m)

    @staticmethod
    def _current(m: StreamMeta, t: Any) -> bool:
        """Whether table *t* still streams into *m*."""
        return t is not None and t.table_id == m.table_id and t.stream_enabled and t.stream_label == m.label

    def sync_table(self, t: Any, now: float | None = None, writes: Batch | None = None) -> StreamMeta | None:
        """Bring the streams of table *t* in line with its StreamSpecification; metadata
        changes go into *writes* when given (the feed's commit), else straight to the engine."""
        now = self.clock() if now is None else now
        m = self.active.get((t.account, t.region, t.name))
        if m is not None and self._current(m, t):
            return m
        if m is not None:
            self._disable(m, now, writes)
        if not t.stream_enabled or not t.stream_label:
            return None
        existing = self.by_arn.get(t.stream_arn)
        if existing is None and self.shared:
            self._load_streams()
            existing = self.by_arn.get(t.stream_arn)
        if existing is not None:
            return existing if existing.status == ENABLED else None
        return self._create(t, writes)

    def sync(self, account: str | None = None, region: str | None = None) -> None:
        """Follow the catalog for one account and region (or everything)."""
        now = self.clock()
        tables = self.catalog.tables
        for key, m in list(self.active.items()):
            if account is not None and (m.account != account or m.region != region):
                continue
            t = tables.get(key)
            if t is None and self.shared:  # created through another node: not heard of yet?
                t = self.catalog.stored_table(*key)
            if not self._current(m, t):
                self._disable(m, now)
        for (a, r, _), t in list(tables.items()):
            if account is not None and (a != account or r != region):
                continue
            if t.stream_enabled and t.stream_label and (a, r, t.name) not in self.active:
                self.sync_table(t, now)

    # the capture feed --------------------------------------------------------------------
    def feed(self, ch: Any, now: float, counter: int | None = None) -> list[tuple[bytes, bytes | None]]:
        """``Capture.streams``: the writes for one real change of a streamed table, for the
        item's own batch: the record, and the stream's metadata if this change opens it.
        ``counter``: the record's number from a cluster's change capture (cdc/sequencing.py);
        None: the next of this process's sequence."""
        t = ch.table
        writes: Batch = []
        m = self.active.get((t.account, t.region, t.name))
        if m is None or m.label != t.stream_label or m.table_id != t.table_id:
            m = self.sync_table(t, now, writes)
            if m is None:
                return writes
        old, new = ch.old, ch.new
        image = new if new is not None else old
        keys = {n: image[n] for n in t.key_names}
        view = m.view_type
        entry: dict[str, Any] = {
            "event_id": hex128(),
            "event_name": "INSERT" if old is None else ("REMOVE" if new is None else "MODIFY"),
            "keys": keys,
            "created_at": now,
        }
        if new is not None and view in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES"):
            entry["new"] = new
        if old is not None and view in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES"):
            entry["old"] = old
        if ch.by_ttl:
            entry["ttl"] = True
        c = self._number(counter)
        self._fed.append((m, c))  # the stream's last record once the commit is written
        writes.append((record_key(m.id, c), cbor2.dumps(entry)))
        return writes

    def _number(self, counter: int | None) -> int:
        """A record's counter: the next of this process's sequence, or the one a cluster's
        change capture gave (cdc/sequencing.py); the sequence moves past it (the stream's last
        moves once the commit is written: :meth:`committed`)."""
        c = self.counter if counter is None else counter
        if c >= self.counter:
            self.counter = c + 1
        return c

    def committed(self) -> None:
        """The commit that carried the feed's writes is in the engine: its records are the
        streams' last, readable once fsynced (the tails wake the readers then)."""
        self._unsaved.clear()
        if self._fed:
            written = self.tails.written
            for m, c in self._fed:
                if c > m.last:  # (a cluster's counters need not arrive in order)
                    m.last = c
                written(m.id, c)
            self._fed.clear()

    def abandoned(self) -> None:
        """The commit failed: forget the streams it would have created, so the next change
        creates them again (a stream it would have disabled is disabled again by ``sync``)."""
        self._fed.clear()
        for m in self._unsaved:
            self.streams.pop(m.id, None)
            self.by_arn.pop(m.arn, None)
            if self.active.get((m.account, m.region, m.table)) is m:
                del self.active[(m.account, m.region, m.table)]
        self._unsaved.clear()

    # lookups -----------------------------------------------------------------------------
    def visible(self, account: str, region: str) -> list[StreamMeta]:
        if self.shared:
            self._refresh_all()
            self._learn_tables(account, region)
        self.sync(account, region)
        return [m for m in self.streams.values() if m.account == account and m.region == region]

    def append_waiter(self, arn: str) -> asyncio.Event | None:
        """An event set when the next record is fed to the stream *arn* (None: no such stream)."""
        m = self.by_arn.get(arn)
        return None if m is None else self.wakeups.waiter(m.id)

    def get(self, account: str, region: str, arn: str) -> StreamMeta | None:
        if self.shared:
            known = self.by_arn.get(arn)
            if known is None:
                self._load_streams()  # made on another node a moment ago?
            else:
                self._refresh(known)
        self.sync(account, region)
        m = self.by_arn.get(arn)
        if m is None or m.account != account or m.region != region:
            return None
        return m

    def readable_last(self, m: StreamMeta) -> int:
        """The stream's last record a reader may see (storage/tails.py). A cluster node asks the
        store: other nodes feed the stream too, and their records never pass through this
        node's tails (docs/cluster.md: committed on PostgreSQL is readable)."""
        if self.shared:
            lo, hi = stream_bounds(m.id)
            for k, _ in self.engine.scan(lo, hi, reverse=True):
                return max(struct.unpack(">Q", k[-8:])[0], self.tails.last(m.id))
        return self.tails.last(m.id)

    def read(self, m: StreamMeta, position: int, limit: int) -> Iterator[tuple[int, dict]]:
        """Records from *position* up to the readable tail (never one not yet fsynced)."""
        lo, _hi = stream_bounds(m.id)
        start = record_key(m.id, position)
        for k, v in self.engine.scan(max(lo, start), record_key(m.id, self.readable_last(m) + 1)):
            yield struct.unpack(">Q", k[-8:])[0], cbor2.loads(v)

    def first_at_or_after(self, m: StreamMeta, when: float) -> int:
        """Counter of the first retained record created at or after *when* (else LATEST)."""
        for c, rec in self.read(m, m.horizon, 0):
            if rec["created_at"] >= when:
                return c
        return max(self.readable_last(m) + 1, m.start)

    # retention ---------------------------------------------------------------------------
    def trim(self, now: float | None = None) -> int:
        """Drop records older than 24 h and streams disabled more than 24 h ago."""
        now = self.clock() if now is None else now
        if self.shared:
            self._refresh_all()
        self.sync()
        cutoff = now - RETENTION_S
        done = 0
        for m in list(self.streams.values()):
            lo, hi = stream_bounds(m.id)
            if m.status == DISABLED and m.disabled_at < cutoff:
                self.engine.delete_range(lo, hi)
                self.engine.write([(META + struct.pack(">I", m.id), None)])
                del self.streams[m.id]
                self.by_arn.pop(m.arn, None)
                done += 1
                continue
            last_old = None
            for k, v in self.engine.scan(lo, hi):
                if cbor2.loads(v)["created_at"] >= cutoff:
                    break
                last_old = struct.unpack(">Q", k[-8:])[0]
            if last_old is not None:
                self.engine.delete_range(lo, record_key(m.id, last_old + 1))
                m.trimmed_to = last_old + 1
                try:
                    self._save(m)
                except WriteConflict:  # cluster: disabled meanwhile; trimmed at the next pass
                    self._refresh(m)
                    continue
                done += 1
        return done

    async def retention_loop(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            try:
                self.trim()
            except Exception:  # keep serving; the next pass retries
                log.exception("dynamodb streams retention pass failed")
            try:
                await asyncio.wait_for(stopping.wait(), self.retention_interval)
            except TimeoutError:
                pass

    def background_jobs(self) -> list:
        """(lease name, loop): retention trims run on one node of a cluster (storage/leases.py)."""
        return [("dynamodb-streams-retention", self.retention_loop)]
