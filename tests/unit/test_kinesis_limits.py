"""Per-shard write and read limits against a clock the test moves: the token buckets refill only
when the clock says so, so every count below is exact (the e2e test can only bound them)."""

from __future__ import annotations

import pytest

from tidestream.config import Config
from tidestream.context import RequestContext
from tidestream.errors import ProvisionedThroughputExceededException
from tidestream.kinesis.service import build
from tidestream.storage.engine import RocksEngine

CTX = RequestContext("111122223333", "us-east-1", "req")
RATE_EXCEEDED = "Rate exceeded for shard shardId-000000000000 in stream lim under account 111122223333."


class Clock:
    def __init__(self) -> None:
        self.t = 1_700_000_000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def limited():
    engine = RocksEngine(None, in_memory=True)
    spec, state = build(engine, Config(kinesis_limits=True))
    clock = Clock()
    state.clock = clock
    ops = spec.operations
    ops["CreateStream"](CTX, {"StreamName": "lim", "ShardCount": 1})
    yield ops, clock
    engine.close()


def _put_records(ops, count: int, data: bytes = b"x") -> dict:
    return ops["PutRecords"](
        CTX, {"StreamName": "lim", "Records": [{"Data": data, "PartitionKey": "k"}] * count}
    )


def test_write_records_bucket_refills_with_the_clock(limited):
    ops, clock = limited
    assert _put_records(ops, 500)["FailedRecordCount"] == 0
    assert _put_records(ops, 500)["FailedRecordCount"] == 0
    refused = _put_records(ops, 500)  # 1,000 records/s, and no time has passed
    assert refused["FailedRecordCount"] == 500
    assert refused["Records"][0] == {
        "ErrorCode": "ProvisionedThroughputExceededException",
        "ErrorMessage": RATE_EXCEEDED,
    }
    with pytest.raises(ProvisionedThroughputExceededException) as err:
        ops["PutRecord"](CTX, {"StreamName": "lim", "Data": b"x", "PartitionKey": "k"})
    assert err.value.message == RATE_EXCEEDED
    clock.t += 0.25  # a quarter of a second refills 250 records
    assert _put_records(ops, 500)["FailedRecordCount"] == 250


def test_write_bytes_bucket_and_reads_per_second(limited):
    ops, clock = limited
    # 1 MiB/s counts data and partition key: 255 records of 4,097 bytes fit, the rest of the call
    # is refused (order within the shard holds)
    result = _put_records(ops, 500, b"x" * 4096)
    assert [("ErrorCode" in r) for r in result["Records"]] == [False] * 255 + [True] * 245
    it = ops["GetShardIterator"](
        CTX, {"StreamName": "lim", "ShardId": "shardId-000000000000", "ShardIteratorType": "TRIM_HORIZON"}
    )["ShardIterator"]
    for _ in range(5):  # five GetRecords calls per second
        ops["GetRecords"](CTX, {"ShardIterator": it, "Limit": 1})
    with pytest.raises(ProvisionedThroughputExceededException) as err:
        ops["GetRecords"](CTX, {"ShardIterator": it, "Limit": 1})
    assert err.value.message == RATE_EXCEEDED
    clock.t += 1.0
    assert len(ops["GetRecords"](CTX, {"ShardIterator": it, "Limit": 1})["Records"]) == 1
