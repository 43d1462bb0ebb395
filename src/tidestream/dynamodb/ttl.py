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

from ..storage.engine import StorageError, StorageTrouble, TableChanged, WriteConflict
from .itemstore import Change, ItemStore
from .state import DynamoState
from .writes import ATTEMPTS

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
                    total += expire(state.items, batch, now)
                    batch = []
        if batch:
            total += expire(state.items, batch, now)
    return total


def expire(items: ItemStore, batch: list[Change], now: float) -> int:
    """Delete a batch of expired items; returns how many. In cluster mode only those still as
    read: an item another node changed since the scan (given a later TTL, say) is left for the
    next sweep to judge again, and the rest are deleted without it."""
    if items.write_checked is None:
        items.commit(batch, now)
        return len(batch)
    for _ in range(ATTEMPTS):
        try:
            items.commit(batch, now, reads=[(ch.key, ch.old) for ch in batch])
            return len(batch)
        except WriteConflict as conflict:
            if isinstance(conflict, TableChanged) and conflict.gone:
                return 0  # dropped by another node meanwhile
            changed = set(conflict.keys or ())  # unknown (a deadlock): try the same batch again
            batch = [ch for ch in batch if ch.key not in changed]
            if not batch:
                return 0
    return 0


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
