"""The workloads, run identically against every server that has the API.

Each phase returns rows ``{row name: Metric}``. Setup uses boto3 (correctness over speed); the
measured traffic goes through :mod:`loadgen`. A row is n/a (with the reason) when the server
lacks the API or the first call of the workload fails.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import re
import socket
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import boto3
import loadgen
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError
from loadgen import Session, build, header_prefix
from peers import Running

# 64-character attribute values that do not compress (LevelDB/RocksDB may compress blocks)
_rng = random.Random(6)
DATA = [base64.b64encode(_rng.randbytes(48)) for _ in range(1024)]
RECORD = base64.b64encode(bytes(range(200)))  # 200-byte record, base64 in JSON


@dataclass
class Metric:
    value: float | None = None  # the headline number (unit below); None = n/a
    unit: str = ""
    na: str = ""  # why n/a
    per_s: float | None = None  # wall-clock rate
    p50_ms: float | None = None
    p99_ms: float | None = None
    errors: int = 0
    calls: int = 0
    server_cpu: float | None = None
    client_cpu: float | None = None
    note: str = ""
    first_error: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Sizes:
    duration: float = 5.0  # seconds per throughput workload
    items: int = 100_000  # items loaded before GetItem/Query (and measured for RSS/disk)
    records: int = 100_000  # records drained by one consumer
    cdc_rate: int = 1000  # writes/s for the CDC latency run
    cdc_seconds: float = 5.0
    processes: int = 2  # load generator processes
    conns: int = 16  # connections per process
    scale: tuple[int, ...] = (10_000, 100_000, 1_000_000)  # table sizes of the scaling phase
    stream_shards: tuple[int, ...] = (1, 16, 256)  # shard counts of the streams phase's PutRecords
    stream_records: tuple[int, ...] = (100_000, 10_000_000)  # stream sizes of the streams phase


@dataclass
class Ctx:
    run: Running
    sizes: Sizes
    log: Callable[[str], None]
    ddb: object = None
    kinesis: object = None
    streams: dict = field(default_factory=dict)  # name -> ARN

    def __post_init__(self) -> None:
        kw = dict(
            endpoint_url=f"http://127.0.0.1:{self.run.port}",
            region_name="us-east-1",
            aws_access_key_id="AKIDBENCHMARK",
            aws_secret_access_key="benchmark-secret",
            config=BotoConfig(retries={"total_max_attempts": 1}, read_timeout=120),
        )
        self.ddb = boto3.client("dynamodb", **kw)
        self.kinesis = boto3.client("kinesis", **kw)

    def prefix(self, service: str, op: str) -> bytes:
        return header_prefix(service, op, self.run.port)

    def load(
        self,
        service: str,
        op: str,
        body: Callable[[int], bytes | None],
        *,
        duration: float | None = None,
        count: int | None = None,
        check: Callable[[bytes], bool] | None = None,
        units: int = 1,
        unit: str = "calls/core-s",
    ) -> Metric:
        """Probe with one call, then drive the workload for ``duration`` s or ``count`` more
        calls; returns the measured Metric."""
        pre = self.prefix(service, op)
        wait_idle(self.run.pid)
        t0 = time.perf_counter()
        status, resp = asyncio.run(_one(self.run.port, build(pre, body(1 << 40))))
        probe_s = time.perf_counter() - t0
        if status != 200 or (check is not None and not check(resp)):
            return Metric(unit=unit, na=_error_type(status, resp))
        procs, conns, note = self.sizes.processes, self.sizes.conns, ""
        if probe_s > 0.25 and duration:  # very slow server: don't pile up calls it can't finish
            procs, conns = 1, 1
            note = f"one connection only (a single call took {probe_s:.1f} s)"

        def make(i: int) -> bytes | None:
            return None if count is not None and i >= count else build(pre, body(i))

        try:
            r = loadgen.run(
                self.run.ports,
                self.run.pid,
                make,
                duration=duration,
                check=check,
                processes=procs,
                conns=conns,
            )
        except Exception as e:  # noqa: BLE001 - one broken workload should not end the run
            return Metric(unit=unit, na=short(repr(e)))
        if r.calls == 0:
            return Metric(unit=unit, na=short(f"no call completed: {r.first_error}"), errors=r.errors)
        return Metric(
            value=r.per_core_s * units,
            unit=unit,
            per_s=r.per_s * units,
            p50_ms=r.p50_ms,
            p99_ms=r.p99_ms,
            errors=r.errors,
            calls=r.calls,
            server_cpu=r.server_cpu,
            client_cpu=r.client_cpu,
            first_error=r.first_error,
            note=note,
        )


async def _one(port: int, request: bytes) -> tuple[int, bytes]:
    c = Session(port)
    try:
        return await c.call(request)
    finally:
        c.close()


def wait_idle(pid: int, timeout: float = 90.0) -> None:
    """Wait until the server stops burning CPU (e.g. on calls abandoned by the last workload)."""
    deadline = time.monotonic() + timeout
    last = loadgen.cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = loadgen.cpu_seconds(pid)
        if now - last < 0.02:  # under 20% of a core
            return
        last = now


def short(text: str, n: int = 160) -> str:
    """One line of at most ``n`` characters, HTML tags and boto's retry chatter removed."""
    text = re.sub(r"<title>.*?</title>|<[^>]+>", " ", text)
    text = re.sub(r" \(reached max retries: \d+\)", "", text)
    return " ".join(text.split())[:n]


