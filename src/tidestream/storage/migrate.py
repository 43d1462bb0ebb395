"""Bringing a store written in an older data dir format up to :data:`~.datadir.FORMAT_VERSION`.

Each step rewrites keys in atomic batches that put the new key and delete the old one together,
so a crash mid-way leaves every key in exactly one place and the next start simply resumes. Only
once every step is fsynced is the new version written to ``FORMAT``: an older tidestream then
refuses the data dir instead of misreading it.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Callable, Iterator

import cbor2
import orjson

from . import keyspace
from .datadir import FORMAT_VERSION, DataDir
from .engine import Engine, RocksEngine
from .keys import prefix_end

log = logging.getLogger("tidestream")

#: keys rewritten per atomic batch (bounds memory for big backups)
BATCH = 1000


def migrate(data_dir: DataDir, engine: RocksEngine) -> None:
    """Rewrite what ``data_dir``'s format stores differently from today's, then record today's."""
    found = data_dir.format_version
    if found >= FORMAT_VERSION:
        return
    moved = move_backup_items(engine) if found < 2 else 0
    renamed = name_record_fields(engine)  # format 2 -> 3
    engine.sync()
    data_dir.record_format()
    log.info(
        "data dir %s migrated from format %d to %d (%d backup items moved out of Lambda's key "
        "range, %d records given named fields)",
        data_dir.path,
        found,
        FORMAT_VERSION,
        moved,
        renamed,
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


#: format 3: the persisted records' cryptic keys and their names
KINESIS_STREAM_FIELDS = {
    "enc": "encryption",
    "kid": "key_id",
    "next": "next_index",
    "pend": "pending",
    "pol": "policy",
    "maxrec": "max_record_kib",
}
KINESIS_SHARD_FIELDS = {
    "i": "index",
    "s": "start",
    "e": "end",
    "c": "created_ms",
    "p": "parent",
    "a": "adjacent_parent",
    "x": "closed_ms",
    "n": "end_counter",
    "k": "children",
}
KINESIS_CONSUMER_FIELDS = {"sid": "stream_id", "sarn": "stream_arn"}
STREAMS_RECORD_FIELDS = {"e": "event_id", "n": "event_name", "k": "keys", "t": "created_at"}
#: format 2 stored a DynamoDB Streams record's event as an index into this
FORMAT2_EVENT_NAMES = ("INSERT", "MODIFY", "REMOVE")


def _renamed(record: dict, names: dict[str, str]) -> dict:
    return {names.get(key, key): value for key, value in record.items()}


def _kinesis_stream(raw: bytes) -> bytes | None:
    stream = orjson.loads(raw)
    if "enc" not in stream:
        return None  # already named (a migration resumed after a crash)
    stream = _renamed(stream, KINESIS_STREAM_FIELDS)
    stream["shards"] = [_renamed(shard, KINESIS_SHARD_FIELDS) for shard in stream["shards"]]
    return orjson.dumps(stream)


def _kinesis_consumer(raw: bytes) -> bytes | None:
    consumer = orjson.loads(raw)
    return None if "sid" not in consumer else orjson.dumps(_renamed(consumer, KINESIS_CONSUMER_FIELDS))


def _streams_record(raw: bytes) -> bytes | None:
    record = cbor2.loads(raw)
    if "e" not in record:
        return None
    record = _renamed(record, STREAMS_RECORD_FIELDS)
    record["event_name"] = FORMAT2_EVENT_NAMES[record["event_name"]]
    return cbor2.dumps(record)


def name_record_fields(engine: Engine) -> int:
    """Format 3: Kinesis stream and consumer metadata and DynamoDB Streams records get their
    fields' names instead of one-letter keys (issue 10). Each record is rewritten in place, so
    a crash leaves every record whole in one layout or the other and the rerun skips the done."""
    steps: list[tuple[bytes, Callable[[bytes], bytes | None]]] = [
        (keyspace.KINESIS_STREAMS, _kinesis_stream),
        (keyspace.KINESIS_CONSUMERS, _kinesis_consumer),
        (keyspace.DYNAMODB_STREAMS_RECORDS, _streams_record),
    ]
    renamed = 0
    for prefix, rename in steps:
        for batch in _batches(engine, prefix, rename):
            engine.write(batch)
            renamed += len(batch)
    return renamed


def _batches(
    engine: Engine, prefix: bytes, rename: Callable[[bytes], bytes | None]
) -> Iterator[list[tuple[bytes, bytes | None]]]:
    """The rewrites under *prefix*, BATCH at a time. A record is rewritten under its own key,
    so a scan that meets one it already rewrote finds it named and skips it."""
    batch: list[tuple[bytes, bytes | None]] = []
    for key, raw in engine.scan(prefix, prefix_end(prefix)):
        value = rename(raw)
        if value is not None:
            batch.append((key, value))
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch
