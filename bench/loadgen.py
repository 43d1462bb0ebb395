"""A load generator that stays out of the way of the server it measures.

Requests are SigV4-signed once per (service, operation) with botocore; every call reuses those
header bytes with a new body (servers under test do not verify signatures). Several forked
processes each drive N keep-alive connections on uvloop, one request in flight per connection.
The server's CPU time (its whole process tree, from /proc) is read around the measured window.
"""

from __future__ import annotations

import array
import asyncio
import multiprocessing as mp
import os
import queue
import re
import resource
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

CONTENT_TYPES = {"dynamodb": "application/x-amz-json-1.0", "kinesis": "application/x-amz-json-1.1"}
TARGET_PREFIX = {"dynamodb": "DynamoDB_20120810", "kinesis": "Kinesis_20131202"}
_CREDS = Credentials("AKIDBENCHMARK", "benchmark-secret")
_CL = re.compile(rb"(?im)^content-length:\s*(\d+)")
_CHUNKED = re.compile(rb"(?im)^transfer-encoding:\s*chunked")
_CLOSE = re.compile(rb"(?im)^connection:\s*close")
_TICK = os.sysconf("SC_CLK_TCK")


def header_prefix(service: str, op: str, port: int, region: str = "us-east-1") -> bytes:
    """Signed request head up to and including ``Content-Length: `` (the body length follows)."""
    url = f"http://127.0.0.1:{port}/"
    req = AWSRequest(
        "POST",
        url,
        data=b"{}",
        headers={"X-Amz-Target": f"{TARGET_PREFIX[service]}.{op}", "Content-Type": CONTENT_TYPES[service]},
    )
    SigV4Auth(_CREDS, service, region).add_auth(req)
    lines = [b"POST / HTTP/1.1", b"Host: 127.0.0.1:%d" % port]
    for k, v in req.headers.items():
        if k.lower() not in ("content-length", "host"):
            lines.append(f"{k}: {v}".encode())
    return b"\r\n".join(lines) + b"\r\nContent-Length: "


def build(prefix: bytes, body: bytes) -> bytes:
    return prefix + b"%d\r\n\r\n" % len(body) + body


# -- a minimal HTTP/1.1 client -----------------------------------------------------------------
class Conn(asyncio.Protocol):
    """One keep-alive connection, one request in flight."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.waiter: asyncio.Future | None = None
        self.transport: asyncio.Transport | None = None

    @classmethod
    async def open(cls, port: int) -> Conn:
        _, proto = await asyncio.get_running_loop().create_connection(cls, "127.0.0.1", port)
        return proto

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("connection closed by server"))

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if self.waiter is None or self.waiter.done():
            return
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buf[:end])
        m = _CL.search(head)
        if m:
            total = end + 4 + int(m.group(1))
            if len(self.buf) < total:
                return
            body = bytes(self.buf[end + 4 : total])
        elif _CHUNKED.search(head):
            body, total = _dechunk(self.buf, end + 4)
            if total < 0:
                return
        else:  # no length: body runs to connection close (not expected from these servers)
            return
        del self.buf[:total]
        if _CLOSE.search(head):  # e.g. moto's werkzeug server: one request per connection
            self.close()
        self.waiter.set_result((int(head[9:12]), body))

    async def call(self, request: bytes) -> tuple[int, bytes]:
        return await self.send(request)

    def send(self, request: bytes) -> asyncio.Future:
        """Write *request* now; the future is its (status, body). One in flight at a time."""
        if self.transport is None:
            raise ConnectionError("not connected")
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return self.waiter

    def eof_received(self) -> bool:
        self.close()
        return False

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
            self.transport = None


class Session:
    """A connection to ``port`` that reconnects when the server closed the previous one."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn: Conn | None = None
        self.reconnects = 0

    async def call(self, request: bytes) -> tuple[int, bytes]:
        if self.conn is None or self.conn.transport is None:
            self.reconnects += self.conn is not None
            self.conn = await Conn.open(self.port)
        return await self.conn.call(request)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


def _dechunk(buf: bytearray, pos: int) -> tuple[bytes, int]:
    out = bytearray()
    while True:
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            return b"", -1
        size = int(bytes(buf[pos:eol]).split(b";")[0], 16)
        if len(buf) < eol + 2 + size + 2:
            return b"", -1
        if size == 0:
            return bytes(out), eol + 4
        out += buf[eol + 2 : eol + 2 + size]
        pos = eol + 2 + size + 2


# -- measuring processes -------------------------------------------------------------------------
#: a server's process id, or several (the nodes of a cluster and their database): each is
#: measured with its descendants
Pids = int | Sequence[int]


