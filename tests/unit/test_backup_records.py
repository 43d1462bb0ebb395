"""A backup a crash interrupted (record still CREATING) is removed with its partial copy at load."""

from __future__ import annotations

from tidestream.dynamodb.backups import BACKUP_ITEMS, BACKUP_META, Backups
from tidestream.dynamodb.itemstore import Change
from tidestream.dynamodb.state import DynamoState
from tidestream.dynamodb.tables import Table
from tidestream.storage.engine import RocksEngine


def test_interrupted_backup_is_dropped_at_load():
    engine = RocksEngine(None, in_memory=True)
    state = DynamoState(engine)
    t = Table(
        account="000000000000",
        region="us-east-1",
        name="tbl",
        uid=state.catalog.new_uid(),
        table_id="id",
        key_schema=[("pk", "HASH")],
        attribute_types={"pk": "S"},
        attribute_order=["pk"],
        created=0.0,
    )
    state.catalog.put(t)
    item = {"pk": {"S": "a"}}
    state.items.commit([Change(t, state.items.item_key(t, item), None, item)])
    done = state.backups.create(t, "done", 1.0)
    torn = state.backups.create(t, "torn", 2.0)
    torn.status = "CREATING"  # as if the server died between the copy and the final record
    state.backups._save(torn)
    reloaded = Backups(engine, state.catalog, state.items)
    assert list(reloaded.by_arn) == [done.arn]
    assert [k for k, _ in engine.scan(BACKUP_META, BACKUP_META + b"\xff")] == [
        BACKUP_META + done.arn.encode()
    ]
    assert len(list(engine.scan(BACKUP_ITEMS, BACKUP_ITEMS + b"\xff"))) == 1  # only done's item
    assert list(reloaded.stored_items(done)) == [item]
