"""Retention: records older than the stream's retention period disappear.

Reads already skip expired records (see :func:`records.read_page`); this background task makes
the space come back and moves the trim horizon: one ``delete_range`` per shard up to the first
record still inside the window, and closed shards whose whole life is past the window are
dropped from the stream, as AWS does. Streams whose deletion time has come are purged here too.
"""

from __future__ import annotations

import asyncio
import logging

from ..storage.engine import StorageError, StorageTrouble, WriteConflict
from . import records

log = logging.getLogger("tidestream.kinesis")


def trim(state) -> int:
    """One retention pass over every stream; returns the number of shards trimmed or dropped."""
    now = state.now_ms()
    engine = state.engine
    done = 0
    for stream in state.catalog:
        if state.settle(stream) is None:
            continue
        cutoff = now - stream.retention_hours * 3_600_000
        dropped = False
        for shard in list(stream.shards.values()):
            prefix = records.shard_prefix(stream.id, shard.index)
            if shard.closed_ms is not None and shard.closed_ms < cutoff:
                end = (int.from_bytes(prefix, "big") + 1).to_bytes(len(prefix), "big")
                engine.delete_range(prefix, end)
                del stream.shards[shard.index]
                dropped = True
                done += 1
                continue
            first = records.first_counter(engine, prefix)
            if first is None or first[1] >= cutoff:
                continue
            cell = state.counters.get((stream.id, shard.index), [0, 0])
            last = cell[0]
            keep = records.counter_at_time(engine, prefix, last, cutoff)
            if state.shared is None and keep > last:  # every record goes: the row must say where
                engine.write([(records.counter_key(stream.id, shard.index), records.encode_counter(*cell))])
            engine.delete_range(prefix + first[0].to_bytes(8, "big"), prefix + keep.to_bytes(8, "big"))
            done += 1
        if dropped:
            stream.rebuild_router()
            state.save(stream)
    return done


async def retention_loop(state, stopping: asyncio.Event) -> None:
    """Run :func:`trim` every ``state.retention_interval`` seconds until the server stops."""
    trouble = StorageTrouble(log, "kinesis retention pass")
    while not stopping.is_set():
        try:
            trim(state)
            trouble.ok()
        except StorageError as err:  # a full disk or corruption: retried next interval
            trouble.failed(err)
        except WriteConflict:  # cluster: a stream changed on another node; reloaded, next pass
            pass
        except Exception:  # keep serving; a failed pass is retried next interval
            log.exception("kinesis retention pass failed")
        try:
            await asyncio.wait_for(stopping.wait(), state.retention_interval)
        except TimeoutError:
            pass
