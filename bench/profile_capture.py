"""Deterministic per-request CPU cost: instruction counts under callgrind, no HTTP, no timing.

Builds the real server (``runtime.Server.build``: engine on a real data dir, every service, the
capture hook and the publisher) and sends requests through the application's request handler
(``Application.dispatch``), as the HTTP layer does after parsing. Wall-clock numbers on a shared
machine vary by 20-30% between runs; instruction counts vary by well under 1%.

    python bench/profile_capture.py --callgrind                # all scenarios, instructions per call
    python bench/profile_capture.py --callgrind putitem-cdc    # one scenario
    python bench/profile_capture.py putitem-cdc --count 2000   # just run it (e.g. under cProfile)

Scenarios: ``putitem`` (plain PutItem), ``getitem`` and ``query`` (a 10-item page) on a table of
100 partitions of 10 items, ``putitem-cdc`` (PutItem into a table with an ACTIVE
Kinesis destination; the publisher drains the outbox every ``--drain-every`` PutItems, as it does
after each group commit), ``getrecords`` (GetRecords pages of 1,000 records of 200 bytes),
``subscribetoshard`` (the same records pushed by SubscribeToShard, JSON events), ``putrecords``
(PutRecords of 100 records of 200 bytes; Kinesis limits off, so every record is appended).
``--callgrind`` runs each scenario twice under ``valgrind --tool=callgrind`` with a small and a
large count and reports (large - small) / (difference in calls), so start-up and set-up cancel.
Durability is relaxed (the fsync is kernel time, which callgrind does not count anyway).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable

import orjson

from tidestream.config import Config
from tidestream.http.messages import Request, Response
from tidestream.runtime import Server

DDB = "DynamoDB_20120810."
KINESIS = "Kinesis_20131202."
#: one 64-byte incompressible value per item, as bench/workloads.py's ``item``
DATA = base64.b64encode(bytes(range(48))).decode()
RECORD = bytes(range(200))
PAGE = 1000


class Driver:
    """A built server and a way to call it without sockets."""

    def __init__(self, data_dir: str, kinesis_limits: bool) -> None:
        config = Config(data_dir=data_dir, durability="relaxed", console=False, kinesis_limits=kinesis_limits)
        self.server = Server(config)
        self.app = self.server.build()

    def call(self, target: str, params: dict) -> dict:
        return orjson.loads(self.send(target, params) or b"{}")

    def send(self, target: str, params: dict) -> bytes:
        """The response body of a successful call (not parsed: that is the client's cost)."""
        json_version = "1.0" if target.startswith(DDB) else "1.1"
        req = Request(
            "POST",
            "/",
            {"x-amz-target": target, "content-type": f"application/x-amz-json-{json_version}"},
            orjson.dumps(params),
        )
        resp = self.app.dispatch(req)
        if not isinstance(resp, Response) or resp.status != 200:
            raise RuntimeError(f"{target} failed: {getattr(resp, 'body', resp)!r}")
        return resp.body

    def create_table(self, name: str) -> None:
        self.call(
            DDB + "CreateTable",
            {
                "TableName": name,
                "BillingMode": "PAY_PER_REQUEST",
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "sk", "KeyType": "RANGE"},
                ],
                "AttributeDefinitions": [
                    {"AttributeName": "pk", "AttributeType": "S"},
                    {"AttributeName": "sk", "AttributeType": "N"},
                ],
            },
        )
        self.call(DDB + "DescribeTable", {"TableName": name})

    def create_stream(self, name: str) -> str:
        self.call(
            KINESIS + "CreateStream", {"StreamName": name, "StreamModeDetails": {"StreamMode": "ON_DEMAND"}}
        )
        return self.call(KINESIS + "DescribeStreamSummary", {"StreamName": name})["StreamDescriptionSummary"][
            "StreamARN"
        ]


def _put_body(n: int) -> dict:
    return {
        "TableName": "bench",
        "Item": {"pk": {"S": f"w{n}"}, "sk": {"N": "0"}, "n": {"N": str(n)}, "data": {"S": DATA}},
    }


def putitem(driver: Driver, count: int, drain_every: int) -> Callable[[], None]:
    driver.create_table("bench")

    def run() -> None:
        for n in range(count):
            driver.send(DDB + "PutItem", _put_body(n))

    return run


