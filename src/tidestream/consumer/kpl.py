"""De-aggregation of Kinesis Producer Library (KPL) aggregated records, as KCL does it.

An aggregated record's Data is ``F3 89 9A C2`` + a protobuf ``AggregatedRecord`` + the 16-byte
MD5 of those protobuf bytes::

    message AggregatedRecord { repeated string partition_key_table = 1;
                               repeated string explicit_hash_key_table = 2;
                               repeated Record records = 3; }
    message Record { required uint64 partition_key_index = 1;
                     optional uint64 explicit_hash_key_index = 2;
                     required bytes data = 3; repeated Tag tags = 4; }

Each user record keeps the Kinesis record's sequence number and gets its index as the
sub-sequence number. Like KCL, a record that is too short, lacks the magic, fails the MD5
check or does not parse is passed through whole as a normal record; so is (unlike KCL, which
logs and keeps a partial list) one whose table index points outside its table. Only these
messages are read, so no protobuf dependency is needed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

MAGIC = b"\xf3\x89\x9a\xc2"
DIGEST_SIZE = 16
_VARINT, _FIXED64, _LENGTH, _FIXED32 = 0, 1, 2, 5


class _Malformed(ValueError):
    pass


@dataclass(frozen=True)
class UserRecord:
    """One record as the producer put it (``aggregated`` False when it was not packed)."""

    data: bytes
    partition_key: str
    explicit_hash_key: str | None
    sequence_number: str
    sub_sequence_number: int
    aggregated: bool
    approximate_arrival: Any = None

    def as_record(self) -> dict[str, Any]:
        """The boto3 GetRecords record shape, plus ``SubSequenceNumber``."""
        record = {
            "SequenceNumber": self.sequence_number,
            "SubSequenceNumber": self.sub_sequence_number,
            "Data": self.data,
            "PartitionKey": self.partition_key,
        }
        if self.approximate_arrival is not None:
            record["ApproximateArrivalTimestamp"] = self.approximate_arrival
        if self.explicit_hash_key is not None:
            record["ExplicitHashKey"] = self.explicit_hash_key
        return record


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise _Malformed("truncated or overlong varint")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def _fields(buf: bytes) -> Iterator[tuple[int, int, Any]]:
    """(field number, wire type, value): an int for varints, bytes for the rest."""
    pos = 0
    while pos < len(buf):
        tag, pos = _varint(buf, pos)
        number, wire = tag >> 3, tag & 7
        if number == 0:
            raise _Malformed("field number 0")
        value: int | bytes
        if wire == _VARINT:
            value, pos = _varint(buf, pos)
        elif wire in (_FIXED64, _FIXED32):
            width = 8 if wire == _FIXED64 else 4
            value, pos = buf[pos : pos + width], pos + width
        elif wire == _LENGTH:
            size, pos = _varint(buf, pos)
            value, pos = buf[pos : pos + size], pos + size
        else:
            raise _Malformed(f"unsupported wire type {wire}")
        if pos > len(buf):
            raise _Malformed("field runs past the end")
        yield number, wire, value


def _expect(wire: int, want: int) -> None:
    if wire != want:
        raise _Malformed("field has the wrong wire type")


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise _Malformed("string is not UTF-8") from err


def _user_record(buf: bytes) -> tuple[int, int | None, bytes]:
    pk_index = ehk_index = data = None
    for number, wire, value in _fields(buf):
        if number in (1, 2):
            _expect(wire, _VARINT)
            if number == 1:
                pk_index = value
            else:
                ehk_index = value
        elif number == 3:
            _expect(wire, _LENGTH)
            data = bytes(value)
    if pk_index is None or data is None:
        raise _Malformed("record lacks partition_key_index or data")
    return pk_index, ehk_index, data


def parse_aggregate(message: bytes) -> list[tuple[str, str | None, bytes]]:
    """The protobuf ``AggregatedRecord`` as (partition key, explicit hash key, data) triples."""
    keys: list[str] = []
    hash_keys: list[str] = []
    records = []
    for number, wire, value in _fields(message):
        if number in (1, 2, 3):
            _expect(wire, _LENGTH)
        if number == 1:
            keys.append(_text(value))
        elif number == 2:
            hash_keys.append(_text(value))
        elif number == 3:
            records.append(_user_record(value))
    out = []
    for pk_index, ehk_index, data in records:
        if pk_index >= len(keys) or (ehk_index is not None and ehk_index >= len(hash_keys)):
            raise _Malformed("table index out of range")
        out.append((keys[pk_index], None if ehk_index is None else hash_keys[ehk_index], data))
    return out


def _aggregate_message(data: bytes) -> bytes | None:
    """The protobuf bytes if ``data`` is framed as an aggregate with a matching MD5."""
    if len(data) <= len(MAGIC) + DIGEST_SIZE or not data.startswith(MAGIC):
        return None
    message, digest = data[len(MAGIC) : -DIGEST_SIZE], data[-DIGEST_SIZE:]
    return message if hashlib.md5(message).digest() == digest else None


def effective_hash_key(partition_key: str, explicit_hash_key: str | None) -> int:
    """The 128-bit key Kinesis routes by: the explicit one, else MD5 of the partition key."""
    if explicit_hash_key is not None:
        return int(explicit_hash_key)
    return int.from_bytes(hashlib.md5(partition_key.encode("utf-8")).digest(), "big")


def _in_range(parts: list[tuple[str, str | None, bytes]], hash_range: tuple[int, int] | None) -> bool:
    if hash_range is None:
        return True
    low, high = hash_range
    return all(low <= effective_hash_key(pk, ehk) <= high for pk, ehk, _ in parts)


def deaggregate(record: Mapping[str, Any], hash_range: tuple[int, int] | None = None) -> list[UserRecord]:
    """The user records in one boto3 GetRecords record.

    With ``hash_range`` (the shard's starting and ending hash keys), an aggregate holding a user
    record outside the range yields nothing, as in KCL: after a reshard those belong to another
    shard's consumer."""
    data = bytes(record["Data"])
    sequence, arrival = record["SequenceNumber"], record.get("ApproximateArrivalTimestamp")
    message = _aggregate_message(data)
    parts = None
    if message is not None:
        try:
            parts = parse_aggregate(message)
        except _Malformed:
            parts = None
    if parts is None:
        return [
            UserRecord(
                data, record["PartitionKey"], record.get("ExplicitHashKey"), sequence, 0, False, arrival
            )
        ]
    if not _in_range(parts, hash_range):
        return []
    return [
        UserRecord(payload, pk, ehk, sequence, index, True, arrival)
        for index, (pk, ehk, payload) in enumerate(parts)
    ]


def deaggregate_all(
    records: Iterable[Mapping[str, Any]], hash_range: tuple[int, int] | None = None
) -> Iterator[UserRecord]:
    """:func:`deaggregate` over a GetRecords page, in order."""
    for record in records:
        yield from deaggregate(record, hash_range)
