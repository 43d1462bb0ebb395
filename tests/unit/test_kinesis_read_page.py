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
