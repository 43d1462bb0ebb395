"""Kinesis beyond the point measurements: SubscribeToShard delivery and stream scaling curves.

``subscribe_rows`` (part of the kinesis phase): one enhanced fan-out consumer reads the drain
stream from TRIM_HORIZON over SubscribeToShard (boto3, shard after shard): records per second
delivered and per server core-second; then ack -> delivery latency: PutRecord at a fixed rate
into one shard of a fresh stream while a subscription at LATEST waits, latency = the event
carrying the record minus the PutRecord response.

``stream_scaling_phase`` (phase ``streams``): a second tidestream server with Kinesis limits
off (a provisioned shard otherwise takes 1,000 records/s) measures PutRecords with 1, 16 and
256 shards, then fills one 4-shard stream to each size of ``--stream-records`` (10M in the full
run) and measures PutRecords, GetRecords at TRIM_HORIZON and GetRecords at LATEST there. Rows
are ``streams:<workload>@<tag>``; :mod:`report` renders them like the table scaling phase.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import loadgen
import peers
import workloads as wl

CONSUMER = "bench-efo"
#: records per PutRecords call while filling the large stream (the API's maximum)
FILL_BATCH = 500
#: records per GetRecords call in the scaling rows
READ_LIMIT = 100
LATENCY_RATE = 200  # PutRecord per second for the SubscribeToShard latency run


# -- SubscribeToShard -----------------------------------------------------------------------------
def _consumer_arn(ctx: wl.Ctx, stream_arn: str) -> str:
    arn = ctx.kinesis.register_stream_consumer(StreamARN=stream_arn, ConsumerName=CONSUMER)["Consumer"][
        "ConsumerARN"
    ]
    wl._until(
        lambda: (
            ctx.kinesis.describe_stream_consumer(ConsumerARN=arn)["ConsumerDescription"]["ConsumerStatus"]
            == "ACTIVE"
        ),
        "consumer ACTIVE",
    )
    return arn


def _read_shard(ctx: wl.Ctx, consumer_arn: str, shard_id: str) -> int:
    """Records delivered from TRIM_HORIZON until an event says the reader is caught up."""
    got = 0
    resp = ctx.kinesis.subscribe_to_shard(
        ConsumerARN=consumer_arn, ShardId=shard_id, StartingPosition={"Type": "TRIM_HORIZON"}
    )
    stream = resp["EventStream"]
    try:
        for event in stream:
            page = event.get("SubscribeToShardEvent")
            if page is None:
                raise RuntimeError(f"SubscribeToShard sent {sorted(event)}")
            got += len(page["Records"])
            if page.get("MillisBehindLatest", 0) == 0:
                break
    finally:
        stream.close()
    return got


def _delivery(ctx: wl.Ctx, stream: str, expected: int) -> wl.Metric:
    arn = (
        ctx.streams.get(stream)
        or ctx.kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["StreamARN"]
    )
    consumer_arn = _consumer_arn(ctx, arn)
    shards = ctx.kinesis.list_shards(StreamName=stream)["Shards"]
    wl.wait_idle(ctx.run.pid)
    cpu0, t0 = loadgen.cpu_seconds(ctx.run.pid), time.perf_counter()
    got = sum(_read_shard(ctx, consumer_arn, sh["ShardId"]) for sh in shards)
    secs, cpu = time.perf_counter() - t0, loadgen.cpu_seconds(ctx.run.pid) - cpu0
    return wl.Metric(
        got / secs,
        "records/s",
        calls=got,
        errors=max(0, expected - got),
        server_cpu=cpu,
        note=f"{got} of {expected} records in {secs:.2f} s over {len(shards)} shards; "
        f"{got / cpu:,.0f} records per server core-second (boto3 parses the events)",
        first_error=f"{expected - got} records missing" if got < expected else "",
    )


def _subscriber(
    ctx: wl.Ctx, consumer_arn: str, shard_id: str, ready: threading.Event, seen: dict, failed: list[Exception]
) -> None:
    """Note when each record arrives; a subscription the server refuses goes into *failed*, so the
    writer does not send its records for nothing (minutes on the slowest peers)."""
    try:
        resp = ctx.kinesis.subscribe_to_shard(
            ConsumerARN=consumer_arn, ShardId=shard_id, StartingPosition={"Type": "LATEST"}
        )
    except Exception as e:  # noqa: BLE001 - reported by _latency as the row's n/a
        failed.append(e)
        return
    finally:
        ready.set()
    stream = resp["EventStream"]
    try:
        for event in stream:
            now = time.perf_counter()
            for rec in event.get("SubscribeToShardEvent", {}).get("Records", []):
                seen.setdefault(int(rec["Data"]), now)
            if seen.get(-1):
                return
    finally:
        stream.close()


def _latency(ctx: wl.Ctx) -> wl.Metric:
    """PutRecord at LATENCY_RATE/s into shard 0; ack -> SubscribeToShard event, p50 / p99."""
    arn = wl.create_stream(ctx, "sublat")
    consumer_arn = _consumer_arn(ctx, arn)
    shard = ctx.kinesis.list_shards(StreamName="sublat")["Shards"][0]
    seen: dict[int, float] = {}
    ready = threading.Event()
    failed: list[Exception] = []
    reader = threading.Thread(
        target=_subscriber, args=(ctx, consumer_arn, shard["ShardId"], ready, seen, failed)
    )
    reader.start()
    ready.wait(30)
    if failed:
        raise failed[0]
    hash_key = shard["HashKeyRange"]["StartingHashKey"]
    n = int(LATENCY_RATE * ctx.sizes.cdc_seconds)
    sent: dict[int, float] = {}
    acks: dict[int, float] = {}
    t0 = time.perf_counter()
    for k in [*range(n), -1]:  # -1 tells the reader to stop
        delay = t0 + k / LATENCY_RATE - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        sent[k] = time.perf_counter()
        ctx.kinesis.put_record(
            StreamName="sublat", Data=str(k).encode(), PartitionKey="p", ExplicitHashKey=hash_key
        )
        acks[k] = time.perf_counter()
    reader.join(30)
    keys = [k for k in range(n) if k in seen]
    if not keys:
        return wl.Metric(unit="ms", na="no record reached the subscriber")
    lat = sorted(max(0.0, seen[k] - acks[k]) * 1000 for k in keys)
    e2e = sorted((seen[k] - sent[k]) * 1000 for k in keys)
    early = sum(seen[k] < acks[k] for k in keys)
    return wl.Metric(
        value=wl._pct(lat, 50),
        unit="ms",
        p50_ms=wl._pct(lat, 50),
        p99_ms=wl._pct(lat, 99),
        calls=n,
        errors=n - len(keys),
        note=f"{len(keys)} of {n} records delivered at {LATENCY_RATE} PutRecord/s (one shard, boto3 both "
        f"sides, in two threads of one process); {100 * early / len(keys):.0f}% delivered before the ack "
        f"(counted as 0); request sent -> visible p50 {wl._pct(e2e, 50):.2f} / p99 {wl._pct(e2e, 99):.2f} ms",
    )


def subscribe_rows(ctx: wl.Ctx, drain_stream: str, expected: int) -> dict[str, wl.Metric]:
    """SubscribeToShard delivery of the drain stream and its latency; n/a where unsupported."""
    rows: dict[str, wl.Metric] = {}
    for key, unit, measure in (
        ("SubscribeToShard", "records/s", lambda: _delivery(ctx, drain_stream, expected)),
        ("subscribe_latency", "ms", lambda: _latency(ctx)),
    ):
        try:
            rows[key] = measure()
        except Exception as e:  # noqa: BLE001 - a peer without enhanced fan-out
            rows[key] = wl.Metric(unit=unit, na=wl.short(f"{type(e).__name__}: {e}"))
    return rows


# -- scaling curves -------------------------------------------------------------------------------
def _records_body(stream: bytes, count: int, salt: int) -> bytes:
    entries = b",".join(b'{"Data":"%s","PartitionKey":"k%d-%d"}' % (wl.RECORD, salt, j) for j in range(count))
    return b'{"StreamName":"%s","Records":[%s]}' % (stream, entries)


def _put_records(ctx: wl.Ctx, stream: str) -> wl.Metric:
    pool = [_records_body(stream.encode(), 100, b) for b in range(64)]
    m = ctx.load(
        "kinesis",
        "PutRecords",
        lambda i: pool[i % 64],
        duration=ctx.sizes.duration,
        check=wl._matches(rb'"FailedRecordCount"\s*:\s*0\b'),
        units=100,
        unit="records/core-s",
    )
    m.note += " 100 records x 200 B per call"
    return m


def _provisioned(ctx: wl.Ctx, name: str, shards: int) -> None:
    ctx.kinesis.create_stream(StreamName=name, ShardCount=shards)
    wl._until(
        lambda: (
            ctx.kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamStatus"]
            == "ACTIVE"
        ),
        f"stream {name} ACTIVE",
    )


def _shard_rows(ctx: wl.Ctx) -> dict[str, wl.Metric]:
    rows: dict[str, wl.Metric] = {}
    for shards in ctx.sizes.stream_shards:
        name = f"shards{shards}"
        _provisioned(ctx, name, shards)
        tag = f"{shards} shard" + ("s" if shards > 1 else "")
        rows[f"streams:PutRecords@{tag}"] = _put_records(ctx, name)
        rows[f"streams:rss@{tag}"] = wl.Metric(loadgen.rss_mib(ctx.run.pid), "MiB")
        ctx.kinesis.delete_stream(StreamName=name, EnforceConsumerDeletion=True)
    return rows


def _fill(ctx: wl.Ctx, have: int, want: int) -> None:
    """PutRecords until the stream ``big`` holds *want* records (FILL_BATCH per call)."""
    pool = [_records_body(b"big", FILL_BATCH, b) for b in range(16)]
    t0 = time.perf_counter()
    m = ctx.load(
        "kinesis",
        "PutRecords",
        lambda i: pool[i % 16],
        count=max(0, (want - have) // FILL_BATCH - 1),  # + the probe call
        check=wl._matches(rb'"FailedRecordCount"\s*:\s*0\b'),
    )
    if m.value is None or m.errors:
        raise RuntimeError(f"filling {have}..{want} records failed: {m.na or m.first_error}")
    ctx.log(f"  streams: {want:,} records ({time.perf_counter() - t0:.1f} s to write)")


def _read_rows(ctx: wl.Ctx) -> dict[str, wl.Metric]:
    """GetRecords of READ_LIMIT records at the oldest records of shard 0, and at its tip."""
    shard = ctx.kinesis.list_shards(StreamName="big")["Shards"][0]["ShardId"]
    rows = {}
    for kind, check, units, unit in (
        ("TRIM_HORIZON", wl._matches(rb'"SequenceNumber"'), READ_LIMIT, "records/core-s"),
        ("LATEST", wl._matches(rb'"Records"\s*:\s*\[\]'), 1, "calls/core-s"),
    ):
        iterator = ctx.kinesis.get_shard_iterator(StreamName="big", ShardId=shard, ShardIteratorType=kind)[
            "ShardIterator"
        ]
        body = b'{"ShardIterator":"%s","Limit":%d}' % (iterator.encode(), READ_LIMIT)
        rows[f"GetRecords {kind}"] = ctx.load(
            "kinesis",
            "GetRecords",
            lambda i, b=body: b,
            duration=ctx.sizes.duration,
            check=check,
            units=units,
            unit=unit,
        )
    rows["GetRecords TRIM_HORIZON"].note += f" {READ_LIMIT} records of 200 B per call"
    rows["GetRecords LATEST"].note += " an empty page at the tip"
    return rows


def _size_rows(ctx: wl.Ctx) -> dict[str, wl.Metric]:
    _provisioned(ctx, "big", 4)
    rows: dict[str, wl.Metric] = {}
    have = 0
    for size in ctx.sizes.stream_records:
        _fill(ctx, have, size)
        have = size
        tag = _label(size)
        got = _read_rows(ctx)
        got["PutRecords"] = _put_records(ctx, "big")
        got["rss"] = wl.Metric(loadgen.rss_mib(ctx.run.pid), "MiB")
        got["disk"] = wl.Metric(peers.disk_mib(ctx.run.data_dir), "MiB")
        rows.update({f"streams:{k}@{tag}": m for k, m in got.items()})
    return rows


def _label(n: int) -> str:
    return (f"{n // 1_000_000}M" if n >= 1_000_000 and n % 1_000_000 == 0 else f"{n // 1000}k") + " records"


def stream_scaling_phase(ctx: wl.Ctx) -> dict[str, wl.Metric]:
    """PutRecords by shard count, then a stream grown through ``stream_records``; tidestream only
    (a peer would need hours to write 10M records)."""
    if ctx.run.peer.name != "tidestream":
        return {}
    run = peers.start(ctx.run.peer, Path(ctx.run.log_path).parent, ("--kinesis-limits", "off"))
    try:
        wl.wait_ready(run)
        sub = wl.Ctx(run, ctx.sizes, ctx.log)
        rows = _shard_rows(sub)
        rows.update(_size_rows(sub))
    finally:
        run.stop()
    for k, m in rows.items():
        if m.value is not None:
            ctx.log(f"  {k:36s} {m.value:>12,.1f} {m.unit}" + (f"  ERRORS {m.errors}" if m.errors else ""))
    return rows
