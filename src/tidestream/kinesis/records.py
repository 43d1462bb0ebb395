"""Record storage: compact keys and values, batch appends, page reads.

Key   ``\\x03 | stream id (4, BE) | shard index (4, BE) | counter (8, BE)`` -- one shard's records
      are one contiguous, ordered key range, so a read is a single engine scan and retention is
      a single ``delete_range``.
Value ``arrival ms (8, LE) | partition-key length (2, LE) | partition key (UTF-8) | data``.

Each shard's last counter and last arrival time are kept under ``\\x00KC | stream | shard`` and
written in the same atomic batch as PutRecords' records. Change capture's inline appends
(``append.append_one``, one record in an item's commit) leave the row behind: the record's key
already says its counter, so at start a shard's counter is the larger of its row and its last
record (:func:`last_counter`), and retention writes the row before it trims a shard. Either
way a crash can never make a counter (and so a sequence number) be issued twice, even after
retention has deleted every record of the shard.
"""

from __future__ import annotations

import struct
from binascii import b2a_base64
from collections.abc import Callable
from typing import Any, cast

from orjson import Fragment, dumps

from ..storage import keyspace
from ..storage.engine import Engine
from . import sequence

PREFIX = keyspace.KINESIS_RECORDS
COUNTER_PREFIX = keyspace.KINESIS_SHARD_COUNTERS
_HDR = struct.Struct("<QH")
_HDR_SIZE = _HDR.size
_COUNTER = struct.Struct("<QQ")
#: the counter at the end of a record key (after the 9-byte shard prefix)
_KEY_COUNTER = struct.Struct(">Q")
#: partition-key length marking an encrypted value (real keys are at most 256 bytes)
_SEALED = 0xFFFF
#: AWS returns at most 10 MB of data from one GetRecords call
PAGE_BYTES = 10 * 1024 * 1024
_SHIFT_TIME = sequence._SHIFT_TIME
_SHIFT_COUNTER = sequence._SHIFT_COUNTER
_TIME_MASK = sequence._TIME_MASK
#: what one more counter adds to a sequence number
_COUNTER_STEP = 1 << _SHIFT_COUNTER
#: the low part of a sequence number written apart from its high digits (18 digits: 2**60 > 10**18)
_LOW_DIGITS = 10**18
#: bytes orjson escapes in a string (control characters, quote, backslash; it writes the rest as is)
_JSON_ESCAPED = bytes([*range(0x20), ord('"'), ord("\\")])
_JSON_PK = b'","PartitionKey":"'


def stream_prefix(stream_id: int) -> bytes:
    return PREFIX + stream_id.to_bytes(4, "big")


def shard_prefix(stream_id: int, shard_index: int) -> bytes:
    return PREFIX + stream_id.to_bytes(4, "big") + shard_index.to_bytes(4, "big")


def counter_key(stream_id: int, shard_index: int) -> bytes:
    return COUNTER_PREFIX + stream_id.to_bytes(4, "big") + shard_index.to_bytes(4, "big")


def _end(prefix: bytes) -> bytes:
    return (int.from_bytes(prefix, "big") + 1).to_bytes(len(prefix), "big")


def encode_counter(counter: int, last_ms: int) -> bytes:
    return _COUNTER.pack(counter, last_ms)


def decode_counter(raw: bytes) -> tuple[int, int]:
    c, ms = _COUNTER.unpack(raw)
    return c, ms


def encode(arrival_ms: int, pk: bytes, data: bytes) -> bytes:
    return _HDR.pack(arrival_ms, len(pk)) + pk + data


def arrival_of(engine: Engine, prefix: bytes, counter: int) -> int | None:
    raw = engine.get(prefix + counter.to_bytes(8, "big"))
    return None if raw is None else _HDR.unpack_from(raw)[0]


def first_counter(engine: Engine, prefix: bytes) -> tuple[int, int] | None:
    """(counter, arrival ms) of the oldest stored record of a shard."""
    for k, v in engine.scan(prefix, _end(prefix)):
        return int.from_bytes(k[9:], "big"), _HDR.unpack_from(v)[0]
    return None


def last_counter(engine: Engine, prefix: bytes) -> tuple[int, int] | None:
    """(counter, arrival ms) of the newest stored record of a shard."""
    for k, v in engine.scan(prefix, _end(prefix), reverse=True):
        return _KEY_COUNTER.unpack_from(k, len(prefix))[0], _HDR.unpack_from(v)[0]
    return None


def counter_at_time(engine: Engine, prefix: bytes, last: int, ts_ms: int) -> int:
    """The first counter whose arrival is >= *ts_ms* (``last + 1`` if none).

    Arrival times never decrease within a shard and counters are contiguous from the oldest
    stored record to *last*, so a binary search with point reads finds it in O(log n).
    """
    first = first_counter(engine, prefix)
    if first is None:
        return last + 1
    lo, hi = first[0], last + 1
    while lo < hi:
        mid = (lo + hi) // 2
        ms = arrival_of(engine, prefix, mid)
        if ms is None or ms < ts_ms:
            lo = mid + 1
        else:
            hi = mid
    return lo


