"""Scaling curves: what GetItem, Query and PutItem cost as a table grows, and after a restart.

A store whose reads collapse at a million items, or whose tuned options silently fall back to
the engine's defaults when it reopens a data dir, passes every small benchmark. This phase grows
one table through the sizes asked for (BatchWriteItem, 100 items per partition), measures each
workload at each size (PutItem also with the table streaming its changes to Kinesis, on servers
with Kinesis: the destination is enabled for that workload only), then restarts the server on its
data dir and measures the largest size again. Rows are named ``scale:<workload>@<size>``; :mod:`report` renders them as a table.
"""

from __future__ import annotations

import statistics
import time

import loadgen
import peers
import workloads as wl

WORKLOADS = ("GetItem", "Query", "PutItem")
#: seconds a server may take to answer again after reopening the grown table (dynalite's
#: LevelDB at 1M items took over 90 s on a loaded 2-core machine)
RESTART_TIMEOUT = 300.0
#: PutItem into the table while it has a Kinesis destination (servers with Kinesis)
CAPTURED = "PutItem with capture"
#: the table of the smallest size that the largest is measured against, in turn
REFERENCE = b"scale-reference"
#: alternating runs per workload in that comparison (the median is kept)
PAIRED_ROUNDS = 3


def label(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 and n % 1_000_000 == 0 else f"{n // 1000}k"


def _grow(ctx: wl.Ctx, have: int, want: int, table: bytes = b"scale") -> None:
    """Load items ``have`` .. ``want`` - 1 into *table* (25 per BatchWriteItem)."""
    batches = (want - have) // 25
    no_unprocessed = wl._matches(rb'"UnprocessedItems"\s*:\s*\{\s*\}')
    t0 = time.perf_counter()

    def body(i: int) -> bytes:  # calls 0 .. batches - 2, then the probe (a huge i) loads the last
        first = have + min(i, batches - 1) * 25
        return wl.bwi_body(table, [wl.item(*wl.part_key(first + j), i) for j in range(25)])

    m = ctx.load("dynamodb", "BatchWriteItem", body, count=batches - 1, check=no_unprocessed)
    if m.value is None or m.errors:
        raise RuntimeError(f"loading items {have}..{want} failed: {m.na or m.first_error}")
    ctx.log(f"  {table.decode()}: {want:,} items ({time.perf_counter() - t0:.1f} s to load)")


def _put_item(ctx: wl.Ctx, size: int, salt: int, table: bytes = b"scale") -> wl.Metric:
    """Overwrites of loaded items: the table keeps its size while the old image is read."""
    return ctx.load(
        "dynamodb",
        "PutItem",
        lambda i: (
            b'{"TableName":"%s","Item":%s}' % (table, wl.item(*wl.part_key((i * 104729 + salt) % size), i))
        ),
        duration=ctx.sizes.duration,
    )


def _get_item(ctx: wl.Ctx, size: int, table: bytes = b"scale") -> wl.Metric:
    return ctx.load(
        "dynamodb",
        "GetItem",
        lambda i: (
            b'{"TableName":"%s","Key":{"pk":{"S":"%s"},"sk":{"N":"%d"}}}'
            % ((table,) + wl.part_key((i * 7919) % size))
        ),
        duration=ctx.sizes.duration,
        check=wl._matches(rb'"Item"'),
    )


def _query(ctx: wl.Ctx, size: int, table: bytes = b"scale") -> wl.Metric:
    parts = max(1, size // 100)
    return ctx.load(
        "dynamodb",
        "Query",
        lambda i: (
            b'{"TableName":"%s","KeyConditionExpression":"pk = :p","ExpressionAttributeValues":{":p":{"S":"p%06d"}},"Limit":10}'
            % (table, (i * 7919) % parts)
        ),
        duration=ctx.sizes.duration,
        check=wl._matches(rb'"Count"\s*:\s*10\b'),
    )


def _with_capture(ctx: wl.Ctx, size: int, stream_arn: str) -> wl.Metric:
    """PutItem while the table streams its changes to Kinesis (issue 15 item 6): the destination
    is enabled for this workload only, so growing the table captures nothing."""
    why = wl.set_destination(ctx, "scale", stream_arn, enabled=True)
    if why:
        return wl.Metric(unit="calls/core-s", na=why)
    m = _put_item(ctx, size, 7)
    why = wl.set_destination(ctx, "scale", stream_arn, enabled=False)
    if why:
        raise RuntimeError(why)
    return m


def _measure(ctx: wl.Ctx, size: int, tag: str, stream_arn: str) -> dict[str, wl.Metric]:
    """The workloads against a table of ``size`` items; row names end in ``@<tag>``."""
    rows = {"GetItem": _get_item(ctx, size), "Query": _query(ctx, size), "PutItem": _put_item(ctx, size, 0)}
    if stream_arn:
        rows[CAPTURED] = _with_capture(ctx, size, stream_arn)
    out = {f"scale:{k}@{tag}": m for k, m in rows.items()}
    out[f"scale:rss@{tag}"] = wl.Metric(loadgen.rss_mib(ctx.run.pid), "MiB")
    if ctx.run.peer.on_disk:
        out[f"scale:disk@{tag}"] = wl.Metric(peers.disk_mib(ctx.run.data_dir), "MiB")
    for k, m in out.items():
        if m.value is not None:
            ctx.log(f"  {k:24s} {m.value:>12,.1f} {m.unit}" + (f"  ERRORS {m.errors}" if m.errors else ""))
    return out


def _paired(ctx: wl.Ctx, small: int, large: int) -> dict[str, wl.Metric]:
    """Issue 15 item 0, drift cancelled: each workload on the reference table (``small`` items)
    and on the grown one (``large``) in turn, PAIRED_ROUNDS times in the same server process; a
    row ``flat:<workload>`` holds the median rate at ``large`` over the median at ``small``.

    The curve above measures each size once, minutes apart; on this VM one build's rate moves by
    up to a third between such moments (docs/performance.md "Cost as data grows"), more than the
    20% the target allows, so a ratio of two single runs says little."""
    runs = {
        "GetItem": _get_item,
        "Query": _query,
        "PutItem": lambda c, n, table: _put_item(c, n, 3, table),
    }
    rates: dict[str, tuple[list[float], list[float]]] = {w: ([], []) for w in runs}
    for _ in range(PAIRED_ROUNDS):
        for what, run in runs.items():
            for side, (table, size) in enumerate(((REFERENCE, small), (b"scale", large))):
                m = run(ctx, size, table=table)
                if m.value is None or m.errors:
                    return {
                        f"flat:{what}": wl.Metric(unit="x", na=m.na or wl.short(m.first_error or "errors"))
                    }
                rates[what][side].append(m.value)
    out = {}
    for what, (at_small, at_large) in rates.items():
        base, grown = statistics.median(at_small), statistics.median(at_large)
        out[f"flat:{what}"] = wl.Metric(
            grown / base,
            "x",
            note=f"median of {PAIRED_ROUNDS} alternating runs: {grown:,.0f} calls/core-s at {label(large)} "
            f"items vs {base:,.0f} at {label(small)} (each run: "
            + ", ".join(f"{b:,.0f}/{a:,.0f}" for a, b in zip(at_small, at_large))
            + ")",
        )
        ctx.log(f"  flat:{what:16s} {grown / base:.2f} ({out[f'flat:{what}'].note})")
    return out


def scaling_phase(ctx: wl.Ctx) -> dict[str, wl.Metric]:
    """Grow the table through ``ctx.sizes.scale``; measure at each size and after a restart;
    then the largest size against a reference table of the smallest, in turn (:func:`_paired`)."""
    wl.create_table(ctx, REFERENCE.decode())
    _grow(ctx, 0, ctx.sizes.scale[0], REFERENCE)
    wl.create_table(ctx, "scale")
    stream_arn = wl.create_stream(ctx, "scale-changes") if "kinesis" in ctx.run.peer.apis else ""
    rows: dict[str, wl.Metric] = {}
    have = 0
    for size in ctx.sizes.scale:
        _grow(ctx, have, size)
        have = size
        rows.update(_measure(ctx, size, label(size), stream_arn))
    if ctx.run.peer.on_disk:  # options and caches must hold when a data dir is reopened
        ctx.run = peers.restart(ctx.run)
        try:
            wl.wait_ready(ctx.run, RESTART_TIMEOUT)
        except RuntimeError as e:  # keep the sizes measured so far; the report lists the failure
            rows["_scale_restart"] = wl.Metric(na=wl.short(f"restart on {have:,} items: {e}", 300))
            return rows
        rows.update(_measure(ctx, have, label(have) + " restarted", stream_arn))
    if len(ctx.sizes.scale) > 1:
        rows.update(_paired(ctx, ctx.sizes.scale[0], have))
    return rows
