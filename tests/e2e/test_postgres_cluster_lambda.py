"""Lambda across ``--cluster`` nodes (three real nodes on one real PostgreSQL, real boto3 clients,
real functions run by awslambdaric): a function made through one node is invoked, read, changed
and deleted through the others (its package comes from the store, unpacked per node); an event
source mapping made through a node that does not lead the pollers is run by the one that does,
and by the next leader after a SIGKILL, from the stored checkpoints; and the admin reset on one
node clears the other nodes' functions, sandboxes and unpacked code."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import time
import urllib.request
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ServerCluster, start_cluster
from tests.pgserver import PostgresServer

ROLE = "arn:aws:iam::000000000000:role/lambda-role"
MAPPINGS_JOB = "lambda-event-source-mappings"
BATCH = 5
#: the concurrent-update test: phases of ROUNDS updates per client, checked after each
PHASES = 8
ROUNDS = 6

APP = r"""
import base64
import json
import os

VERSION = "{version}"


def answer(event, context):
    with open(os.environ["OUT"] + ".pid", "w") as fh:
        fh.write(str(os.getpid()))
    return {{"version": VERSION, "got": event}}


def sink(event, context):
    with open(os.environ["OUT"], "a") as fh:
        for r in event["Records"]:
            fh.write(base64.b64decode(r["kinesis"]["data"]).decode() + "\n")
    return {{}}
"""


def package(version: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("app.py", APP.format(version=version))
    return buf.getvalue()


def create(lam, version: str, out: object = None, handler: str = "answer", name: str = "fn") -> dict:
    """CreateFunction of this file's package (``version`` baked in), OUT in its environment."""
    extra = {"Environment": {"Variables": {"OUT": str(out)}}} if out is not None else {}
    return lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=ROLE,
        Handler=f"app.{handler}",
        Code={"ZipFile": package(version)},
        **extra,
    )


@pytest.fixture
def cluster(postgres: PostgresServer, tmp_path: Path, request) -> Iterator[ServerCluster]:
    database = postgres.create_database("l_" + request.node.name.lower()[:50])
    nodes = start_cluster(tmp_path, database, "--durability", "relaxed", "--lambda-poll-interval", "0.05")
    yield nodes
    for node in nodes.nodes:  # a node a test killed has no exit status to check
        if node.proc is not None and node.proc.returncode is None:
            assert node.stop() == 0, node.read_log()


def wait_until(predicate: Callable[[], object], what: str, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"never: {what}")


def invoke(lam, name: str, payload: dict) -> dict:
    answer = lam.invoke(FunctionName=name, Payload=json.dumps(payload).encode())
    assert "FunctionError" not in answer, answer
    return json.loads(answer["Payload"].read())


def code_dirs(node) -> set[str]:
    base = node.data_dir / "lambda" / "code"
    return set(os.listdir(base)) if base.is_dir() else set()


def error_code(call: Callable[[], object]) -> str:
    with pytest.raises(ClientError) as info:
        call()
    return info.value.response["Error"]["Code"]


