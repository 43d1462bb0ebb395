"""DynamoDB across several ``--cluster`` nodes on one real PostgreSQL, beyond item writes:
ClientRequestTokens shared by the nodes, transactions that lose every race cancelled with
``TransactionConflict`` reasons, PartiQL transactions and TTL deletes through the checked
commit, TransactGetItems as one snapshot, and big range deletes done in batches while the node
serves. Three real nodes, boto3 clients spread over them; every check is made from what the
clients were told or from the database itself (an independent checker), never the node's view.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from botocore.exceptions import ClientError

from tests.conftest import ServerProcess, make_table, start_cluster
from tests.e2e.test_postgres_cluster import (
    ACCOUNTS,
    NODES,
    OPENING_BALANCE,
    database,  # noqa: F401 - a fixture
    eventually,
    nodes,  # noqa: F401 - a fixture
    refused,
    run_clients,
    transfer_items,
)

CONFLICT = {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}


@pytest.fixture
def hasty_nodes(tmp_path: Path, database: str, monkeypatch) -> Iterator[list[ServerProcess]]:  # noqa: F811
    """Three nodes that give up a checked write after its first lost race (the servers read
    TIDESTREAM_CHECKED_WRITE_ATTEMPTS), so conflicts reach the clients under modest load."""
    monkeypatch.setenv("TIDESTREAM_CHECKED_WRITE_ATTEMPTS", "1")
    cluster = start_cluster(tmp_path, database, "--durability", "relaxed", nodes=NODES)
    yield cluster.nodes
    for srv in cluster.nodes:
        assert srv.stop() == 0, srv.read_log()


def open_bank(ddb) -> None:
    make_table(ddb, "bank")
    for a in range(ACCOUNTS):
        ddb.put_item(TableName="bank", Item={"pk": {"S": f"acct{a}"}, "balance": {"N": str(OPENING_BALANCE)}})


def balances(ddb) -> list[int]:
    return [
        int(
            ddb.get_item(TableName="bank", Key={"pk": {"S": f"acct{a}"}}, ConsistentRead=True)["Item"][
                "balance"
            ]["N"]
        )
        for a in range(ACCOUNTS)
    ]


# ClientRequestToken ------------------------------------------------------------------------
def counter_request(amount: int, name: str = "tokens") -> list[dict]:
    return [
        {
            "Update": {
                "TableName": name,
                "Key": {"pk": {"S": "counter"}},
                "UpdateExpression": "ADD n :x",
                "ExpressionAttributeValues": {":x": {"N": str(amount)}},
            }
        }
    ]


def count(ddb, key: str = "counter", attribute: str = "n") -> int:
    item = ddb.get_item(TableName="tokens", Key={"pk": {"S": key}}, ConsistentRead=True).get("Item", {})
    return int(item.get(attribute, {"N": "0"})["N"])


def test_a_token_retried_on_other_nodes_runs_once_and_a_changed_request_is_refused(nodes):  # noqa: F811
    """TransactWriteItems with one ClientRequestToken sent to each node in turn, then by six
    clients at once: the counter moves once per token and every answer is the first one; the
    token with another request is IdempotentParameterMismatchException on any node. The same
    for PartiQL's ExecuteTransaction."""
    clients = [srv.client() for srv in nodes]
    make_table(clients[0], "tokens")
    answers = [
        c.transact_write_items(
            TransactItems=counter_request(1), ClientRequestToken="once", ReturnConsumedCapacity="TOTAL"
        )["ConsumedCapacity"]
        for c in clients
    ]
    assert count(clients[2]) == 1
    assert answers[1] == answers[2] == answers[0] and answers[0][0]["TableName"] == "tokens"
    for c in clients:
        with pytest.raises(ClientError) as err:
            c.transact_write_items(TransactItems=counter_request(5), ClientRequestToken="once")
        assert err.value.response["Error"]["Code"] == "IdempotentParameterMismatchException"
    assert count(clients[0]) == 1

    start = threading.Barrier(NODES * 2)

    def same_token_at_once(ddb, number: int) -> None:
        start.wait()
        try:
            ddb.transact_write_items(TransactItems=counter_request(1), ClientRequestToken="together")
        except ClientError as err:  # a lost race is an answer too; the checker counts effects
            if not refused(err):
                raise

    run_clients(nodes, same_token_at_once)
    assert count(clients[1]) == 2

    statement = [{"Statement": "UPDATE tokens SET m = m + 1 WHERE pk = 'partiql'"}]
    clients[0].put_item(TableName="tokens", Item={"pk": {"S": "partiql"}, "m": {"N": "0"}})
    for c in clients:
        c.execute_transaction(TransactStatements=statement, ClientRequestToken="partiql-once")
    assert count(clients[1], "partiql", "m") == 1
    with pytest.raises(ClientError) as err:
        clients[2].execute_transaction(
            TransactStatements=[{"Statement": "UPDATE tokens SET m = m + 7 WHERE pk = 'partiql'"}],
            ClientRequestToken="partiql-once",
        )
    assert err.value.response["Error"]["Code"] == "IdempotentParameterMismatchException"
    assert count(clients[0], "partiql", "m") == 1


