"""Single-leader background work: which node runs a job (TTL sweeps, retention trims, the change
publisher, Lambda event source mappings) when several nodes share one database.

Why here: a job that two nodes run at once does its work twice (two TTL sweeps delete and
capture the same item twice; two publishers append a change twice). The database elects the
leader, so nodes need no protocol of their own: PostgreSQL in ``--cluster`` mode hands out a
session advisory lock per job name (``PostgresEngine.leases``), which PostgreSQL frees when the
holder's session ends, also when its node is killed; the others retry every
:data:`LEASE_RETRY` seconds and one of them takes over. RocksDB (one process per data dir) and
one PostgreSQL node without ``--cluster`` always lead: :class:`SoleLeader`, no cost.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

log = logging.getLogger("tidestream.leases")

#: seconds between a follower's attempts to take a job, and between a leader's checks that it
#: still holds it (its database session may have been cut)
LEASE_RETRY = 1.0


class Leases(Protocol):
    """Answers whether this node runs a job now; cheap enough to ask once per pass."""

    def leads(self, job: str) -> bool: ...


class SoleLeader:
    """The only node: it leads every job."""

    def leads(self, job: str) -> bool:
        return True


def leases_for(engine: Any) -> Leases:
    """The engine's elections when it is shared by several nodes, else :class:`SoleLeader`."""
    make = getattr(engine, "leases", None)
    if make is None or not getattr(engine, "cluster", False):
        return SoleLeader()
    return make()


async def while_leading(
    leases: Leases, job: str, run: Callable[[asyncio.Event], Awaitable[Any]], stopping: asyncio.Event
) -> None:
    """Run ``run(stopping)`` only while this node leads ``job``: started when the lease is
    taken, cancelled when it is lost (another node has it then), started again when taken back.
    The only leader runs it directly."""
    if isinstance(leases, SoleLeader):
        await run(stopping)
        return
    while not stopping.is_set():
        if not leases.leads(job):
            await _pause(stopping, LEASE_RETRY)
            continue
        log.info("this node now runs %s", job)
        task = asyncio.ensure_future(run(stopping))
        try:
            while not stopping.is_set() and not task.done():
                await _pause(stopping, LEASE_RETRY, task)
                if not leases.leads(job):
                    log.warning("this node lost the lease of %s; another node runs it", job)
                    break
        finally:  # also when this task is cancelled (the server stops): the job goes with it
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def _pause(stopping: asyncio.Event, seconds: float, task: asyncio.Future | None = None) -> None:
    """Sleep ``seconds``, or less if the server stops (or ``task`` ends)."""
    waits = [asyncio.ensure_future(stopping.wait())]
    if task is not None:
        waits.append(task)  # type: ignore[arg-type]
    try:
        await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waits[0].cancel()
