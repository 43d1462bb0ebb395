"""Change capture across ``--cluster`` nodes while nodes are killed (SIGKILL) and restarted.

Three nodes on one real PostgreSQL (tests/pgserver.py); a table with a Kinesis streaming
destination and a DynamoDB stream; boto3 clients on every node make version-checked puts of
unique values on shared items while a chaos thread kills and restarts the nodes, the change
publisher's leader among them. Then an independent checker compares what the clients were told
with the table, the Kinesis stream and the DynamoDB stream:

- every acknowledged put is in the table (or a later version is), and no two acknowledged puts
  of an item carry the same version (no condition was violated);
- every acknowledged change is in the Kinesis stream and in the DynamoDB stream, each change
  once, in each item's commit order, with per-item strictly increasing
  ApproximateCreationDateTime; a change whose put was refused (ConditionalCheckFailed) is never
  there; a put whose answer was lost with its node may be there or not (its outcome is unknown:
  "at least once" concerns acknowledged changes only, docs/cluster.md).

And single-leader background work: TTL sweeps (and every other single-leader job) run on one
node; when it dies another takes over.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from botocore.exceptions import BotoCoreError, ClientError

from tests.conftest import ServerProcess, start_server
from tests.e2e.cdc_helpers import read_all, wait_active
from tests.pgserver import PostgresServer

NODES = 3
WRITERS_PER_NODE = 2
ITEMS = 12
#: puts each writer attempts (bounded load); the chaos thread kills a node KILLS times
PUTS_PER_WRITER = 120
KILLS = 4
#: every single-leader job (storage/leases.py users in runtime.py)
JOBS = (
    "ttl-sweeps",
    "cdc-publisher",
    "pitr-pruning",
    "kinesis-retention",
    "dynamodb-streams-retention",
    "lambda-event-source-mappings",
)
NODE_ARGS = ("--cluster", "--durability", "strict", "--ttl-interval", "0.1", "--log-level", "INFO")


@pytest.fixture
def database(postgres: PostgresServer, request) -> str:
    return postgres.create_database("x_" + request.node.name.lower()[:50])


def start_node(tmp_path: Path, database: str, n: int) -> ServerProcess:
    (tmp_path / f"node{n}").mkdir(exist_ok=True)
    return start_server(tmp_path / f"node{n}", "--store", database, *NODE_ARGS)


@pytest.fixture
def cluster(tmp_path: Path, database: str) -> Iterator[list[ServerProcess]]:
    """Node 0 alone first (it creates the table and the stream, and so leads the background
    jobs); then the two others."""
    nodes = [start_node(tmp_path, database, 0)]
    yield nodes
    for srv in nodes:  # the nodes still running stop cleanly (their jobs and leases with them)
        running = srv.proc is not None and srv.proc.poll() is None
        code = srv.stop()
        assert not running or code == 0, srv.read_log()


def create_feeds(srv: ServerProcess, ttl: bool = False) -> str:
    """The table ``chaos`` (DynamoDB stream NEW_AND_OLD_IMAGES) and its Kinesis destination."""
    ddb, kin = srv.client("dynamodb"), srv.client("kinesis")
    ddb.create_table(
        TableName="chaos",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    kin.create_stream(StreamName="changes", ShardCount=2)
    arn = kin.describe_stream_summary(StreamName="changes")["StreamDescriptionSummary"]["StreamARN"]
    ddb.enable_kinesis_streaming_destination(
        TableName="chaos",
        StreamArn=arn,
        EnableKinesisStreamingConfiguration={"ApproximateCreationDateTimePrecision": "MICROSECOND"},
    )
    wait_active(ddb, "chaos")
    if ttl:
        ddb.update_time_to_live(
            TableName="chaos", TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"}
        )
    return ddb.describe_table(TableName="chaos")["Table"]["LatestStreamArn"]


class Ledger:
    """What the clients were told, per put: acknowledged, refused, or unknown (no answer)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.acked: dict[str, dict[int, str]] = defaultdict(dict)  # pk -> version -> token
        self.refused: set[str] = set()
        self.unknown: set[str] = set()
        self.violations: list[str] = []

    def record(self, outcome: str, pk: str, version: int, token: str) -> None:
        with self.lock:
            if outcome == "acked":
                if version in self.acked[pk]:
                    self.violations.append(f"{pk} v{version} acknowledged twice")
                self.acked[pk][version] = token
            elif outcome == "refused":
                self.refused.add(token)
            else:
                self.unknown.add(token)


