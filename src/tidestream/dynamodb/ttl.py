"""The TTL sweeper: deletes items whose TTL attribute (epoch seconds) has passed.

AWS deletes expired items within days; developers testing TTL want seconds, so the sweep runs
every ``--ttl-interval`` seconds. Expiry is an ordinary delete through the item store, marked
``by_ttl`` so change capture labels it as done by the DynamoDB service.
"""

from __future__ import annotations

import asyncio
import logging
import time
from decimal import Decimal, InvalidOperation

from ..storage.engine import StorageError, StorageTrouble
from .itemstore import Change
from .state import DynamoState

log = logging.getLogger("tidestream.ttl")
BATCH = 500


def expired(item: dict, attribute: str, now: float) -> bool:
    av = item.get(attribute)
    if av is None or "N" not in av:
        return False  # TTL applies only to numbers
    try:
        return Decimal(av["N"]) <= Decimal(now)
    except InvalidOperation:
        return False


def sweep_once(state: DynamoState, now: float | None = None) -> int:
    """Delete expired items of every table with TTL enabled; returns how many."""
    now = time.time() if now is None else now
    total = 0
    for t in state.catalog.all():
        if t.ttl_status != "ENABLED" or not t.ttl_attribute:
            continue
        start, end = state.items.table_bounds(t)
        batch: list[Change] = []
        for key, item in state.items.scan_range(start, end):
            if expired(item, t.ttl_attribute, now):
                batch.append(Change(t, key, item, None, by_ttl=True))
                if len(batch) >= BATCH:
                    state.items.commit(batch, now)
                    total += len(batch)
                    batch = []
        if batch:
            state.items.commit(batch, now)
            total += len(batch)
    return total


async def sweeper(state: DynamoState, stopping: asyncio.Event) -> None:
    trouble = StorageTrouble(log, "TTL sweep")
    while not stopping.is_set():
        try:
            await asyncio.wait_for(stopping.wait(), timeout=state.settings.ttl_interval)
            return
        except TimeoutError:
            pass
        try:
            n = sweep_once(state)
            if n:
                await state.engine.durable()
                log.debug("TTL expired %d items", n)
            trouble.ok()
        except StorageError as err:  # a full disk or corruption: the next sweep retries
            trouble.failed(err)
        except Exception:  # keep sweeping; a bad item must not stop TTL for everyone
            log.exception("TTL sweep failed")
