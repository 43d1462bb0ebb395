"""Backups, point-in-time restores, index backfills and DeleteTable across three ``--cluster``
nodes on one real PostgreSQL, boto3 clients bound to different nodes.

A node hears of another node's table change by a notification that comes milliseconds after
that node answered; these tests widen that moment on purpose: :func:`deafen` cuts every node's
notification listener, so for about a second (the listener's retry) no node hears of a change,
and a node's next write is made with the table as it knew it. Every check is made from what
the clients were told and from what the tables hold, never from a node's own view.
"""

from __future__ import annotations

import struct
import threading
import time
from datetime import UTC, datetime

import psycopg
import pytest
from botocore.exceptions import ClientError

from tests.conftest import ServerProcess, make_table
from tests.e2e.test_postgres_cluster import (
    NODES,
    database,  # noqa: F401 - a fixture
    eventually,
    nodes,  # noqa: F401 - a fixture
)
from tidestream.storage.keyspace import ITEMS, PITR_LOG

LISTENERS = (
    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query = 'LISTEN tidestream_meta'"
)
#: history rows put before a table's own history, so its range delete takes several batches
#: (storage/postgres.py DELETE_BATCH is 2,000)
FILLER_HISTORY = 2500


def deafen(dsn: str) -> None:
    """Cut every node's notification listener (the nodes reconnect and reload their caches
    about a second later): a change made now is not heard of by the other nodes meanwhile."""
    with psycopg.connect(dsn, autocommit=True) as db:
        eventually(lambda: len(db.execute(LISTENERS).fetchall()) == NODES, "every node listens")
        pids = [pid for (pid,) in db.execute(LISTENERS).fetchall()]
        for pid in pids:
            db.execute("SELECT pg_terminate_backend(%s)", (pid,))
        eventually(
            lambda: not db.execute("SELECT 1 FROM pg_stat_activity WHERE pid = ANY(%s)", (pids,)).fetchall(),
            "the listeners are gone",
        )


def code(err: pytest.ExceptionInfo) -> str:
    return err.value.response["Error"]["Code"]


