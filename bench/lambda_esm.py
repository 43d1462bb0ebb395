"""Lambda event source mappings: records per second through one mapping, and the end-to-end
latency from a PutItem ack to the function's invocation (table -> Kinesis destination ->
mapping -> function), p50/p99.

    python bench/lambda_esm.py [--records 20000] [--writes 300] [--poll 1.0]

``bench/run.py --phases lambda`` runs the same two measurements as its ``lambda`` phase.

Starts its own server (fresh data directory, default strict durability). The function runs
under awslambdaric like any other; it appends one line per invocation to a file this script
reads. Latency is measured with the wall clock of one machine (server, function and client
share it). Results are printed as JSON.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile

import boto3
from botocore.config import Config

APP = r"""
import base64
import json
import os
import time


def count(event, context):
    with open(os.environ["OUT"], "a") as fh:
        fh.write(json.dumps({"n": len(event["Records"]), "at": time.time()}) + "\n")
    return {}


def latency(event, context):
    now = time.time()
    with open(os.environ["OUT"], "a") as fh:
        for r in event["Records"]:
            change = json.loads(base64.b64decode(r["kinesis"]["data"]))
            image = change["dynamodb"]["NewImage"]
            fh.write(json.dumps({"pk": image["pk"]["S"], "sent": float(image["t"]["N"]), "at": now}) + "\n")
    return {}