def _tree(pid: Pids) -> list[int]:
    """``pid`` (or each of several) and all its descendants."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", "rb") as f:
                    ppid = int(f.read().rsplit(b")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(name))
    out, todo = [], [pid] if isinstance(pid, int) else list(pid)
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def cpu_seconds(pid: Pids) -> float:
    """User+system CPU of ``pid`` and its descendants (live and reaped)."""
    total = 0
    for p in _tree(pid):
        try:
            with open(f"/proc/{p}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
            total += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
        except (OSError, IndexError):
            pass
    return total / _TICK


def rss_mib(pid: Pids) -> float:
    """Resident memory of ``pid`` and its descendants."""
    kib = 0
    for p in _tree(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        kib += int(line.split()[1])
        except OSError:
            pass
    return kib / 1024


# -- the run -------------------------------------------------------------------------------------
#: makes request ``i`` (a global call number) or returns None when a fixed-count run is done
RequestFn = Callable[[int], "bytes | None"]
CheckFn = Callable[[bytes], bool]


@dataclass
class Result:
    calls: int = 0
    errors: int = 0
    wall: float = 0.0
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    first_error: str = ""
    latencies: array.array = field(default_factory=lambda: array.array("d"), repr=False)

    @property
    def per_core_s(self) -> float:
        return self.calls / self.server_cpu if self.server_cpu > 0 else 0.0

    @property
    def per_s(self) -> float:
        return self.calls / self.wall if self.wall > 0 else 0.0


async def _drive(
    ports: Sequence[int],
    make: RequestFn,
    check: CheckFn | None,
    index: int,
    nproc: int,
    conns: int,
    duration: float | None,
    start: Callable[[], None],
) -> dict:
    # several ports (the nodes of a cluster): connection k of worker i goes to node i + k
    pool = [Session(ports[(index + k) % len(ports)]) for k in range(conns)]
    for sess in pool:
        sess.conn = await Conn.open(sess.port)
    counter = iter(range(index, 1 << 62, nproc))
    lat = array.array("d")
    stats = {"calls": 0, "errors": 0, "first_error": ""}
    start()
    t0 = time.monotonic()
    stop_at = t0 + duration if duration else float("inf")
    perf = time.perf_counter

    async def loop(sess: Session) -> None:
        while True:
            req = make(next(counter))
            if req is None or time.monotonic() >= stop_at:
                return
            s = perf()
            try:
                status, body = await sess.call(req)
            except OSError as e:  # ConnectionError and friends
                stats["errors"] += 1
                stats["first_error"] = stats["first_error"] or repr(e)
                sess.close()
                continue
            lat.append(perf() - s)
            stats["calls"] += 1
            if status != 200 or (check is not None and not check(body)):
                stats["errors"] += 1
                if not stats["first_error"]:
                    stats["first_error"] = f"HTTP {status}: {body[:300].decode(errors='replace')}"

    # a stuck or very slow server must not hang the run: give in-flight calls 10 s, then give up
    tasks = [asyncio.ensure_future(loop(c)) for c in pool]
    _, pending = await asyncio.wait(tasks, timeout=duration + 10 if duration else 900)
    t1 = time.monotonic()
    if pending:
        t1 = min(t1, stop_at)
        for t in pending:
            t.cancel()
        stats["errors"] += len(pending)
        stats["first_error"] = stats["first_error"] or (
            f"{len(pending)} calls unanswered {10 if duration else 900} s after the end"
        )
    for c in pool:
        c.close()
    return {**stats, "t0": t0, "t1": t1, "lat": lat}


def _worker(
    ports: Sequence[int],
    make: RequestFn,
    check: CheckFn | None,
    index: int,
    nproc: int,
    conns: int,
    duration: float | None,
    barrier,
    out,
) -> None:
    import uvloop

    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    try:
        res = uvloop.run(_drive(ports, make, check, index, nproc, conns, duration, barrier.wait))
    except BaseException as e:  # report instead of hanging the parent
        try:
            barrier.abort()
        except Exception:
            pass
        res = {
            "calls": 0,
            "errors": 1,
            "first_error": f"client failed: {e!r}",
            "t0": 0.0,
            "t1": 0.0,
            "lat": array.array("d"),
        }
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    res["cpu"] = (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)
    out.put(res)


def run(
    port: int | Sequence[int],
    server_pid: Pids,
    make: RequestFn,
    *,
    duration: float | None = None,
    check: CheckFn | None = None,
    processes: int = 2,
    conns: int = 16,
) -> Result:
    """Drive ``make``'d requests for ``duration`` seconds (or until ``make`` returns None),
    spread over ``port`` if several; the server CPU is ``server_pid``'s (each tree summed)."""
    ports = [port] if isinstance(port, int) else list(port)
    ctx = mp.get_context("fork")  # args are inherited, not pickled: closures are fine
    barrier = ctx.Barrier(processes + 1)
    out = ctx.Queue()
    procs = [
        ctx.Process(
            target=_worker,
            args=(ports, make, check, i, processes, conns, duration, barrier, out),
            daemon=True,
        )
        for i in range(processes)
    ]
    for p in procs:
        p.start()
    try:
        barrier.wait(timeout=30)
    except Exception:
        pass
    cpu0 = cpu_seconds(server_pid)
    try:
        parts = [out.get(timeout=duration + 60 if duration else 960) for _ in procs]
    except queue.Empty:
        raise TimeoutError("load generator got no answer in time (server stuck?)") from None
    finally:
        cpu1 = cpu_seconds(server_pid)
        for p in procs:
            p.join(timeout=5)
            if p.is_alive():
                p.kill()
    r = Result(server_cpu=cpu1 - cpu0)
    for part in parts:
        r.calls += part["calls"]
        r.errors += part["errors"]
        r.client_cpu += part["cpu"]
        r.first_error = r.first_error or part["first_error"]
        r.latencies.extend(part["lat"])
    started = [p for p in parts if p["t1"] > 0]
    if started:
        r.wall = max(p["t1"] for p in started) - min(p["t0"] for p in started)
    if r.latencies:
        s = sorted(r.latencies)
        r.p50_ms = s[len(s) // 2] * 1000
        r.p99_ms = s[min(len(s) - 1, int(len(s) * 0.99))] * 1000
    r.latencies = array.array("d")
    return r
