"""Table changes made through one ``--cluster`` node are what the next call on another node
sees (three real nodes on one real PostgreSQL, each client bound to one node): a load balancer
sends a client's consecutive calls to different nodes, and the notification that refreshes the
other nodes' caches arrives only milliseconds after the first node answered."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ServerCluster, make_table, start_cluster
from tests.pgserver import PostgresServer

ROUNDS = 15


@pytest.fixture
def cluster(postgres: PostgresServer, tmp_path: Path, request) -> Iterator[ServerCluster]:
    database = postgres.create_database("m_" + request.node.name.lower()[:50])
    nodes = start_cluster(tmp_path, database, "--durability", "relaxed")
    yield nodes
    assert nodes.stop() == 0, nodes.read_log()


def test_control_plane_changes_are_seen_at_once_on_another_node(cluster: ServerCluster):
    """Tags, TTL and new tables written on node 0 are answered by node 1's very next call,
    round after round (before: node 1 answered from its cache, a notification behind)."""
    writer, reader = (node.client() for node in cluster.nodes[:2])
    arn = writer.create_table(
        TableName="meta",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )["TableDescription"]["TableArn"]
    for n in range(ROUNDS):
        writer.tag_resource(ResourceArn=arn, Tags=[{"Key": f"k{n}", "Value": str(n)}])
        tags = reader.list_tags_of_resource(ResourceArn=arn)["Tags"]
        assert {"Key": f"k{n}", "Value": str(n)} in tags, (n, tags)
        writer.update_time_to_live(
            TableName="meta", TimeToLiveSpecification={"Enabled": n % 2 == 0, "AttributeName": "exp"}
        )
        ttl = reader.describe_time_to_live(TableName="meta")["TimeToLiveDescription"]
        assert ttl["TimeToLiveStatus"] == ("ENABLED" if n % 2 == 0 else "DISABLED"), (n, ttl)
        make_table(writer, f"made{n}")
        assert f"made{n}" in reader.list_tables()["TableNames"], n


def test_an_index_added_on_one_node_is_queryable_on_another_at_once(cluster: ServerCluster):
    """Query and PartiQL naming a GSI that node 0 has just added, on node 1 (before:
    "The table does not have the specified index" until node 1 heard of it)."""
    writer, reader = (node.client() for node in cluster.nodes[:2])
    for n in range(ROUNDS):
        table = f"grow{n}"
        make_table(writer, table)
        writer.put_item(TableName=table, Item={"pk": {"S": "a"}, "g": {"S": "x"}})
        writer.update_table(
            TableName=table,
            AttributeDefinitions=[{"AttributeName": "g", "AttributeType": "S"}],
            GlobalSecondaryIndexUpdates=[
                {
                    "Create": {
                        "IndexName": "by-g",
                        "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                        "Projection": {"ProjectionType": "ALL"},
                    }
                }
            ],
        )
        found = reader.query(
            TableName=table,
            IndexName="by-g",
            KeyConditionExpression="g = :g",
            ExpressionAttributeValues={":g": {"S": "x"}},
        )["Items"]
        assert found == [{"pk": {"S": "a"}, "g": {"S": "x"}}], n
        statement = f'SELECT pk FROM "{table}"."by-g" WHERE g = \'x\''
        assert reader.execute_statement(Statement=statement)["Items"] == [{"pk": {"S": "a"}}], n


def test_a_reset_on_one_node_reaches_the_others(cluster: ServerCluster):
    """POST /_tidestream/reset on node 0: node 1 stops serving the wiped table (before: it
    kept its cached definition and answered GetItem with no item, as if the table existed)."""
    first, second = cluster.nodes[:2]
    make_table(first.client(), "gone")
    first.client().put_item(TableName="gone", Item={"pk": {"S": "a"}})
    assert second.client().get_item(TableName="gone", Key={"pk": {"S": "a"}})["Item"]
    first.reset()
    assert second.client().list_tables()["TableNames"] == []
    deadline = time.monotonic() + 10  # the notification's delivery, not a speed claim
    while True:
        try:
            second.client().get_item(TableName="gone", Key={"pk": {"S": "a"}})
        except ClientError as err:
            assert err.response["Error"]["Code"] == "ResourceNotFoundException"
            break
        assert time.monotonic() < deadline, "node 1 still serves the table wiped by a reset on node 0"
        time.sleep(0.05)


@contextmanager
def notifications_held(cluster: ServerCluster) -> Iterator[None]:
    """Every node's invalidation listener frozen (its PostgreSQL backend SIGSTOPped) while the
    block runs: the other nodes hear of a change only after it, as under load a notification
    can arrive after the client's next call (CI met that; a quiet machine almost never does)."""
    import psycopg

    dsn = cluster.args[cluster.args.index("--store") + 1]
    with psycopg.connect(dsn, autocommit=True) as conn:
        listeners = [
            pid
            for (pid,) in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query = %s",
                ("LISTEN tidestream_meta",),
            )
        ]
    assert len(listeners) == len(cluster.nodes), listeners
    for pid in listeners:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in listeners:
            os.kill(pid, signal.SIGCONT)


def test_a_stream_made_on_one_node_is_a_destination_on_another_at_once(cluster: ServerCluster):
    """A Kinesis stream created through node 0 and named at once as a table's streaming
    destination through node 1 becomes ACTIVE (before: node 1 checked the stream against its
    own copy of the streams, a notification behind, and failed the destination with "Kinesis
    stream ... not found")."""
    writer, reader = (node.client() for node in cluster.nodes[:2])
    make_table(writer, "captured")
    arn = "arn:aws:kinesis:us-east-1:000000000000:stream/changes"
    with notifications_held(cluster):
        cluster.nodes[0].client("kinesis").create_stream(StreamName="changes", ShardCount=1)
        reader.enable_kinesis_streaming_destination(TableName="captured", StreamArn=arn)
        described = reader.describe_kinesis_streaming_destination(TableName="captured")
    assert described["KinesisDataStreamDestinations"][0]["DestinationStatus"] == "ACTIVE", described
