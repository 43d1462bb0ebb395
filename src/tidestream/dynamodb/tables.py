"""Table metadata and the catalog that keeps it durable.

A :class:`Table` is everything DynamoDB knows about a table besides its items. The catalog keeps
all tables in memory (they are few and read on every request) and writes each change through to
the engine's metadata keyspace, so tables survive restarts.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from dataclasses import fields as dataclass_fields
from typing import Any

import cbor2

from ..ids import uuid4_text
from ..storage import keyspace
from ..storage.engine import Engine

META_TABLE = keyspace.TABLE_DEFINITIONS
META_SEQ = keyspace.NEXT_UID
ITEMS = keyspace.ITEMS
INDEX = keyspace.INDEX_ENTRIES
STATS = keyspace.TABLE_STATS


@dataclass
class Index:
    name: str
    uid: int
    #: [(attribute name, "HASH"|"RANGE")]; multi-attribute GSI keys have several of each
    key_schema: list[tuple[str, str]]
    projection_type: str = "ALL"
    non_key_attributes: list[str] = field(default_factory=list)
    read_capacity: int = 0
    write_capacity: int = 0
    status: str = "ACTIVE"
    backfilling: bool = False
    local: bool = False
    active_at: float = 0.0
    #: entries in the index and their total size (kept by the item store, like the table's)
    item_count: int = 0
    size_bytes: int = 0

    @property
    def hash_keys(self) -> list[str]:
        return [n for n, t in self.key_schema if t == "HASH"]

    @property
    def range_keys(self) -> list[str]:
        return [n for n, t in self.key_schema if t == "RANGE"]


@dataclass
class Table:
    account: str
    region: str
    name: str
    uid: int
    table_id: str
    key_schema: list[tuple[str, str]]
    attribute_types: dict[str, str]
    #: attribute definitions in request order, for DescribeTable
    attribute_order: list[str]
    created: float
    billing_mode: str = "PROVISIONED"
    read_capacity: int = 0
    write_capacity: int = 0
    last_increase: float = 0.0
    last_decrease: float = 0.0
    decreases_today: int = 0
    billing_mode_updated: float = 0.0
    status: str = "ACTIVE"
    active_at: float = 0.0
    gsis: list[Index] = field(default_factory=list)
    lsis: list[Index] = field(default_factory=list)
    stream_enabled: bool = False
    stream_view_type: str = ""
    stream_label: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    ttl_attribute: str = ""
    ttl_status: str = "DISABLED"
    pitr: bool = False
    pitr_enabled_at: float = 0.0
    #: RecoveryPeriodInDays of point-in-time recovery (1..35)
    pitr_days: int = 35
    deletion_protection: bool = False
    table_class: str = ""
    sse: dict[str, Any] = field(default_factory=dict)
    on_demand_read: int = 0
    on_demand_write: int = 0
    #: WarmThroughput asked for by CreateTable/UpdateTable (0: AWS's default for the billing mode)
    warm_read: int = 0
    warm_write: int = 0
    #: Contributor Insights by GSI name ("" for the table): {"status", "mode", "updated"}
    contributor_insights: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Kinesis streaming destinations: dicts with StreamArn, status, precision, ...
    kinesis_destinations: list[dict[str, Any]] = field(default_factory=list)
    item_count: int = 0
    size_bytes: int = 0
    #: RestoreSummary of a table made by a restore (empty for other tables)
    restore_summary: dict[str, Any] = field(default_factory=dict)
    #: resource policies by resource ARN (the table's or its stream's): {"Policy", "RevisionId"}
    policies: dict[str, dict[str, str]] = field(default_factory=dict)
    #: index uid -> items its backfill left out (key values over the index key limits)
    index_key_violations: dict[int, int] = field(default_factory=dict)
    #: (not a field: not persisted) the record as last read from or written to the store;
    #: cluster mode's item commits check the store still holds it (ItemStore.commit)
    stored_record = b""

    # derived --------------------------------------------------------------------------------
    @property
    def arn(self) -> str:
        return f"arn:aws:dynamodb:{self.region}:{self.account}:table/{self.name}"

    @property
    def hash_key(self) -> str:
        return self.key_schema[0][0]

    @property
    def range_key(self) -> str | None:
        return self.key_schema[1][0] if len(self.key_schema) > 1 else None

    @property
    def key_names(self) -> tuple[str, ...]:
        return tuple(n for n, _ in self.key_schema)

    @property
    def indexes(self) -> list[Index]:
        return self.lsis + self.gsis

    def index(self, name: str) -> Index | None:
        for ix in self.lsis:
            if ix.name == name:
                return ix
        for ix in self.gsis:
            if ix.name == name:
                return ix
        return None

    @property
    def stream_arn(self) -> str | None:
        if not self.stream_label:
            return None
        return f"{self.arn}/stream/{self.stream_label}"

    def refresh(self, now: float | None = None) -> None:
        """Advance time-based status transitions (CREATING/UPDATING -> ACTIVE)."""
        now = time.time() if now is None else now
        if self.status in ("CREATING", "UPDATING") and now >= self.active_at:
            self.status = "ACTIVE"
        for ix in self.gsis:
            if ix.status in ("CREATING", "UPDATING") and now >= ix.active_at:
                ix.status = "ACTIVE"
                ix.backfilling = False

    # persistence --------------------------------------------------------------------------
    def to_record(self) -> bytes:
        return cbor2.dumps(asdict(self))

    @classmethod
    def from_record(cls, raw: bytes) -> Table:
        t = cls._decoded(raw)
        t.stored_record = raw
        return t

    @classmethod
    def _decoded(cls, raw: bytes) -> Table:
        d = cbor2.loads(raw)
        d["key_schema"] = [tuple(x) for x in d["key_schema"]]
        gsis = [Index(**{**g, "key_schema": [tuple(x) for x in g["key_schema"]]}) for g in d.pop("gsis")]
        lsis = [Index(**{**g, "key_schema": [tuple(x) for x in g["key_schema"]]}) for g in d.pop("lsis")]
        known = set(cls.__dataclass_fields__)
        t = cls(**{k: v for k, v in d.items() if k in known})
        t.gsis, t.lsis = gsis, lsis
        return t


def _meta_key(account: str, region: str, name: str) -> bytes:
    return META_TABLE + f"{account}\x00{region}\x00{name}".encode()


class Catalog:
    """All tables, by (account, region, name), written through to the engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        #: cluster mode: tells the other nodes an entry changed (they reload it, reload_entry)
        self.announce: Callable[[bytes], None] | None = (
            getattr(engine, "announce", None) if getattr(engine, "cluster", False) else None
        )
        self.tables: dict[tuple[str, str, str], Table] = {}
        self._next_uid = 1
        self.load()

    def load(self) -> None:
        self.tables.clear()
        for _, raw in self.engine.scan(META_TABLE, META_TABLE + b"\xff"):
            t = Table.from_record(raw)
            self.tables[(t.account, t.region, t.name)] = t
        seq = self.engine.get(META_SEQ)
        self._next_uid = int(seq) if seq else 1

    def new_uid(self) -> int:
        """Unique ids for tables and indexes; never reused, so old data can't leak in."""
        if getattr(self.engine, "cluster", False):
            return self._new_shared_uid()
        uid = self._next_uid
        self._next_uid += 1
        self.engine.write([(META_SEQ, str(self._next_uid).encode())])
        return uid

    def _new_shared_uid(self) -> int:
        """Cluster mode: the counter in the store is the truth (another node may have taken
        ids since this one loaded it), advanced only if nobody advanced it meanwhile."""
        from ..storage.engine import StorageError, WriteConflict

        for _ in range(100):
            seen = self.engine.get(META_SEQ)
            uid = int(seen) if seen else 1
            try:
                self.engine.write_checked(  # type: ignore[attr-defined]
                    [(META_SEQ, str(uid + 1).encode())],
                    [META_SEQ],
                    lambda values, seen=seen: values[0] == seen,
                )
            except WriteConflict:
                continue
            self._next_uid = uid + 1
            return uid
        raise StorageError("could not allocate a table id: other nodes kept taking the next one")

    def load_one(self, account: str, region: str, name: str) -> Table | None:
        """Cluster mode: a table this node has not seen may have been created by another node;
        read its entry from the store (only on a miss, so a known table costs nothing)."""
        t = self.stored_table(account, region, name)
        if t is not None:
            self.tables[(account, region, name)] = t
        return t

    def stored_table(self, account: str, region: str, name: str) -> Table | None:
        """Cluster mode: the table's entry as stored now, left out of this node's cache (for
        DynamoDB Streams, which must not create a stream for a table another node dropped)."""
        raw = self.engine.get(_meta_key(account, region, name))
        return None if raw is None else Table.from_record(raw)

    def current(self, account: str, region: str, name: str) -> tuple[Table | None, bool]:
        """Cluster mode: the table as the store has it now, and whether that is a new object
        (its statistics need loading). Another node's change reaches this node's cache by a
        notification a few milliseconds after that node answered, so a client's next call
        here could see the table as it was; the rare calls that must not (control-plane calls,
        a missing index) pay one read instead. An unchanged entry keeps its cached object."""
        key = (account, region, name)
        raw = self.engine.get(_meta_key(account, region, name))
        if raw is None:
            self.tables.pop(key, None)
            return None, False
        cached = self.tables.get(key)
        if cached is not None and cached.to_record() == raw:
            return self.get(account, region, name), False
        self.tables[key] = Table.from_record(raw)
        return self.get(account, region, name), True

    def stored_names(self, account: str, region: str) -> list[str]:
        """Cluster mode: the names of the tables in the store (some other node's may be newer
        than this node's cache), sorted as their keys are."""
        prefix = _meta_key(account, region, "")
        return [key[len(prefix) :].decode() for key, _ in self.engine.scan(prefix, prefix + b"\xff")]

    def get(self, account: str, region: str, name: str) -> Table | None:
        t = self.tables.get((account, region, name))
        if t is not None and t.status in ("CREATING", "UPDATING"):
            t.refresh()
        return t

    @staticmethod
    def record(table: Table) -> tuple[bytes, bytes]:
        """The table's definition as one engine write (also for a batch built elsewhere)."""
        raw = table.to_record()
        table.stored_record = raw
        return _meta_key(table.account, table.region, table.name), raw

    @staticmethod
    def key_of(table: Table) -> bytes:
        return _meta_key(table.account, table.region, table.name)

    def put(self, table: Table, extra_writes: list | None = None) -> None:
        writes = [self.record(table)]
        if extra_writes:
            writes.extend(extra_writes)
        self._write_definition(writes)  # first: a refused write must not leave a table in memory
        self.tables[(table.account, table.region, table.name)] = table
        if self.announce is not None:
            self.announce(writes[0][0])

    def remove(self, table: Table) -> None:
        key = _meta_key(table.account, table.region, table.name)
        self._write_definition([(key, None)])
        self.tables.pop((table.account, table.region, table.name), None)
        if self.announce is not None:
            self.announce(key)

    def _write_definition(self, writes: list) -> None:
        """Cluster mode: under the table's lock taken alone, which every item write holds
        shared from before it checks the definition to its commit (ItemStore.commit): once
        this commits, every write made with the definition of before has committed, and the
        later ones check the new one (an index backfill that starts now misses none of them;
        a write racing DeleteTable never lands in the dropped table's range)."""
        if self.announce is None:
            self.engine.write(writes)
            return
        key = writes[0][0]
        self.engine.write_locked([key], [], lambda _: self.engine.write(writes))  # type: ignore[attr-defined]

    def refresh_in_place(self, table: Table) -> bool:
        """Cluster mode: ``table`` (an object a write holds) made what the store has now, in
        place, as UpdateTable changes a table; False if it is gone or its name is another
        table's now (a new uid: the write's keys belong to the dropped one)."""
        key = (table.account, table.region, table.name)
        raw = self.engine.get(_meta_key(*key))
        fresh = None if raw is None else Table.from_record(raw)
        if fresh is None or fresh.uid != table.uid:
            if self.tables.get(key) is table:
                self.tables.pop(key)
            return False
        for name in self.table_fields:
            setattr(table, name, getattr(fresh, name))
        table.stored_record = fresh.stored_record
        table.__dict__.pop("_schema", None)
        self.tables[key] = table
        return True

    #: Table's persisted fields (what refresh_in_place copies)
    table_fields = tuple(f.name for f in dataclass_fields(Table))

    def reload_entry(self, key: bytes) -> Table | None:
        """Cluster mode: another node changed the entry at ``key``; the store has the truth."""
        if not key.startswith(META_TABLE):
            return None
        account, region, name = key[len(META_TABLE) :].decode().split("\x00", 2)
        self.tables.pop((account, region, name), None)
        return self.load_one(account, region, name)

    def names(self, account: str, region: str) -> list[str]:
        return sorted(n for (a, r, n) in self.tables if a == account and r == region)

    def all(self) -> Iterator[Table]:
        return iter(list(self.tables.values()))


def new_table_id() -> str:
    return uuid4_text()
