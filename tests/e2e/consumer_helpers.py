"""Helpers for the consumer e2e tests: worker processes, their shared event log, the lease table."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

WORKER_SCRIPT = Path(__file__).with_name("consumer_worker.py")
REPO_ROOT = Path(__file__).resolve().parents[2]


class WorkerProcess:
    def __init__(self, proc: subprocess.Popen, worker_id: str, stderr_path: Path) -> None:
        self.proc = proc
        self.worker_id = worker_id
        self.stderr_path = stderr_path

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def terminate(self, timeout: float = 60) -> int:
        """Graceful: SIGTERM makes the worker hand its leases over and exit."""
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")


def start_worker(
    endpoint: str, tmp_path: Path, stream: str, app: str, worker_id: str, log: Path, **options: Any
) -> WorkerProcess:
    args = [
        sys.executable,
        str(WORKER_SCRIPT),
        "--endpoint",
        endpoint,
        "--stream",
        stream,
        "--app",
        app,
        "--worker-id",
        worker_id,
        "--log",
        str(log),
    ]
    for name, value in options.items():
        args += [f"--{name.replace('_', '-')}", str(value)]
    stderr_path = tmp_path / f"{worker_id}.stderr"
    with open(stderr_path, "wb") as stderr:  # the child keeps its own descriptor
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=stderr, cwd=REPO_ROOT)
    return WorkerProcess(proc, worker_id, stderr_path)


def stop_all(workers: list[WorkerProcess]) -> None:
    for worker in workers:
        if worker.proc.poll() is None:
            worker.kill()


def read_events(log: Path) -> list[dict]:
    """Every event in the shared log, in the order they were appended (a total order)."""
    if not log.exists():
        return []
    lines = log.read_text().splitlines()
    events = [json.loads(line) for line in lines if line.endswith("}")]
    for index, event in enumerate(events):
        event["order"] = index
    return events


def deliveries(events: list[dict]) -> list[dict]:
    return [event for event in events if event["event"] == "record"]


def delivered_keys(events: list[dict]) -> set[tuple[str, str]]:
    return {(event["shard"], event["seq"]) for event in deliveries(events)}


def wait_until(
    condition: Callable[[], Any], what: str, timeout: float = 90.0, workers: list[WorkerProcess] = ()
) -> Any:
    """Poll *condition* until it is truthy; fail with the workers' logs when it never is."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.1)
    logs = "\n".join(f"--- {w.worker_id}\n{w.stderr()[-3000:]}" for w in workers)
    raise AssertionError(f"timed out waiting for {what}\n{logs}")


def settled(events: list[dict], lease_owners: dict[str, str | None]) -> bool:
    """Every owned shard is being consumed by its owner, and every worker that consumed a shard
    it no longer owns has noticed (lease_lost). A worker stolen from keeps processing until its
    next renewal fails (KCL's rule too): records written before that may be processed twice."""
    started: dict[tuple[str, str], int] = {}
    stopped: dict[tuple[str, str], int] = {}
    for event in events:
        key = (event["worker"], event["shard"])
        if event["event"] == "initialize":
            started[key] = event["order"]
        elif event["event"] in ("lease_lost", "shutdown_requested", "shard_ended"):
            stopped[key] = event["order"]
    for (worker, shard), order in started.items():
        if lease_owners.get(shard) != worker and stopped.get((worker, shard), -1) < order:
            return False
    return all((owner, shard) in started for shard, owner in lease_owners.items() if owner)


def create_stream(kinesis, name: str, shards: int) -> None:
    kinesis.create_stream(StreamName=name, ShardCount=shards)
    wait_until(
        lambda: (
            kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamStatus"]
            == "ACTIVE"
        ),
        f"stream {name} ACTIVE",
    )


def put_records(kinesis, stream: str, count: int, tag: str) -> set[tuple[str, str]]:
    """*count* records spread over every open shard; their (shard, sequence number)."""
    written = set()
    for start in range(0, count, 100):
        entries = [
            {"Data": f"{tag}-{i}".encode(), "PartitionKey": f"{tag}-{i}"}
            for i in range(start, min(start + 100, count))
        ]
        result = kinesis.put_records(StreamName=stream, Records=entries)
        assert result.get("FailedRecordCount", 0) == 0, result
        written |= {(r["ShardId"], r["SequenceNumber"]) for r in result["Records"]}
    return written


def lease_rows(dynamodb, table: str) -> dict[str, dict]:
    """The lease table as {leaseKey: item} (low-level AttributeValue maps)."""
    try:
        items = dynamodb.scan(TableName=table, ConsistentRead=True)["Items"]
    except dynamodb.exceptions.ResourceNotFoundException:
        return {}
    return {item["leaseKey"]["S"]: item for item in items}


def owners(rows: dict[str, dict]) -> dict[str, str | None]:
    return {key: item.get("leaseOwner", {}).get("S") for key, item in rows.items()}


def checkpoint_of(rows: dict[str, dict], shard: str) -> str:
    return rows[shard]["checkpoint"]["S"]