def putitem_cdc(driver: Driver, count: int, drain_every: int) -> Callable[[], None]:
    driver.create_table("bench")
    arn = driver.create_stream("cdc")
    driver.call(DDB + "EnableKinesisStreamingDestination", {"TableName": "bench", "StreamArn": arn})
    driver.call(DDB + "DescribeKinesisStreamingDestination", {"TableName": "bench"})
    publisher = driver.server.publisher

    def run() -> None:
        for n in range(count):
            driver.send(DDB + "PutItem", _put_body(n))
            if drain_every and (n + 1) % drain_every == 0:
                publisher.drain_once()
        if not drain_every:  # capture only: what the write path itself pays
            return
        while publisher._pending and publisher.drain_once()[0]:
            pass
        if publisher._pending:
            raise RuntimeError(f"{len(publisher._pending)} changes left unpublished")

    return run


def _loaded_table(driver: Driver, partitions: int) -> None:
    """The bench table with 10 items in each of *partitions* partitions (bench/run.py's shape)."""
    driver.create_table("bench")
    for p in range(partitions):
        for sk in range(10):
            driver.send(
                DDB + "PutItem",
                {
                    "TableName": "bench",
                    "Item": {"pk": {"S": f"p{p}"}, "sk": {"N": str(sk)}, "data": {"S": DATA}},
                },
            )


def getitem(driver: Driver, count: int, drain_every: int) -> Callable[[], None]:
    _loaded_table(driver, 100)

    def run() -> None:
        for n in range(count):
            key = {"pk": {"S": f"p{n % 100}"}, "sk": {"N": str(n % 10)}}
            driver.send(DDB + "GetItem", {"TableName": "bench", "Key": key})

    return run


def query(driver: Driver, count: int, drain_every: int) -> Callable[[], None]:
    """A 10-item page of one partition per call (bench/run.py's Query)."""
    _loaded_table(driver, 100)

    def run() -> None:
        for n in range(count):
            driver.send(
                DDB + "Query",
                {
                    "TableName": "bench",
                    "KeyConditionExpression": "pk = :p",
                    "ExpressionAttributeValues": {":p": {"S": f"p{n % 100}"}},
                    "Limit": 10,
                },
            )

    return run


def getrecords(driver: Driver, count: int, drain_every: int) -> Callable[[], None]:
    """``count`` records read back in pages of :data:`PAGE` (the drain of bench/run.py). The
    stream always holds the large count's records, so filling it cancels out of the difference."""
    shard = _fill_drain_stream(driver, SCENARIOS["getrecords"][2])

    def run() -> None:
        iterator = driver.call(
            KINESIS + "GetShardIterator",
            {"StreamName": "drain", "ShardId": shard, "ShardIteratorType": "TRIM_HORIZON"},
        )["ShardIterator"]
        got = 0
        while got < count:
            limit = min(PAGE, count - got)
            page = driver.send(KINESIS + "GetRecords", {"ShardIterator": iterator, "Limit": limit})
            got += page.count(b'"SequenceNumber"')
            at = page.index(b'"NextShardIterator":"') + len(b'"NextShardIterator":"')
            iterator = page[at : page.index(b'"', at)].decode()
        if got != count:
            raise RuntimeError(f"read {got} of {count} records")

    return run


def _fill_drain_stream(driver: Driver, stored: int) -> str:
    """A one-shard stream ``drain`` holding *stored* records of :data:`RECORD`; its shard id."""
    driver.call(KINESIS + "CreateStream", {"StreamName": "drain", "ShardCount": 1})
    driver.call(KINESIS + "DescribeStreamSummary", {"StreamName": "drain"})
    data = base64.b64encode(RECORD).decode()  # base64 text, as on the wire
    for start in range(0, stored, 500):
        records = [{"PartitionKey": f"pk{start + i}", "Data": data} for i in range(500)]
        driver.call(KINESIS + "PutRecords", {"StreamName": "drain", "Records": records})
    return driver.call(KINESIS + "ListShards", {"StreamName": "drain"})["Shards"][0]["ShardId"]