# transactions that lose every race ------------------------------------------------------------
def test_transactions_losing_every_race_are_cancelled_with_transaction_conflict_reasons(hasty_nodes):
    """With one attempt per checked write, transfers and counter updates from three nodes
    collide: a transaction that loses is TransactionCanceledException whose reasons name the
    conflicting actions ``TransactionConflict`` and the others ``None`` (AWS's shape), never
    TransactionConflictException, which single writes keep; money is still conserved."""
    ddb = hasty_nodes[0].client()
    open_bank(ddb)
    acknowledged: list[tuple[int, int, int]] = []
    cancellations: list[dict] = []
    single_errors: list[str] = []

    def work(ddb, number: int) -> None:
        for i in range(30):
            source, target = (number + i) % ACCOUNTS, (number + i + 1) % ACCOUNTS
            try:
                ddb.transact_write_items(TransactItems=transfer_items(source, target, 1, f"t{number}-{i}"))
                acknowledged.append((source, target, 1))
            except ClientError as err:
                if err.response["Error"]["Code"] != "TransactionCanceledException":
                    raise
                cancellations.append(err.response)
            try:
                ddb.update_item(
                    TableName="bank",
                    Key={"pk": {"S": f"acct{number % ACCOUNTS}"}},
                    UpdateExpression="ADD touches :one",
                    ExpressionAttributeValues={":one": {"N": "1"}},
                )
            except ClientError as err:
                single_errors.append(err.response["Error"]["Code"])

    run_clients(hasty_nodes, work)
    conflicts = [c for c in cancellations if CONFLICT in c["CancellationReasons"]]
    assert conflicts, "no transaction lost every race: the test did not exercise anything"
    for response in conflicts:
        reasons = response["CancellationReasons"]
        assert len(reasons) == 3 and all(r in (CONFLICT, {"Code": "None"}) for r in reasons), reasons
        codes = ", ".join(r["Code"] for r in reasons)
        assert response["Error"]["Message"] == (
            f"Transaction cancelled, please refer cancellation reasons for specific reasons [{codes}]"
        )
    assert set(single_errors) <= {"TransactionConflictException"}
    expected = [OPENING_BALANCE] * ACCOUNTS
    for source, target, amount in acknowledged:
        expected[source] -= amount
        expected[target] += amount
    assert balances(hasty_nodes[2].client()) == expected


