"""A consumer worker process for the consumer e2e tests: ``python consumer_worker.py ...``.

Every processor event is one line of JSON appended (O_APPEND, one write per line) to a log file
shared by all the test's workers, so line order is a total order of events across processes;
``n`` is this process's own monotonic counter. SIGTERM shuts the worker down gracefully.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import os
import signal
import sys
import threading

import boto3
from botocore.config import Config as BotoConfig

from tidestream.consumer import ConsumerConfig, RecordProcessor, ShutdownException, Worker

COUNTER = itertools.count(1)
COUNTER_LOCK = threading.Lock()


class EventLog:
    def __init__(self, path: str, worker_id: str) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self.worker_id = worker_id

    def write(self, event: str, shard: str, **fields) -> None:
        with COUNTER_LOCK:
            line = {"event": event, "worker": self.worker_id, "shard": shard, "n": next(COUNTER), **fields}
            os.write(self.fd, (json.dumps(line) + "\n").encode())


class LoggingProcessor(RecordProcessor):
    """Logs every record; checkpoints every ``checkpoint_every`` batches (0: only at shutdown and
    shard end), and logs each checkpoint once it is written."""

    def __init__(self, events: EventLog, checkpoint_every: int) -> None:
        self.events = events
        self.checkpoint_every = checkpoint_every
        self.batches = 0
        self.shard_id = ""

    def initialize(self, input) -> None:
        self.shard_id = input.shard_id
        self.events.write(
            "initialize", self.shard_id, checkpoint=input.extended_sequence_number.sequence_number
        )

    def process_records(self, input) -> None:
        for record in input.records:
            self.events.write("record", self.shard_id, seq=record.sequence_number, data=record.data.decode())
        self.batches += 1
        if self.checkpoint_every and self.batches % self.checkpoint_every == 0:
            self._checkpoint(input.checkpointer)

    def _checkpoint(self, checkpointer) -> None:
        try:
            checkpointer.checkpoint()
        except ShutdownException:
            self.events.write("checkpoint_refused", self.shard_id)
            return
        self.events.write("checkpoint", self.shard_id, seq=checkpointer.last_checkpoint.sequence_number)

    def lease_lost(self, input) -> None:
        self.events.write("lease_lost", self.shard_id)

    def shard_ended(self, input) -> None:
        self.events.write("shard_ended", self.shard_id)
        self._checkpoint(input.checkpointer)

    def shutdown_requested(self, input) -> None:
        self.events.write("shutdown_requested", self.shard_id)
        self._checkpoint(input.checkpointer)


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--endpoint", required=True)
    p.add_argument("--stream", required=True)
    p.add_argument("--app", required=True)
    p.add_argument("--worker-id", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--failover-ms", type=int, default=2000)
    p.add_argument("--checkpoint-every", type=int, default=1)
    p.add_argument("--max-records", type=int, default=10)
    p.add_argument("--idle-ms", type=int, default=200)
    p.add_argument("--retrieval", default="polling", choices=["polling", "fanout"])
    args = p.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format=f"%(asctime)s {args.worker_id} %(threadName)s %(message)s",
    )
    clients = {
        name: boto3.client(
            name,
            endpoint_url=args.endpoint,
            region_name="us-east-1",
            aws_access_key_id="AKIDEXAMPLE",
            aws_secret_access_key="secret",
            config=BotoConfig(retries={"max_attempts": 3}),
        )
        for name in ("kinesis", "dynamodb")
    }
    config = ConsumerConfig(
        application_name=args.app,
        stream_name=args.stream,
        worker_id=args.worker_id,
        failover_time_millis=args.failover_ms,
        max_records=args.max_records,
        idle_time_between_reads_millis=args.idle_ms,
        parent_shard_poll_interval_millis=200,
        throughput_backoff_millis=100,
        shard_sync_interval_millis=1000,
        lease_taker_interval_millis=args.failover_ms // 2,
        retrieval=args.retrieval,
    )
    events = EventLog(args.log, args.worker_id)
    worker = Worker(
        config,
        lambda: LoggingProcessor(events, args.checkpoint_every),
        clients["kinesis"],
        clients["dynamodb"],
    )
    signal.signal(signal.SIGTERM, lambda *_: worker.shutdown())
    worker.run()
    events.write("worker_stopped", "")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
