"""Shared fixtures: a real tidestream server process on a free loopback port, real boto3 clients."""

from __future__ import annotations

import itertools
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import pytest
from botocore.config import Config as BotoConfig


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class ServerProcess:
    """A tidestream server started as a child process (``python -m tidestream serve``)."""

    port: int
    data_dir: Path | None
    args: list[str]
    proc: subprocess.Popen | None = None
    log_path: Path | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> ServerProcess:
        cmd = [sys.executable, "-m", "tidestream", "serve", "--port", str(self.port), *self.args]
        if self.data_dir is not None:
            cmd += ["--data-dir", str(self.data_dir)]
        else:
            cmd += ["--in-memory"]
        if self.log_path:
            with open(self.log_path, "ab") as log:  # the child keeps its own descriptor
                self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        else:
            self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}: {self.read_log()}")
            try:
                with urllib.request.urlopen(self.endpoint + "/_tidestream/health", timeout=1) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.05)
        self.kill()  # a server that never answered must not outlive the test (one spun for 25 min)
        raise RuntimeError("server did not start: " + self.read_log())

    def read_log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path and self.log_path.exists() else ""

    def node_endpoint(self, number: int) -> str:
        """The endpoint of node ``number`` (counted round the nodes), so that a test running
        several workers gives each a node of its own in the cluster run; one server is every node."""
        return self.endpoint

    def kill(self) -> None:
        """SIGKILL: the crash the durability tests are about."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> int:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode if self.proc else 0

    def reset(self) -> None:
        """POST /_tidestream/reset with the header it demands, signed under ``--auth enforce``."""
        url = self.endpoint + "/_tidestream/reset"
        headers = {"X-Tidestream-Admin": "1", **self.admin_signature("POST", url)}
        req = urllib.request.Request(url, method="POST", data=b"", headers=headers)
        with urllib.request.urlopen(req, timeout=10) as r:
            assert r.status == 200

    def admin_signature(self, method: str, url: str) -> dict[str, str]:
        """SigV4 headers for an operator route, signed (by botocore) with the first key of the
        server's ``--credentials`` file; none when the server does not enforce auth."""
        if "--credentials" not in self.args:
            return {}
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        from tidestream.http.sigv4 import load_credentials

        creds = load_credentials(self.args[self.args.index("--credentials") + 1])
        key, (secret, _account) = next(iter(creds.items()))
        req = AWSRequest(method=method, url=url, data=b"")
        SigV4Auth(Credentials(key, secret), "dynamodb", "us-east-1").add_auth(req)
        return dict(req.headers.items())

    def client(
        self, service: str = "dynamodb", region: str = "us-east-1", access_key: str = "AKIDEXAMPLE", **kw
    ):
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=region,
            aws_access_key_id=access_key,
            aws_secret_access_key="secret",
            config=BotoConfig(retries={"max_attempts": 1}, **kw),
        )


def assert_refused_start(tmp_path: Path, name: str = "refused") -> str:
    """Start a server on ``tmp_path/data`` that must refuse: exit code 2 and one log line (an
    ERROR, no traceback); returns that line."""
    log = tmp_path / f"{name}.log"
    with pytest.raises(RuntimeError, match=r"^server exited with 2: "):
        ServerProcess(free_port(), tmp_path / "data", [], log_path=log).start()
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    assert len(lines) == 1 and "ERROR" in lines[0] and "Traceback" not in lines[0], lines
    return lines[0]


def start_server(tmp_path: Path, *args: str, on_disk: bool = True) -> ServerProcess:
    data = tmp_path / "data" if on_disk else None
    s = ServerProcess(free_port(), data, list(args), log_path=tmp_path / "server.log")
    return s.start()


