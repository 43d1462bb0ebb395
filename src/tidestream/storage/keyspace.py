"""The map of the one RocksDB keyspace: every key prefix, what lives under it, its encoding.

Every module that stores something imports its prefix from here, so two services can never pick
the same bytes by accident (format 1 had one such overlap: backup items under ``\\x07`` + uid,
Lambda under ``\\x07F``/``\\x07C``/``\\x07K``; a backup whose uid began with ``F`` would have
covered Lambda's functions). :data:`REGISTRY` lists each prefix once; a unit test checks that
no prefix is a prefix of another unless it declares that one as its ``parent``, and that
docs/architecture.md ("Keyspace map") shows every one. Integers in keys are big-endian, so
byte order is numeric order.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KeyPrefix:
    """One registered prefix: its bytes and what a reader needs to decode the keys under it."""

    name: str
    prefix: bytes
    holds: str
    #: the rest of the key after the prefix
    key: str
    value: str
    owner: str
    #: the registered prefix this one lives inside (a sub-range of that service's range)
    parent: bytes | None = None


# DynamoDB metadata (small, loaded at start)
TABLE_DEFINITIONS = b"\x00T"
NEXT_UID = b"\x00Q"
TABLE_STATS = b"\x00S"
BACKUP_RECORDS = b"\x00B"
#: cluster mode only: TransactWriteItems / ExecuteTransaction ClientRequestTokens
TRANSACTION_TOKENS = b"\x00I"
# Kinesis metadata: everything under \x00K
KINESIS_META = b"\x00K"
KINESIS_STREAMS = b"\x00KS"
KINESIS_NEXT_STREAM_ID = b"\x00KN"
KINESIS_SHARD_COUNTERS = b"\x00KC"
KINESIS_CONSUMERS = b"\x00KF"
KINESIS_ITERATOR_SECRET = b"\x00KK"
KINESIS_ACCOUNT_SETTINGS = b"\x00KA"
#: cluster mode: each consumer and shard's live SubscribeToShard session (kinesis/cluster.py)
KINESIS_SUBSCRIPTIONS = b"\x00KL"
#: PostgreSQL stores: the key encrypting records at rest (kinesis/encryption.py)
KINESIS_ENCRYPTION_KEY = b"\x00KE"
#: the engine's write probe while a full disk refuses writes: outside every service's range
PROBE_KEY = b"\x00Xprobe"
# data ranges: each contiguous, so a table, an index, a shard or the outbox is one scan
ITEMS = b"\x01"
INDEX_ENTRIES = b"\x02"
KINESIS_RECORDS = b"\x03"
CDC_OUTBOX = b"\x04"
#: the outbox's scan end (nothing is stored at or under it)
CDC_OUTBOX_END = b"\x05"
# DynamoDB Streams: everything under \x06
DYNAMODB_STREAMS = b"\x06"
DYNAMODB_STREAMS_SECRET = b"\x06K"
DYNAMODB_STREAMS_NEXT_ID = b"\x06N"
DYNAMODB_STREAMS_META = b"\x06M"
DYNAMODB_STREAMS_RECORDS = b"\x06R"
# Lambda: everything under \x07
LAMBDA = b"\x07"
LAMBDA_FUNCTIONS = b"\x07F"
LAMBDA_CODE = b"\x07C"
LAMBDA_CODE_SECRET = b"\x07K"
LAMBDA_EVENT_SOURCE_MAPPINGS = b"\x07M"
LAMBDA_MAPPING_CHECKPOINTS = b"\x07P"
PITR_LOG = b"\x08"
#: backup items since data dir format 2 (format 1 kept them under \x07, inside Lambda's range)
BACKUP_ITEMS = b"\x09"
#: cluster mode: each captured item's last change stamp (cdc/sequencing.py)
CDC_ITEM_STAMPS = b"\x0a"
#: where format 1 kept backup items; read only by the format-2 migration (storage/migrate.py)
FORMAT1_BACKUP_ITEMS = b"\x07"

#: the whole keyspace, for the admin reset
EVERYTHING = (b"\x00", b"\xff" * 8)

_DDB = "dynamodb/"
_KIN = "kinesis/"
_DDBS = "dynamodbstreams/state.py"
_LAMBDA = "lambda_/functions.py"

REGISTRY: tuple[KeyPrefix, ...] = (
    KeyPrefix(
        "TABLE_DEFINITIONS",
        TABLE_DEFINITIONS,
        "table definitions",
        "account \\x00 region \\x00 name (UTF-8)",
        "CBOR of Table",
        _DDB + "tables.py",
    ),
    KeyPrefix(
        "NEXT_UID", NEXT_UID, "next table/index/backup uid", "(none)", "decimal text", _DDB + "tables.py"
    ),
    KeyPrefix(
        "TABLE_STATS",
        TABLE_STATS,
        "item count and size of a table or index",
        "uid (4); with --cluster, + node id (8): each node's share, summed on read",
        ">qq count, bytes",
        _DDB + "itemstore.py",
    ),
    KeyPrefix(
        "BACKUP_RECORDS",
        BACKUP_RECORDS,
        "on-demand backup records",
        "backup ARN (UTF-8)",
        "CBOR of Backup",
        _DDB + "backups.py",
    ),
    KeyPrefix(
        "TRANSACTION_TOKENS",
        TRANSACTION_TOKENS,
        "ClientRequestTokens of transactions (cluster mode only)",
        "10-minute window (8) + account/token (UTF-8)",
        "CBOR {digest, answer, expires}",
        _DDB + "idempotency.py",
    ),
    KeyPrefix(
        "KINESIS_META",
        KINESIS_META,
        "Kinesis metadata (only the sub-prefixes below)",
        "one letter",
        "(see below)",
        _KIN,
    ),
    KeyPrefix(
        "KINESIS_STREAMS",
        KINESIS_STREAMS,
        "stream definitions",
        "account/region/name (UTF-8)",
        "JSON (Stream.to_json)",
        _KIN + "streams.py",
        KINESIS_META,
    ),
    KeyPrefix(
        "KINESIS_NEXT_STREAM_ID",
        KINESIS_NEXT_STREAM_ID,
        "next stream id",
        "(none)",
        "text",
        _KIN + "streams.py",
        KINESIS_META,
    ),
    KeyPrefix(
        "KINESIS_SHARD_COUNTERS",
        KINESIS_SHARD_COUNTERS,
        "each shard's last counter and arrival ms",
        "stream id (4) + shard index (4)",
        "<QQ",
        _KIN + "records.py",
        KINESIS_META,
    ),
    KeyPrefix(
        "KINESIS_CONSUMERS",
        KINESIS_CONSUMERS,
        "enhanced fan-out consumers",
        "stream id (4) + consumer name (UTF-8)",
        "JSON consumer record",
        _KIN + "consumers.py",
        KINESIS_META,
    ),
    KeyPrefix(
        "KINESIS_ITERATOR_SECRET",
        KINESIS_ITERATOR_SECRET,
        "iterator signing secret",
        "(none)",
        "random bytes",
        _KIN + "state.py",
        KINESIS_META,
    ),
    KeyPrefix(
        "KINESIS_ACCOUNT_SETTINGS",
        KINESIS_ACCOUNT_SETTINGS,
        "account settings (UpdateAccountSettings)",
        "account/region (UTF-8)",
        "JSON account settings",
        _KIN + "operations/account.py",
        KINESIS_META,
    ),
    KeyPrefix(
        "KINESIS_SUBSCRIPTIONS",
        KINESIS_SUBSCRIPTIONS,
        "cluster mode: the live SubscribeToShard session of a consumer and shard",
        "stream id (4) + shard index (4) + consumer name (UTF-8)",
        "JSON {consumer_arn, started_ms, session}",
        _KIN + "cluster.py",
        KINESIS_META,
    ),
    KeyPrefix(
        "KINESIS_ENCRYPTION_KEY",
        KINESIS_ENCRYPTION_KEY,
        "PostgreSQL stores: the key encrypting Kinesis records at rest",
        "(none)",
        "32 random bytes",
        _KIN + "encryption.py",
        KINESIS_META,
    ),
    KeyPrefix(
        "PROBE_KEY",
        PROBE_KEY,
        "write probe while the store refuses writes",
        "(none)",
        "1",
        "storage/engine.py",
    ),
    KeyPrefix(
        "ITEMS",
        ITEMS,
        "items",
        "table uid (4) + bucket (2, CRC of partition) + partition + [sort], order-preserving "
        "(storage/keys.py)",
        "CBOR item",
        _DDB + "itemstore.py",
    ),
    KeyPrefix(
        "INDEX_ENTRIES",
        INDEX_ENTRIES,
        "index entries (LSI/GSI)",
        "index uid (4) + bucket + index key + table key",
        "CBOR projected item",
        _DDB + "itemstore.py",
    ),
    KeyPrefix(
        "KINESIS_RECORDS",
        KINESIS_RECORDS,
        "Kinesis records",
        "stream id (4) + shard index (4) + counter (8)",
        "arrival ms, key length, partition key, data (or sealed)",
        _KIN + "records.py",
    ),
    KeyPrefix(
        "CDC_OUTBOX",
        CDC_OUTBOX,
        "CDC outbox (\\x05 is its scan end)",
        "sequence (8)",
        "CBOR outbox entry",
        "cdc/capture.py",
    ),
    KeyPrefix(
        "DYNAMODB_STREAMS",
        DYNAMODB_STREAMS,
        "DynamoDB Streams (only the sub-prefixes below)",
        "one letter",
        "(see below)",
        _DDBS,
    ),
    KeyPrefix(
        "DYNAMODB_STREAMS_SECRET",
        DYNAMODB_STREAMS_SECRET,
        "DynamoDB Streams iterator secret",
        "(none)",
        "32 random bytes",
        _DDBS,
        DYNAMODB_STREAMS,
    ),
    KeyPrefix(
        "DYNAMODB_STREAMS_NEXT_ID",
        DYNAMODB_STREAMS_NEXT_ID,
        "next DynamoDB stream id",
        "(none)",
        "text",
        _DDBS,
        DYNAMODB_STREAMS,
    ),
    KeyPrefix(
        "DYNAMODB_STREAMS_META",
        DYNAMODB_STREAMS_META,
        "DynamoDB stream metadata",
        "stream id (4)",
        "CBOR of StreamMeta",
        _DDBS,
        DYNAMODB_STREAMS,
    ),
    KeyPrefix(
        "DYNAMODB_STREAMS_RECORDS",
        DYNAMODB_STREAMS_RECORDS,
        "DynamoDB Streams change records",
        "stream id (4) + counter (8)",
        "CBOR record",
        _DDBS,
        DYNAMODB_STREAMS,
    ),
    KeyPrefix(
        "LAMBDA", LAMBDA, "Lambda (only the sub-prefixes below)", "one letter", "(see below)", "lambda_/"
    ),
    KeyPrefix(
        "LAMBDA_FUNCTIONS",
        LAMBDA_FUNCTIONS,
        "function configurations",
        "account/region/name (UTF-8)",
        "JSON (Function)",
        _LAMBDA,
        LAMBDA,
    ),
    KeyPrefix(
        "LAMBDA_CODE",
        LAMBDA_CODE,
        "deployment packages",
        "account/region/name (UTF-8)",
        "the zip as uploaded",
        _LAMBDA,
        LAMBDA,
    ),
    KeyPrefix(
        "LAMBDA_CODE_SECRET",
        LAMBDA_CODE_SECRET,
        "secret signing Code.Location URLs",
        "(none)",
        "random bytes",
        _LAMBDA,
        LAMBDA,
    ),
    KeyPrefix(
        "LAMBDA_EVENT_SOURCE_MAPPINGS",
        LAMBDA_EVENT_SOURCE_MAPPINGS,
        "event source mappings",
        "mapping UUID (text)",
        "JSON (EventSourceMapping)",
        "lambda_/mappings.py",
        LAMBDA,
    ),
    KeyPrefix(
        "LAMBDA_MAPPING_CHECKPOINTS",
        LAMBDA_MAPPING_CHECKPOINTS,
        "event source mapping checkpoints",
        "uuid/shardId (text)",
        "JSON (Checkpoint: last settled sequence number, shard finished, open tumbling window)",
        "lambda_/mappings.py",
        LAMBDA,
    ),
    KeyPrefix(
        "PITR_LOG",
        PITR_LOG,
        "point-in-time recovery history",
        "table uid (4) + commit µs (8) + sequence (8)",
        "CBOR {key, old}",
        _DDB + "pitr.py",
    ),
    KeyPrefix(
        "BACKUP_ITEMS",
        BACKUP_ITEMS,
        "on-demand backup items",
        "backup uid (4) + the item's key after its table prefix",
        "the item as the table stored it",
        _DDB + "backups.py",
    ),
    KeyPrefix(
        "CDC_ITEM_STAMPS",
        CDC_ITEM_STAMPS,
        "cluster mode: each captured item's last change stamp",
        "the item's key",
        "CBOR [last ApproximateCreationDateTime µs, last change counter]",
        "cdc/sequencing.py",
    ),
)