# PartiQL transactions -------------------------------------------------------------------------
def test_partiql_transactions_from_every_node_lose_no_update(nodes):  # noqa: F811
    """ExecuteTransaction moving amounts between accounts, beside TransactWriteItems doing the
    same, from clients on three nodes: each balance is the opening balance plus the acknowledged
    moves (an unchecked commit computed from a stale balance loses another node's move)."""
    open_bank(nodes[0].client())
    acknowledged: list[tuple[int, int, int]] = []

    def work(ddb, number: int) -> None:
        for i in range(25):
            source, target = (number + i) % ACCOUNTS, (number + 2 * i + 1) % ACCOUNTS
            if source == target:
                target = (target + 1) % ACCOUNTS
            try:
                if i % 2:
                    ddb.execute_transaction(
                        TransactStatements=[
                            {"Statement": f"UPDATE bank SET balance = balance - 3 WHERE pk = 'acct{source}'"},
                            {"Statement": f"UPDATE bank SET balance = balance + 3 WHERE pk = 'acct{target}'"},
                        ]
                    )
                else:
                    ddb.transact_write_items(
                        TransactItems=transfer_items(source, target, 3, f"t{number}-{i}")[:2]
                    )
                acknowledged.append((source, target, 3))
            except ClientError as err:
                if not refused(err):
                    raise

    run_clients(nodes, work)
    expected = [OPENING_BALANCE] * ACCOUNTS
    for source, target, amount in acknowledged:
        expected[source] -= amount
        expected[target] += amount
    assert balances(nodes[1].client()) == expected and len(acknowledged) > 0


# TransactGetItems -----------------------------------------------------------------------------
def test_transact_get_items_sees_one_moment_while_other_nodes_move_money(nodes):  # noqa: F811
    """Readers on every node TransactGetItems all accounts while writers on every node move
    money between them: each read adds up to the total (a read that straddles a transfer's
    commit shows money missing or doubled)."""
    open_bank(nodes[0].client())
    sums: list[int] = []
    keys = [{"Get": {"TableName": "bank", "Key": {"pk": {"S": f"acct{a}"}}}} for a in range(ACCOUNTS)]

    def work(ddb, number: int) -> None:
        for i in range(40):
            if number % 2:
                got = ddb.transact_get_items(TransactItems=keys)["Responses"]
                sums.append(sum(int(r["Item"]["balance"]["N"]) for r in got))
                continue
            source, target = (number + i) % ACCOUNTS, (number + i + 1) % ACCOUNTS
            try:
                ddb.transact_write_items(
                    TransactItems=transfer_items(source, target, 1, f"t{number}-{i}")[:2]
                )
            except ClientError as err:
                if not refused(err):
                    raise

    run_clients(nodes, work)
    assert len(sums) == NODES * 40 and set(sums) == {ACCOUNTS * OPENING_BALANCE}


# TTL --------------------------------------------------------------------------------------------
TTL_ITEMS = 2400
#: revivals acknowledged before TTL is switched on (so the revivers are running by then)
REVIVED_FIRST = 60


def test_ttl_deletes_only_items_still_expired_when_other_nodes_revive_them(tmp_path: Path, database: str):  # noqa: F811
    """Expired items are revived by clients on every node in random order (``attribute_exists``
    + a TTL far ahead) while the sweeps run every 0.2 s (on the node holding the TTL lease;
    with every node sweeping the same holds, as each delete is checked): each item whose
    revival was acknowledged is still there at the end, each whose revival found no item is gone
    (a sweep that deletes what it read as expired, after another node revived it, loses an
    acknowledged write)."""
    started = start_cluster(
        tmp_path, database, "--durability", "relaxed", "--ttl-interval", "0.2", nodes=NODES
    ).nodes
    try:
        _revive_while_sweeping(started)
    finally:
        for srv in started:
            assert srv.stop() == 0, srv.read_log()