@dataclass
class ServerCluster(ServerProcess):
    """Several ``--cluster`` nodes on one database, seen as node 0 (its port, endpoint, log,
    process) by tests that read those, while every boto3 client it hands out sends each call
    to the next node in turn (as a round-robin load balancer would), and reset / stop reach
    every node (each node keeps its own caches and counters)."""

    nodes: list[ServerProcess] = field(default_factory=list)

    @classmethod
    def of(cls, nodes: list[ServerProcess]) -> ServerCluster:
        first = nodes[0]
        return cls(first.port, first.data_dir, first.args, first.proc, first.log_path, nodes=nodes)

    def client(
        self, service: str = "dynamodb", region: str = "us-east-1", access_key: str = "AKIDEXAMPLE", **kw
    ):
        client = super().client(service, region, access_key, **kw)
        spread_over_nodes(client, [node.endpoint for node in self.nodes])
        return client

    def reset(self) -> None:
        for node in self.nodes:
            node.reset()

    def node_endpoint(self, number: int) -> str:
        return self.nodes[number % len(self.nodes)].endpoint

    def read_log(self) -> str:
        return "\n".join(f"--- node {n} ---\n{node.read_log()}" for n, node in enumerate(self.nodes))

    def stop(self) -> int:
        """Every node's exit status must be 0; the first non-zero one is returned."""
        codes = [node.stop() for node in self.nodes]
        return next((code for code in codes if code != 0), 0)


def node_endpoints(server: ServerProcess) -> list[str]:
    """Every endpoint a call through ``server``'s clients may reach: a cluster's nodes (a
    function's AWS_ENDPOINT_URL names the node that runs it), else the one server's."""
    return [node.endpoint for node in getattr(server, "nodes", None) or [server]]


def spread_over_nodes(client, endpoints: list[str]) -> None:
    """Send each call of ``client`` (built for ``endpoints[0]``) to the next endpoint in turn:
    the URL is swapped before signing, so the signed Host matches the node that gets it, and
    a retry is signed (and sent) again, to the next node."""
    home = endpoints[0]
    rotation = itertools.cycle(endpoints)

    def to_next_node(request, **_) -> None:
        request.url = next(rotation) + request.url[len(home) :]

    client.meta.events.register("before-sign", to_next_node)


#: ``TIDESTREAM_TEST_STORE=postgresql``: the shared ``server`` runs on a PostgreSQL server the
#: tests start (tests/pgserver.py); ``cluster``: on CLUSTER_NODES ``--cluster`` nodes on one
#: such server, clients spread over them. docs/cluster.md lists the files run that way.
TEST_STORE = os.environ.get("TIDESTREAM_TEST_STORE", "rocksdb")
#: the storage name /_tidestream/health reports in this run
TEST_STORAGE = "postgresql" if TEST_STORE == "cluster" else TEST_STORE
CLUSTER_NODES = 3

