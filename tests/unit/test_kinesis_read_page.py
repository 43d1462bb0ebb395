"""GetRecords' JSON fast path renders each record's bytes itself; they must be exactly what
orjson writes for the record dicts that in-process callers (Lambda pollers) and CBOR get."""

from __future__ import annotations

import orjson

from tidestream.kinesis import records, sequence
from tidestream.kinesis.encryption import RecordCipher
from tidestream.storage.engine import RocksEngine

PARTITION_KEYS = ["plain", 'quote " and \\ backslash', "tab\tnewline\n\x01", "ünïcødé ✓", "😀" * 3]
BASE = sequence.shard_base(7, 3)
ARRIVAL_MS = 1_764_460_800_123


def _store(tmp_path) -> tuple[RocksEngine, RecordCipher, bytes]:
    engine = RocksEngine(str(tmp_path / "store"), durability="relaxed")
    cipher = RecordCipher(str(tmp_path / "key"))
    prefix = records.shard_prefix(7, 3)
    writes = []
    for counter, pk in enumerate(PARTITION_KEYS * 2, start=1):
        key = prefix + counter.to_bytes(8, "big")
        data = bytes(range(counter * 7 % 256)) * 3
        arrival = ARRIVAL_MS + counter // 3  # several records share a millisecond
        sealed = counter % 4 == 0
        value = (
            cipher.seal(key, arrival, pk.encode(), data)
            if sealed
            else records.encode(arrival, pk.encode(), data)
        )
        writes.append((key, value))
    engine.write(writes)
    return engine, cipher, prefix


def _page(engine, cipher, prefix, json_wire: bool, start: int = 1, limit: int = 100):
    return records.read_page(
        engine,
        prefix,
        start,
        limit,
        0,
        BASE,
        False,
        lambda ms: ms / 1000.0,
        None,
        cipher,
        json_wire=json_wire,
    )


