"""DynamoDB Streams and change capture across three ``--cluster`` nodes on one real PostgreSQL:
streams created by two nodes at once, a disabled stream's end as stored, the admin reset
reaching every node's streams, and change stamps removed with their table. Clients on chosen
nodes; checks from what the clients read back and from the database itself."""

from __future__ import annotations

import threading

import psycopg
from botocore.exceptions import ClientError

from tests.conftest import ServerProcess
from tests.e2e.test_postgres_cluster import (
    database,  # noqa: F401 - a fixture
    eventually,
    nodes,  # noqa: F401 - a fixture
)

STAMPS = b"\x0a"
STAMPS_END = b"\x0b"


def streamed_table(ddb, name: str) -> str:
    """A table with a NEW_IMAGE stream; its stream ARN."""
    return ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )["TableDescription"]["LatestStreamArn"]


def read_stream(st, arn: str, limit: int = 1000) -> list[str]:
    """The ids of every record of the stream's shard, read ``limit`` at a time until the
    answer has no NextShardIterator (a closed shard's end) or nothing more."""
    shard = st.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    it = st.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]
    ids: list[str] = []
    while it:
        page = st.get_records(ShardIterator=it, Limit=limit)
        ids += [r["dynamodb"]["Keys"]["id"]["S"] for r in page["Records"]]
        if not page["Records"]:
            break
        it = page.get("NextShardIterator")
    return ids


def first_change(ddb, table: str, start: threading.Barrier, failures: list[BaseException]) -> None:
    """A table's first item, put once ``start`` lets every thread go; a failure is kept."""
    try:
        start.wait()
        ddb.put_item(TableName=table, Item={"id": {"S": table}})
    except BaseException as exc:  # reported by the caller
        failures.append(exc)


def test_streams_first_used_on_two_nodes_at_once_get_their_own_ids(nodes: list[ServerProcess]):  # noqa: F811
    """Ten times, two tables with streams (made on A, never written) get their first change at
    the same moment, one through B and one through C: each node creates its table's stream.
    Every stream holds exactly its own table's change, read through any node. Before, both
    nodes took the next stream id they had read: one id held both tables' streams (the second
    record overwrote the first), and one table's stream showed both tables' changes."""
    a = nodes[0].client()
    writers = [nodes[1].client(), nodes[2].client()]
    arns = {}
    for round_ in range(10):
        pair = [f"left{round_}", f"right{round_}"]
        for name in pair:
            arns[name] = streamed_table(a, name)
        for name in pair:
            a.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})
        start = threading.Barrier(2)
        failures: list[BaseException] = []
        threads = [
            threading.Thread(target=first_change, args=(w, t, start, failures)) for w, t in zip(writers, pair)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not failures, failures
    for name, arn in arns.items():
        for srv in nodes:
            assert read_stream(srv.client("dynamodbstreams"), arn) == [name], (name, srv.port)


def test_a_disabled_streams_end_is_its_last_stored_record_on_every_node(nodes: list[ServerProcess]):  # noqa: F811
    """A knows the stream from its own first change; B adds a second; the stream is disabled
    through C. A describes the closed shard ending at B's record and reads both records one
    page at a time (the shard ends after the second). Before, A ended the shard at the last
    record it had written itself: EndingSequenceNumber was the first record's, and a reader
    was told the shard ended after it, never reaching B's record."""
    a, b, c = (srv.client() for srv in nodes)
    arn = streamed_table(a, "closing")
    a.get_waiter("table_exists").wait(TableName="closing", WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})
    a.put_item(TableName="closing", Item={"id": {"S": "from-a"}})
    st_a = nodes[0].client("dynamodbstreams")
    assert read_stream(st_a, arn) == ["from-a"]
    b.put_item(TableName="closing", Item={"id": {"S": "from-b"}})
    c.update_table(TableName="closing", StreamSpecification={"StreamEnabled": False})

    def closed_on_a() -> bool:
        return st_a.describe_stream(StreamArn=arn)["StreamDescription"]["StreamStatus"] == "DISABLED"

    eventually(closed_on_a, "the stream disabled through C is DISABLED on A")
    shard = st_a.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]
    it = st_a.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")
    records = st_a.get_records(ShardIterator=it["ShardIterator"])["Records"]
    assert [r["dynamodb"]["Keys"]["id"]["S"] for r in records] == ["from-a", "from-b"]
    assert shard["SequenceNumberRange"]["EndingSequenceNumber"] == records[-1]["dynamodb"]["SequenceNumber"]
    for srv in nodes:
        assert read_stream(srv.client("dynamodbstreams"), arn, limit=1) == ["from-a", "from-b"]


def test_a_reset_on_one_node_empties_the_other_nodes_streams(nodes: list[ServerProcess]):  # noqa: F811
    """B has read a table's stream; the admin reset on A wipes the store. B lists no stream
    and finds none by its ARN (before, B kept it in memory, listed it, and wrote its record back
    into the wiped store when it noticed the table was gone)."""
    a = nodes[0].client()
    arn = streamed_table(a, "wiped")
    a.get_waiter("table_exists").wait(TableName="wiped", WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})
    a.put_item(TableName="wiped", Item={"id": {"S": "x"}})
    st_b = nodes[1].client("dynamodbstreams")
    assert read_stream(st_b, arn) == ["x"]
    nodes[0].reset()
    assert st_b.list_streams()["Streams"] == []
    try:
        st_b.describe_stream(StreamArn=arn)
        raise AssertionError("the wiped stream is still described")
    except ClientError as err:
        assert err.response["Error"]["Code"] == "ResourceNotFoundException"
    with psycopg.connect(nodes[0].args[nodes[0].args.index("--store") + 1], autocommit=True) as db:
        metas = db.execute(
            "SELECT count(*) FROM tidestream_kv WHERE k >= %s AND k < %s", (b"\x06M", b"\x06N")
        )
        assert metas.fetchone()[0] == 0


def test_change_stamps_go_with_their_table(nodes: list[ServerProcess], database: str):  # noqa: F811
    """Every captured item keeps a stamp row (cdc/sequencing.py). DeleteTable removes its
    table's stamps (by the background range delete) and no other table's; before, they
    stayed forever, one per item ever captured."""
    a, b = nodes[0].client(), nodes[1].client()
    for name in ("dropped", "kept"):
        streamed_table(a, name)
        a.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})
    for i in range(20):
        (a if i % 2 else b).put_item(TableName="dropped", Item={"id": {"S": f"d{i}"}})
    for i in range(5):
        b.put_item(TableName="kept", Item={"id": {"S": f"k{i}"}})
    with psycopg.connect(database, autocommit=True) as db:

        def stamps() -> int:
            return db.execute(
                "SELECT count(*) FROM tidestream_kv WHERE k >= %s AND k < %s", (STAMPS, STAMPS_END)
            ).fetchone()[0]

        assert stamps() == 25
        nodes[2].client().delete_table(TableName="dropped")
        eventually(lambda: stamps() <= 5, "the dropped table's stamps are deleted")
        assert stamps() == 5
    b.put_item(TableName="kept", Item={"id": {"S": "k0"}, "again": {"BOOL": True}})
    kept_arn = a.describe_table(TableName="kept")["Table"]["LatestStreamArn"]
    assert read_stream(nodes[2].client("dynamodbstreams"), kept_arn) == ["k0", "k1", "k2", "k3", "k4", "k0"]