def writer(nodes: list[ServerProcess], node: int, number: int, ledger: Ledger) -> None:
    """Version-checked puts of unique tokens on shared items through one node; a node that is
    down answers nothing (the outcome is unknown), and the writer goes on."""
    rng = random.Random(number)
    for i in range(PUTS_PER_WRITER):
        pk = f"item-{rng.randrange(ITEMS)}"
        token = f"w{number}-{i}"
        ddb = nodes[node].client()
        try:
            got = ddb.get_item(TableName="chaos", Key={"pk": {"S": pk}}, ConsistentRead=True).get("Item")
        except (BotoCoreError, ClientError):
            time.sleep(0.05)
            continue
        seen = int(got["v"]["N"]) if got else 0
        condition = "attribute_not_exists(pk)" if got is None else "v = :seen"
        values = {} if got is None else {":seen": {"N": str(seen)}}
        try:
            ddb.put_item(
                TableName="chaos",
                Item={"pk": {"S": pk}, "v": {"N": str(seen + 1)}, "token": {"S": token}},
                ConditionExpression=condition,
                **({"ExpressionAttributeValues": values} if values else {}),
            )
            ledger.record("acked", pk, seen + 1, token)
        except ClientError as err:
            code = err.response["Error"]["Code"]
            known = code in ("ConditionalCheckFailedException", "TransactionConflictException")
            ledger.record("refused" if known else "unknown", pk, seen + 1, token)
        except BotoCoreError:
            ledger.record("unknown", pk, seen + 1, token)


def chaos(nodes: list[ServerProcess], done: threading.Event) -> None:
    """SIGKILL each node in turn (node 0, the publisher's first leader, first), restart it."""
    for k in range(KILLS):
        if done.wait(0.8):
            return
        victim = nodes[k % NODES]
        victim.kill()
        time.sleep(0.3)
        victim.start()


def wait_for(check, what: str, tries: int = 100):
    """Poll ``check()`` until it returns something true (publishing is asynchronous)."""
    for _ in range(tries):
        last = check()
        if last:
            return last
        time.sleep(0.3)
    raise AssertionError(f"never: {what}")


def kinesis_changes(kin) -> dict[str, list[dict]]:
    """The change records of each item, in the stream's order (one item, one shard)."""
    per_item: dict[str, list[dict]] = defaultdict(list)
    for _ in range(50):
        try:
            records = read_all(kin, "changes")
            break
        except kin.exceptions.ProvisionedThroughputExceededException:
            time.sleep(0.5)  # the shard's read limit (5 calls/s): back off like a consumer
    else:
        raise AssertionError("the stream kept refusing reads")
    records.sort(key=lambda r: int(r["SequenceNumber"]))
    for r in records:
        d = json.loads(r["Data"])
        per_item[d["dynamodb"]["Keys"]["pk"]["S"]].append(d)
    return per_item