#: The files run against the cluster (``TIDESTREAM_TEST_STORE=cluster``; the rest of the
#: suite is deselected in that run): those whose tests use the shared ``server``. Kinesis,
#: change capture (to Kinesis and DynamoDB Streams), backups and Lambda event source mappings
#: are not correct across nodes yet (docs/cluster.md): their files join this list when they are.
CLUSTER_SUITE = (
    "tests/e2e/test_dynamodb_items.py",
    "tests/e2e/test_dynamodb_reads.py",
    "tests/e2e/test_dynamodb_batches.py",
    "tests/e2e/test_dynamodb_tables.py",
    "tests/e2e/test_dynamodb_conformance_items.py",
    "tests/e2e/test_dynamodb_conformance_batches.py",
    "tests/e2e/test_dynamodb_conformance_reads.py",
    "tests/e2e/test_dynamodb_conformance_tables.py",
    "tests/e2e/test_partiql.py",
    "tests/e2e/test_messages_2026.py",
    "tests/e2e/test_messages_round3.py",
    "tests/e2e/test_validation_order.py",
    "tests/e2e/test_encodings.py",
    "tests/e2e/test_gsi_multi_attribute.py",
    "tests/e2e/test_index_key_limits.py",
    "tests/e2e/test_resource_policies.py",
    "tests/e2e/test_pitr.py",
    "tests/e2e/test_backups.py",
    "tests/e2e/test_http.py",
    "tests/e2e/test_sts.py",
    "tests/e2e/test_admin_routes.py",
    "tests/e2e/test_auth.py",
    "tests/e2e/test_aws_cli.py",
    "tests/e2e/test_messages_round4.py",
    "tests/e2e/test_messages_partiql_round4.py",
    "tests/e2e/test_kinesis_streams.py",
    "tests/e2e/test_kinesis_records.py",
    "tests/e2e/test_kinesis_conformance_records.py",
    "tests/e2e/test_kinesis_conformance_shards.py",
    "tests/e2e/test_kinesis_conformance_streams.py",
    "tests/e2e/test_kinesis_conformance_tags.py",
    "tests/e2e/test_kinesis_fanout.py",
    "tests/e2e/test_kinesis_cbor.py",
    "tests/e2e/test_kinesis_encryption.py",
    "tests/e2e/test_kinesis_record_size.py",
    "tests/e2e/test_messages_kinesis_round4.py",
    "tests/e2e/test_cdc.py",
    "tests/e2e/test_dynamodbstreams.py",
    "tests/e2e/test_streams_edges.py",
    "tests/e2e/test_response_shapes_round4.py",
    "tests/e2e/test_lambda.py",
    "tests/e2e/test_lambda_environment.py",
    "tests/e2e/test_lambda_errors.py",
    "tests/e2e/test_lambda_provided.py",
    # Files whose tests start servers of their own (start_on_test_store: three nodes on a database
    # of their own in the cluster run), and clients of the shared one that talk to node 0 only
    # (the consumer runtime, the KCL daemon, the consume CLI, the console, HTTP/2).
    # docs/cluster.md has the table of every e2e file, in or out, and why.
    "tests/e2e/test_cluster_harness.py",
    "tests/e2e/test_hostile_bodies.py",
    "tests/e2e/test_hostile_expressions.py",
    "tests/e2e/test_hostile_http.py",
    "tests/e2e/test_consumer.py",
    "tests/e2e/test_kcl_daemon.py",
    "tests/e2e/test_consume_cli.py",
    "tests/e2e/test_cdc_replica.py",
    "tests/e2e/test_console.py",
    "tests/e2e/test_js_sdk.py",
    "tests/e2e/test_kinesis_http2.py",
    "tests/e2e/test_flow_control.py",
)