def _revive_while_sweeping(started: list[ServerProcess]) -> None:
    """Every item is long expired but TTL is off while they are written; revivers on every node
    start, and once REVIVED_FIRST revivals are acknowledged TTL is switched on, so the sweeps of
    every node run while the revivals go on."""
    ddb = started[0].client()
    make_table(ddb, "ttl")
    for first in range(0, TTL_ITEMS, 25):
        puts = [
            {"PutRequest": {"Item": {"pk": {"S": f"i{j}"}, "exp": {"N": "1000"}}}}
            for j in range(first, first + 25)
        ]
        assert ddb.batch_write_item(RequestItems={"ttl": puts})["UnprocessedItems"] == {}
    revived: set[str] = set()
    gone: set[str] = set()
    sweeping = threading.Event()

    def switch_ttl_on() -> None:
        while len(revived) < REVIVED_FIRST:
            time.sleep(0.01)
        ddb.update_time_to_live(
            TableName="ttl", TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"}
        )
        sweeping.set()

    def work(ddb, number: int) -> None:
        mine = [f"i{j}" for j in range(number, TTL_ITEMS, NODES * 2)]
        random.Random(number).shuffle(mine)
        for key in mine:
            try:
                ddb.update_item(
                    TableName="ttl",
                    Key={"pk": {"S": key}},
                    UpdateExpression="SET exp = :far",
                    ConditionExpression="attribute_exists(pk)",
                    ExpressionAttributeValues={":far": {"N": str(int(time.time()) + 86400)}},
                )
                revived.add(key)
            except ClientError as err:
                if err.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
                gone.add(key)

    switcher = threading.Thread(target=switch_ttl_on)
    switcher.start()
    run_clients(started, work)
    switcher.join()
    assert sweeping.is_set() and gone and len(revived) + len(gone) == TTL_ITEMS

    def present() -> set[str]:
        pages = ddb.get_paginator("scan").paginate(TableName="ttl", ConsistentRead=True)
        return {item["pk"]["S"] for page in pages for item in page["Items"]}

    assert revived <= present(), sorted(revived - present())[:10]
    eventually(lambda: present() == revived, "every unrevived item expired")


# range deletes ----------------------------------------------------------------------------------
BIG_TABLE_ROWS = 100_000
ITEMS, ITEMS_END = b"\x01", b"\x02"
#: CBOR of {"pk": {"S": "filler"}}, as the item store encodes items
FILLER_ITEM = bytes.fromhex("a162706ba161536666696c6c6572")


def test_deleting_a_big_table_runs_in_batches_while_the_node_keeps_answering(
    nodes,  # noqa: F811
    database: str,  # noqa: F811
):
    """DeleteTable of a table of 100,000 items (written into PostgreSQL directly, for speed):
    while its rows go, the database shows them going in steps and the node answers requests
    between two steps (one big DELETE would take them all at once, with the node answering
    nothing meanwhile); a table of the same name created on another node at once, and another
    table, keep their items; in the end no row of the old table and no pending delete is left."""
    a, b = nodes[0].client(), nodes[1].client()
    make_table(a, "big")
    a.put_item(TableName="big", Item={"pk": {"S": "real"}})
    with psycopg.connect(database, autocommit=True) as db:
        # the only item so far: its first five bytes are the items prefix and the table's id
        item_keys = db.execute(
            "SELECT k FROM tidestream_kv WHERE k >= %s AND k < %s", (ITEMS, ITEMS_END)
        ).fetchall()
        assert len(item_keys) == 1
        prefix = item_keys[0][0][:5]
        db.execute(
            "INSERT INTO tidestream_kv SELECT %s || int8send(i), %s FROM generate_series(1, %s) AS i",
            (prefix, FILLER_ITEM, BIG_TABLE_ROWS),
        )
        make_table(a, "other")
        a.put_item(TableName="other", Item={"pk": {"S": "kept"}})
        end = prefix[:-1] + bytes([prefix[-1] + 1])
        events: list[tuple[str, int]] = []
        done = threading.Event()

        def rows_left() -> int:
            return db.execute(
                "SELECT count(*) FROM tidestream_kv WHERE k >= %s AND k < %s", (prefix, end)
            ).fetchone()[0]

        def keep_asking() -> None:
            reader = nodes[0].client()
            while not done.is_set():
                reader.get_item(TableName="other", Key={"pk": {"S": "kept"}})
                events.append(("answered", 0))

        asking = threading.Thread(target=keep_asking)
        asking.start()
        try:
            a.delete_table(TableName="big")
            make_table(b, "big")
            b.put_item(TableName="big", Item={"pk": {"S": "new"}})
            while (left := rows_left()) > 0:
                events.append(("rows", left))
        finally:
            done.set()
            asking.join()
        steps = [n for kind, n in events if kind == "rows" and 0 < n < BIG_TABLE_ROWS]
        assert len(set(steps)) >= 2, "the rows went in one step"
        first = next(i for i, (kind, n) in enumerate(events) if kind == "rows" and n < BIG_TABLE_ROWS)
        last_partial = max(i for i, (kind, n) in enumerate(events) if kind == "rows" and n > 0)
        assert any(kind == "answered" for kind, _ in events[first:last_partial]), "no answer while deleting"
        eventually(
            lambda: (
                db.execute(
                    "SELECT count(*) FROM tidestream_meta WHERE name LIKE 'delete_range:%'"
                ).fetchone()[0]
                == 0
            ),
            "no pending range delete left",
        )
    assert [i["pk"]["S"] for i in a.scan(TableName="big", ConsistentRead=True)["Items"]] == ["new"]
    assert [i["pk"]["S"] for i in b.scan(TableName="other", ConsistentRead=True)["Items"]] == ["kept"]