def test_a_function_made_on_one_node_is_used_read_changed_and_deleted_on_the_others(
    cluster: ServerCluster, tmp_path: Path
):
    """Before: node 1 did not know a function node 0 had made (404 on Invoke and GetFunction)."""
    a, b, c = (node.client("lambda") for node in cluster.nodes)
    out = str(tmp_path / "answer")
    made = create(a, "one", out)
    b.get_waiter("function_active_v2").wait(FunctionName="fn")
    assert invoke(b, "fn", {"n": 1}) == {"version": "one", "got": {"n": 1}}
    assert code_dirs(cluster.nodes[1]) == {made["CodeSha256"].replace("/", "_").replace("+", "-").rstrip("=")}
    assert error_code(lambda: create(c, "x")) == "ResourceConflictException"

    two = package("two")  # made once: a zip holds the time it was made
    updated = c.update_function_code(FunctionName="fn", ZipFile=two)
    assert updated["CodeSha256"] != made["CodeSha256"]
    assert b.get_function(FunctionName="fn")["Configuration"]["CodeSha256"] == updated["CodeSha256"]
    assert invoke(b, "fn", {"n": 2}) == {"version": "two", "got": {"n": 2}}
    new_dir = updated["CodeSha256"].replace("/", "_").replace("+", "-").rstrip("=")
    wait_until(lambda: code_dirs(cluster.nodes[1]) == {new_dir}, "node 1 dropped the old code")

    c.update_function_configuration(FunctionName="fn", Timeout=7)
    assert a.get_function_configuration(FunctionName="fn")["Timeout"] == 7
    assert [f["FunctionName"] for f in b.list_functions()["Functions"]] == ["fn"]
    location = a.get_function(FunctionName="fn")["Code"]["Location"]
    with urllib.request.urlopen(location, timeout=10) as download:
        assert download.read() == two

    b.delete_function(FunctionName="fn")
    for client in (a, c):
        assert error_code(partial(client.invoke, FunctionName="fn")) == "ResourceNotFoundException"
        assert error_code(partial(client.get_function, FunctionName="fn")) == "ResourceNotFoundException"
    assert a.list_functions()["Functions"] == []


def leader_of(cluster: ServerCluster, job: str) -> int:
    leaders: list[int] = []

    def found() -> bool:
        leaders[:] = [
            n for n, node in enumerate(cluster.nodes) if f"this node now runs {job}\n" in node.read_log()
        ]
        return len(leaders) == 1

    wait_until(found, f"one node runs {job}")
    return leaders[0]


def seen(out: Path) -> Counter:
    return Counter(out.read_text().splitlines()) if out.exists() else Counter()


def put(kin, *datas: str) -> None:
    for data in datas:
        kin.put_record(StreamName="events", Data=data.encode(), PartitionKey="k")


def wait_state(lam, uuid: str, state: str) -> None:
    wait_until(lambda: lam.get_event_source_mapping(UUID=uuid)["State"] == state, f"mapping {state}")


