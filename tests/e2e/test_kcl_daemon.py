"""``tidestream kcl``: AWS's UNMODIFIED amazon_kclpy sample application run under our daemon.

amazon_kclpy's wheel cannot be built here (its build downloads KCL's jars), but its source
distribution holds the pure-Python protocol side and AWS's sample processor. The test downloads
it at test time (pip's cache makes reruns cheap), puts its ``amazon_kclpy`` package on the child's
PYTHONPATH, and runs ``samples/sample_kclpy_app.py`` as the executable. Nothing of it is committed.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.e2e.consumer_helpers import (
    REPO_ROOT,
    checkpoint_of,
    create_stream,
    lease_rows,
    put_records,
    wait_until,
)
from tidestream.consumer.multilang import DaemonSettings, PropertiesError, parse_properties

KCLPY_VERSION = "3.2.0"  # pinned: the test exercises a known protocol implementation


@pytest.fixture(scope="module")
def kclpy(tmp_path_factory) -> Path:
    """The unpacked amazon_kclpy sdist (its root: ``amazon_kclpy/`` and ``samples/``)."""
    where = tmp_path_factory.mktemp("kclpy")
    download = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--no-binary",
            ":all:",
            "--quiet",
            "-d",
            str(where),
            f"amazon_kclpy=={KCLPY_VERSION}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    archives = list(where.glob("amazon_kclpy-*.tar.gz"))
    if download.returncode != 0 or not archives:
        pytest.skip(f"amazon_kclpy's sdist could not be downloaded from PyPI: {download.stderr[-500:]}")
    with tarfile.open(archives[0]) as archive:
        if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4: refuse links and paths out of *where*
            archive.extractall(where, filter="data")
        else:
            archive.extractall(where)
    root = where / f"amazon_kclpy-{KCLPY_VERSION}"
    assert (root / "samples" / "sample_kclpy_app.py").is_file()
    return root


def write_properties(
    path: Path, kclpy: Path, endpoint: str, stream: str, app: str, retrieval_mode: str = "POLLING"
) -> Path:
    sample = kclpy / "samples" / "sample_kclpy_app.py"
    path.write_text(f"""# KCL properties as amazon_kclpy's sample.properties writes them