#: Tests of those files that meet a gap listed in docs/cluster.md ("Not correct across nodes
#: yet"), deselected in the cluster run with the gap named; each line goes when its gap closes.
CLUSTER_GAPS = {
    "tests/e2e/test_lambda.py::test_invoke_returns_result_context_and_environment_and_reuses_warm_process": (
        "warm Lambda sandboxes per node"
    ),
    "tests/e2e/test_lambda.py::test_concurrency_per_function_is_bounded": "Lambda concurrency bounded per node",
    "tests/e2e/test_lambda_provided.py::test_bootstrap_answers_with_the_environment_aws_sets": (
        "warm Lambda sandboxes per node"
    ),
    # item writes and Kinesis reads use the node's copy until the notification arrives (under
    # load it can arrive after the client's next call: both failed once on a loaded 2-core machine)
    "tests/e2e/test_kinesis_records.py::test_iterator_errors": (
        "GetRecords on a node that has not yet heard of a DeleteStream"
    ),
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The cluster run keeps CLUSTER_SUITE's tests, less CLUSTER_GAPS (reported as deselected)."""
    if TEST_STORE != "cluster":
        return
    kept, dropped = [], []
    for item in items:
        path = item.nodeid.split("::", 1)[0]
        in_gaps = item.nodeid.split("[", 1)[0] in CLUSTER_GAPS
        (kept if path in CLUSTER_SUITE and not in_gaps else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(scope="session")
def postgres():
    """A real PostgreSQL server for the whole session (the machine's binaries, run as the
    ``postgres`` user), deleted at the end."""
    from tests.pgserver import PostgresServer

    pg = PostgresServer().start()
    yield pg
    pg.stop()


@pytest.fixture(scope="session")
def server(tmp_path_factory, request) -> ServerProcess:
    """One shared server on disk (relaxed durability for speed), reset before each test; on
    PostgreSQL when ``TIDESTREAM_TEST_STORE=postgresql``."""
    tmp = tmp_path_factory.mktemp("server")
    args = ["--durability", "relaxed", "--ttl-interval", "0.2"]
    if TEST_STORE == "cluster":
        s: ServerProcess = start_cluster(tmp, request.getfixturevalue("postgres").dsn, *args)
    else:
        store = ["--store", request.getfixturevalue("postgres").dsn] if TEST_STORE == "postgresql" else []
        s = start_server(tmp, *args, *store)
    yield s
    assert s.stop() == 0, s.read_log()


def start_cluster(tmp_path: Path, dsn: str, *args: str, nodes: int = CLUSTER_NODES) -> ServerCluster:
    """``nodes`` ``--cluster`` nodes on the database ``dsn``, each with its own data dir and log,
    and one Kinesis encryption key for all (docs/cluster.md: each node would make its own)."""
    key_file = tmp_path / "kinesis-kms.key"
    key_file.write_text(os.urandom(32).hex())
    shared = ["--store", dsn, "--cluster", "--kms-key-file", str(key_file)]
    started: list[ServerProcess] = []
    try:
        for n in range(nodes):
            (tmp_path / f"node{n}").mkdir()
            started.append(start_server(tmp_path / f"node{n}", *shared, *args))
    except BaseException:
        for node in started:
            node.kill()
        raise
    return ServerCluster.of(started)


def start_on_test_store(
    request: pytest.FixtureRequest, tmp_path: Path, *args: str, on_disk: bool = True
) -> ServerProcess:
    """A server of a test's own (its own flags, environment or lifetime) on this run's store:
    ``start_server`` on RocksDB (in memory unless ``on_disk``), or on a fresh database of the
    session's PostgreSQL, as one node (``postgresql``) or CLUSTER_NODES ``--cluster`` nodes
    (``cluster``). A database of its own: the shared ``server``'s reset would wipe a shared one."""
    if TEST_STORE == "rocksdb":
        return start_server(tmp_path, *args, on_disk=on_disk)
    dsn = request.getfixturevalue("postgres").create_database("own_" + uuid.uuid4().hex[:16])
    if TEST_STORE == "cluster":
        return start_cluster(tmp_path, dsn, *args)
    return start_server(tmp_path, *args, "--store", dsn)


@pytest.fixture
def srv(server: ServerProcess) -> ServerProcess:
    server.reset()
    return server


@pytest.fixture
def ddb(srv: ServerProcess):
    return srv.client("dynamodb")


def make_table(
    ddb,
    name: str = "tbl",
    hash_key: str = "pk",
    hash_type: str = "S",
    range_key: str | None = None,
    range_type: str = "S",
    **kw,
) -> str:
    ks = [{"AttributeName": hash_key, "KeyType": "HASH"}]
    ad = [{"AttributeName": hash_key, "AttributeType": hash_type}]
    if range_key:
        ks.append({"AttributeName": range_key, "KeyType": "RANGE"})
        ad.append({"AttributeName": range_key, "AttributeType": range_type})
    extra_ad = kw.pop("extra_attributes", [])
    ad += [{"AttributeName": n, "AttributeType": t} for n, t in extra_ad]
    ddb.create_table(
        TableName=name,
        KeySchema=ks,
        AttributeDefinitions=ad,
        BillingMode=kw.pop("BillingMode", "PAY_PER_REQUEST"),
        **kw,
    )
    return name