def dynamodb_stream_changes(srv: ServerProcess, stream_arn: str) -> dict[str, list[dict]]:
    st = srv.client("dynamodbstreams")
    per_item: dict[str, list[dict]] = defaultdict(list)
    for shard in st.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]:
        it = st.get_shard_iterator(
            StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while it:
            page = st.get_records(ShardIterator=it, Limit=1000)
            for r in page["Records"]:
                per_item[r["dynamodb"]["Keys"]["pk"]["S"]].append(r)
            if not page["Records"]:
                break
            it = page.get("NextShardIterator")
    return per_item


def check_item_history(pk: str, versions: list[int], tokens: list[str], ledger: Ledger, where: str) -> None:
    """One item's changes as a feed holds them: each once, in order, none from a refused put,
    every acknowledged one."""
    assert versions == sorted(set(versions)), f"{where}: {pk} out of order or duplicated: {versions}"
    acked = ledger.acked.get(pk, {})
    missing = {v: t for v, t in acked.items() if (v, t) not in set(zip(versions, tokens))}
    assert not missing, f"{where}: acknowledged changes of {pk} missing: {missing}"
    foreign = [t for t in tokens if t not in set(acked.values()) | ledger.unknown]
    assert not foreign, f"{where}: {pk} has changes nobody was told were made: {foreign}"


def test_acknowledged_changes_reach_kinesis_and_dynamodb_streams_once_in_order_while_nodes_die(
    tmp_path: Path, database: str, cluster: list[ServerProcess]
):
    stream_arn = create_feeds(cluster[0])
    cluster.extend(start_node(tmp_path, database, n) for n in range(1, NODES))
    ledger = Ledger()
    done = threading.Event()
    killer = threading.Thread(target=chaos, args=(cluster, done))
    writers = [
        threading.Thread(target=writer, args=(cluster, n, n * WRITERS_PER_NODE + w, ledger))
        for n in range(NODES)
        for w in range(WRITERS_PER_NODE)
    ]
    killer.start()
    for t in writers:
        t.start()
    for t in writers:
        t.join()
    done.set()
    killer.join()
    assert not ledger.violations, ledger.violations
    acked_total = sum(len(v) for v in ledger.acked.values())
    assert acked_total > 100, "too little load got through to test anything"

    ddb = cluster[1].client()
    for pk, versions in ledger.acked.items():
        item = ddb.get_item(TableName="chaos", Key={"pk": {"S": pk}}, ConsistentRead=True)["Item"]
        top = max(versions)
        assert int(item["v"]["N"]) >= top, (pk, item, top)
        if int(item["v"]["N"]) == top:
            assert item["token"]["S"] == versions[top]

    kin = cluster[2].client("kinesis")

    def published() -> dict[str, list[dict]] | None:
        per_item = kinesis_changes(kin)
        seen = {(pk, int(d["dynamodb"]["NewImage"]["v"]["N"])) for pk, ds in per_item.items() for d in ds}
        want = {(pk, v) for pk, vs in ledger.acked.items() for v in vs}
        return per_item if want <= seen else None

    per_item = wait_for(published, "every acknowledged change on the Kinesis stream")
    for pk, changes in per_item.items():
        versions = [int(d["dynamodb"]["NewImage"]["v"]["N"]) for d in changes]
        tokens = [d["dynamodb"]["NewImage"]["token"]["S"] for d in changes]
        check_item_history(pk, versions, tokens, ledger, "kinesis")
        stamps = [d["dynamodb"]["ApproximateCreationDateTime"] for d in changes]
        assert stamps == sorted(set(stamps)), f"{pk}: ApproximateCreationDateTime not strictly increasing"

    streamed = dynamodb_stream_changes(cluster[0], stream_arn)
    for pk in ledger.acked:
        changes = streamed[pk]
        versions = [int(r["dynamodb"]["NewImage"]["v"]["N"]) for r in changes]
        tokens = [r["dynamodb"]["NewImage"]["token"]["S"] for r in changes]
        check_item_history(pk, versions, tokens, ledger, "dynamodb streams")


def removes(kin) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for pk, changes in kinesis_changes(kin).items():
        counts[pk] += sum(1 for d in changes if d["eventName"] == "REMOVE")
    return counts


def put_expired(ddb, prefix: str, count: int) -> None:
    past = Decimal(int(time.time()) - 60)
    for i in range(count):
        ddb.put_item(TableName="chaos", Item={"pk": {"S": f"{prefix}-{i}"}, "expires": {"N": str(past)}})


def test_ttl_sweeps_run_on_one_node_and_move_to_another_when_it_dies(
    tmp_path: Path, database: str, cluster: list[ServerProcess]
):
    create_feeds(cluster[0], ttl=True)
    cluster.extend(start_node(tmp_path, database, n) for n in range(1, NODES))
    kin = cluster[1].client("kinesis")
    for n, srv in enumerate(cluster):  # writes through every node; sweeps every 0.1 s
        put_expired(srv.client(), f"first{n}", 40)
    wait_for(lambda: sum(removes(kin).values()) >= 120, "the expired items swept")
    counts = removes(kin)
    assert all(counts[f"first{n}-{i}"] == 1 for n in range(NODES) for i in range(40)), counts
    for job in JOBS:  # the first node leads every job; the others wait
        leaders = [n for n, srv in enumerate(cluster) if f"this node now runs {job}\n" in srv.read_log()]
        assert leaders == [0], (job, leaders)

    cluster[0].kill()
    put_expired(cluster[2].client(), "second", 40)
    wait_for(lambda: sum(removes(kin).values()) >= 160, "the items expired after the leader died swept")
    counts = removes(kin)
    assert all(counts[f"second-{i}"] == 1 for i in range(40)), counts
    taken_over = [n for n in (1, 2) if "this node now runs ttl-sweeps" in cluster[n].read_log()]
    assert len(taken_over) == 1, taken_over