def test_json_wire_records_are_the_bytes_orjson_writes_for_the_dicts(tmp_path):
    engine, cipher, prefix = _store(tmp_path)
    try:
        dicts, nxt, size, last_ms, last_counter = _page(engine, cipher, prefix, json_wire=False)
        rendered, nxt2, size2, last_ms2, last_counter2 = _page(engine, cipher, prefix, json_wire=True)
    finally:
        engine.close()
    assert len(dicts) == len(PARTITION_KEYS) * 2
    assert any(d.get("EncryptionType") == "KMS" for d in dicts)
    assert (nxt, size, last_ms, last_counter) == (nxt2, size2, last_ms2, last_counter2)
    assert dicts[-1]["SequenceNumber"] == sequence.make(BASE, last_counter, last_ms)
    wire = orjson.dumps({"Records": records.json_records(rendered), "MillisBehindLatest": 0})
    assert wire == orjson.dumps({"Records": dicts, "MillisBehindLatest": 0})
    assert orjson.loads(wire)["Records"] == dicts
    numbers = [sequence.make(BASE, c, ARRIVAL_MS + c // 3) for c in range(1, len(dicts) + 1)]
    assert [d["SequenceNumber"] for d in dicts] == numbers


def test_json_wire_page_limit_and_empty_page(tmp_path):
    engine, cipher, prefix = _store(tmp_path)
    try:
        rendered, nxt, _, _, _ = _page(engine, cipher, prefix, json_wire=True, start=3, limit=2)
        empty, nxt_empty, _, _, _ = _page(engine, cipher, prefix, json_wire=True, start=99)
    finally:
        engine.close()
    got = orjson.loads(orjson.dumps(records.json_records(rendered)))
    assert [r["PartitionKey"] for r in got] == PARTITION_KEYS[2:4]
    assert nxt == 5
    assert orjson.dumps(records.json_records(empty)) == b"[]" and nxt_empty == 99


def _fill(engine, prefix: bytes, records_spec) -> None:
    """records_spec: (counter, arrival ms, partition key, data) of plain records."""
    engine.write(
        [
            (prefix + c.to_bytes(8, "big"), records.encode(ms, pk.encode(), data))
            for c, ms, pk, data in records_spec
        ]
    )


def _both(engine, prefix, start, limit, last, cutoff=0, cipher=None):
    """The page as in-process callers get it (dicts, the general path) and as JSON clients get
    it (read_page with the shard's tail: the plain-records path when it applies)."""
    args = (engine, prefix, start, limit, cutoff, BASE, False, lambda ms: ms / 1000.0, None, cipher)
    dicts = records.read_page(*args, json_wire=False, last=last)
    rendered = records.read_page(*args, json_wire=True, last=last)
    return dicts, rendered


def _assert_same(dicts, rendered) -> None:
    assert rendered[1:] == dicts[1:]  # next counter, size, last arrival, last counter
    wire = orjson.dumps({"Records": records.json_records(rendered[0])})
    assert wire == orjson.dumps({"Records": dicts[0]})


def test_plain_pages_carry_the_sequence_digits_and_change_milliseconds(tmp_path):
    """900 records, 300 per millisecond: the low digits of the sequence numbers carry many times
    within a millisecond and across them; every page size and start gives orjson's bytes."""
    engine = RocksEngine(str(tmp_path / "store"), durability="relaxed")
    prefix = records.shard_prefix(7, 3)
    _fill(
        engine,
        prefix,
        [(c, ARRIVAL_MS + c // 300, f"key-{c}", bytes([c % 256]) * (c % 7)) for c in range(1, 901)],
    )
    try:
        for start, limit in ((1, 10_000), (1, 1), (2, 299), (150, 500), (899, 5), (901, 10)):
            dicts, rendered = _both(engine, prefix, start, limit, last=900)
            _assert_same(dicts, rendered)
        assert len(_both(engine, prefix, 1, 10_000, last=900)[0][0]) == 900
        # these pages took the plain-records path (whole: a range read that ends early is
        # re-read by the general path, which would hide a broken range read here)
        fast = records._plain_json_page(engine, prefix, 1, 901, 0, BASE)
        assert fast is not None and fast[1] == 901
        assert _both(engine, prefix, 1, 10_000, last=600)[1][1] == 601  # the readable tail bounds it
    finally:
        engine.close()


def test_pages_with_any_other_record_read_the_same(tmp_path):
    """Keys JSON must escape, an encrypted record, expired records, a gap in the counters:
    each page still gives exactly the general path's bytes."""
    engine = RocksEngine(str(tmp_path / "store"), durability="relaxed")
    cipher = RecordCipher(str(tmp_path / "key"))
    prefix = records.shard_prefix(7, 3)
    _fill(engine, prefix, [(c, ARRIVAL_MS + c, PARTITION_KEYS[c % 5], b"x" * c) for c in range(1, 41)])
    sealed_key = prefix + (20).to_bytes(8, "big")
    engine.write([(sealed_key, cipher.seal(sealed_key, ARRIVAL_MS + 20, b"secret", b"data"))])
    gap_prefix = records.shard_prefix(7, 4)
    _fill(engine, gap_prefix, [(c, ARRIVAL_MS, "k", b"y") for c in (1, 2, 4, 5)])
    try:
        for start, limit, cutoff in ((1, 100, 0), (1, 10, 0), (21, 100, 0), (1, 100, ARRIVAL_MS + 10)):
            dicts, rendered = _both(engine, prefix, start, limit, last=40, cutoff=cutoff, cipher=cipher)
            _assert_same(dicts, rendered)
        assert records._plain_json_page(engine, prefix, 1, 20, 0, BASE) is not None  # keys escaped
        for start, end, cutoff in ((1, 41, 0), (1, 20, ARRIVAL_MS + 10)):  # encrypted, expired
            assert records._plain_json_page(engine, prefix, start, end, cutoff, BASE) is None
        assert records._plain_json_page(engine, gap_prefix, 1, 6, 0, BASE) is None
        dicts, rendered = _both(engine, gap_prefix, 1, 100, last=5)
        _assert_same(dicts, rendered)
        assert [d["SequenceNumber"] for d in dicts[0]] == [
            sequence.make(BASE, c, ARRIVAL_MS) for c in (1, 2, 4, 5)
        ]
    finally:
        engine.close()


def test_a_page_stops_at_the_size_limit(tmp_path, monkeypatch):
    engine = RocksEngine(str(tmp_path / "store"), durability="relaxed")
    prefix = records.shard_prefix(7, 3)
    _fill(engine, prefix, [(c, ARRIVAL_MS + c // 2, "k", b"z" * 100) for c in range(1, 11)])
    monkeypatch.setattr(records, "PAGE_BYTES", 350)  # three records of 101 bytes fit, not four
    try:
        dicts, rendered = _both(engine, prefix, 1, 100, last=10)
        _assert_same(dicts, rendered)
        assert (len(dicts[0]), dicts[1], dicts[2]) == (3, 4, 303)
        assert records._plain_json_page(engine, prefix, 1, 11, 0, BASE) is not None
    finally:
        engine.close()