def _error_type(status: int, body: bytes) -> str:
    try:
        d = json.loads(body)
        kind = str(d.get("__type", "")).rsplit("#", 1)[-1]
        msg = d.get("message") or d.get("Message") or ""
        return f"HTTP {status} {kind}: {msg}"[:160]
    except ValueError:
        return short(f"HTTP {status}: {body[:300].decode(errors='replace')}")


def _matches(pattern: bytes) -> Callable[[bytes], bool]:
    rx = re.compile(pattern)
    return lambda body: rx.search(body) is not None


# -- readiness ------------------------------------------------------------------------------------
def wait_ready(run: Running, timeout: float = 90.0) -> float:
    """Seconds from spawn to the first successful API answer (ListTables or ListStreams)."""
    api = run.peer.apis[0]
    op, body = ("ListTables", b"{}") if api == "dynamodb" else ("ListStreams", b"{}")
    req = build(header_prefix(api, op, run.port), body)
    deadline = run.started_at + timeout
    while time.perf_counter() < deadline:
        if run.proc.poll() is not None:
            raise RuntimeError(f"{run.peer.name} exited ({run.proc.returncode}): {run.log_tail()}")
        try:
            with socket.create_connection(("127.0.0.1", run.port), timeout=2) as s:
                s.sendall(req)
                head = s.recv(65536)
                if head.startswith(b"HTTP/1.1 200") or head.startswith(b"HTTP/1.0 200"):
                    return time.perf_counter() - run.started_at
        except OSError:
            pass
        time.sleep(0.002)
    raise RuntimeError(f"{run.peer.name} did not answer in {timeout:.0f} s: {run.log_tail()}")


# -- bodies ---------------------------------------------------------------------------------------
def item(pk: bytes, sk: int, n: int) -> bytes:
    return b'{"pk":{"S":"%s"},"sk":{"N":"%d"},"n":{"N":"%d"},"data":{"S":"%s"}}' % (
        pk,
        sk,
        n,
        DATA[(n + sk) % 1024],
    )


