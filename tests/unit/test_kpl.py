"""KPL de-aggregation: golden bytes from the reference aggregator, round trips, damaged input."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tidestream.consumer.kpl import MAGIC, deaggregate, deaggregate_all, effective_hash_key

#: written by the ``aws-kinesis-agg`` 1.2.3 Python aggregator (awslabs/kinesis-aggregation):
#: add_user_record("pk1", b"hello", None); add_user_record("pk2", b"world", "12345")
GOLDEN = bytes.fromhex(
    "f3899ac20a03706b310a03706b32120531323334351a0908001a0568656c6c6f1a0b080110001a05776f726c64"
    "2d4b507cdeecd4c2e172334553fbb420"
)
#: sha256 of that aggregator's output for BIG_RECORDS (666 bytes), to check our writer byte for byte
BIG_SHA256 = "b7a4e4f77bb2a3e16584321da2721c80f999a7cf5ccde057cf4df1ba45593fa1"
BIG_RECORDS = [
    ("same", None, bytes(range(256))),
    ("same", None, b""),
    ("other", "340282366920938463463374607431768211455", "héllo".encode()),
    ("same", None, b"x" * 300),
]


# ---- a minimal protobuf writer, for tests only ----------------------------------------------


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number: int, payload: bytes | int) -> bytes:
    if isinstance(payload, int):
        return _varint(number << 3) + _varint(payload)
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def aggregate(records: list[tuple[str, str | None, bytes]]) -> bytes:
    """The KPL framing of ``(partition key, explicit hash key, data)`` records, tables in first-use order."""
    keys: list[str] = []
    hash_keys: list[str] = []
    body = b""
    for pk, ehk, data in records:
        if pk not in keys:
            keys.append(pk)
        entry = _field(1, keys.index(pk))
        if ehk is not None:
            if ehk not in hash_keys:
                hash_keys.append(ehk)
            entry += _field(2, hash_keys.index(ehk))
        body += _field(3, entry + _field(3, data))
    message = b"".join(_field(1, k.encode()) for k in keys) + b"".join(
        _field(2, k.encode()) for k in hash_keys
    )
    message += body
    return MAGIC + message + hashlib.md5(message).digest()


def record(data: bytes, seq: str = "49590000000000000000000000000000000000000000000000000001") -> dict:
    return {"SequenceNumber": seq, "Data": data, "PartitionKey": "outer"}


# ---- tests ----------------------------------------------------------------------------------


def test_golden_bytes_from_the_reference_aggregator():
    users = deaggregate(record(GOLDEN))
    assert [
        (u.partition_key, u.explicit_hash_key, u.data, u.sub_sequence_number, u.aggregated) for u in users
    ] == [("pk1", None, b"hello", 0, True), ("pk2", "12345", b"world", 1, True)]
    assert {u.sequence_number for u in users} == {record(b"")["SequenceNumber"]}
    assert aggregate([("pk1", None, b"hello"), ("pk2", "12345", b"world")]) == GOLDEN


def test_our_writer_matches_the_reference_on_a_bigger_aggregate():
    data = aggregate(BIG_RECORDS)
    assert hashlib.sha256(data).hexdigest() == BIG_SHA256
    users = deaggregate(record(data))
    assert [(u.partition_key, u.explicit_hash_key, u.data) for u in users] == BIG_RECORDS
    assert [u.sub_sequence_number for u in users] == [0, 1, 2, 3]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.text(min_size=1, max_size=20),
            st.one_of(st.none(), st.integers(0, 2**128 - 1).map(str)),
            st.binary(max_size=300),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_round_trip(records):
    users = list(deaggregate_all([record(aggregate(records))]))
    assert [(u.partition_key, u.explicit_hash_key, u.data) for u in users] == records
    assert [u.sub_sequence_number for u in users] == list(range(len(records)))
    assert users[0].as_record()["SubSequenceNumber"] == 0


def _passes_through(data: bytes) -> None:
    (user,) = deaggregate(record(data))
    assert (user.data, user.partition_key, user.aggregated, user.sub_sequence_number) == (
        data,
        "outer",
        False,
        0,
    )


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"plain text record",
        MAGIC,
        MAGIC + b"\x00" * 16,  # too short for a message + digest
        b"\x00" + GOLDEN[1:],  # wrong magic
        GOLDEN[:-1] + bytes([GOLDEN[-1] ^ 1]),  # digest does not match
        GOLDEN[:10] + b"\x00" + GOLDEN[11:],  # body damaged: digest no longer matches
    ],
)
def test_not_aggregated_or_damaged_passes_through(data):
    _passes_through(data)


def _framed(message: bytes) -> bytes:
    return MAGIC + message + hashlib.md5(message).digest()


@pytest.mark.parametrize(
    "message",
    [
        b"\x0a\x05ab",  # a string field longer than the message
        b"\x1a\x02\x08\x00",  # a record without data
        b"\x1a\x03\x1a\x01x",  # a record without partition_key_index
        b"\x0a\x01a\x1a\x05\x08\x01\x1a\x01x",  # partition_key_index 1 of a 1-entry table
        b"\x0a\x01a\x1a\x07\x08\x00\x10\x00\x1a\x01x",  # explicit_hash_key_index into an empty table
        b"\x0b",  # wire type 3 (groups) is not in this format
        b"\x0a\x01\xff",  # partition key is not UTF-8
        b"\x08" + b"\xff" * 11,  # overlong varint
    ],
)
def test_framed_but_unparseable_passes_through(message):
    _passes_through(_framed(message))


def test_unknown_fields_and_tags_are_skipped():
    tag = _field(4, _field(1, b"k") + _field(2, b"v"))
    message = _field(1, b"a") + _field(3, _field(1, 0) + _field(3, b"x") + tag) + _field(9, 5)
    (user,) = deaggregate(record(_framed(message)))
    assert (user.partition_key, user.data, user.aggregated) == ("a", b"x", True)


def test_hash_range_drops_an_aggregate_that_belongs_to_another_shard():
    data = aggregate([("a", "10", b"1"), ("b", "20", b"2")])
    assert len(deaggregate(record(data), hash_range=(0, 20))) == 2
    assert deaggregate(record(data), hash_range=(0, 15)) == []  # all or nothing, as KCL
    plain = deaggregate(record(b"not aggregated"), hash_range=(0, 1))
    assert plain[0].data == b"not aggregated"  # only aggregates are filtered
    assert effective_hash_key("a", None) == int(hashlib.md5(b"a").hexdigest(), 16)