"""


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _client(service: str, endpoint: str):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
        config=Config(retries={"max_attempts": 3}),
    )


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", APP)
    return buf.getvalue()


def _lines(path: str) -> list[dict]:
    if not os.path.exists(path):
        return []
    with open(path) as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _function(lam, name: str, handler: str, out: str) -> None:
    lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role="arn:aws:iam::000000000000:role/bench",
        Handler=f"app.{handler}",
        Code={"ZipFile": _zip()},
        Environment={"Variables": {"OUT": out}},
        Timeout=60,
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=name)


def _enabled(lam, uuid: str) -> None:
    while lam.get_event_source_mapping(UUID=uuid)["State"] != "Enabled":
        time.sleep(0.01)


def throughput(endpoint: str, tmp: str, records: int, batch_size: int) -> dict:
    """Pre-load a one-shard stream, then time one mapping draining it into a function."""
    kin, lam = _client("kinesis", endpoint), _client("lambda", endpoint)
    kin.create_stream(StreamName="load", ShardCount=1)
    arn = kin.describe_stream_summary(StreamName="load")["StreamDescriptionSummary"]["StreamARN"]
    payload = b"x" * 200
    for start in range(0, records, 500):
        batch = [{"Data": payload, "PartitionKey": str(i)} for i in range(min(500, records - start))]
        while batch:  # with --kinesis-limits on, a shard takes 1000 records/s: resend the refused
            answer = kin.put_records(StreamName="load", Records=batch)["Records"]
            batch = [rec for rec, result in zip(batch, answer, strict=True) if "ErrorCode" in result]
    out = os.path.join(tmp, "count.jsonl")
    _function(lam, "counter", "count", out)
    lam.invoke(FunctionName="counter", Payload=b'{"Records": []}')  # started: cold start not timed
    t0 = time.time()
    lam.create_event_source_mapping(
        FunctionName="counter", EventSourceArn=arn, StartingPosition="TRIM_HORIZON", BatchSize=batch_size
    )
    deadline = time.time() + 120
    while sum(line["n"] for line in _lines(out)) < records:
        if time.time() > deadline:
            raise RuntimeError(f"the mapping did not drain {records} records within 120 s")
        time.sleep(0.05)
    lines = _lines(out)
    seconds = lines[-1]["at"] - t0
    return {
        "records": records,
        "batch_size": batch_size,
        "seconds": round(seconds, 3),
        "records_per_second": round(records / seconds),
        "invocations": len(lines),
    }


def latency(endpoint: str, tmp: str, writes: int, rate: float) -> dict:
    """PutItem at *rate* per second on a table streaming to Kinesis; the function notes when
    it received each change: latency from the PutItem's ack (and, for comparison, from its
    sending) to the invocation."""
    ddb, kin, lam = (_client(s, endpoint) for s in ("dynamodb", "kinesis", "lambda"))
    ddb.create_table(
        TableName="orders",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    kin.create_stream(StreamName="changes", ShardCount=1)
    arn = kin.describe_stream_summary(StreamName="changes")["StreamDescriptionSummary"]["StreamARN"]
    ddb.enable_kinesis_streaming_destination(TableName="orders", StreamArn=arn)
    out = os.path.join(tmp, "latency.jsonl")
    _function(lam, "reporter", "latency", out)
    uuid = lam.create_event_source_mapping(
        FunctionName="reporter", EventSourceArn=arn, StartingPosition="LATEST"
    )["UUID"]
    _enabled(lam, uuid)
    gap = 1.0 / rate
    acked: dict[str, float] = {}
    for n in range(writes):
        began = time.time()
        ddb.put_item(TableName="orders", Item={"pk": {"S": f"o{n}"}, "t": {"N": repr(began)}})
        acked[f"o{n}"] = time.time()
        time.sleep(max(0.0, began + gap - time.time()))
    deadline = time.time() + 30
    while len(_lines(out)) < writes and time.time() < deadline:
        time.sleep(0.05)
    lines = _lines(out)
    if not lines:
        raise RuntimeError(f"none of {writes} changes reached the function within 30 s")
    from_ack = sorted((line["at"] - acked[line["pk"]]) * 1000 for line in lines)
    from_send = sorted((line["at"] - line["sent"]) * 1000 for line in lines)
    return {
        "writes": writes,
        "rate_per_second": rate,
        "p50_ms": _percentile(from_ack, 0.5),
        "p99_ms": _percentile(from_ack, 0.99),
        "max_ms": round(from_ack[-1], 1),
        "sent_p50_ms": _percentile(from_send, 0.5),
        "sent_p99_ms": _percentile(from_send, 0.99),
        "missing": writes - len({line["pk"] for line in lines}),
    }


def _percentile(values: list[float], q: float) -> float:
    """Of sorted *values* (a change invoked before its PutItem was acknowledged counts 0)."""
    return round(max(0.0, values[min(len(values) - 1, int(len(values) * q))]), 1)


#: the phase's BatchSize: AWS's 5 reads/s per shard would cap BatchSize 100 at 500 records/s
BATCH = 1000


def lambda_phase(ctx) -> dict:
    """bench/run.py's ``lambda`` phase: records/s through one mapping, and PutItem ack ->
    invocation latency p50/p99, on the server the run started (its default poll interval)."""
    from workloads import Metric, short

    endpoint = f"http://127.0.0.1:{ctx.run.port}"
    sizes = ctx.sizes
    records, writes = min(sizes.records, 20_000), max(50, int(sizes.cdc_seconds * 100))
    rows = {}
    with tempfile.TemporaryDirectory(prefix="tidestream-esm-phase-") as tmp:
        try:
            got = throughput(endpoint, tmp, records, BATCH)
            rows["lambda_rps"] = Metric(
                value=got["records_per_second"],
                unit="records/s",
                calls=got["invocations"],
                note=f"{records:,} records of 200 B, BatchSize {BATCH}, {got['invocations']} invocations",
            )
        except Exception as e:  # noqa: BLE001 - a server without Lambda or mappings: n/a
            rows["lambda_rps"] = Metric(unit="records/s", na=short(f"mapping throughput failed: {e}", 300))
        try:
            got = latency(endpoint, tmp, writes, 100.0)
            rows["lambda_latency"] = Metric(
                value=got["p50_ms"],
                unit="ms",
                p50_ms=got["p50_ms"],
                p99_ms=got["p99_ms"],
                calls=writes,
                errors=got["missing"],
                first_error=f"{got['missing']} of {writes} changes never reached the function (30 s)"
                if got["missing"]
                else "",
                note=f"{writes} PutItem at 100/s, table -> Kinesis destination -> mapping; "
                f"sent -> invoked p50 {got['sent_p50_ms']} / p99 {got['sent_p99_ms']} ms",
            )
        except Exception as e:  # noqa: BLE001
            rows["lambda_latency"] = Metric(unit="ms", na=short(f"mapping latency failed: {e}", 300))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=20000)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--writes", type=int, default=300)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--poll", type=float, default=1.0, help="the server's --lambda-poll-interval")
    parser.add_argument(
        "--kinesis-limits",
        choices=["on", "off"],
        default="off",
        help="AWS's per-shard limits (on: ~2 MB/s reads)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tidestream-esm-bench-") as tmp:
        port = _port()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tidestream",
                "serve",
                "--port",
                str(port),
                "--data-dir",
                os.path.join(tmp, "data"),
                "--lambda-poll-interval",
                str(args.poll),
                "--kinesis-limits",
                args.kinesis_limits,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        endpoint = f"http://127.0.0.1:{port}"
        try:
            for _ in range(200):
                try:
                    urllib.request.urlopen(endpoint + "/_tidestream/health", timeout=1)
                    break
                except OSError:
                    time.sleep(0.05)
            result = {
                "poll_interval": args.poll,
                "throughput": throughput(endpoint, tmp, args.records, args.batch_size),
                "latency": latency(endpoint, tmp, args.writes, args.rate),
            }
        finally:
            server.terminate()
            server.wait(15)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