def part_key(k: int) -> tuple[bytes, int]:
    """Loaded item k lives in partition k // 100 at sort key k % 100."""
    return b"p%06d" % (k // 100), k % 100


def bwi_body(table: bytes, items: list[bytes]) -> bytes:
    puts = b",".join(b'{"PutRequest":{"Item":%s}}' % it for it in items)
    return b'{"RequestItems":{"%s":[%s]}}' % (table, puts)


# -- DynamoDB -------------------------------------------------------------------------------------
def create_table(ctx: Ctx, name: str) -> None:
    wait_idle(ctx.run.pid)
    ctx.ddb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
        ],
    )
    _until(
        lambda: ctx.ddb.describe_table(TableName=name)["Table"]["TableStatus"] == "ACTIVE",
        f"table {name} ACTIVE",
    )


def _until(pred: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.05)
    raise RuntimeError(f"timed out waiting for {what}")


def dynamodb_phase(ctx: Ctx) -> dict[str, Metric]:
    """Load N items (BatchWriteItem), measure RSS/disk, then the DynamoDB workloads."""
    from peers import disk_mib

    s, rows = ctx.sizes, {}
    create_table(ctx, "bench")
    base_disk = disk_mib(ctx.run.data_dir)
    n_batches = s.items // 25
    no_unprocessed = _matches(rb'"UnprocessedItems"\s*:\s*\{\s*\}')
    t0 = time.perf_counter()
    m = ctx.load(
        "dynamodb",
        "BatchWriteItem",
        lambda i: bwi_body(b"bench", [item(*part_key((i * 25 + j) % s.items), i) for j in range(25)]),
        count=n_batches,
        check=no_unprocessed,
    )
    ctx.log(
        f"  loaded {s.items} items in {time.perf_counter() - t0:.1f} s "
        f"({m.errors} errors{', ' + m.first_error if m.first_error else ''})"
    )
    if m.value is None:
        raise RuntimeError(f"loading items failed: {m.na}")
    time.sleep(0.5)
    per = 100_000 / s.items
    note = "" if s.items == 100_000 else f"measured with {s.items} items"
    rows["rss_100k"] = Metric(loadgen.rss_mib(ctx.run.pid), "MiB", note=note)
    if ctx.run.peer.on_disk:
        rows["disk_100k"] = Metric(
            (disk_mib(ctx.run.data_dir) - base_disk) * per, "MiB", note=note and f"{note}, scaled to 100k"
        )
    else:
        rows["disk_100k"] = Metric(unit="MiB", na="keeps data in memory")

    d = s.duration
    rows["GetItem"] = ctx.load(
        "dynamodb",
        "GetItem",
        lambda i: (
            b'{"TableName":"bench","Key":{"pk":{"S":"%s"},"sk":{"N":"%d"}}}' % part_key((i * 7919) % s.items)
        ),
        duration=d,
        check=_matches(rb'"Item"'),
    )
    parts = max(1, s.items // 100)
    rows["Query"] = ctx.load(
        "dynamodb",
        "Query",
        lambda i: (
            b'{"TableName":"bench","KeyConditionExpression":"pk = :p","ExpressionAttributeValues":{":p":{"S":"p%06d"}},"Limit":10}'
            % ((i * 7919) % parts)
        ),
        duration=d,
        check=_matches(rb'"Count"\s*:\s*10\b'),
    )
    rows["PutItem"] = ctx.load(
        "dynamodb",
        "PutItem",
        lambda i: b'{"TableName":"bench","Item":%s}' % item(b"w%d" % i, 0, i),
        duration=d,
    )
    rows["BatchWriteItem"] = ctx.load(
        "dynamodb",
        "BatchWriteItem",
        lambda i: bwi_body(b"bench", [item(b"b%d" % i, j, i) for j in range(25)]),
        duration=d,
        check=no_unprocessed,
    )
    rows["BatchWriteItem"].note += " 25 items per call"
    rows["TransactWriteItems"] = ctx.load(
        "dynamodb",
        "TransactWriteItems",
        lambda i: (
            b'{"TransactItems":[%s]}'
            % b",".join(b'{"Put":{"TableName":"bench","Item":%s}}' % item(b"t%d" % i, j, i) for j in range(4))
        ),
        duration=d,
    )
    rows["TransactWriteItems"].note += " 4 Puts per call"
    return rows


def enable_destination(ctx: Ctx, table: str, stream: str) -> str:
    """Table + stream + ACTIVE streaming destination; returns '' or why it is n/a."""
    create_table(ctx, table)
    return set_destination(ctx, table, create_stream(ctx, stream), enabled=True)


def set_destination(ctx: Ctx, table: str, arn: str, *, enabled: bool) -> str:
    """Enable (or disable) the table's destination and wait until it is ACTIVE (DISABLED);
    returns '' or why it is n/a."""
    call = "Enable" if enabled else "Disable"
    status = "ACTIVE" if enabled else "DISABLED"
    try:
        if enabled:
            ctx.ddb.enable_kinesis_streaming_destination(TableName=table, StreamArn=arn)
        else:
            ctx.ddb.disable_kinesis_streaming_destination(TableName=table, StreamArn=arn)
        _until(
            lambda: any(
                d.get("DestinationStatus") == status
                for d in ctx.ddb.describe_kinesis_streaming_destination(TableName=table).get(
                    "KinesisDataStreamDestinations", []
                )
            ),
            f"destination {status}",
            10,
        )
    except Exception as e:  # noqa: BLE001 - any failure means the feature is not there
        return short(f"{call}KinesisStreamingDestination failed: {e}")
    return ""


def cdc_phase(ctx: Ctx) -> dict[str, Metric]:
    """PutItem into a table with a Kinesis destination, and PutItem-to-GetRecords latency."""
    s, rows = ctx.sizes, {}
    why = enable_destination(ctx, "cdc", "cdc-stream")
    if why:
        return {"PutItem+CDC": Metric(unit="calls/core-s", na=why), "cdc_latency": Metric(unit="ms", na=why)}
    m = ctx.load(
        "dynamodb",
        "PutItem",
        lambda i: b'{"TableName":"cdc","Item":%s}' % item(b"c%d" % i, 0, i),
        duration=s.duration,
    )
    time.sleep(1.0)
    got, _ = drain(ctx, "cdc-stream")
    m.note += f" {got} of {m.calls + 1} changes in the stream 1 s after the run"
    rows["PutItem+CDC"] = m
    why = enable_destination(ctx, "cdclat", "cdclat-stream")
    rows["cdc_latency"] = (
        Metric(unit="ms", na=why) if why else asyncio.run(cdc_latency(ctx, "cdclat", "cdclat-stream"))
    )
    return rows


async def cdc_latency(ctx: Ctx, table: str, stream: str) -> Metric:
    """Open-loop PutItem at ``cdc_rate``/s; time from each ack until GetRecords shows the change."""
    s, port = ctx.sizes, ctx.run.port
    n = int(s.cdc_rate * s.cdc_seconds)
    put = ctx.prefix("dynamodb", "PutItem")
    get = ctx.prefix("kinesis", "GetRecords")
    sent: dict[int, float] = {}
    acks: dict[int, float] = {}
    seen: dict[int, float] = {}
    pool: asyncio.Queue[Session] = asyncio.Queue()
    for _ in range(16):
        pool.put_nowait(Session(port))
    errors: list[str] = []
    rx = re.compile(rb"cdclat-(\d+)-")
    perf = time.perf_counter

    async def write(k: int) -> None:
        c = await pool.get()
        sent[k] = perf()
        st, body = await c.call(
            build(put, b'{"TableName":"%s","Item":%s}' % (table.encode(), item(b"cdclat-%d-" % k, 0, k)))
        )
        acks[k] = perf()
        if st != 200:
            errors.append(_error_type(st, body))
        pool.put_nowait(c)

    async def read(it: str, stop: asyncio.Event) -> None:
        c = Session(port)
        while it and not stop.is_set():
            st, body = await c.call(build(get, json.dumps({"ShardIterator": it, "Limit": 1000}).encode()))
            if st != 200:
                errors.append(_error_type(st, body))
                await asyncio.sleep(0.05)
                continue
            d = json.loads(body)
            now = perf()
            for rec in d.get("Records", []):
                mm = rx.search(base64.b64decode(rec["Data"]))
                if mm:
                    seen.setdefault(int(mm.group(1)), now)
            it = d.get("NextShardIterator")
            if not d.get("Records"):
                await asyncio.sleep(0.0005)
        c.close()

    stop = asyncio.Event()
    readers = [asyncio.create_task(read(it, stop)) for it in shard_iterators(ctx, stream)]
    t0 = perf()
    tasks = []
    for k in range(n):
        delay = t0 + k / s.cdc_rate - perf()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(write(k)))
    await asyncio.gather(*tasks)
    deadline = perf() + 5
    while len(seen) < n and perf() < deadline:
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.gather(*readers)
    keys = [k for k in seen if k in acks]
    if not keys:
        return Metric(unit="ms", na=f"no changes reached the stream ({errors[:1]})")
    lat = sorted(max(0.0, seen[k] - acks[k]) * 1000 for k in keys)
    e2e = sorted((seen[k] - sent[k]) * 1000 for k in keys)
    early = sum(seen[k] < acks[k] for k in keys)
    return Metric(
        value=_pct(lat, 50),
        unit="ms",
        p50_ms=_pct(lat, 50),
        p99_ms=_pct(lat, 99),
        calls=n,
        errors=len(errors) + (n - len(seen)),
        first_error=errors[0] if errors else "",
        note=f"{len(seen)} of {n} changes seen at {s.cdc_rate} writes/s; "
        f"{100 * early / len(keys):.0f}% visible before the ack (counted as 0); "
        f"request sent -> visible p50 {_pct(e2e, 50):.2f} / p99 {_pct(e2e, 99):.2f} ms",
    )