def indexed_table(ddb, name: str, items: int = 0) -> None:
    make_table(
        ddb,
        name,
        extra_attributes=[("g", "S")],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "byg",
                "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    for i in range(items):
        ddb.put_item(TableName=name, Item={"pk": {"S": f"p{i}"}, "g": {"S": "even" if i % 2 == 0 else "odd"}})


def contents(ddb, table: str) -> dict[str, str]:
    items = ddb.scan(TableName=table, ConsistentRead=True)["Items"]
    return {i["pk"]["S"]: i["v"]["S"] for i in items}


# on-demand backups ------------------------------------------------------------------------------
def test_a_backup_made_on_one_node_is_listed_restored_and_deleted_through_the_others(
    nodes: list[ServerProcess],  # noqa: F811
):
    """CreateBackup on node 0; at once ListBackups and DescribeBackup on node 1, a restore on
    node 2 whose table is complete on every node (items, index, count), DeleteBackup on node 1
    and the backup gone on nodes 0 and 2 (before: each node listed the backups it had made)."""
    a, b, c = (node.client() for node in nodes)
    indexed_table(a, "orders", items=40)
    arn = a.create_backup(TableName="orders", BackupName="nightly")["BackupDetails"]["BackupArn"]
    assert [s["BackupArn"] for s in b.list_backups(TableName="orders")["BackupSummaries"]] == [arn]
    details = b.describe_backup(BackupArn=arn)["BackupDescription"]
    assert details["BackupDetails"]["BackupStatus"] == "AVAILABLE"
    assert details["SourceTableDetails"]["ItemCount"] == 40

    c.restore_table_from_backup(TargetTableName="copy", BackupArn=arn)
    for ddb in (a, b, c):
        assert ddb.scan(TableName="copy", ConsistentRead=True, Select="COUNT")["Count"] == 40
        table = ddb.describe_table(TableName="copy")["Table"]
        assert table["ItemCount"] == 40 and table["GlobalSecondaryIndexes"][0]["ItemCount"] == 40
        evens = ddb.query(
            TableName="copy",
            IndexName="byg",
            KeyConditionExpression="g = :g",
            ExpressionAttributeValues={":g": {"S": "even"}},
        )["Items"]
        assert len(evens) == 20

    b.delete_backup(BackupArn=arn)
    for ddb in (a, c):
        with pytest.raises(ClientError) as err:
            ddb.describe_backup(BackupArn=arn)
        assert code(err) == "BackupNotFoundException"
        assert ddb.list_backups()["BackupSummaries"] == []
        with pytest.raises(ClientError) as err:
            ddb.restore_table_from_backup(TargetTableName="again", BackupArn=arn)
        assert code(err) == "BackupNotFoundException"


# point-in-time recovery --------------------------------------------------------------------------
def test_a_restore_sees_history_written_through_nodes_that_had_not_heard_of_pitr(
    nodes: list[ServerProcess],  # noqa: F811
    database: str,  # noqa: F811
):
    """Continuous backups switched on through node 0 while the others hear of nothing; items
    overwritten at once through nodes 1 and 2; a restore to a moment before the overwrites
    (through node 2) has the old values (before: nodes 1 and 2 wrote no history, and the
    restore had the new values)."""
    a, b, c = (node.client() for node in nodes)
    make_table(a, "ledger")
    keys = [f"k{i}" for i in range(6)]
    for key in keys:
        a.put_item(TableName="ledger", Item={"pk": {"S": key}, "v": {"S": "before"}})
    for ddb in (b, c):  # both nodes know the table (without continuous backups)
        assert ddb.get_item(TableName="ledger", Key={"pk": {"S": "k0"}})["Item"]["v"]["S"] == "before"
    deafen(database)
    a.update_continuous_backups(
        TableName="ledger", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    time.sleep(0.01)
    moment = datetime.now(UTC)
    time.sleep(0.01)
    for n, key in enumerate(keys):
        (b, c)[n % 2].put_item(TableName="ledger", Item={"pk": {"S": key}, "v": {"S": "after"}})
    c.restore_table_to_point_in_time(SourceTableName="ledger", TargetTableName="then", RestoreDateTime=moment)
    for ddb in (a, b, c):
        assert contents(ddb, "then") == dict.fromkeys(keys, "before")
        assert contents(ddb, "ledger") == dict.fromkeys(keys, "after")


def table_prefix(dsn: str) -> bytes:
    """The table id of the only table with items (the 4 bytes after the items prefix)."""
    with psycopg.connect(dsn, autocommit=True) as db:
        uids = {
            row[0][1:5]
            for row in db.execute("SELECT k FROM tidestream_kv WHERE k >= %s AND k < %s", (ITEMS, b"\x02"))
        }
    assert len(uids) == 1
    return uids.pop()


def test_continuous_backups_off_and_on_keep_the_history_written_after(
    nodes: list[ServerProcess],  # noqa: F811
    database: str,  # noqa: F811
):
    """Continuous backups switched off and on again while the old history's range delete is
    still running (held here by a lock on its first rows): the history written after the new
    start stays, and a restore between two later writes has the first (before: the range delete
    took the whole table's history, the new included, and the restore had the second)."""
    a, b = nodes[0].client(), nodes[1].client()
    make_table(a, "flip")
    pitr = {"TableName": "flip"}
    a.update_continuous_backups(**pitr, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    for n in range(5):
        a.put_item(TableName="flip", Item={"pk": {"S": "x"}, "v": {"S": f"old{n}"}})
    history = PITR_LOG + table_prefix(database)
    with psycopg.connect(database, autocommit=True) as db:
        db.execute(  # very old entries, before any restorable moment
            "INSERT INTO tidestream_kv SELECT %s || int8send(i) || int8send(0), '\\x00' FROM generate_series(1, %s) AS i",
            (history, FILLER_HISTORY),
        )
    with psycopg.connect(database) as holder:  # one transaction, open until the block ends
        holder.execute(
            "SELECT 1 FROM tidestream_kv WHERE k >= %s AND k < %s FOR UPDATE",
            (history, history + struct.pack(">Q", FILLER_HISTORY + 1)),
        )
        a.update_continuous_backups(
            **pitr, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False}
        )
        a.update_continuous_backups(
            **pitr, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
        b.put_item(TableName="flip", Item={"pk": {"S": "x"}, "v": {"S": "first"}})
        time.sleep(0.01)
        moment = datetime.now(UTC)
        time.sleep(0.01)
        b.put_item(TableName="flip", Item={"pk": {"S": "x"}, "v": {"S": "second"}})
        holder.rollback()
    with psycopg.connect(database, autocommit=True) as db:
        eventually(
            lambda: (
                not db.execute("SELECT 1 FROM tidestream_meta WHERE name LIKE 'delete_range:%'").fetchall()
            ),
            "the old history's range delete is done",
        )
    a.restore_table_to_point_in_time(
        SourceTableName="flip", TargetTableName="between", RestoreDateTime=moment
    )
    assert contents(b, "between") == {"x": "first"}


# index backfill --------------------------------------------------------------------------------
def add_index_on_g(ddb, table: str) -> None:
    """UpdateTable adding GSI ``byg`` (hash key ``g``, a string): its backfill starts."""
    ddb.update_table(
        TableName=table,
        AttributeDefinitions=[{"AttributeName": "g", "AttributeType": "S"}],
        GlobalSecondaryIndexUpdates=[
            {
                "Create": {
                    "IndexName": "byg",
                    "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"},
                }
            }
        ],
    )


def test_an_index_added_while_other_nodes_write_leaves_none_of_their_items_out(
    nodes: list[ServerProcess],  # noqa: F811
    database: str,  # noqa: F811
):
    """Clients on nodes 1 and 2 put new items and overwrite and delete old ones while node 0
    adds a GSI (and the other nodes hear of it only a second later): the index then holds
    exactly the table's items (every one with the key attribute, with its current value), and
    every node counts them (before: items written through a node that did not know the index
    were left out of it)."""
    a = nodes[0].client()
    make_table(a, "grow")
    for i in range(300):
        a.put_item(TableName="grow", Item={"pk": {"S": f"old{i}"}, "g": {"S": f"g{i % 7}"}})
    adding = threading.Event()
    added = threading.Event()
    failures: list[BaseException] = []

    def write(node: ServerProcess, number: int) -> None:
        ddb = node.client()
        i = after = 0
        try:
            while after < 40:
                ddb.put_item(
                    TableName="grow", Item={"pk": {"S": f"new{number}-{i}"}, "g": {"S": f"w{i % 5}"}}
                )
                ddb.put_item(
                    TableName="grow", Item={"pk": {"S": f"old{(i * 7 + number) % 300}"}, "g": {"S": "moved"}}
                )
                if i % 3 == 0:
                    ddb.delete_item(TableName="grow", Key={"pk": {"S": f"old{(i * 11 + number) % 300}"}})
                i += 1
                if i == 5:
                    adding.set()
                after += added.is_set()
        except BaseException as exc:  # reported by the test
            failures.append(exc)

    writers = [threading.Thread(target=write, args=(node, n)) for n, node in enumerate(nodes[1:])]
    for thread in writers:
        thread.start()
    adding.wait(60)
    deafen(database)
    add_index_on_g(a, "grow")
    added.set()
    for thread in writers:
        thread.join()
    assert not failures, failures

    table = {i["pk"]["S"]: i["g"]["S"] for i in a.scan(TableName="grow", ConsistentRead=True)["Items"]}
    for ddb in (node.client() for node in nodes):
        index = ddb.scan(TableName="grow", IndexName="byg")["Items"]
        assert sorted((i["pk"]["S"], i["g"]["S"]) for i in index) == sorted(table.items())
        described = ddb.describe_table(TableName="grow")["Table"]
        assert described["GlobalSecondaryIndexes"][0]["ItemCount"] == len(table) == described["ItemCount"]


# DeleteTable -------------------------------------------------------------------------------------
def test_a_write_through_a_node_that_has_not_heard_of_delete_table_is_refused(
    nodes: list[ServerProcess],  # noqa: F811
    database: str,  # noqa: F811
):
    """Node 0 drops a table the other nodes have used, and they hear of it only a second later:
    their writes to it are answered ResourceNotFoundException, as AWS answers for a table that
    does not exist, and nothing lands in the dropped table's range (before: accepted, and
    written where no one reads again)."""
    a, b, c = (node.client() for node in nodes)
    make_table(a, "doomed")
    for n, ddb in enumerate((b, c)):
        ddb.put_item(TableName="doomed", Item={"pk": {"S": f"seen{n}"}})
    uid = table_prefix(database)
    deafen(database)
    a.delete_table(TableName="doomed")
    writes = [
        lambda ddb: ddb.put_item(TableName="doomed", Item={"pk": {"S": "late"}}),
        lambda ddb: ddb.update_item(
            TableName="doomed",
            Key={"pk": {"S": "seen0"}},
            UpdateExpression="SET v = :v",
            ExpressionAttributeValues={":v": {"N": "1"}},
        ),
        lambda ddb: ddb.delete_item(TableName="doomed", Key={"pk": {"S": "seen1"}}),
        lambda ddb: ddb.batch_write_item(
            RequestItems={"doomed": [{"PutRequest": {"Item": {"pk": {"S": "b"}}}}]}
        ),
    ]
    for ddb in (b, c):
        for write in writes:
            with pytest.raises(ClientError) as err:
                write(ddb)
            assert code(err) == "ResourceNotFoundException"
            assert err.value.response["Error"]["Message"] == "Requested resource not found"
    with psycopg.connect(database, autocommit=True) as db:
        eventually(
            lambda: (
                not db.execute("SELECT 1 FROM tidestream_meta WHERE name LIKE 'delete_range:%'").fetchall()
            ),
            "the dropped table's range delete is done",
        )
        left = db.execute(
            "SELECT count(*) FROM tidestream_kv WHERE k >= %s AND k < %s",
            (ITEMS + uid, ITEMS + struct.pack(">I", int.from_bytes(uid, "big") + 1)),
        ).fetchone()
    assert left == (0,)


def test_a_put_through_a_node_that_has_not_heard_of_a_new_index_is_checked_against_it(
    nodes: list[ServerProcess],  # noqa: F811
    database: str,  # noqa: F811
):
    """Node 0 adds a GSI keyed on the string ``g``; nodes 1 and 2, not yet told, get a PutItem
    and a BatchWriteItem whose ``g`` is a number: refused with AWS's ValidationException, as
    a node that knew the index refuses them, and nothing written (before: written, and left out
    of the index)."""
    a, b, c = (node.client() for node in nodes)
    make_table(a, "typed")
    for ddb in (b, c):
        ddb.put_item(TableName="typed", Item={"pk": {"S": "known"}})
    deafen(database)
    add_index_on_g(a, "typed")
    wrong = {"pk": {"S": "wrong"}, "g": {"N": "1"}}
    with pytest.raises(ClientError) as err:
        b.put_item(TableName="typed", Item=wrong)
    assert code(err) == "ValidationException" and "Type mismatch for Index Key g" in str(err.value)
    with pytest.raises(ClientError) as err:
        c.batch_write_item(RequestItems={"typed": [{"PutRequest": {"Item": wrong}}]})
    assert code(err) == "ValidationException" and "Type mismatch for Index Key g" in str(err.value)
    assert "Item" not in a.get_item(TableName="typed", Key={"pk": {"S": "wrong"}}, ConsistentRead=True)
