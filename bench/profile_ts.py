"""Sample tidestream under PutItem and GetItem load with py-spy: flame graphs + top functions."""

from __future__ import annotations

import collections
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import peers
import workloads as wl


def _py_spy() -> str:
    exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(exe).exists():
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "py-spy"], check=True)
    return exe


def top_functions(collapsed: Path, n: int = 10) -> list[tuple[str, float, float]]:
    """(function, self %, total %) from py-spy's collapsed stacks, by self time."""
    own: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    samples = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        c = int(count)
        # frames look like "func (path/to/file.py:123)": drop the line, keep package-relative path
        frames = [_name(f) for f in stack.split(";")]
        frames = [f for f in frames if f]
        if not frames:
            continue
        samples += c
        own[frames[-1]] += c
        for f in set(frames):
            total[f] += c
    return [(f, 100 * c / samples, 100 * total[f] / samples) for f, c in own.most_common(n)]


def _name(frame: str) -> str:
    if frame.startswith("process ") or frame.startswith("thread "):
        return ""
    func, _, where = frame.partition(" (")
    where = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "src/", "lib/python3."):
        if marker in where:
            where = where.split(marker, 1)[1]
            if marker == "lib/python3.":
                where = where.split("/", 1)[-1]
            break
    return f"{func} ({where})"


def profile(sizes: wl.Sizes, scratch: Path, out: Path, log, seconds: float = 8.0) -> dict:
    """Run PutItem and GetItem against a fresh tidestream under py-spy; writes *.svg to ``out``."""
    log("== profiling tidestream with py-spy")
    exe = _py_spy()
    run = peers.start(peers.PEERS["tidestream"], scratch)
    tops: dict[str, list] = {}
    try:
        wl.wait_ready(run)
        ctx = wl.Ctx(run, wl.Sizes(items=20_000, processes=sizes.processes, conns=sizes.conns), log)
        wl.create_table(ctx, "bench")
        ctx.load(
            "dynamodb",
            "BatchWriteItem",
            lambda i: wl.bwi_body(
                b"bench", [wl.item(*wl.part_key((i * 25 + j) % 20_000), i) for j in range(25)]
            ),
            count=800,
        )
        ops = {
            "PutItem": lambda i: b'{"TableName":"bench","Item":%s}' % wl.item(b"w%d" % i, 0, i),
            "GetItem": lambda i: (
                b'{"TableName":"bench","Key":{"pk":{"S":"%s"},"sk":{"N":"%d"}}}'
                % wl.part_key((i * 7919) % 20_000)
            ),
        }
        out.mkdir(parents=True, exist_ok=True)
        for op, body in ops.items():
            raw = scratch / f"{op}.txt"
            svg = out / f"{op.lower()}.svg"
            # top functions: only samples holding the GIL (= Python on CPU); flame graph: all
            spies = [
                subprocess.Popen(
                    [
                        exe,
                        "record",
                        "--pid",
                        str(run.pid),
                        "--nonblocking",
                        "--rate",
                        "250",
                        "--format",
                        fmt,
                        "-o",
                        str(path),
                        *extra,
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                )
                for fmt, path, extra in (("raw", raw, ["--gil"]), ("flamegraph", svg, []))
            ]
            time.sleep(1.0)
            m = ctx.load("dynamodb", op, body, duration=seconds)
            for s in spies:
                s.send_signal(signal.SIGINT)
            for s in spies:
                _, err = s.communicate(timeout=30)
                if s.returncode not in (0, -2, 130) and not raw.exists():
                    raise RuntimeError(f"py-spy failed: {err.decode(errors='replace')[-300:]}")
            tops[op] = top_functions(raw)
            log(f"  {op}: {m.per_s:,.0f} calls/s under the profiler; flame graph {svg.name}")
    except Exception as e:  # noqa: BLE001 - the profile is a bonus, not a reason to fail the run
        log(f"  profiling failed: {e!r}")
        return {"top": tops, "error": str(e)[:300]}
    finally:
        run.stop()
    return {
        "top": tops,
        "how": (
            f"py-spy {_version(exe)} sampling the server at 250 Hz (non-blocking) for {seconds:g} s of "
            "each workload (2 × 16 connections), counting only samples that hold the GIL, i.e. "
            "Python on CPU (C code called with the GIL held, e.g. a RocksDB get, is charged to the "
            "Python function that called it; `Runner.run` self time is uvloop's C event loop: "
            "socket I/O and callbacks). *self %* = share of samples with the function on top of the "
            "stack, *total %* = anywhere on the stack. Flame graphs of all threads (fsync waits "
            "included): [putitem.svg](putitem.svg), [getitem.svg](getitem.svg)."
        ),
    }


def _version(exe: str) -> str:
    try:
        return subprocess.run([exe, "--version"], capture_output=True, text=True).stdout.split()[-1]
    except (OSError, IndexError):
        return ""
