"""Point-in-time history: written only for PITR tables, pruned to the recovery period."""

from __future__ import annotations

import asyncio
import time

from tidestream.dynamodb import pitr
from tidestream.dynamodb.itemstore import Change
from tidestream.dynamodb.state import DynamoState
from tidestream.dynamodb.tables import Table
from tidestream.storage.engine import RocksEngine


def _history(engine) -> list[bytes]:
    return [k for k, _ in engine.scan(pitr.PITR_LOG, pitr.PITR_LOG + b"\xff")]


def _table(state: DynamoState, name: str, **kw) -> Table:
    t = Table(
        account="000000000000",
        region="us-east-1",
        name=name,
        uid=state.catalog.new_uid(),
        table_id=name,
        key_schema=[("pk", "HASH")],
        attribute_types={"pk": "S"},
        attribute_order=["pk"],
        created=0.0,
        **kw,
    )
    state.catalog.put(t)
    return t


def test_history_only_for_pitr_tables_and_pruned_by_the_pruner():
    engine = RocksEngine(None, in_memory=True)
    state = DynamoState(engine)
    plain = _table(state, "plain")
    kept = _table(state, "kept", pitr=True, pitr_enabled_at=0.0, pitr_days=1)
    item = {"pk": {"S": "a"}}
    now = time.time()
    state.items.commit([Change(plain, state.items.item_key(plain, item), None, item)], now)
    assert _history(engine) == []
    state.items.commit([Change(kept, state.items.item_key(kept, item), None, item)], now - 2 * pitr.DAY)
    state.items.commit([Change(kept, state.items.item_key(kept, item), item, None)], now)
    assert len(_history(engine)) == 2

    async def run_pruner() -> None:
        stopping = asyncio.Event()
        task = asyncio.ensure_future(pitr.pruner(state, stopping, interval=0.01))
        while len(_history(engine)) == 2:
            await asyncio.sleep(0.01)
        stopping.set()
        await task

    asyncio.run(asyncio.wait_for(run_pruner(), 10))
    assert len(_history(engine)) == 1  # only the change inside the 1-day window is left
    assert list(pitr.items_at(state.items, kept, now - 1)) == [item]
    assert list(pitr.items_at(state.items, kept, now)) == []