def subscribetoshard(driver: Driver, count: int, drain_every: int) -> Callable[[], None]:
    """``count`` records pushed by SubscribeToShard from TRIM_HORIZON (events of up to 10,000
    records, JSON), read from the response's event stream in process, as the HTTP layer does."""
    shard = _fill_drain_stream(driver, SCENARIOS["subscribetoshard"][2])
    arn = driver.call(KINESIS + "DescribeStreamSummary", {"StreamName": "drain"})["StreamDescriptionSummary"][
        "StreamARN"
    ]
    consumer = driver.call(KINESIS + "RegisterStreamConsumer", {"StreamARN": arn, "ConsumerName": "efo"})
    consumer_arn = consumer["Consumer"]["ConsumerARN"]
    driver.call(KINESIS + "DescribeStreamConsumer", {"ConsumerARN": consumer_arn})
    params = {"ConsumerARN": consumer_arn, "ShardId": shard, "StartingPosition": {"Type": "TRIM_HORIZON"}}

    async def read() -> int:
        req = Request(
            "POST",
            "/",
            {"x-amz-target": KINESIS + "SubscribeToShard", "content-type": "application/x-amz-json-1.1"},
            orjson.dumps(params),
        )
        events = driver.app.dispatch(req).stream
        got = 0
        async for message in events:
            got += message.count(b'"SequenceNumber"')
            if got >= count:
                break
        await events.aclose()
        return got

    def run() -> None:
        got = asyncio.run(read())
        if got != count:
            raise RuntimeError(f"received {got} of {count} records")

    return run


def putrecords(driver: Driver, count: int, drain_every: int) -> Callable[[], None]:
    """``count`` PutRecords of 100 records of 200 bytes (25 partition keys) to a 4-shard stream."""
    driver.create_stream("produce")
    batch = {
        "StreamName": "produce",
        "Records": [
            {"Data": base64.b64encode(RECORD).decode(), "PartitionKey": f"key-{i % 25}"} for i in range(100)
        ],
    }

    def run() -> None:
        for _ in range(count):
            driver.send(KINESIS + "PutRecords", batch)

    return run


SCENARIOS: dict[str, tuple[Callable[[Driver, int, int], Callable[[], None]], int, int]] = {
    # name: (set-up returning the measured run, small count, large count)
    "putitem": (putitem, 500, 2500),
    "putitem-cdc": (putitem_cdc, 500, 2500),
    "getitem": (getitem, 500, 2500),
    "query": (query, 500, 2500),
    "getrecords": (getrecords, 10_000, 50_000),
    "subscribetoshard": (subscribetoshard, 10_000, 50_000),
    "putrecords": (putrecords, 200, 1000),
}


def run_once(name: str, count: int, drain_every: int) -> None:
    setup = SCENARIOS[name][0]
    with tempfile.TemporaryDirectory(prefix="tidestream-profile-") as tmp:
        # GetRecords' 5 calls/s per shard would refuse a drain loop without sleeps
        driver = Driver(
            os.path.join(tmp, "data"),
            kinesis_limits=name not in ("getrecords", "subscribetoshard", "putrecords"),
        )
        work = setup(driver, count, drain_every)
        work()
        driver.server.engine.close()


def _instructions(args: list[str]) -> int:
    with tempfile.TemporaryDirectory(prefix="callgrind-") as tmp:
        out = os.path.join(tmp, "callgrind.out")
        cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, __file__, *args]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed under callgrind:\n{proc.stderr[-2000:]}")
        found = re.search(r"Collected : (\d+)", proc.stderr)
        if found is None:
            raise RuntimeError(f"no instruction count in callgrind's output:\n{proc.stderr[-2000:]}")
        return int(found.group(1))


def callgrind(name: str, drain_every: int) -> None:
    _, small, large = SCENARIOS[name]
    low = _instructions([name, "--count", str(small), "--drain-every", str(drain_every)])
    high = _instructions([name, "--count", str(large), "--drain-every", str(drain_every)])
    per = (high - low) / (large - small)
    unit = "record" if name in ("getrecords", "subscribetoshard") else "call"
    print(
        f"{name}: {per:,.0f} instructions per {unit} ({small} vs {large}; drain every {drain_every})",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("scenarios", nargs="*", help=f"any of {', '.join(SCENARIOS)} (default: all)")
    parser.add_argument("--count", type=int, default=None)
    parser.add_argument(
        "--drain-every",
        type=int,
        default=16,
        help="PutItems between publisher drains (0: never, to measure the capture side alone)",
    )
    parser.add_argument("--callgrind", action="store_true", help="instructions per call under callgrind")
    args = parser.parse_args()
    names = args.scenarios or list(SCENARIOS)
    unknown = set(names) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    for name in names:
        if args.callgrind:
            callgrind(name, args.drain_every)
        else:
            run_once(name, args.count or SCENARIOS[name][2], args.drain_every)


if __name__ == "__main__":
    main()