executableName = {sys.executable} {sample}
streamName = {stream}
applicationName = {app}
AwsCredentialsProvider = DefaultCredentialsProvider
processingLanguage = python/3.12
initialPositionInStream = TRIM_HORIZON
regionName = us-east-1
kinesisEndpoint = {endpoint}
dynamoDBEndpoint = {endpoint}
failoverTimeMillis = 3000
shardSyncIntervalMillis = 1000
idleTimeBetweenReadsInMillis = 200
parentShardPollIntervalMillis = 200
workerId = kcl-daemon-1
retrievalMode = {retrieval_mode}
""")
    return path


def start_daemon(properties: Path, kclpy: Path, log_path: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "PYTHONPATH": str(kclpy),
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    with open(log_path, "wb") as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tidestream",
                "kcl",
                "--properties",
                str(properties),
                "--log-level",
                "DEBUG",
            ],
            stdout=subprocess.DEVNULL,
            stderr=log,
            cwd=REPO_ROOT,
            env=env,
        )


def last_by_shard(written: set[tuple[str, str]]) -> dict[str, str]:
    last: dict[str, str] = {}
    for shard, seq in written:
        if shard not in last or int(seq) > int(last[shard]):
            last[shard] = seq
    return last


@pytest.mark.parametrize("retrieval_mode", ["POLLING", "FANOUT"])
def test_unmodified_kclpy_sample_processes_checkpoints_and_ends_shards(srv, tmp_path, kclpy, retrieval_mode):
    kinesis, dynamodb = srv.client("kinesis"), srv.client("dynamodb")
    create_stream(kinesis, "kclpysample", 2)
    first = put_records(kinesis, "kclpysample", 40, "first")
    properties = write_properties(
        tmp_path / "app.properties", kclpy, srv.endpoint, "kclpysample", "PyKclApp", retrieval_mode
    )
    log_path = tmp_path / "daemon.log"
    daemon = start_daemon(properties, kclpy, log_path)
    try:
        # the sample checkpoints its first batch at once: both shards reach their last record
        for shard, seq in last_by_shard(first).items():
            wait_until(
                lambda shard=shard, seq=seq: (
                    checkpoint_of(lease_rows(dynamodb, "PyKclApp"), shard) == seq
                    if shard in lease_rows(dynamodb, "PyKclApp")
                    else False
                ),
                f"{shard} checkpointed at {seq}\n{log_path.read_text()[-3000:]}",
            )
        # a split ends shard 0: the child is told shardEnded and checkpoints SHARD_END
        shard0 = kinesis.list_shards(StreamName="kclpysample")["Shards"][0]
        low, high = (
            int(shard0["HashKeyRange"]["StartingHashKey"]),
            int(shard0["HashKeyRange"]["EndingHashKey"]),
        )
        kinesis.split_shard(
            StreamName="kclpysample",
            ShardToSplit=shard0["ShardId"],
            NewStartingHashKey=str((low + high) // 2),
        )
        wait_until(
            lambda: checkpoint_of(lease_rows(dynamodb, "PyKclApp"), shard0["ShardId"]) == "SHARD_END",
            f"split parent checkpointed SHARD_END\n{log_path.read_text()[-3000:]}",
        )
        second = put_records(kinesis, "kclpysample", 60, "second")
        # later batches are checkpointed only at shutdown (the sample checkpoints every 30 s):
        # wait until the daemon handed every last record to its child, then stop gracefully
        for seq in last_by_shard(second).values():
            wait_until(lambda seq=seq: f"up to {seq}" in log_path.read_text(), f"record {seq} delivered")
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(60) == 0
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
    log = log_path.read_text()
    rows = lease_rows(dynamodb, "PyKclApp")
    for shard, seq in last_by_shard(second).items():
        assert checkpoint_of(rows, shard) == seq, log[-3000:]
        assert "leaseOwner" not in rows[shard]  # handed over at shutdown
    assert checkpoint_of(rows, shard0["ShardId"]) == "SHARD_END"
    # the sample's own stderr, forwarded to the daemon's log: every record was processed
    for tag, count in (("first", 40), ("second", 60)):
        for i in range(count):
            assert f"Partition Key: {tag}-{i}," in log
    assert "Shutdown has been requested, checkpointing." in log
    assert "Shard has ended checkpointing" in log
    # one child process per shard: 2 original shards + 2 children of the split
    pids = set(re.findall(r"shard (shardId-\d+): started child pid (\d+)", log))
    assert len({shard for shard, _ in pids}) == 4 and len({pid for _, pid in pids}) == 4, pids
    consumers = kinesis.list_stream_consumers(
        StreamARN=kinesis.describe_stream_summary(StreamName="kclpysample")["StreamDescriptionSummary"][
            "StreamARN"
        ]
    )["Consumers"]
    assert [c["ConsumerName"] for c in consumers] == (["PyKclApp"] if retrieval_mode == "FANOUT" else [])


def test_a_child_that_dies_is_restarted_from_the_checkpoint(srv, tmp_path, kclpy):
    """A processor that exits mid-stream (here: a crash on the first batch) is not skipped past:
    the lease is retaken, a new child starts from the last checkpoint and gets the records again."""
    kinesis, dynamodb = srv.client("kinesis"), srv.client("dynamodb")
    create_stream(kinesis, "crashy", 1)
    written = put_records(kinesis, "crashy", 10, "once")
    marker = tmp_path / "crashed-once"
    script = tmp_path / "crash_once.py"
    sample = kclpy / "samples" / "sample_kclpy_app.py"
    script.write_text(f"""import os, runpy, sys
if not os.path.exists({str(marker)!r}):
    import amazon_kclpy.kcl as kcl
    real_handle = kcl.KCLProcess._handle_a_line
    def handle(self, line):
        if '"processRecords"' in line:
            open({str(marker)!r}, "w").close()
            os._exit(3)
        return real_handle(self, line)
    kcl.KCLProcess._handle_a_line = handle