def read_page(
    engine: Engine,
    prefix: bytes,
    start: int,
    limit: int,
    cutoff_ms: int,
    base: int,
    cbor: bool,
    ts: Callable[[int], Any],
    enc_type: str | None,
    cipher: Any = None,
    json_wire: bool = False,
    last: int | None = None,
) -> tuple[list[dict[str, Any]] | list[bytes], int, int, int, int]:
    """Up to *limit* records from counter *start* (and at most 10 MB of data, but at least one).

    Returns (records, next counter, bytes read, arrival ms and counter of the last record or 0,
    so a caller holding only JSON bytes can still name the last sequence number). Records
    older than *cutoff_ms* (past retention, not yet trimmed) are skipped. Records stored
    encrypted (see :mod:`.encryption`) are opened with *cipher* and reported with
    ``EncryptionType: KMS``; plain ones get *enc_type* if given. With *json_wire* the records
    come as JSON pieces for :func:`json_records` to join, exactly as orjson writes their dicts
    (*ts* unused): building, then serializing, a dict per record is ~12% of a drain.
    *last*: the shard's readable tail (storage/tails.py); records after it are not read yet.
    """
    if json_wire and last is not None and enc_type is None:
        if start > last:  # a caught-up reader: nothing to read, no engine call
            return [], start, 0, 0, 0
        plain = _plain_json_page(engine, prefix, start, min(last + 1, start + limit), cutoff_ms, base)
        if plain is not None:
            return plain
    page = _record_page(
        engine, prefix, start, limit, cutoff_ms, base, cbor, ts, enc_type, cipher, json_wire, last
    )
    if json_wire and page[0]:
        page[0][0] = page[0][0][1:]  # type: ignore[assignment,index]  # no comma before the first
    return page


def _record_page(
    engine: Engine,
    prefix: bytes,
    start: int,
    limit: int,
    cutoff_ms: int,
    base: int,
    cbor: bool,
    ts: Callable[[int], Any],
    enc_type: str | None,
    cipher: Any,
    json_wire: bool,
    last: int | None,
) -> tuple[list[dict[str, Any]] | list[bytes], int, int, int, int]:
    """:func:`read_page` for every record: dicts, encrypted records, expired ones, any key."""
    out: list[Any] = []
    append = out.append
    size = 0
    nxt = start
    last_ms = last_counter = 0
    unpack = _HDR.unpack_from
    counter_of = _KEY_COUNTER.unpack_from
    shift_c = sequence._SHIFT_COUNTER
    shift_t = sequence._SHIFT_TIME
    stamp_ms = -1
    stamp: Any = None
    base_at_ms = base
    stamp_of = _json_stamp if json_wire else ts
    end = _end(prefix) if last is None else prefix + (last + 1).to_bytes(8, "big")
    for k, v in engine.scan(prefix + start.to_bytes(8, "big"), end):
        ms, n = unpack(v)
        c = counter_of(k, 9)[0]
        nxt = c + 1
        if ms < cutoff_ms:
            continue
        enc = enc_type
        if n == _SEALED:
            pkb, data = cipher.open(k, v)
            n = len(pkb)
            enc = "KMS"
        else:
            pkb = v[_HDR_SIZE : _HDR_SIZE + n]
            data = v[_HDR_SIZE + n :]
        size += len(data) + n
        if size > PAGE_BYTES and out:
            nxt = c
            size -= len(data) + n
            break
        if ms != stamp_ms:  # a page's records mostly share their arrival millisecond
            stamp_ms, stamp = ms, stamp_of(ms)
            base_at_ms = base | ((ms & 0xFFFFFFFFFFFF) << shift_t)
        sequence_number = base_at_ms | (c << shift_c)
        if json_wire:
            fields = (sequence_number, stamp, b2a_base64(data, newline=False), dumps(pkb.decode()))
            append(_JSON_RECORD_ENCRYPTED % (*fields, enc.encode()) if enc else _JSON_RECORD % fields)
        else:
            rec = {
                "SequenceNumber": str(sequence_number),
                "ApproximateArrivalTimestamp": stamp,
                "Data": data if cbor else b2a_base64(data, newline=False).decode("ascii"),
                "PartitionKey": pkb.decode(),
            }
            if enc:
                rec["EncryptionType"] = enc
            append(rec)
        last_ms, last_counter = ms, c
        if len(out) >= limit:
            break
    return out, nxt, size, last_ms, last_counter