def test_a_mapping_made_through_a_follower_is_run_by_the_leader_and_by_the_next_one(
    cluster: ServerCluster, tmp_path: Path
):
    """Before: the leader never heard of a mapping made through another node (it read mappings
    only when it took the lease), so no record reached the function and it stayed Creating."""
    leader = leader_of(cluster, MAPPINGS_JOB)
    follower, other = (node for n, node in enumerate(cluster.nodes) if n != leader)
    lam, kin = follower.client("lambda"), follower.client("kinesis")
    out = tmp_path / "seen"
    create(lam, "sink", out, handler="sink", name="sink")
    kin.create_stream(StreamName="events", ShardCount=1)
    kin.get_waiter("stream_exists").wait(StreamName="events", WaiterConfig={"Delay": 0.1})
    arn = kin.describe_stream_summary(StreamName="events")["StreamDescriptionSummary"]["StreamARN"]
    uuid = lam.create_event_source_mapping(
        FunctionName="sink", EventSourceArn=arn, StartingPosition="TRIM_HORIZON", BatchSize=BATCH
    )["UUID"]
    wait_state(other.client("lambda"), uuid, "Enabled")
    first = [f"a{i}" for i in range(20)]
    put(other.client("kinesis"), *first)
    wait_until(lambda: set(seen(out)) >= set(first), "the first records delivered")

    cluster.nodes[leader].kill()
    survivor = other.client("kinesis")
    second = [f"b{i}" for i in range(20)]
    put(survivor, *second)
    wait_until(lambda: set(seen(out)) >= set(first + second), "the records put after the kill delivered")
    counts = seen(out)
    assert set(counts) == set(first + second), counts
    replayed = [data for data, count in counts.items() if count > 1]
    assert len(replayed) <= BATCH, counts  # at most the batch in flight when the leader died
    assert [
        n
        for n, node in enumerate(cluster.nodes)
        if n != leader and f"this node now runs {MAPPINGS_JOB}\n" in node.read_log()
    ], "no node took over"

    other.client("lambda").update_event_source_mapping(
        UUID=uuid, FilterCriteria={"Filters": [{"Pattern": json.dumps({"data": {"kind": ["keep"]}})}]}
    )
    wait_state(lam, uuid, "Enabled")
    dropped, kept = json.dumps({"kind": "drop"}), json.dumps({"kind": "keep"})
    put(survivor, dropped, kept)  # in order: once the kept one is seen, the dropped one was judged
    wait_until(lambda: kept in seen(out), "a record passing the new filter delivered")
    assert dropped not in seen(out)

    lam.delete_event_source_mapping(UUID=uuid)
    for node in cluster.nodes:
        if node.proc is not None and node.proc.poll() is None:
            client = node.client("lambda")
            assert (
                error_code(partial(client.get_event_source_mapping, UUID=uuid)) == "ResourceNotFoundException"
            )
            assert client.list_event_source_mappings()["EventSourceMappings"] == []


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_the_admin_reset_on_one_node_clears_the_other_nodes_lambda_state(
    cluster: ServerCluster, tmp_path: Path
):
    """Before: node 1 kept its warm sandbox (the function's process) and its unpacked code
    after node 2's reset."""
    a, b = cluster.nodes[0].client("lambda"), cluster.nodes[1].client("lambda")
    out = tmp_path / "answer"
    create(a, "one", out)
    assert invoke(b, "fn", {})["version"] == "one"
    pid = int(Path(str(out) + ".pid").read_text())
    assert pid_alive(pid) and code_dirs(cluster.nodes[1])

    cluster.nodes[2].reset()
    wait_until(lambda: not pid_alive(pid), "node 1's sandbox stopped by node 2's reset")
    wait_until(lambda: not code_dirs(cluster.nodes[1]), "node 1's unpacked code removed")
    assert error_code(lambda: b.get_function(FunctionName="fn")) == "ResourceNotFoundException"
    assert b.list_functions()["Functions"] == []
    create(b, "after", out)
    assert invoke(a, "fn", {})["version"] == "after"


def test_code_and_configuration_changed_at_once_through_two_nodes_stay_one_function(
    cluster: ServerCluster, tmp_path: Path
):
    """UpdateFunctionCode through node 0 while UpdateFunctionConfiguration runs through node 1:
    each answers or is refused as AWS refuses an update in progress (ResourceConflictException),
    and once both stop the stored CodeSha256 is its stored package's (the package downloads
    and the function runs). Before: a configuration written from a read older than the last
    code change put back the old CodeSha256 beside the new package."""
    coder, configurer = cluster.nodes[0].client("lambda"), cluster.nodes[1].client("lambda")
    create(coder, "v0")
    refused: Counter = Counter()

    def attempt(call: Callable[[], object]) -> None:
        try:
            call()
        except ClientError as err:
            assert err.response["Error"]["Code"] == "ResourceConflictException", err.response
            refused[err.response["Error"]["Message"].split(":")[0]] += 1

    for phase in range(PHASES):
        codes = [
            partial(coder.update_function_code, FunctionName="fn", ZipFile=package(f"{phase}.{n}"))
            for n in range(ROUNDS)
        ]
        configurations = [
            partial(configurer.update_function_configuration, FunctionName="fn", Description=f"{phase}.{n}")
            for n in range(ROUNDS)
        ]
        with ThreadPoolExecutor(2) as pool:
            for done in [
                pool.submit(lambda calls: [attempt(c) for c in calls], calls)
                for calls in (codes, configurations)
            ]:
                done.result()
        stored = configurer.get_function(FunctionName="fn")
        with urllib.request.urlopen(stored["Code"]["Location"], timeout=10) as download:  # 404: no such code
            digest = base64.b64encode(hashlib.sha256(download.read()).digest()).decode()
        assert stored["Configuration"]["CodeSha256"] == digest, (phase, refused)
