"""Kinesis durability (restart, SIGKILL) and provisioned-throughput limits on real servers."""

from __future__ import annotations

import threading

import boto3
import pytest
from botocore.config import Config as BotoConfig

from tests.conftest import ServerProcess, start_server


def _drain_all(kin, stream):
    out = {}
    for s in kin.list_shards(StreamName=stream)["Shards"]:
        it = kin.get_shard_iterator(
            StreamName=stream, ShardId=s["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while it:
            r = kin.get_records(ShardIterator=it)
            for rec in r["Records"]:
                out[rec["SequenceNumber"]] = rec["Data"]
            if not r["Records"]:
                break
            it = r.get("NextShardIterator")
    return out


def test_restart_keeps_streams_records_iterators_and_counters(tmp_path):
    s = start_server(tmp_path, "--kinesis-limits", "off")
    kin = s.client("kinesis")
    kin.create_stream(StreamName="p", ShardCount=2, Tags={"k": "v"})
    kin.increase_stream_retention_period(StreamName="p", RetentionPeriodHours=48)
    r = kin.put_records(
        StreamName="p", Records=[{"Data": b"%d" % i, "PartitionKey": str(i)} for i in range(100)]
    )
    kin.split_shard(StreamName="p", ShardToSplit="shardId-000000000000", NewStartingHashKey=str(2**126))
    iterator = kin.get_shard_iterator(
        StreamName="p", ShardId="shardId-000000000001", ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    assert s.stop() == 0
    s = ServerProcess(s.port, s.data_dir, s.args, log_path=s.log_path).start()
    try:
        kin = s.client("kinesis")
        d = kin.describe_stream(StreamName="p")["StreamDescription"]
        assert d["RetentionPeriodHours"] == 48 and len(d["Shards"]) == 4
        assert kin.list_tags_for_stream(StreamName="p")["Tags"] == [{"Key": "k", "Value": "v"}]
        assert kin.get_records(ShardIterator=iterator)["Records"]  # iterators survive a restart
        got = _drain_all(kin, "p")
        assert {seq: data for seq, data in got.items()} == {
            rec["SequenceNumber"]: b"%d" % i for i, rec in enumerate(r["Records"])
        }
        new = kin.put_record(StreamName="p", Data=b"z", PartitionKey="1", ExplicitHashKey=str(2**127))
        same_shard = [int(x["SequenceNumber"]) for x in r["Records"] if x["ShardId"] == new["ShardId"]]
        assert not same_shard or int(new["SequenceNumber"]) > max(same_shard)
    finally:
        s.stop()


@pytest.mark.slow
def test_sigkill_loses_no_acknowledged_record(tmp_path):
    s = start_server(tmp_path, "--kinesis-limits", "off")  # strict durability (default)
    kin = s.client("kinesis")
    kin.create_stream(StreamName="k", ShardCount=2)
    acked: dict[str, bytes] = {}
    stop = threading.Event()

    def writer(n: int) -> None:
        c = s.client("kinesis")
        i = 0
        while not stop.is_set():
            batch = [{"Data": b"%d-%d" % (n, i + j), "PartitionKey": "%d-%d" % (n, j)} for j in range(20)]
            try:
                r = c.put_records(StreamName="k", Records=batch)
            except Exception:
                return
            for b, rec in zip(batch, r["Records"]):
                if "SequenceNumber" in rec:
                    acked[rec["SequenceNumber"]] = b["Data"]
            i += 20

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    import time

    time.sleep(0.8)
    s.kill()
    stop.set()
    for t in threads:
        t.join(10)
    assert len(acked) > 50
    s = ServerProcess(s.port, s.data_dir, s.args, log_path=s.log_path).start()
    try:
        got = _drain_all(s.client("kinesis"), "k")
        missing = [seq for seq in acked if got.get(seq) != acked[seq]]
        assert not missing
        # new writes continue after every number handed out before the crash
        new = s.client("kinesis").put_records(
            StreamName="k", Records=[{"Data": b"n", "PartitionKey": "a%d" % i} for i in range(20)]
        )
        assert not set(r["SequenceNumber"] for r in new["Records"]) & set(got)
    finally:
        s.stop()


def test_write_limit_throttles_one_shard(tmp_path):
    s = start_server(tmp_path, on_disk=False)  # limits on by default
    try:
        # botocore retries throttling errors even with max_attempts=1: turn retries off entirely
        kin = boto3.client(
            "kinesis",
            endpoint_url=s.endpoint,
            region_name="us-east-1",
            aws_access_key_id="AKIDEXAMPLE",
            aws_secret_access_key="secret",
            config=BotoConfig(retries={"total_max_attempts": 1, "mode": "standard"}),
        )
        kin.create_stream(StreamName="lim", ShardCount=1)
        # one call is admitted against the bucket as it is when the call starts, and a fresh
        # shard's is full (1 MiB), so however slow the machine: 255 records of 4,096 bytes plus a
        # 1-byte partition key fit, and the first refused record refuses the rest of the call.
        # The refill over time is tested with a clock the test moves (tests/unit/test_kinesis_limits.py).
        r = kin.put_records(StreamName="lim", Records=[{"Data": b"x" * 4096, "PartitionKey": "k"}] * 500)
        assert r["FailedRecordCount"] == 245
        assert all("SequenceNumber" in x for x in r["Records"][:255])
        assert all(
            x
            == {
                "ErrorCode": "ProvisionedThroughputExceededException",
                "ErrorMessage": "Rate exceeded for shard shardId-000000000000 in stream lim "
                "under account 000000000000.",
            }
            for x in r["Records"][255:]
        )
        # ON_DEMAND streams are not limited per shard
        kin.create_stream(StreamName="od", StreamModeDetails={"StreamMode": "ON_DEMAND"})
        for _ in range(3):
            assert (
                kin.put_records(StreamName="od", Records=[{"Data": b"x", "PartitionKey": "k"}] * 500)[
                    "FailedRecordCount"
                ]
                == 0
            )
    finally:
        s.stop()


def test_limits_off(tmp_path):
    s = start_server(tmp_path, "--kinesis-limits", "off", on_disk=False)
    try:
        kin = s.client("kinesis")
        kin.create_stream(StreamName="nolim", ShardCount=1)
        for _ in range(4):
            assert (
                kin.put_records(StreamName="nolim", Records=[{"Data": b"x", "PartitionKey": "k"}] * 500)[
                    "FailedRecordCount"
                ]
                == 0
            )
    finally:
        s.stop()