sys.argv = [{str(sample)!r}]
runpy.run_path({str(sample)!r}, run_name="__main__")
""")
    properties = write_properties(tmp_path / "app.properties", kclpy, srv.endpoint, "crashy", "CrashyApp")
    properties.write_text(
        properties.read_text().replace(f"{sys.executable} {sample}", f"{sys.executable} {script}")
    )
    log_path = tmp_path / "daemon.log"
    daemon = start_daemon(properties, kclpy, log_path)
    try:
        ((shard, seq),) = last_by_shard(written).items()
        wait_until(
            lambda: (
                shard in lease_rows(dynamodb, "CrashyApp")
                and checkpoint_of(lease_rows(dynamodb, "CrashyApp"), shard) == seq
            ),
            f"checkpoint after the restart\n{log_path.read_text()[-3000:]}",
        )
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(60)
    log = log_path.read_text()
    assert marker.exists()
    assert "child exited with 3" in log
    assert len(re.findall(r"started child pid", log)) >= 2


def test_a_tables_dynamodb_stream_under_the_daemon(srv, tmp_path, kclpy):
    """streamArn naming a DynamoDB stream: the same sample processes the table's changes (each
    record's data the stream record's JSON) and checkpoints the last one at shutdown."""
    dynamodb, streams = srv.client("dynamodb"), srv.client("dynamodbstreams")
    arn = dynamodb.create_table(
        TableName="kcltable",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )["TableDescription"]["LatestStreamArn"]
    for i in range(6):
        dynamodb.put_item(TableName="kcltable", Item={"pk": {"S": f"item-{i}"}})
    properties = write_properties(tmp_path / "app.properties", kclpy, srv.endpoint, "unused", "TableApp")
    properties.write_text(
        properties.read_text()
        .replace("streamName = unused", f"streamArn = {arn}")
        .replace("retrievalMode = POLLING", "")
    )
    log_path = tmp_path / "daemon.log"
    daemon = start_daemon(properties, kclpy, log_path)
    shards = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    records = [
        r
        for shard in shards
        for r in streams.get_records(
            ShardIterator=streams.get_shard_iterator(
                StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
        )["Records"]
    ]
    last = records[-1]["dynamodb"]["SequenceNumber"]
    try:
        wait_until(
            lambda: f"up to {last}" in log_path.read_text(),
            f"{last} delivered\n{log_path.read_text()[-2000:]}",
        )
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(60) == 0
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
    log = log_path.read_text()
    rows = lease_rows(dynamodb, "TableApp")
    checkpoints = [checkpoint_of(rows, key) for key in rows]
    assert max((c for c in checkpoints if c.isdigit()), key=int) == last, log[-3000:]
    for record in records:  # the sample logs each record's sequence number (and no partition key)
        assert f"Partition Key: , Sequence Number: {record['dynamodb']['SequenceNumber']}," in log


@pytest.mark.parametrize(
    "text, expected",
    [
        ("a = 1\nb: two\n# c = 3\n! d = 4\n", {"a": "1", "b": "two"}),
        ("executableName = python3 \\\n    app.py\n", {"executableName": "python3 app.py"}),
        ("key=value=more\nempty =\n", {"key": "value=more", "empty": ""}),
    ],
)
def test_properties_are_read_as_java_reads_them(text, expected):
    assert parse_properties(text) == expected


def test_properties_settle_the_worker_config():
    settings = DaemonSettings(
        parse_properties("""
executableName = python3 app.py --verbose
streamArn = arn:aws:kinesis:eu-west-1:123456789012:stream/orders
streamName = ignored-when-an-arn-is-given
applicationName = OrdersApp
initialPositionInStreamExtended = 1636609142
failoverTimeMillis = 5000
maxRecords = 500
AWSCredentialsProvider = DefaultAWSCredentialsProviderChain
retrievalMode = FANOUT
fanoutConfig.consumerName = orders-efo
""")
    )
    assert settings.executable == ["python3", "app.py", "--verbose"]
    assert settings.config.stream_name == "orders" and settings.region == "eu-west-1"
    assert settings.config.initial_position.value == "AT_TIMESTAMP"
    assert settings.config.initial_timestamp.timestamp() == 1636609142
    assert (settings.config.failover_time_millis, settings.config.max_records) == (5000, 500)
    assert (settings.config.retrieval, settings.config.stream_consumer_name) == ("fanout", "orders-efo")


@pytest.mark.parametrize(
    "extra, retrieval",
    [
        ("", "fanout"),
        ("retrievalMode = DEFAULT\n", "fanout"),
        ("maxRecords = 100\n", "polling"),
        ("idleTimeBetweenReadsInMillis = 500\nretrievalMode = default\n", "polling"),
        ("retrievalMode = POLLING\n", "polling"),
        ("maxRecords = 100\nretrievalMode = FANOUT\n", "fanout"),
    ],
)
def test_retrieval_mode_default_is_fanout_unless_polling_is_configured(extra, retrieval):
    settings = DaemonSettings(
        parse_properties("executableName = x\nstreamName = s\napplicationName = a\n" + extra)
    )
    assert settings.config.retrieval == retrieval


@pytest.mark.parametrize(
    "text, complaint",
    [
        ("streamName = s\napplicationName = a\n", "executableName is required"),
        ("executableName = x\napplicationName = a\n", "streamName is required"),
        (
            "executableName = x\nstreamName = s\napplicationName = a\nmaxRecords = lots\n",
            "maxRecords must be an integer",
        ),
        (
            "executableName = x\nstreamName = s\napplicationName = a\ninitialPositionInStream = AT_TIMESTAMP\n",
            "initialPositionInStreamExtended",
        ),
        (
            "executableName = x\nstreamArn = arn:aws:sqs:us-east-1:1:q\napplicationName = a\n",
            "not a Kinesis or DynamoDB stream ARN",
        ),
        (
            "executableName = x\nstreamName = s\napplicationName = a\nretrievalMode = PUSH\n",
            "retrievalMode must be FANOUT, POLLING or DEFAULT",
        ),
    ],
)
def test_bad_properties_are_refused_with_the_property_named(text, complaint):
    with pytest.raises(PropertiesError, match=complaint):
        DaemonSettings(parse_properties(text))


def test_cli_refuses_a_bad_properties_file_with_exit_2(tmp_path):
    bad = tmp_path / "bad.properties"
    bad.write_text("streamName = s\n")
    result = subprocess.run(
        [sys.executable, "-m", "tidestream", "kcl", "--properties", str(bad)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=60,
    )
    assert result.returncode == 2
    assert "executableName is required" in result.stderr
