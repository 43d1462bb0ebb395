"""On-demand backups: a table's items and description copied into their own keyspace.

Key layout (see docs/dynamodb.md, "Backups"):
- backup record: BACKUP_META + backup ARN                       (value: CBOR of :class:`Backup`)
- backup item:   BACKUP_ITEMS + backup uid (4) + the item's key after its table prefix
                 (value: the item exactly as the table stored it)

A backup is taken inside one request: the server runs one operation at a time, so the copy is
consistent (no write lands halfway) without a storage snapshot. The record is written first
as CREATING and rewritten AVAILABLE after the last item batch; a record still CREATING when the
server starts belongs to a copy a crash interrupted, and :meth:`Backups.load` removes it.
"""

from __future__ import annotations

import secrets
import struct
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

import cbor2

from ..storage import keyspace
from ..storage.engine import Engine
from ..storage.keys import prefix_end
from .itemstore import Change, ItemStore, decode_item
from .tables import Catalog, Table

BACKUP_META = keyspace.BACKUP_RECORDS
BACKUP_ITEMS = keyspace.BACKUP_ITEMS
#: items copied per engine write (bounds memory for big tables)
BATCH = 1000


@dataclass
class Backup:
    arn: str
    name: str
    uid: int
    account: str
    region: str
    table_name: str
    table_arn: str
    table_id: str
    created: float
    status: str = "CREATING"
    size_bytes: int = 0
    item_count: int = 0
    #: the source table's record (Table.to_record) when the backup was taken
    table_record: bytes = b""

    def to_record(self) -> bytes:
        return cbor2.dumps(asdict(self))

    @classmethod
    def from_record(cls, raw: bytes) -> Backup:
        return cls(**cbor2.loads(raw))

    def table(self) -> Table:
        return Table.from_record(self.table_record)


def backup_arn(table: Table, now: float) -> str:
    """AWS's form: ``<table arn>/backup/<epoch ms, 14 digits>-<8 hex>``."""
    return f"{table.arn}/backup/{int(now * 1000):014d}-{secrets.token_hex(4)}"


def _items_prefix(uid: int) -> bytes:
    return BACKUP_ITEMS + struct.pack(">I", uid)


class Backups:
    """All backups' records in memory (few), their items in the engine."""

    def __init__(self, engine: Engine, catalog: Catalog, items: ItemStore) -> None:
        self.engine = engine
        self.catalog = catalog
        self.items = items
        self.by_arn: dict[str, Backup] = {}
        #: several nodes share the store: any of them may create or delete a backup, so every
        #: call reads the records (backup calls are rare) and nothing is cached
        self.shared = catalog.announce is not None
        self.load()

    def load(self) -> None:
        """Read every backup record; drop those a crash left CREATING (never acknowledged). In
        cluster mode nothing: a CREATING record may be another node's copy in progress."""
        self.by_arn.clear()
        if self.shared:
            return
        for _, raw in self.engine.scan(BACKUP_META, prefix_end(BACKUP_META)):
            b = Backup.from_record(raw)
            if b.status == "CREATING":
                self._erase(b)
            else:
                self.by_arn[b.arn] = b

    def _save(self, b: Backup) -> None:
        self.engine.write([(BACKUP_META + b.arn.encode(), b.to_record())])

    def _erase(self, b: Backup) -> None:
        prefix = _items_prefix(b.uid)
        self.engine.delete_range(prefix, prefix_end(prefix))
        self.engine.write([(BACKUP_META + b.arn.encode(), None)])

    def create(self, table: Table, name: str, now: float) -> Backup:
        """Copy ``table``'s items and description into a new AVAILABLE backup."""
        b = Backup(
            arn=backup_arn(table, now),
            name=name,
            uid=self.catalog.new_uid(),
            account=table.account,
            region=table.region,
            table_name=table.name,
            table_arn=table.arn,
            table_id=table.table_id,
            created=now,
            size_bytes=table.size_bytes,
            item_count=table.item_count,
            table_record=table.to_record(),
        )
        self._save(b)
        start, end = self.items.table_bounds(table)
        skip = len(start)
        prefix = _items_prefix(b.uid)
        batch: list[tuple[bytes, bytes | None]] = []
        for key, raw in self.engine.scan(start, end):
            batch.append((prefix + key[skip:], raw))
            if len(batch) >= BATCH:
                self.engine.write(batch)
                batch = []
        if batch:
            self.engine.write(batch)
        b.status = "AVAILABLE"
        self._save(b)
        self.by_arn[b.arn] = b
        return b

    def find(self, arn: str) -> Backup | None:
        """The AVAILABLE backup ``arn`` (in cluster mode as stored now: another node may have
        made or deleted it a moment ago)."""
        if not self.shared:
            return self.by_arn.get(arn)
        raw = self.engine.get(BACKUP_META + arn.encode())
        found = None if raw is None else Backup.from_record(raw)
        return found if found is not None and found.status == "AVAILABLE" else None

    def _available(self) -> Iterator[Backup]:
        if not self.shared:
            yield from self.by_arn.values()
            return
        for _, raw in self.engine.scan(BACKUP_META, prefix_end(BACKUP_META)):
            b = Backup.from_record(raw)
            if b.status == "AVAILABLE":
                yield b

    def delete(self, b: Backup) -> None:
        self._erase(b)
        self.by_arn.pop(b.arn, None)
        b.status = "DELETED"

    def stored_items(self, b: Backup) -> Iterator[dict]:
        prefix = _items_prefix(b.uid)
        for _, raw in self.engine.scan(prefix, prefix_end(prefix)):
            yield decode_item(raw)

    def of_account(self, account: str, region: str) -> list[Backup]:
        return sorted(
            (b for b in self._available() if b.account == account and b.region == region),
            key=lambda b: (b.created, b.arn),
        )


def fill_table(items: ItemStore, table: Table, source: Iterator[dict]) -> None:
    """Write ``source`` items into a new ``table`` through the item store, in batches, so its
    indexes and statistics are built as for any write. With several nodes, through the checked
    commit with nothing read (the table is new): it keeps this node's share of the statistics."""
    nothing_read: list[tuple[bytes, Any]] | None = None if items.write_checked is None else []
    batch: list[Change] = []
    for item in source:
        batch.append(Change(table, items.item_key(table, item), None, item))
        if len(batch) >= BATCH:
            items.commit(batch, reads=nothing_read)
            batch = []
    if batch:
        items.commit(batch, reads=nothing_read)
