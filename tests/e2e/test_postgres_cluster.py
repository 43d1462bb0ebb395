"""Several ``tidestream serve --store postgresql://... --cluster`` nodes on one real PostgreSQL
(tests/pgserver.py), with concurrent boto3 clients spread over the nodes: DynamoDB item writes
give the same results as on one node. Each test checks the outcome itself, from what the
clients were told (an independent checker, not the server's view): no acknowledged update is
lost, no condition is violated, money moved by transactions is conserved."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ServerProcess, free_port, make_table, start_cluster
from tests.pgserver import PostgresServer

NODES = 3
CLIENTS_PER_NODE = 2
#: errors that mean "not applied" for the checkers (a lost race, answered as AWS answers it)
REFUSALS = {"ConditionalCheckFailedException", "TransactionCanceledException", "TransactionConflictException"}


@pytest.fixture
def database(postgres: PostgresServer, request) -> str:
    return postgres.create_database("c_" + request.node.name.lower()[:50])


@pytest.fixture
def nodes(tmp_path: Path, database: str) -> Iterator[list[ServerProcess]]:
    cluster = start_cluster(tmp_path, database, "--durability", "relaxed", nodes=NODES)
    yield cluster.nodes
    for srv in cluster.nodes:
        assert srv.stop() == 0, srv.read_log()


def run_clients(nodes: list[ServerProcess], work: Callable[[object, int], None]) -> None:
    """``work(client, worker_number)`` in CLIENTS_PER_NODE threads per node, each with its own
    boto3 client on its node; any unexpected exception fails the test."""
    failures: list[BaseException] = []

    def worker(srv: ServerProcess, number: int) -> None:
        try:
            work(srv.client(), number)
        except BaseException as exc:  # reported below, with the others
            failures.append(exc)

    threads = [
        threading.Thread(target=worker, args=(srv, n * CLIENTS_PER_NODE + c))
        for n, srv in enumerate(nodes)
        for c in range(CLIENTS_PER_NODE)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, failures


def refused(err: ClientError) -> bool:
    return err.response["Error"]["Code"] in REFUSALS


def test_counters_and_version_checked_puts_lose_no_update_across_nodes(nodes: list[ServerProcess]):
    """UpdateItem ADD of a unique token per call, a PartiQL ``SET n = n + 1`` and a
    version-checked put loop, from clients on three nodes: every acknowledged token is in the
    set, the PartiQL counter counts every acknowledged statement, and the version equals the
    number of acknowledged conditional puts (a lost update shows as a missing token or a short
    count)."""
    make_table(nodes[0].client(), "counters")
    nodes[0].client().put_item(TableName="counters", Item={"pk": {"S": "versioned"}, "version": {"N": "0"}})
    nodes[0].client().put_item(TableName="counters", Item={"pk": {"S": "partiql"}, "n": {"N": "0"}})
    acknowledged_tokens: list[str] = []
    acknowledged_puts: list[int] = []
    acknowledged_statements: list[str] = []

    def work(ddb, number: int) -> None:
        for i in range(25):
            token = f"w{number}-{i}"
            try:
                ddb.update_item(
                    TableName="counters",
                    Key={"pk": {"S": "set"}},
                    UpdateExpression="ADD tokens :t, hits :one",
                    ExpressionAttributeValues={":t": {"SS": [token]}, ":one": {"N": "1"}},
                )
                acknowledged_tokens.append(token)
            except ClientError as err:
                if not refused(err):
                    raise
            try:
                ddb.execute_statement(Statement="UPDATE counters SET n = n + 1 WHERE pk = 'partiql'")
                acknowledged_statements.append(token)
            except ClientError as err:
                if not refused(err):
                    raise
            seen = ddb.get_item(TableName="counters", Key={"pk": {"S": "versioned"}}, ConsistentRead=True)
            version = int(seen["Item"]["version"]["N"])
            try:
                ddb.put_item(
                    TableName="counters",
                    Item={"pk": {"S": "versioned"}, "version": {"N": str(version + 1)}, "by": {"S": token}},
                    ConditionExpression="version = :v",
                    ExpressionAttributeValues={":v": {"N": str(version)}},
                )
                acknowledged_puts.append(version + 1)
            except ClientError as err:
                if not refused(err):
                    raise

    run_clients(nodes, work)
    ddb = nodes[-1].client()
    counter = ddb.get_item(TableName="counters", Key={"pk": {"S": "set"}}, ConsistentRead=True)["Item"]
    assert set(counter["tokens"]["SS"]) == set(acknowledged_tokens)
    assert int(counter["hits"]["N"]) == len(acknowledged_tokens)
    versioned = ddb.get_item(TableName="counters", Key={"pk": {"S": "versioned"}}, ConsistentRead=True)[
        "Item"
    ]
    statements = ddb.get_item(TableName="counters", Key={"pk": {"S": "partiql"}}, ConsistentRead=True)["Item"]
    assert int(statements["n"]["N"]) == len(acknowledged_statements)
    # each version was acknowledged to exactly one client, and none was skipped
    assert sorted(acknowledged_puts) == list(range(1, len(acknowledged_puts) + 1))
    assert int(versioned["version"]["N"]) == len(acknowledged_puts) > 0


ACCOUNTS = 4
OPENING_BALANCE = 100


def test_transactions_moving_amounts_between_nodes_conserve_the_sum(nodes: list[ServerProcess]):
    """TransactWriteItems moving amounts between accounts (debit only if covered) and recording
    each transfer, from clients on three nodes: every balance is the opening balance plus the
    acknowledged transfers in and out, none is negative, the sum is conserved, and the ledger
    holds exactly the acknowledged transfers."""
    ddb = nodes[0].client()
    make_table(ddb, "bank")
    for a in range(ACCOUNTS):
        ddb.put_item(TableName="bank", Item={"pk": {"S": f"acct{a}"}, "balance": {"N": str(OPENING_BALANCE)}})
    acknowledged: list[tuple[int, int, int, str]] = []

    def work(ddb, number: int) -> None:
        for i in range(20):
            source, target = (number + i) % ACCOUNTS, (number + 2 * i + 1) % ACCOUNTS
            if source == target:
                target = (target + 1) % ACCOUNTS
            amount, transfer = 7 + (number * 13 + i) % 40, f"t{number}-{i}"
            try:
                ddb.transact_write_items(TransactItems=transfer_items(source, target, amount, transfer))
                acknowledged.append((source, target, amount, transfer))
            except ClientError as err:
                if not refused(err):
                    raise

    run_clients(nodes, work)
    expected = [OPENING_BALANCE] * ACCOUNTS
    for source, target, amount, _ in acknowledged:
        expected[source] -= amount
        expected[target] += amount
    reader = nodes[1].client()
    balances = [
        int(
            reader.get_item(TableName="bank", Key={"pk": {"S": f"acct{a}"}}, ConsistentRead=True)["Item"][
                "balance"
            ]["N"]
        )
        for a in range(ACCOUNTS)
    ]
    assert balances == expected
    assert sum(balances) == ACCOUNTS * OPENING_BALANCE and min(balances) >= 0
    ledger = reader.scan(
        TableName="bank", FilterExpression="begins_with(pk, :t)", ExpressionAttributeValues={":t": {"S": "t"}}
    )
    assert {item["pk"]["S"] for item in ledger["Items"]} == {t for *_, t in acknowledged}
    assert len(acknowledged) > 0


def transfer_items(source: int, target: int, amount: int, transfer: str) -> list[dict]:
    value = {":x": {"N": str(amount)}}
    return [
        {
            "Update": {
                "TableName": "bank",
                "Key": {"pk": {"S": f"acct{source}"}},
                "UpdateExpression": "SET balance = balance - :x",
                "ConditionExpression": "balance >= :x",
                "ExpressionAttributeValues": value,
            }
        },
        {
            "Update": {
                "TableName": "bank",
                "Key": {"pk": {"S": f"acct{target}"}},
                "UpdateExpression": "SET balance = balance + :x",
                "ExpressionAttributeValues": value,
            }
        },
        {
            "Put": {
                "TableName": "bank",
                "Item": {"pk": {"S": transfer}},
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        },
    ]


def test_batch_writes_over_the_same_items_from_every_node_keep_the_index_exact(nodes: list[ServerProcess]):
    """BatchWriteItem from every node over the same ten items, each write moving the item to the
    writer's partition of a GSI: in the end the index holds exactly one entry per item, under its
    current owner (a write computed from a stale old item leaves that item's old entry behind)."""
    make_table(
        nodes[0].client(),
        "batched",
        extra_attributes=[("owner", "S")],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by_owner",
                "KeySchema": [{"AttributeName": "owner", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
    )
    keys = [f"item{j}" for j in range(10)]

    def work(ddb, number: int) -> None:
        for i in range(12):
            puts = [
                {
                    "PutRequest": {
                        "Item": {"pk": {"S": k}, "owner": {"S": f"w{number}"}, "round": {"N": str(i)}}
                    }
                }
                for k in keys
            ]
            assert ddb.batch_write_item(RequestItems={"batched": puts})["UnprocessedItems"] == {}

    run_clients(nodes, work)
    reader = nodes[2].client()
    items = reader.scan(TableName="batched", ConsistentRead=True)["Items"]
    assert sorted(item["pk"]["S"] for item in items) == keys
    entries = reader.scan(TableName="batched", IndexName="by_owner")["Items"]
    assert sorted((e["pk"]["S"], e["owner"]["S"]) for e in entries) == sorted(
        (i["pk"]["S"], i["owner"]["S"]) for i in items
    )


def test_tables_created_on_one_node_are_usable_on_the_others_and_never_share_ids(nodes: list[ServerProcess]):
    """A table created on node A is found on node B; tables created on different nodes get
    different ids (each node's in-memory counter would hand out the same one, and the second
    table would then see the first one's items)."""
    a, b = nodes[0].client(), nodes[1].client()
    make_table(a, "first")
    make_table(b, "second")
    b.put_item(TableName="first", Item={"pk": {"S": "from-b"}})
    a.put_item(TableName="second", Item={"pk": {"S": "from-a"}})
    assert a.get_item(TableName="first", Key={"pk": {"S": "from-b"}}, ConsistentRead=True)["Item"] == {
        "pk": {"S": "from-b"}
    }
    assert [i["pk"]["S"] for i in b.scan(TableName="first")["Items"]] == ["from-b"]
    assert [i["pk"]["S"] for i in a.scan(TableName="second")["Items"]] == ["from-a"]
    assert nodes[2].client().describe_table(TableName="second")["Table"]["TableStatus"] == "ACTIVE"


def test_a_node_without_cluster_is_refused_while_cluster_nodes_serve(
    tmp_path: Path, nodes: list[ServerProcess], database: str
):
    """Mixing modes would let a node that checks nothing write beside nodes that rely on checks."""
    log = tmp_path / "single.log"
    with pytest.raises(RuntimeError, match=r"^server exited with 2: "):
        ServerProcess(free_port(), tmp_path / "single", ["--store", database], log_path=log).start()
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    assert len(lines) == 1 and "another tidestream node is serving the store" in lines[0], lines


def eventually(check: Callable[[], bool], what: str) -> None:
    """Poll until ``check()`` (another node's notification is asynchronous); fail if it never
    holds after many tries. No assertion on how long it took."""
    for _ in range(300):
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"never: {what}")


def test_a_table_deleted_and_recreated_on_one_node_is_seen_so_by_the_others(nodes: list[ServerProcess]):
    """Node B has used table "tbl"; node A deletes it and creates "tbl" again with another key and a
    GSI. B must forget the old table (its cached schema would refuse the new key and its writes
    would go to the dropped table's id) and maintain the new index."""
    a, b = nodes[0].client(), nodes[1].client()
    make_table(a, "tbl")
    b.put_item(TableName="tbl", Item={"pk": {"S": "old"}})
    a.delete_table(TableName="tbl")

    def b_forgot() -> bool:
        try:
            b.describe_table(TableName="tbl")
        except ClientError as err:
            return err.response["Error"]["Code"] == "ResourceNotFoundException"
        return False

    eventually(b_forgot, "node B forgets the deleted table")
    make_table(
        a,
        "tbl",
        hash_key="id",
        extra_attributes=[("colour", "S")],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by_colour",
                "KeySchema": [{"AttributeName": "colour", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    b.put_item(TableName="tbl", Item={"id": {"S": "new"}, "colour": {"S": "red"}})
    assert a.scan(TableName="tbl", ConsistentRead=True)["Items"] == [
        {"id": {"S": "new"}, "colour": {"S": "red"}}
    ]
    found = a.query(
        TableName="tbl",
        IndexName="by_colour",
        KeyConditionExpression="colour = :c",
        ExpressionAttributeValues={":c": {"S": "red"}},
    )["Items"]
    assert found == [{"id": {"S": "new"}, "colour": {"S": "red"}}]
