"""The consumer runtime: PutItem -> CDC -> the KCL-compatible worker, against a plain GetRecords loop.

Changes are written with PutItem into a table with a Kinesis streaming destination; then the
same stream is read twice by a consumer in this process: a plain GetRecords loop over every shard
(boto3, one thread), and ``tidestream.consumer.Worker`` with a processor that counts and
checkpoints every batch (lease table, one thread per shard). The headline is records per
CONSUMER core-second (this process's CPU while it reads), so the runtime's own cost shows.
Failover: a worker process is SIGKILLed; the time until a second worker processes a record
written after the kill (failover_time_millis 2000: lease expiry plus one taker round).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import workloads as wl

FAILOVER_MILLIS = 2000

WORKER_SCRIPT = textwrap.dedent("""
    import sys, boto3
    from botocore.config import Config
    from tidestream.consumer import ConsumerConfig, RecordProcessor, Worker
    class Quiet(RecordProcessor):
        def process_records(self, input):
            input.checkpointer.checkpoint()
        def shard_ended(self, input):
            input.checkpointer.checkpoint()
    kw = dict(endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id="AKIDBENCHMARK",
              aws_secret_access_key="benchmark-secret", config=Config(retries={"max_attempts": 3}))
    config = ConsumerConfig("fo-app", "fo-stream", worker_id="victim", failover_time_millis=int(sys.argv[2]),
                            idle_time_between_reads_millis=50)
    Worker(config, Quiet, boto3.client("kinesis", **kw), boto3.client("dynamodb", **kw)).run()
""")


def _plain_loop(ctx: wl.Ctx, stream: str, expected: int) -> tuple[int, float, float]:
    """(records, consumer CPU s, wall s) for GetRecords over every shard until *expected* are read."""
    shards = ctx.kinesis.list_shards(StreamName=stream)["Shards"]
    cpu0, t0, total = time.process_time(), time.perf_counter(), 0
    for shard in shards:
        iterator = ctx.kinesis.get_shard_iterator(
            StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            page = ctx.kinesis.get_records(ShardIterator=iterator, Limit=10000)
            total += len(page["Records"])
            if not page["Records"] and page.get("MillisBehindLatest", 0) == 0:
                break
            iterator = page.get("NextShardIterator")
    return total, time.process_time() - cpu0, time.perf_counter() - t0


def _worker_run(ctx: wl.Ctx, stream: str, expected: int) -> tuple[int, float, float]:
    from tidestream.consumer import ConsumerConfig, RecordProcessor, Worker

    count = [0]
    lock = threading.Lock()
    done = threading.Event()

    class Counter(RecordProcessor):
        def process_records(self, input) -> None:
            with lock:
                count[0] += len(input.records)
                if count[0] >= expected:
                    done.set()
            input.checkpointer.checkpoint()

        def shard_ended(self, input) -> None:
            input.checkpointer.checkpoint()

    config = ConsumerConfig(
        "bench-consumer",
        stream,
        initial_position="TRIM_HORIZON",
        idle_time_between_reads_millis=50,
        shard_sync_interval_millis=1000,
    )
    cpu0, t0 = time.process_time(), time.perf_counter()
    worker = Worker(config, Counter, ctx.kinesis, ctx.ddb).start()
    finished = done.wait(120)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - t0
    worker.shutdown(30)
    if not finished:
        raise RuntimeError(f"the worker processed {count[0]} of {expected} records in 120 s")
    return count[0], cpu, wall


def _failover(ctx: wl.Ctx) -> wl.Metric:
    """Seconds from SIGKILL of the lease holder to a survivor processing a new record."""
    from tidestream.consumer import ConsumerConfig, RecordProcessor, Worker

    ctx.kinesis.create_stream(StreamName="fo-stream", ShardCount=1)
    wl._until(
        lambda: (
            ctx.kinesis.describe_stream_summary(StreamName="fo-stream")["StreamDescriptionSummary"][
                "StreamStatus"
            ]
            == "ACTIVE"
        ),
        "fo-stream ACTIVE",
    )
    endpoint = f"http://127.0.0.1:{ctx.run.port}"
    victim = subprocess.Popen(
        [sys.executable, "-c", WORKER_SCRIPT, endpoint, str(FAILOVER_MILLIS)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    seen = threading.Event()

    class Watcher(RecordProcessor):
        def process_records(self, input) -> None:
            if any(record.data == b"after-kill" for record in input.records):
                seen.set()
            input.checkpointer.checkpoint()

        def shard_ended(self, input) -> None:
            input.checkpointer.checkpoint()

    def owner() -> str | None:
        items = ctx.ddb.scan(TableName="fo-app", ConsistentRead=True).get("Items", [])
        return items[0].get("leaseOwner", {}).get("S") if items else None

    try:
        wl._until(
            lambda: _table_exists(ctx, "fo-app") and owner() == "victim", "the victim holding the lease", 60
        )
        survivor = Worker(
            ConsumerConfig(
                "fo-app",
                "fo-stream",
                worker_id="survivor",
                failover_time_millis=FAILOVER_MILLIS,
                idle_time_between_reads_millis=50,
            ),
            Watcher,
            ctx.kinesis,
            ctx.ddb,
        ).start()
        time.sleep(FAILOVER_MILLIS / 1000)  # the survivor has seen the victim's lease counter move
        os.kill(victim.pid, signal.SIGKILL)
        killed = time.perf_counter()
        ctx.kinesis.put_record(StreamName="fo-stream", Data=b"after-kill", PartitionKey="k")
        if not seen.wait(60):
            raise RuntimeError("the survivor never processed the record written after the kill")
        seconds = time.perf_counter() - killed
        survivor.shutdown(30)
    finally:
        if victim.poll() is None:
            victim.kill()
        victim.wait()
    return wl.Metric(seconds, "s", note=f" failover_time_millis={FAILOVER_MILLIS}")


def _table_exists(ctx: wl.Ctx, name: str) -> bool:
    return name in ctx.ddb.list_tables()["TableNames"]


def consumer_phase(ctx: wl.Ctx) -> dict[str, wl.Metric]:
    why = wl.enable_destination(ctx, "cons", "cons-stream")
    if why:
        return {"consumer:Worker": wl.Metric(unit="records/consumer-core-s", na=why)}
    load = ctx.load(
        "dynamodb",
        "PutItem",
        lambda i: b'{"TableName":"cons","Item":%s}' % wl.item(b"c%d" % i, 0, i),
        duration=ctx.sizes.duration,
    )
    expected = load.calls + 1  # the probe call wrote one change too
    time.sleep(1.0)
    rows = {}
    for name, run in (("consumer:GetRecords loop", _plain_loop), ("consumer:Worker", _worker_run)):
        wl.wait_idle(ctx.run.pid)
        records, cpu, wall = run(ctx, "cons-stream", expected)
        rows[name] = wl.Metric(
            records / cpu if cpu else None,
            "records/consumer-core-s",
            calls=records,
            client_cpu=cpu,
            note=f" {records} records, {cpu:.2f} consumer CPU s, "
            f"{wall:.2f} s wall ({records / max(wall, 1e-9):,.0f}/s)",
        )
    rows["consumer:failover"] = _failover(ctx)
    for name, metric in rows.items():
        ctx.log(f"  {name:26s} {metric.value or 0:>12,.1f} {metric.unit}{metric.note}")
    return rows