# table statistics ---------------------------------------------------------------------------------
def test_item_count_and_size_add_up_the_writes_of_every_node(nodes):  # noqa: F811
    """Clients on three nodes put, overwrite and delete items of a table with a GSI: DescribeTable
    on every node gives the ItemCount a Scan counts, the same TableSizeBytes and index count;
    once every item is deleted, every node says 0 items and 0 bytes (each node storing its own
    running total, the last writer's total overwrites the others')."""
    make_table(
        nodes[0].client(),
        "counted",
        extra_attributes=[("colour", "S")],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by_colour",
                "KeySchema": [{"AttributeName": "colour", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )

    def work(ddb, number: int) -> None:
        for i in range(30):
            item = {"pk": {"S": f"w{number}-{i}"}, "colour": {"S": "red"}, "pad": {"S": "x" * (i + number)}}
            ddb.put_item(TableName="counted", Item=item)
            ddb.put_item(TableName="counted", Item={"pk": {"S": "shared"}, "by": {"S": f"w{number}-{i}"}})
        for i in range(5):
            ddb.delete_item(TableName="counted", Key={"pk": {"S": f"w{number}-{i}"}})

    run_clients(nodes, work)
    scanned = nodes[0].client().scan(TableName="counted", ConsistentRead=True, Select="COUNT")["Count"]
    assert scanned == NODES * 2 * 25 + 1
    described = [srv.client().describe_table(TableName="counted")["Table"] for srv in nodes]
    assert [t["ItemCount"] for t in described] == [scanned] * NODES
    assert len({t["TableSizeBytes"] for t in described}) == 1 and described[0]["TableSizeBytes"] > 0
    assert [t["GlobalSecondaryIndexes"][0]["ItemCount"] for t in described] == [scanned - 1] * NODES

    # a restored table is counted by its node like any write: one more item keeps the count
    restorer = nodes[1].client()
    backup = restorer.create_backup(TableName="counted", BackupName="counted-backup")["BackupDetails"][
        "BackupArn"
    ]
    restorer.restore_table_from_backup(TargetTableName="restored", BackupArn=backup)
    restorer.put_item(TableName="restored", Item={"pk": {"S": "one-more"}})
    restored = [srv.client().describe_table(TableName="restored")["Table"]["ItemCount"] for srv in nodes]
    assert restored == [scanned + 1] * NODES

    def empty(ddb, number: int) -> None:
        for i in range(5, 30):
            ddb.delete_item(TableName="counted", Key={"pk": {"S": f"w{number}-{i}"}})
        ddb.delete_item(TableName="counted", Key={"pk": {"S": "shared"}})

    run_clients(nodes, empty)
    for srv in nodes:
        table = srv.client().describe_table(TableName="counted")["Table"]
        assert (table["ItemCount"], table["TableSizeBytes"]) == (0, 0)
        assert table["GlobalSecondaryIndexes"][0]["ItemCount"] == 0
