"""Kinesis building blocks without a server: sequence numbers, shards, iterators, retention,
counters across reloads (an in-memory engine and a fake clock)."""

from __future__ import annotations

import contextlib
import hashlib

import pytest

from tidestream.config import Config
from tidestream.context import RequestContext
from tidestream.errors import ExpiredIteratorException, InvalidArgumentException, SerializationException
from tidestream.kinesis import iterators, sequence
from tidestream.kinesis.retention import trim
from tidestream.kinesis.service import build
from tidestream.kinesis.shards import HASH_MAX, Router, Shard, even_ranges, hash_key, parse_shard_id
from tidestream.protocol import cbor
from tidestream.storage.engine import RocksEngine


class Clock:
    def __init__(self, t: float = 1_700_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def env():
    eng = RocksEngine(None, in_memory=True)
    clock = Clock()
    spec, state = build(eng, Config(kinesis_limits=False))
    state.clock = clock
    ctx = RequestContext("111122223333", "us-east-1", "req")
    yield spec.operations, state, ctx, clock, eng
    try:
        eng.close()
    except Exception:  # the in-memory env cannot sync its WAL on close; nothing to keep anyway
        pass


def test_sequence_numbers_are_56_digits_and_decode():
    base = sequence.shard_base(7, 3)
    seqs = [sequence.make(base, c, 1_700_000_000_123) for c in (0, 1, 2, 10**6, sequence.COUNTER_MAX)]
    assert all(len(s) == 56 for s in seqs)
    assert [int(s) for s in seqs] == sorted(int(s) for s in seqs)
    d = sequence.parse(seqs[3])
    assert (d.stream_id, d.shard_index, d.counter, d.time_ms) == (7, 3, 10**6, 1_700_000_000_123)
    assert sequence.parse("123") is None
    assert sequence.parse("9" * 56) is None
    # a child shard (higher index) sorts after every number of its parent
    assert int(sequence.make(sequence.shard_base(7, 4), 1, 0)) > int(seqs[-1])


def test_even_ranges_cover_the_hash_space():
    for n in (1, 2, 3, 7, 100):
        r = even_ranges(n)
        assert r[0][0] == 0 and r[-1][1] == HASH_MAX
        assert all(r[i][1] + 1 == r[i + 1][0] for i in range(n - 1))


def test_routing_uses_md5_big_endian():
    shards = [Shard(i, lo, hi, 0) for i, (lo, hi) in enumerate(even_ranges(4))]
    router = Router(shards)
    for pk in ("a", "b", "partition-7", "ü"):
        h = int(hashlib.md5(pk.encode()).hexdigest(), 16)
        assert hash_key(pk) == h
        assert router.route(h).index == h * 4 >> 128


def test_shard_id_parsing():
    assert parse_shard_id("shardId-000000000012") == 12
    assert parse_shard_id("12") == 12
    assert parse_shard_id("shardId-x") is None


def test_iterator_forgery_and_expiry():
    secret = b"k" * 32
    tok = iterators.issue(secret, 5, 2, 99, 1_000_000, "s")
    pos = iterators.open_(secret, tok, 1_000_000 + 299_000)
    assert (pos.stream_id, pos.shard_index, pos.counter, pos.stream_name) == (5, 2, 99, "s")
    raw = bytearray(__import__("base64").b64decode(tok))
    raw[12] ^= 1
    forged = __import__("base64").b64encode(bytes(raw)).decode()
    with pytest.raises(InvalidArgumentException, match=r"^Invalid ShardIterator\.$"):
        iterators.open_(secret, forged, 1_000_000)
    with pytest.raises(InvalidArgumentException):
        iterators.open_(b"other" * 8, tok, 1_000_000)
    with pytest.raises(InvalidArgumentException):
        iterators.open_(secret, "not base64!!", 1_000_000)
    with pytest.raises(ExpiredIteratorException) as e:
        iterators.open_(secret, tok, 1_000_000 + 300_001)
    assert e.value.message.startswith(
        "Iterator expired. The iterator was created at time Thu Jan 01 00:16:40 UTC 1970 while right now it is "
    )
    assert e.value.message.endswith(
        "which is further in the future than the tolerated delay of 300000 milliseconds."
    )


def test_retention_trims_and_moves_trim_horizon(env):
    ops, state, ctx, clock, eng = env
    ops["CreateStream"](ctx, {"StreamName": "r", "ShardCount": 1})
    ops["PutRecords"](
        ctx, {"StreamName": "r", "Records": [{"PartitionKey": "a", "Data": b"old%d" % i} for i in range(3)]}
    )
    clock.t += 20 * 3600
    ops["PutRecord"](ctx, {"StreamName": "r", "PartitionKey": "a", "Data": b"new"})
    clock.t += 5 * 3600  # the first three are now 25 h old
    it = ops["GetShardIterator"](
        ctx, {"StreamName": "r", "ShardId": "shardId-000000000000", "ShardIteratorType": "TRIM_HORIZON"}
    )["ShardIterator"]
    got = ops["GetRecords"](ctx, {"ShardIterator": it})
    assert [r["Data"] for r in got["Records"]] == ["bmV3"]  # reads skip expired records already
    assert trim(state) == 1
    keys = list(eng.scan(b"\x03", b"\x04"))
    assert len(keys) == 1
    # the counter survives trimming: the next record continues the sequence
    r = ops["PutRecord"](ctx, {"StreamName": "r", "PartitionKey": "a", "Data": b"x"})
    assert sequence.parse(r["SequenceNumber"]).counter == 5


def test_closed_shards_expire_after_retention(env):
    ops, state, ctx, clock, eng = env
    ops["CreateStream"](ctx, {"StreamName": "r", "ShardCount": 2})
    ops["MergeShards"](
        ctx,
        {
            "StreamName": "r",
            "ShardToMerge": "shardId-000000000000",
            "AdjacentShardToMerge": "shardId-000000000001",
        },
    )
    assert len(ops["ListShards"](ctx, {"StreamName": "r"})["Shards"]) == 3
    clock.t += 25 * 3600
    trim(state)
    shards = ops["ListShards"](ctx, {"StreamName": "r"})["Shards"]
    assert [s["ShardId"] for s in shards] == ["shardId-000000000002"]
    assert shards[0]["ParentShardId"] == "shardId-000000000000"


def test_counters_survive_reload(env):
    ops, state, ctx, clock, eng = env
    ops["CreateStream"](ctx, {"StreamName": "c", "ShardCount": 1})
    last = ops["PutRecords"](ctx, {"StreamName": "c", "Records": [{"PartitionKey": "k", "Data": b"d"}] * 10})
    state.reload()
    nxt = ops["PutRecord"](ctx, {"StreamName": "c", "PartitionKey": "k", "Data": b"d"})
    assert int(nxt["SequenceNumber"]) > int(last["Records"][-1]["SequenceNumber"])


def test_at_timestamp_binary_search(env):
    ops, state, ctx, clock, eng = env
    ops["CreateStream"](ctx, {"StreamName": "t", "ShardCount": 1})
    for i in range(50):
        clock.t += 1
        ops["PutRecord"](ctx, {"StreamName": "t", "PartitionKey": "k", "Data": b"%d" % i})
    stamp = clock.t - 10 + 0.5  # between records 39 and 40
    it = ops["GetShardIterator"](
        ctx,
        {
            "StreamName": "t",
            "ShardId": "shardId-000000000000",
            "ShardIteratorType": "AT_TIMESTAMP",
            "Timestamp": stamp,
        },
    )["ShardIterator"]
    recs = ops["GetRecords"](ctx, {"ShardIterator": it, "Limit": 2})["Records"]
    assert [r["Data"] for r in recs] == ["NDA=", "NDE="]  # "40", "41"


def test_cbor_codec_round_trip():
    body = cbor.dumps({"Data": b"\x00\x01", "T": cbor.timestamp(1.5), "N": 3})
    back = cbor.loads(body)
    assert back["Data"] == b"\x00\x01" and back["N"] == 3
    assert back["T"].tag == 1 and back["T"].value == 1500
    assert body.count(b"\xc1") == 1  # tag 1 with integer milliseconds
    with pytest.raises(SerializationException):
        cbor.loads(b"\xff\xff")


def test_list_shards_next_token_expires(env):
    from tidestream.errors import ExpiredNextTokenException

    ops, state, ctx, clock, eng = env
    ops["CreateStream"](ctx, {"StreamName": "n", "ShardCount": 3})
    tok = ops["ListShards"](ctx, {"StreamName": "n", "MaxResults": 1})["NextToken"]
    assert len(ops["ListShards"](ctx, {"NextToken": tok})["Shards"]) == 2
    clock.t += 301
    with pytest.raises(ExpiredNextTokenException):
        ops["ListShards"](ctx, {"NextToken": tok})
    with pytest.raises(InvalidArgumentException):
        ops["ListShards"](ctx, {"NextToken": tok[:-4] + "AAAA"})


def test_put_records_is_one_engine_write(env):
    ops, state, ctx, clock, eng = env
    ops["CreateStream"](ctx, {"StreamName": "w", "ShardCount": 4})
    ops["DescribeStream"](ctx, {"StreamName": "w"})  # settles CREATING -> ACTIVE (a write)
    before = eng.written
    r = ops["PutRecords"](
        ctx, {"StreamName": "w", "Records": [{"PartitionKey": str(i), "Data": b"d"} for i in range(100)]}
    )
    assert r["FailedRecordCount"] == 0
    assert eng.written == before + 1


def _append_inline(state, eng, stream, n: int) -> None:
    """Change capture's inline append (append_one, no counter row), committed as the item
    store commits it: the writes in one engine batch, then ``applied``."""
    from tidestream.kinesis.append import append_one

    for i in range(n):
        one = append_one(state, stream, "pk", b"change%d" % i)
        eng.write(one.writes)
        one.applied()


def test_inline_appends_counter_recovered_after_reload_and_a_full_trim(env):
    """Inline appends leave the shard counter's row behind: a reload takes the counter from the
    shard's last record, and retention writes the row before it trims every record away."""
    ops, state, ctx, clock, eng = env
    ops["CreateStream"](ctx, {"StreamName": "i", "ShardCount": 1})
    ops["DescribeStream"](ctx, {"StreamName": "i"})  # CREATING -> ACTIVE
    _append_inline(state, eng, state.lookup(ctx.account_id, ctx.region, "i"), 3)
    state.reload()
    r = ops["PutRecord"](ctx, {"StreamName": "i", "PartitionKey": "k", "Data": b"d"})
    assert sequence.parse(r["SequenceNumber"]).counter == 4
    _append_inline(state, eng, state.lookup(ctx.account_id, ctx.region, "i"), 3)  # 5, 6, 7
    clock.t += 25 * 3600
    assert trim(state) == 1
    assert list(eng.scan(b"\x03", b"\x04")) == []  # every record is gone
    state.reload()
    r = ops["PutRecord"](ctx, {"StreamName": "i", "PartitionKey": "k", "Data": b"d"})
    assert sequence.parse(r["SequenceNumber"]).counter == 8


def test_inline_appends_split_a_hot_on_demand_shard():
    """Change capture's one-record appends count towards ON_DEMAND scaling as PutRecords does:
    a shard written above 1,000 records/s for two seconds splits."""
    eng = RocksEngine(None, in_memory=True)
    clock = Clock()
    spec, state = build(eng, Config(kinesis_limits=True))
    state.clock = clock
    ops, ctx = spec.operations, RequestContext("111122223333", "us-east-1", "req")
    ops["CreateStream"](ctx, {"StreamName": "od", "StreamModeDetails": {"StreamMode": "ON_DEMAND"}})
    ops["DescribeStream"](ctx, {"StreamName": "od"})  # CREATING -> ACTIVE
    stream = state.lookup(ctx.account_id, ctx.region, "od")
    assert len(stream.shards) == 4
    _append_inline(state, eng, stream, 1001)  # one partition key: one shard, over 1,000 in this second
    assert len(stream.shards) == 4
    clock.t += 1
    _append_inline(state, eng, stream, 1001)  # and in the next: split
    assert len(stream.shards) == 6 and sum(s.open for s in stream.shards.values()) == 5
    with contextlib.suppress(Exception):  # the in-memory engine cannot sync its WAL on close
        eng.close()
