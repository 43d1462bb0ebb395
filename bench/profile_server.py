"""The whole request's cost in the server process: instructions (callgrind) and system calls
(strace) per GetItem / PutItem, HTTP parsing, the event loop and the socket included.

``bench/profile_capture.py`` counts the application alone (no sockets); this script starts a
real ``python -m tidestream serve`` under ``valgrind --tool=callgrind`` (or ``strace -c -f``),
loads a table through boto3, warms up, then counts only a window of N pre-signed requests sent
on keep-alive connections by this process (``bench/loadgen.py``'s client, one request in flight
per connection, as ``bench/run.py`` does). The window is cut with ``callgrind_control -z`` /
``-d`` (counters zeroed before, dumped after), so start-up, set-up and shutdown are not in it.

    python bench/profile_server.py getitem putitem               # instructions per call
    python bench/profile_server.py getitem --keep /tmp/cg        # also keep the dump to annotate
    python bench/profile_server.py getitem --strace              # system calls per call
    python bench/profile_server.py getitem --auth                # with --auth enforce (SigV4 checked)
    python bench/profile_server.py getitem --cprofile /tmp/prof  # cProfile of the window (pstats file)
    python bench/profile_server.py getitem --cpu --count 20000   # user and system CPU µs per call

Instruction counts of one build vary by ~1% between runs (the event loop's wake-ups depend on
timing); compare builds with the same --count and --conns. Durability is strict (the default),
but callgrind counts no kernel work: the fsync shows up in ``--strace`` only.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config as BotoConfig
from botocore.credentials import Credentials
from loadgen import Conn, build, header_prefix

ITEMS = 1000
DATA = "x" * 64
KEY = ("AKIDBENCHMARK", "benchmark-secret", "123456789012")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_ready(port: int, proc: subprocess.Popen, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                s.sendall(b"GET /_tidestream/health HTTP/1.1\r\nHost: x\r\n\r\n")
                if s.recv(100).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("server did not answer")


def _client(port: int):
    return boto3.client(
        "dynamodb",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id=KEY[0],
        aws_secret_access_key=KEY[1],
        config=BotoConfig(retries={"total_max_attempts": 1}, read_timeout=600, connect_timeout=60),
    )


def _set_up(port: int) -> None:
    """The bench's table (pk S, sk N) with ITEMS items of bench/workloads.py's shape."""
    ddb = _client(port)
    ddb.create_table(
        TableName="bench",
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
        ],
    )
    for start in range(0, ITEMS, 25):
        ddb.batch_write_item(
            RequestItems={"bench": [{"PutRequest": {"Item": _item(k)}} for k in range(start, start + 25)]}
        )


def _item(k: int) -> dict:
    return {
        "pk": {"S": "p%06d" % (k // 10)},
        "sk": {"N": str(k % 10)},
        "n": {"N": str(k)},
        "data": {"S": DATA},
    }


#: scenario -> (operation, the status every answer must have)
SCENARIOS = {"getitem": ("GetItem", 200), "putitem": ("PutItem", 200), "unknown": ("NoSuchOperation", 400)}


def _bodies(name: str) -> Callable[[int], bytes]:
    if name in ("getitem", "unknown"):
        return lambda i: (
            b'{"TableName":"bench","Key":{"pk":{"S":"p%06d"},"sk":{"N":"%d"}}}'
            % ((i * 7919) % ITEMS // 10, i % 10)
        )
    return lambda i: (
        b'{"TableName":"bench","Item":{"pk":{"S":"w%06d"},"sk":{"N":"%d"},"n":{"N":"%d"},"data":{"S":"%s"}}}'
        % (i % 50_000, i % 7, i, DATA.encode())
    )


def _drive(port: int, name: str, count: int, conns: int, first: int, signed: bool = False) -> None:
    """``count`` calls on ``conns`` keep-alive connections, one in flight on each. ``signed``:
    each request signed for its own body (``--auth enforce`` checks it), made before the calls."""
    operation, expected = SCENARIOS[name]
    body = _bodies(name)
    if signed:
        requests = [_signed_request(operation, body(i), port) for i in range(first, first + count)]
    else:
        prefix = header_prefix("dynamodb", operation, port)
        requests = [build(prefix, body(i)) for i in range(first, first + count)]

    async def run() -> None:
        pool = [await Conn.open(port) for _ in range(conns)]
        pending = iter(requests)

        async def loop(conn: Conn) -> None:
            for request in pending:
                status, resp = await conn.call(request)
                if status != expected:
                    raise RuntimeError(f"HTTP {status}: {resp[:300]!r}")

        await asyncio.gather(*(loop(c) for c in pool))
        for c in pool:
            c.close()

    asyncio.run(run())


def _signed_request(operation: str, body: bytes, port: int) -> bytes:
    """A request signed with KEY for exactly this body, as a real SDK sends it."""
    req = AWSRequest(
        "POST",
        f"http://127.0.0.1:{port}/",
        data=body,
        headers={
            "X-Amz-Target": f"DynamoDB_20120810.{operation}",
            "Content-Type": "application/x-amz-json-1.0",
        },
    )
    SigV4Auth(Credentials(KEY[0], KEY[1]), "dynamodb", "us-east-1").add_auth(req)
    lines = [b"POST / HTTP/1.1", b"Host: 127.0.0.1:%d" % port]
    lines += [
        f"{k}: {v}".encode() for k, v in req.headers.items() if k.lower() not in ("content-length", "host")
    ]
    return b"\r\n".join(lines) + b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body


def _credentials_file(tmp: str) -> str:
    path = os.path.join(tmp, "credentials")
    with open(path, "w") as f:
        f.write(" ".join(KEY) + "\n")
    return path


def measure(name: str, args: argparse.Namespace) -> str:
    """Start a server, set it up, warm it up, then measure one window of calls as *args* say."""
    with tempfile.TemporaryDirectory(prefix="tidestream-profile-server-") as tmp:
        port = _free_port()
        cmd = [sys.executable, "-m", "tidestream", "serve", "--port", str(port), "--data-dir", f"{tmp}/data"]
        if args.auth:
            cmd += ["--auth", "enforce", "--credentials", _credentials_file(tmp)]
        if args.cprofile:
            cmd[1:3] = [os.path.abspath(__file__), "--serve-profiled", f"{args.cprofile}.{name}"]
        elif not (args.strace or args.cpu):  # strace attaches after set-up: only the window counts
            cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/callgrind.out", *cmd]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            _wait_ready(port, proc)
            _set_up(port)
            _drive(port, name, args.warmup, args.conns, first=10**6, signed=args.auth)
            window = (
                _strace
                if args.strace
                else _cpu_window
                if args.cpu
                else _cprofile
                if args.cprofile
                else _callgrind
            )
            return window(name, args, proc.pid, port, tmp)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                proc.kill()


def _callgrind(name: str, args: argparse.Namespace, pid: int, port: int, tmp: str) -> str:
    subprocess.run(["callgrind_control", "-z", str(pid)], check=True, capture_output=True)
    _drive(port, name, args.count, args.conns, first=0, signed=args.auth)
    subprocess.run(["callgrind_control", "-d", "window", str(pid)], check=True, capture_output=True)
    dumps = sorted(p for p in os.listdir(tmp) if p.startswith("callgrind.out") and p != "callgrind.out")
    window = _window_dump(tmp, dumps)
    if args.keep:
        shutil.copy(window, f"{args.keep}.{name}")
    per = _total(window) / args.count
    return f"{name}: {per:,.0f} instructions per call ({args.count} calls, {args.conns} connections)"


def _strace(name: str, args: argparse.Namespace, pid: int, port: int, tmp: str) -> str:
    trace = os.path.join(tmp, "strace.txt")
    tracer = subprocess.Popen(["strace", "-f", "-c", "-o", trace, "-p", str(pid)], stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    _drive(port, name, args.count, args.conns, first=0, signed=args.auth)
    tracer.send_signal(signal.SIGINT)
    tracer.wait()
    return _strace_summary(name, trace, args.count)


def _cpu_window(name: str, args: argparse.Namespace, pid: int, port: int, tmp: str) -> str:
    before = _cpu(pid)
    _drive(port, name, args.count, args.conns, first=0, signed=args.auth)
    user, system = (b - a for a, b in zip(before, _cpu(pid)))
    per = 1e6 / args.count
    return (
        f"{name}: {user * per:.1f} µs user + {system * per:.1f} µs system = "
        f"{(user + system) * per:.1f} µs server CPU per call ({args.count} calls, "
        f"{args.count / (user + system):,.0f} calls per core-second)"
    )


def _cprofile(name: str, args: argparse.Namespace, pid: int, port: int, tmp: str) -> str:
    os.kill(pid, signal.SIGUSR1)
    _drive(port, name, args.count, args.conns, first=0, signed=args.auth)
    os.kill(pid, signal.SIGUSR2)
    time.sleep(1.0)
    return f"{name}: cProfile of {args.count} calls in {args.cprofile}.{name}"


def _cpu(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of process ``pid`` (all its threads)."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        fields = f.read().rsplit(b")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def _window_dump(tmp: str, names: list[str]) -> str:
    for name in names:
        path = os.path.join(tmp, name)
        with open(path, errors="replace") as f:
            head = f.read(4096)
        if "window" in head:
            return path
    raise RuntimeError(f"no dump of the measured window among {names}")


def _total(path: str) -> int:
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith("summary:") or line.startswith("totals:"):
                return int(line.split()[1])
    raise RuntimeError(f"no totals in {path}")


def _strace_summary(name: str, path: str, count: int) -> str:
    lines = [f"{name}: system calls per call ({count} calls)"]
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 5 and parts[3].isdigit() and not line.startswith("100.00"):
                calls, syscall = int(parts[3]), parts[-1]
                if calls / count >= 0.01:
                    lines.append(f"  {syscall:<16} {calls / count:6.2f}")
            elif line.startswith("100.00"):
                lines.append(f"  {'total':<16} {int(parts[3]) / count:6.2f}")
    return "\n".join(lines)


def _serve_profiled(out: str, argv: list[str]) -> None:
    """Run the server with cProfile switched on by SIGUSR1 and off (and saved) by SIGUSR2."""
    import cProfile
    import runpy

    profiler = cProfile.Profile()
    signal.signal(signal.SIGUSR1, lambda *_: profiler.enable())
    signal.signal(signal.SIGUSR2, lambda *_: (profiler.disable(), profiler.dump_stats(out)))
    sys.argv = ["tidestream", *argv]
    runpy.run_module("tidestream", run_name="__main__")


def main() -> None:
    if sys.argv[1:2] == ["--serve-profiled"]:
        _serve_profiled(sys.argv[2], sys.argv[3:])
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "scenarios",
        nargs="*",
        default=["getitem", "putitem"],
        help="getitem, putitem, unknown (an unknown operation: the HTTP floor)",
    )
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--conns", type=int, default=8)
    parser.add_argument("--strace", action="store_true", help="system calls per call instead of instructions")
    parser.add_argument("--auth", action="store_true", help="serve with --auth enforce (signatures checked)")
    parser.add_argument("--cpu", action="store_true", help="user and system CPU time per call")
    parser.add_argument("--cprofile", help="save a cProfile of the window to CPROFILE.<scenario>")
    parser.add_argument("--keep", help="copy the window's callgrind dump to KEEP.<scenario>")
    args = parser.parse_args()
    for name in args.scenarios:
        if name not in SCENARIOS:
            parser.error(f"unknown scenario {name}")
        print(measure(name, args), flush=True)


if __name__ == "__main__":
    main()
