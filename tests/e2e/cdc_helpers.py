"""Helpers for change-data-capture tests: make a table + stream, read every change record."""

from __future__ import annotations

import json
import time


def setup_cdc(
    srv,
    table: str = "orders",
    stream: str = "changes",
    shards: int = 2,
    range_key: str | None = None,
    precision: str | None = None,
):
    ddb, kin = srv.client("dynamodb"), srv.client("kinesis")
    ks = [{"AttributeName": "pk", "KeyType": "HASH"}]
    ad = [{"AttributeName": "pk", "AttributeType": "S"}]
    if range_key:
        ks.append({"AttributeName": range_key, "KeyType": "RANGE"})
        ad.append({"AttributeName": range_key, "AttributeType": "S"})
    ddb.create_table(TableName=table, KeySchema=ks, AttributeDefinitions=ad, BillingMode="PAY_PER_REQUEST")
    kin.create_stream(StreamName=stream, ShardCount=shards)
    arn = kin.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["StreamARN"]
    kw = {}
    if precision:
        kw["EnableKinesisStreamingConfiguration"] = {"ApproximateCreationDateTimePrecision": precision}
    ddb.enable_kinesis_streaming_destination(TableName=table, StreamArn=arn, **kw)
    wait_active(ddb, table)
    return ddb, kin, arn


def wait_active(ddb, table: str, timeout: float = 10) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        dests = ddb.describe_kinesis_streaming_destination(TableName=table)["KinesisDataStreamDestinations"]
        if dests and dests[0]["DestinationStatus"] == "ACTIVE":
            return
        time.sleep(0.05)
    raise AssertionError(f"destination not ACTIVE: {dests}")


def read_all(kin, stream: str) -> list[dict]:
    """Every record on the stream (all shards, from the trim horizon), raw Kinesis records."""
    out = []
    shards = kin.list_shards(StreamName=stream)["Shards"]
    for s in shards:
        it = kin.get_shard_iterator(
            StreamName=stream, ShardId=s["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while it:  # until a page comes back empty: MillisBehindLatest can be 0 mid-burst
            r = kin.get_records(ShardIterator=it, Limit=10000)
            out += r["Records"]
            if not r["Records"]:
                break
            it = r.get("NextShardIterator")
    return out


def wait_changes(kin, stream: str, count: int, timeout: float = 15) -> list[dict]:
    """Wait until at least ``count`` change records arrived; returns them decoded (with _raw)."""
    deadline = time.time() + timeout
    recs: list[dict] = []
    while time.time() < deadline:
        try:
            recs = read_all(kin, stream)
        except kin.exceptions.ProvisionedThroughputExceededException:
            time.sleep(0.5)  # the shard's read limit (2 MiB/s, 5 calls/s): back off like a consumer
            continue
        if len(recs) >= count:
            break
        time.sleep(0.05)
    out = []
    for r in recs:
        d = json.loads(r["Data"])
        d["_raw"] = r
        out.append(d)
    out.sort(key=lambda d: (d["dynamodb"]["ApproximateCreationDateTime"], d["_raw"]["SequenceNumber"]))
    assert len(out) >= count, f"only {len(out)} of {count} change records arrived"
    return out