def _plain_json_page(
    engine: Engine, prefix: bytes, start: int, end: int, cutoff_ms: int, base: int
) -> tuple[list[bytes], int, int, int, int] | None:
    """:func:`read_page`'s JSON pieces for counters [start, end) when every record there is
    plain and current (a drain's case), else None: the caller then reads the page with
    :func:`_record_page`, which handles any record.

    Why it is cheaper (~30% of a drain's instructions): one engine call per record (the
    engine's unchecked range read), no key decoded per record (counters are contiguous: checked
    once per page), the 56-digit sequence number written as its high digits, fixed while only
    the low digits move from record to record, and that low part; the partition key as it is
    stored (escaped afterwards only on a page with a key JSON must escape); five pieces per
    record, joined once. A range read that ends before *end* gives None too, so an engine
    error mid-range raises in the checked scan of :func:`_record_page`, never a short page.
    """
    read = getattr(engine, "scan_unchecked", engine.scan)
    out: list[bytes] = []
    extend = out.extend
    unpack = _HDR.unpack_from
    step = _COUNTER_STEP
    size = low = top = seq_ms = 0
    stamp_ms = -1
    head = lead = b""
    first = k = None
    for k, v in read(prefix + start.to_bytes(8, "big"), prefix + end.to_bytes(8, "big")):
        ms, n = unpack(v)
        if n == _SEALED:
            return None
        size += len(v) - _HDR_SIZE
        if size > PAGE_BYTES and out:
            return _finish_plain_page(out, first, k, end, size - len(v) + _HDR_SIZE, seq_ms, True)
        low += step  # the next counter (their contiguity is checked at the end)
        if ms != stamp_ms:  # arrival stamps change once per millisecond of appends
            if ms < cutoff_ms or ms < stamp_ms:  # expired, or a clock that went back: any record
                return None
            low += (ms - seq_ms) << _SHIFT_TIME
            stamp_ms = seq_ms = ms
            lead = b'%d","ApproximateArrivalTimestamp":' + _json_stamp(ms) + b',"Data":"'
        if low >= top:  # the low digits carried (or the first record): split again
            c = _KEY_COUNTER.unpack_from(k, 9)[0]
            if first is None:
                first = c
            high, low, top = _split_decimal(base | ((ms & _TIME_MASK) << _SHIFT_TIME) | (c << _SHIFT_COUNTER))
            head = b'"},{"SequenceNumber":"' + high
        extend(
            (
                head,
                lead % low,
                b2a_base64(v[_HDR_SIZE + n :], newline=False),
                _JSON_PK,
                v[_HDR_SIZE : _HDR_SIZE + n],
            )
        )
    return _finish_plain_page(out, first, k, end, size, seq_ms, False)


def _finish_plain_page(
    out: list[bytes], first: int | None, k: bytes | None, end: int, size: int, last_ms: int, cut: bool
) -> tuple[list[bytes], int, int, int, int] | None:
    """Check and close :func:`_plain_json_page`'s pieces; *k*: the last key read (the first one
    left out when *cut* by the size limit). None when the counters read were not contiguous or
    the read ended before *end*."""
    if first is None or k is None:
        return None
    count = len(out) // 5
    last_counter = first + count - 1
    key_counter = _KEY_COUNTER.unpack_from(k, 9)[0]
    if key_counter != (last_counter + 1 if cut else last_counter) or not cut and last_counter != end - 1:
        return None
    keys = out[4::5]
    joined = b"".join(keys)
    if len(joined.translate(None, _JSON_ESCAPED)) != len(joined):
        out[4::5] = [dumps(key.decode())[1:-1] for key in keys]
    out[0] = out[0][3:]  # no record before the first one to close
    out.append(b'"}')
    return out, last_counter + 1, size, last_ms, last_counter


def _split_decimal(number: int) -> tuple[bytes, int, int]:
    """(the high digits as text, the low part, its bound): *number*'s decimal text is the high
    digits followed by the low part's (at least 18 digits, the first one never 0, so plain
    ``%d`` writes them) as long as the low part stays below its bound."""
    bound = _LOW_DIGITS
    while True:
        high, low = divmod(number, bound)
        if low * 10 >= bound:
            return b"%d" % high, low, bound
        bound *= 10


#: one record as orjson writes ``read_page``'s dict for it (same keys, same order), after a comma
_JSON_RECORD = b',{"SequenceNumber":"%d","ApproximateArrivalTimestamp":%b,"Data":"%b","PartitionKey":%b}'
_JSON_RECORD_ENCRYPTED = _JSON_RECORD[:-1] + b',"EncryptionType":"%b"}'


def _json_stamp(ms: int) -> bytes:
    return dumps(ms / 1000.0)


def json_records(rendered: list[bytes] | list[dict[str, Any]]) -> Fragment:
    """A JSON array of the records rendered by :func:`read_page` with ``json_wire`` (pieces,
    which the page's type can't say), for orjson to copy into the response as it is."""
    return Fragment(b"".join([b"[", *cast("list[bytes]", rendered), b"]"]))