def _pct(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * q / 100))]


# -- Kinesis --------------------------------------------------------------------------------------
def create_stream(ctx: Ctx, name: str) -> str:
    """ON_DEMAND stream (falls back to 4 provisioned shards); returns its ARN."""
    wait_idle(ctx.run.pid)
    try:
        ctx.kinesis.create_stream(StreamName=name, StreamModeDetails={"StreamMode": "ON_DEMAND"})
    except ClientError as e:  # older servers: no ON_DEMAND
        if e.response["Error"]["Code"] != "ResourceInUseException":
            ctx.kinesis.create_stream(StreamName=name, ShardCount=4)
    _until(
        lambda: ctx.kinesis.describe_stream(StreamName=name)["StreamDescription"]["StreamStatus"] == "ACTIVE",
        f"stream {name} ACTIVE",
    )
    desc = ctx.kinesis.describe_stream(StreamName=name)["StreamDescription"]
    ctx.streams[name] = desc["StreamARN"]
    return desc["StreamARN"]


def shard_iterators(ctx: Ctx, stream: str) -> list[str]:
    shards = ctx.kinesis.describe_stream(StreamName=stream)["StreamDescription"]["Shards"]
    return [
        ctx.kinesis.get_shard_iterator(
            StreamName=stream, ShardId=sh["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        for sh in shards
    ]


def drain(ctx: Ctx, stream: str, prefetch: bool = True) -> tuple[int, float]:
    """One consumer reads every shard from TRIM_HORIZON to the end; (records, seconds).

    *prefetch*: as KCL's polling consumer does (its prefetch cache), once a page arrives the
    consumer asks for the next one (``NextShardIterator`` found at the page's end) before it
    parses this one, so the server reads page N+1 while the consumer parses page N. Without it,
    the rate is that of both sides' costs added up, and the standard library's JSON parse alone
    is ~1.6 µs per record here (the server's read ~2 µs).
    """
    its = shard_iterators(ctx, stream)
    get = ctx.prefix("kinesis", "GetRecords")

    def ask(conn: loadgen.Conn, iterator: str | None) -> asyncio.Future | None:
        if not iterator:
            return None
        return conn.send(build(get, json.dumps({"ShardIterator": iterator, "Limit": 10000}).encode()))

    async def go() -> int:
        conn, total = await loadgen.Conn.open(ctx.run.port), 0
        for it in its:
            pending = ask(conn, it)
            while pending is not None:
                st, body = await pending
                if st != 200:
                    raise RuntimeError(_error_type(st, body))
                following = _next_iterator(body)
                pending = ask(conn, following) if prefetch else None
                records = len(json.loads(body).get("Records") or ())
                total += records
                if not records:  # the shard's end (a request sent ahead is answered, unread)
                    if pending is not None:
                        await pending
                    break
                pending = pending or ask(conn, following)
        conn.close()
        return total

    t0 = time.perf_counter()
    total = asyncio.run(go())
    return total, time.perf_counter() - t0


_NEXT_ITERATOR = re.compile(rb'"NextShardIterator"\s*:\s*("(?:[^"\\]|\\.)*")')


def _next_iterator(body: bytes) -> str | None:
    """A GetRecords answer's NextShardIterator without parsing its records (the key is looked
    for from the end, where the servers measured write it)."""
    at = body.rfind(b'"NextShardIterator"')
    m = _NEXT_ITERATOR.match(body, at) if at >= 0 else None
    return json.loads(m.group(1)) if m else None


def kinesis_phase(ctx: Ctx) -> dict[str, Metric]:
    s, rows = ctx.sizes, {}
    create_stream(ctx, "put")
    ok_seq = _matches(rb'"SequenceNumber"')
    rows["PutRecord"] = ctx.load(
        "kinesis",
        "PutRecord",
        lambda i: b'{"StreamName":"put","Data":"%s","PartitionKey":"k%d"}' % (RECORD, i),
        duration=s.duration,
        check=ok_seq,
    )
    pool = [
        b'{"StreamName":"put","Records":[%s]}'
        % b",".join(b'{"Data":"%s","PartitionKey":"k%d-%d"}' % (RECORD, b, j) for j in range(100))
        for b in range(64)
    ]
    no_failed = _matches(rb'"FailedRecordCount"\s*:\s*0\b')
    rows["PutRecords"] = ctx.load(
        "kinesis",
        "PutRecords",
        lambda i: pool[i % 64],
        duration=s.duration,
        check=no_failed,
        units=100,
        unit="records/core-s",
    )
    rows["PutRecords"].note += " 100 records x 200 B per call"
    # drain: fill a fresh stream, then one consumer reads it all
    create_stream(ctx, "drain")
    fill = ctx.load(
        "kinesis",
        "PutRecords",
        lambda i: pool[i % 64].replace(b'"put"', b'"drain"'),
        count=s.records // 100 - 1,
        check=no_failed,
    )  # + the probe call
    if fill.value is None:
        rows["drain"] = Metric(unit="records/s", na=fill.na)
    else:
        try:
            wait_idle(ctx.run.pid)
            cpu0 = loadgen.cpu_seconds(ctx.run.pid)
            got, secs = drain(ctx, "drain")
            cpu = loadgen.cpu_seconds(ctx.run.pid) - cpu0
            _, parse_first = drain(ctx, "drain", prefetch=False)  # second: the data is warm
            rows["drain"] = Metric(
                got / secs,
                "records/s",
                calls=got,
                errors=fill.errors + (s.records - got),
                server_cpu=cpu,
                note=f"{got} of {s.records} records in {secs:.2f} s; "
                f"{got / max(cpu, 1e-9):,.0f} records per server core-second; "
                f"a consumer that parses each page before asking for the next, read second: "
                f"{got / parse_first:,.0f} records/s",
                first_error=fill.first_error
                or (f"{s.records - got} records missing" if got < s.records else ""),
            )
        except RuntimeError as e:
            rows["drain"] = Metric(unit="records/s", na=short(str(e)))
        import streams  # here: it imports this module

        rows.update(streams.subscribe_rows(ctx, "drain", s.records))
    return rows
