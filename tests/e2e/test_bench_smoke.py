"""Keeps bench/ working: the 10-second smoke of the benchmark harness, tidestream only."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_smoke_runs_clean():
    r = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--smoke"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    report = (ROOT / "bench" / "results" / "raw" / "smoke.md").read_text()
    assert "| GetItem | calls/core-s |" in report
    # the lambda phase: one mapping's throughput and PutItem ack -> invocation latency
    assert "| Lambda mapping: records through one mapping | records/s |" in report
    assert "| Lambda mapping latency, PutItem ack -> invocation (p50 / p99) | ms |" in report
    # the scaling phase grew a table, restarted the server on its data dir and measured again
    assert "### Scaling: tidestream" in report
    assert "| Workload | 2k | 5k | 5k restarted |" in report
