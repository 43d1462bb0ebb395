"""Soak: a mixed workload with change capture for N minutes; throughput, errors, memory.

    python bench/soak.py [--minutes 10] [--workers 4] [--out bench/results/soak.md]

Starts its own tidestream (strict durability) on a fresh data dir, creates a table with a
Kinesis streaming destination and a plain stream, then runs worker processes doing PutItem,
UpdateItem, GetItem, Query, BatchWriteItem, TransactWriteItems, PutRecords and GetRecords until
time is up. Every 10 s it samples operations done, errors and the server's RSS. At the end it
checks that every change reached the stream, that nothing failed, and that memory levels off
(RSS growth over the last third of the run; exit status 1 if not), and writes a Markdown report.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

SAMPLE_S = 10.0
#: memory is "bounded" when RSS grows at most this much over the last third of the run (caches
#: such as RocksDB's memtables and block cache, and the 10-minute idempotency-token window,
#: fill during the first minutes and then level off; a leak keeps climbing)
TAIL_FRACTION = 1 / 3
RSS_TAIL_GROWTH_LIMIT_MIB = 10.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    return 0.0


def _clients(endpoint: str):
    import boto3
    from botocore.config import Config

    cfg = Config(retries={"total_max_attempts": 1, "mode": "standard"}, max_pool_connections=4)
    kw = dict(
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="soak",
        aws_secret_access_key="soak",
        config=cfg,
    )
    return boto3.client("dynamodb", **kw), boto3.client("kinesis", **kw)


def _worker(endpoint: str, wid: int, deadline: float, counters, errors, lock) -> None:
    ddb, kin = _clients(endpoint)
    rng = random.Random(wid)
    iterator = None
    n = 0
    while time.time() < deadline:
        n += 1
        pk = f"w{wid}-{rng.randrange(2000)}"
        kind = rng.random()
        try:
            if kind < 0.30:
                ddb.put_item(
                    TableName="soak",
                    Item={
                        "pk": {"S": pk},
                        "sk": {"N": str(n % 50)},
                        "v": {"N": str(n)},
                        "pad": {"S": "x" * rng.randrange(10, 400)},
                    },
                )
            elif kind < 0.45:
                ddb.update_item(
                    TableName="soak",
                    Key={"pk": {"S": pk}, "sk": {"N": "0"}},
                    UpdateExpression="ADD hits :one",
                    ExpressionAttributeValues={":one": {"N": "1"}},
                )
            elif kind < 0.60:
                ddb.get_item(TableName="soak", Key={"pk": {"S": pk}, "sk": {"N": "0"}})
            elif kind < 0.70:
                ddb.query(
                    TableName="soak",
                    KeyConditionExpression="pk = :p",
                    ExpressionAttributeValues={":p": {"S": pk}},
                    Limit=10,
                )
            elif kind < 0.77:
                ddb.batch_write_item(
                    RequestItems={
                        "soak": [
                            {"PutRequest": {"Item": {"pk": {"S": f"b{wid}-{n}-{i}"}, "sk": {"N": "1"}}}}
                            for i in range(10)
                        ]
                    }
                )
            elif kind < 0.82:
                ddb.transact_write_items(
                    TransactItems=[
                        {
                            "Put": {
                                "TableName": "soak",
                                "Item": {"pk": {"S": f"t{wid}-{n}"}, "sk": {"N": "1"}},
                            }
                        },
                        {
                            "Update": {
                                "TableName": "soak",
                                "Key": {"pk": {"S": pk}, "sk": {"N": "0"}},
                                "UpdateExpression": "SET touched = :t",
                                "ExpressionAttributeValues": {":t": {"N": str(n)}},
                            }
                        },
                    ]
                )
            elif kind < 0.93:
                kin.put_records(
                    StreamName="raw",
                    Records=[{"PartitionKey": f"{wid}-{n}-{i}", "Data": os.urandom(100)} for i in range(20)],
                )
            else:
                if iterator is None:
                    iterator = kin.get_shard_iterator(
                        StreamName="raw", ShardId="shardId-000000000000", ShardIteratorType="LATEST"
                    )["ShardIterator"]
                r = kin.get_records(ShardIterator=iterator, Limit=500)
                iterator = r.get("NextShardIterator")
            with lock:
                counters[0] += 1
        except Exception as err:  # noqa: BLE001 - a soak counts every failure
            with lock:
                errors[0] += 1
            if errors[0] < 20:
                print(f"worker {wid}: {type(err).__name__}: {err}", file=sys.stderr)
            time.sleep(0.05)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "soak.md"))
    a = ap.parse_args()
    data = tempfile.mkdtemp(prefix="tidestream-soak-")
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tidestream",
            "serve",
            "--port",
            str(port),
            "--data-dir",
            data,
            "--kinesis-limits",
            "off",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(endpoint + "/_tidestream/health", timeout=1)
                break
            except OSError:
                time.sleep(0.05)
        ddb, kin = _clients(endpoint)
        ddb.create_table(
            TableName="soak",
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "N"},
            ],
        )
        kin.create_stream(StreamName="changes", ShardCount=4)
        kin.create_stream(StreamName="raw", ShardCount=1)
        arn = kin.describe_stream_summary(StreamName="changes")["StreamDescriptionSummary"]["StreamARN"]
        ddb.enable_kinesis_streaming_destination(TableName="soak", StreamArn=arn)
        counters, errors, lock = mp.Array("q", 1), mp.Array("q", 1), mp.Lock()
        start = time.time()
        deadline = start + a.minutes * 60
        procs = [
            mp.Process(target=_worker, args=(endpoint, w, deadline, counters, errors, lock))
            for w in range(a.workers)
        ]
        for p in procs:
            p.start()
        samples = []
        last_ops, last_t = 0, start
        while time.time() < deadline:
            time.sleep(min(SAMPLE_S, max(0.0, deadline - time.time())))
            now = time.time()
            ops = counters[0]
            samples.append(
                {
                    "t": now - start,
                    "ops_per_s": (ops - last_ops) / (now - last_t),
                    "errors": errors[0],
                    "rss_mib": _rss_mib(server.pid),
                }
            )
            print(
                f"{samples[-1]['t']:7.0f} s  {samples[-1]['ops_per_s']:8.0f} ops/s  errors {errors[0]}  "
                f"RSS {samples[-1]['rss_mib']:.1f} MiB",
                flush=True,
            )
            last_ops, last_t = ops, now
        for p in procs:
            p.join(30)
        time.sleep(2)  # let the publisher drain, then check every captured change was published
        with urllib.request.urlopen(endpoint + "/metrics", timeout=10) as r:
            metrics = r.read().decode()
        depth = [line for line in metrics.splitlines() if line.startswith("tidestream_cdc_outbox_depth ")]
        captured = sum(
            int(line.rsplit(" ", 1)[1])
            for line in metrics.splitlines()
            if line.startswith("tidestream_cdc_changes_captured_total{")
        )
        published = sum(
            int(line.rsplit(" ", 1)[1])
            for line in metrics.splitlines()
            if line.startswith("tidestream_cdc_changes_published_total{")
        )
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(data, ignore_errors=True)
    tail = [s for s in samples if s["t"] >= a.minutes * 60 * (1 - TAIL_FRACTION)]
    growth = (tail[-1]["rss_mib"] - tail[0]["rss_mib"]) if len(tail) >= 2 else 0.0
    total_ops = counters[0]
    ok = growth <= RSS_TAIL_GROWTH_LIMIT_MIB and captured == published and errors[0] == 0
    lines = [
        "# Soak: mixed workload with change capture",
        "",
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} · {a.minutes:g} min · {a.workers} boto3 worker "
        f"processes · strict durability · {os.cpu_count()} cores shared by server and clients",
        "",
        f"- Operations: {total_ops:,} ({total_ops / (a.minutes * 60):,.0f}/s average; boto3 clients are the bottleneck)",
        f"- Errors: {errors[0]}",
        f"- Changes captured / published: {captured:,} / {published:,} ({depth[0] if depth else 'outbox depth n/a'})",
        f"- RSS: {samples[0]['rss_mib']:.1f} MiB at first sample, {max(s['rss_mib'] for s in samples):.1f} MiB peak, "
        f"{samples[-1]['rss_mib']:.1f} MiB at the end; growth over the last third of the run "
        f"{growth:+.1f} MiB (bounded if <= {RSS_TAIL_GROWTH_LIMIT_MIB:g})",
        f"- Verdict: {'PASS' if ok else 'FAIL'}",
        "",
        "| t (s) | ops/s | errors (cumulative) | RSS (MiB) |",
        "|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {s['t']:.0f} | {s['ops_per_s']:.0f} | {s['errors']} | {s['rss_mib']:.1f} |" for s in samples
    ]
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text("\n".join(lines) + "\n")
    Path(a.out).with_suffix(".json").write_text(json.dumps(samples, indent=1))
    print("\n".join(lines[:9]))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
