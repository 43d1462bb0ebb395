"""KCL's MultiLangDaemon without Java: ``tidestream kcl --properties app.properties``.

It reads KCL's ``.properties`` file, runs the worker runtime of this package, and proxies each held
shard to ONE CHILD PROCESS running ``executableName``, speaking KCL's multi-language protocol: one
JSON message per line on the child's stdin, the child's answers (``status``, ``checkpoint``) one per
line on its stdout. The child's stderr goes to the daemon's log. Record processors written for
amazon_kclpy (or any other multi-language KCL binding) run unmodified.
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import queue
import shlex
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime
from typing import IO, Any

from botocore.exceptions import BotoCoreError, ClientError

from ..arns import parse_arn
from .checkpoint import Checkpointer, ShutdownException
from .config import ConsumerConfig
from .processor import (
    InitializationInput,
    LeaseLostInput,
    ProcessorFailed,
    ProcessRecordsInput,
    Record,
    RecordProcessor,
    ShardEndedInput,
    ShutdownRequestedInput,
)

log = logging.getLogger("tidestream.kcl")
child_log = logging.getLogger("tidestream.kcl.child")

EOF = object()  # the child closed its stdout (it exited)
CHILD_EXIT_GRACE_SECONDS = 10.0


class PropertiesError(ValueError):
    """A properties file the daemon cannot run with; the message names the property."""


# --- the properties file -----------------------------------------------------------------------


def parse_properties(text: str) -> dict[str, str]:
    """Java ``.properties`` as KCL reads them: ``key = value`` or ``key: value``, ``#``/``!``
    comments, a trailing backslash continues the line."""
    props: dict[str, str] = {}
    logical = ""
    for raw in text.splitlines():
        line = raw.strip() if not logical else raw.lstrip()
        if not logical and (not line or line[0] in "#!"):
            continue
        if line.endswith("\\") and not line.endswith("\\\\"):
            logical += line[:-1]
            continue
        logical += line
        key, value = _split_property(logical)
        props[key] = value
        logical = ""
    if logical:
        key, value = _split_property(logical)
        props[key] = value
    return props


def _split_property(line: str) -> tuple[str, str]:
    cut = min((i for i in (line.find("="), line.find(":")) if i >= 0), default=-1)
    if cut < 0:
        return line.strip(), ""
    return line[:cut].strip(), line[cut + 1 :].strip()


# properties the daemon understands -> ConsumerConfig field (all integers in milliseconds or counts)
INT_PROPERTIES = {
    "failoverTimeMillis": "failover_time_millis",
    "maxRecords": "max_records",
    "idleTimeBetweenReadsInMillis": "idle_time_between_reads_millis",
    "shardSyncIntervalMillis": "shard_sync_interval_millis",
    "parentShardPollIntervalMillis": "parent_shard_poll_interval_millis",
    "maxLeasesForWorker": "max_leases_for_worker",
    "maxLeasesToStealAtOneTime": "max_leases_to_steal_at_one_time",
    "epsilonMillis": "epsilon_millis",
    "taskBackoffTimeMillis": "throughput_backoff_millis",
}
# accepted so KCL files run unchanged, but they do not apply here (credentials come from boto3's chain)
IGNORED_PROPERTIES = frozenset(
    {
        "AWSCredentialsProvider",
        "AwsCredentialsProvider",
        "AWSCredentialsProviderDynamoDB",
        "AWSCredentialsProviderCloudWatch",
        "processingLanguage",
        "metricsLevel",
        "metricsEnabledDimensions",
        "metricsBufferTimeMillis",
        "metricsMaxQueueSize",
        "callProcessRecordsEvenForEmptyRecordList",
        "cleanupLeasesUponShardCompletion",
        "validateSequenceNumberBeforeCheckpointing",
        "maxActiveThreads",
        "userAgent",
        "clientVersionConfig",
    }
)
KNOWN_PROPERTIES = frozenset(
    {
        "executableName",
        "streamName",
        "streamArn",
        "applicationName",
        "workerId",
        "tableName",
        "initialPositionInStream",
        "initialPositionInStreamExtended",
        "regionName",
        "kinesisEndpoint",
        "dynamoDBEndpoint",
        "timeoutInSeconds",
        "shutdownGraceMillis",
        "retrievalMode",
        "fanoutConfig.consumerName",
        *INT_PROPERTIES,
    }
)


class DaemonSettings:
    """What a properties file says: the worker's config, the child command, where the APIs are."""

    def __init__(self, props: dict[str, str]) -> None:
        self.executable = shlex.split(_required(props, "executableName"))
        stream_name, arn_region = _stream_of(props)
        # a table's DynamoDB stream ARN: read through the DynamoDB Streams adapter
        self.dynamodb_streams = stream_name.startswith("arn:") and ":dynamodb:" in stream_name
        if self.dynamodb_streams and props.get("retrievalMode", "").strip().upper() == "FANOUT":
            raise PropertiesError("retrievalMode FANOUT: DynamoDB Streams has no enhanced fan-out")
        self.region = props.get("regionName") or arn_region or "us-east-1"
        self.kinesis_endpoint = props.get("kinesisEndpoint") or None
        self.dynamodb_endpoint = props.get("dynamoDBEndpoint") or None
        self.timeout_seconds = _int(props, "timeoutInSeconds") if props.get("timeoutInSeconds") else None
        fields = _config_fields(props, stream_name)
        if self.dynamodb_streams:
            fields.pop("retrieval", None)
            fields.pop("consumer_name", None)
        self.config = ConsumerConfig(**fields)
        for key in sorted(set(props) - KNOWN_PROPERTIES):
            how = "does not apply here" if key in IGNORED_PROPERTIES else "is not supported"
            log.info("property %s %s; ignored", key, how)


def _required(props: dict[str, str], key: str) -> str:
    value = props.get(key, "").strip()
    if not value:
        raise PropertiesError(f"{key} is required")
    return value


def _int(props: dict[str, str], key: str) -> int:
    try:
        return int(props[key])
    except ValueError:
        raise PropertiesError(f"{key} must be an integer, got {props[key]!r}") from None


def _stream_of(props: dict[str, str]) -> tuple[str, str | None]:
    """streamArn wins over streamName (KCL's rule); the ARN also names the region. A DynamoDB
    stream ARN (``arn:aws:dynamodb:R:A:table/T/stream/LABEL``) stays whole: it is the name the
    DynamoDB Streams adapter reads."""
    arn = props.get("streamArn", "").strip()
    if arn:
        parsed = parse_arn(arn)
        if (
            parsed is not None
            and parsed.service == "dynamodb"
            and parsed.resource_type == "table"
            and "/stream/" in parsed.full_resource
        ):
            return arn, parsed.region or None
        if parsed is None or parsed.service != "kinesis" or parsed.resource_type != "stream":
            raise PropertiesError(f"streamArn is not a Kinesis or DynamoDB stream ARN: {arn!r}")
        return parsed.resource, parsed.region or None
    return _required(props, "streamName"), None


def _config_fields(props: dict[str, str], stream_name: str) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "application_name": _required(props, "applicationName"),
        "stream_name": stream_name,
    }
    if props.get("workerId"):
        fields["worker_id"] = props["workerId"]
    if props.get("tableName"):
        fields["table_name"] = props["tableName"]
    fields.update(_initial_position(props))
    for key, field_name in INT_PROPERTIES.items():
        if props.get(key):
            fields[field_name] = _int(props, key)
    if props.get("shutdownGraceMillis"):
        fields["shutdown_timeout_millis"] = _int(props, "shutdownGraceMillis")
    fields.update(_retrieval(props))
    return fields


POLLING_PROPERTIES = ("maxRecords", "idleTimeBetweenReadsInMillis")


def _retrieval(props: dict[str, str]) -> dict[str, Any]:
    """KCL's rule: FANOUT or POLLING as told; DEFAULT (or nothing) is fan-out unless a polling
    setting is present, which makes it polling."""
    mode = props.get("retrievalMode", "DEFAULT").strip().upper()
    if mode not in ("FANOUT", "POLLING", "DEFAULT"):
        raise PropertiesError(f"retrievalMode must be FANOUT, POLLING or DEFAULT, got {mode!r}")
    if mode == "DEFAULT":
        polling = [key for key in POLLING_PROPERTIES if props.get(key)]
        if polling:
            log.warning(
                "polling properties set (%s): retrievalMode DEFAULT means polling; add "
                "retrievalMode = FANOUT to read with enhanced fan-out",
                ", ".join(polling),
            )
        mode = "POLLING" if polling else "FANOUT"
    if mode == "POLLING":
        return {}
    return {"retrieval": "fanout", "consumer_name": props.get("fanoutConfig.consumerName") or None}


def _initial_position(props: dict[str, str]) -> dict[str, Any]:
    """initialPositionInStreamExtended (seconds since the epoch) means AT_TIMESTAMP, as in KCL."""
    if props.get("initialPositionInStreamExtended"):
        seconds = _int(props, "initialPositionInStreamExtended")
        return {
            "initial_position": "AT_TIMESTAMP",
            "initial_timestamp": datetime.fromtimestamp(seconds, UTC),
        }
    position = props.get("initialPositionInStream", "LATEST").strip().upper()
    if position not in ("LATEST", "TRIM_HORIZON"):
        raise PropertiesError(
            f"initialPositionInStream must be LATEST or TRIM_HORIZON (AT_TIMESTAMP is "
            f"set with initialPositionInStreamExtended), got {position!r}"
        )
    return {"initial_position": position}


# --- messages ----------------------------------------------------------------------------------


def record_message(record: Record) -> dict[str, Any]:
    """A record as KCL's JsonFriendlyRecord writes it (data base64, arrival time in epoch millis)."""
    arrival = record.approximate_arrival_timestamp
    return {
        "action": "record",
        "data": base64.b64encode(record.data).decode("ascii"),
        "partitionKey": record.partition_key,
        "sequenceNumber": record.sequence_number,
        "subSequenceNumber": record.sub_sequence_number,
        "approximateArrivalTimestamp": int(arrival.timestamp() * 1000) if arrival else 0,
    }


def checkpoint_error_name(error: Exception) -> str:
    """The Java exception's simple name KCL puts in a checkpoint response's ``error``."""
    if isinstance(error, ShutdownException):
        return "ShutdownException"
    if isinstance(error, ValueError):
        return "IllegalArgumentException"
    code = error.response.get("Error", {}).get("Code", "") if isinstance(error, ClientError) else ""
    if "Throttl" in code or code in ("ProvisionedThroughputExceededException", "LimitExceededException"):
        return "ThrottlingException"
    return "KinesisClientLibDependencyException"


# --- one child process -------------------------------------------------------------------------


class ChildProcess:
    """The executable for one shard; its stdout and stderr are read by two threads."""

    def __init__(self, command: list[str], shard_id: str, timeout_seconds: float | None) -> None:
        self.shard_id = shard_id
        self.timeout_seconds = timeout_seconds
        self.proc = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0
        )
        log.info("shard %s: started child pid %d: %s", shard_id, self.proc.pid, shlex.join(command))
        self.lines: queue.Queue[Any] = queue.Queue()
        threading.Thread(target=self._read_stdout, name=f"child-out-{shard_id}", daemon=True).start()
        threading.Thread(target=self._forward_stderr, name=f"child-err-{shard_id}", daemon=True).start()

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in iter(self.proc.stdout.readline, b""):
            self.lines.put(line)
        self.lines.put(EOF)

    def _forward_stderr(self) -> None:
        """Chunks, not lines: a child that writes without a newline is still heard."""
        stream: IO[bytes] | None = self.proc.stderr
        assert stream is not None
        for chunk in iter(lambda: os.read(stream.fileno(), 65536), b""):
            text = chunk.decode("utf-8", "replace").rstrip("\n")
            if text:
                child_log.info("[%s pid %d] %s", self.shard_id, self.proc.pid, text)

    def send(self, message: dict[str, Any]) -> None:
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(json.dumps(message).encode() + b"\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError, OSError) as error:
            raise ProcessorFailed(f"shard {self.shard_id}: child exited ({error})") from None

    def receive(self) -> dict[str, Any]:
        """The next JSON object the child wrote; blank and non-JSON lines are logged and skipped
        (other libraries may print to stdout too, which KCL tolerates as well)."""
        while True:
            try:
                line = self.lines.get(timeout=self.timeout_seconds)
            except queue.Empty:
                self.kill()
                raise ProcessorFailed(
                    f"shard {self.shard_id}: child gave no answer within "
                    f"{self.timeout_seconds}s (timeoutInSeconds); killed"
                ) from None
            if line is EOF:
                raise ProcessorFailed(f"shard {self.shard_id}: child exited with {self.proc.wait()}")
            message = _json_object(line)
            if message is not None:
                return message
            if line.strip():
                child_log.info(
                    "[%s pid %d] stdout: %s",
                    self.shard_id,
                    self.proc.pid,
                    line.decode("utf-8", "replace").rstrip(),
                )

    def close(self) -> None:
        """EOF on stdin ends a well-behaved child; one that lingers is killed."""
        try:
            if self.proc.stdin:
                self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(CHILD_EXIT_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            log.warning("shard %s: child pid %d did not exit; killing it", self.shard_id, self.proc.pid)
            self.kill()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def _json_object(line: bytes) -> dict[str, Any] | None:
    try:
        message = json.loads(line)
    except ValueError:
        return None
    return message if isinstance(message, dict) and "action" in message else None


# --- the record processor that proxies to the child -------------------------------------------


class MultiLangProcessor(RecordProcessor):
    """One per held shard: every call becomes a message to the shard's child, answered by a
    ``status`` for that action; ``checkpoint`` requests in between are carried out and answered."""

    def __init__(self, settings: DaemonSettings) -> None:
        self.settings = settings
        self.child: ChildProcess | None = None
        self.shard_id = ""

    def initialize(self, input: InitializationInput) -> None:
        self.shard_id = input.shard_id
        self.child = ChildProcess(self.settings.executable, input.shard_id, self.settings.timeout_seconds)
        position = input.extended_sequence_number
        self._call(
            {
                "action": "initialize",
                "shardId": input.shard_id,
                "sequenceNumber": position.sequence_number,
                "subSequenceNumber": position.sub_sequence_number,
            },
            None,
        )

    def process_records(self, input: ProcessRecordsInput) -> None:
        log.debug(
            "shard %s: processRecords %d records up to %s",
            self.shard_id,
            len(input.records),
            input.records[-1].sequence_number if input.records else None,
        )
        self._call(
            {
                "action": "processRecords",
                "records": [record_message(r) for r in input.records],
                "millisBehindLatest": input.millis_behind_latest,
            },
            input.checkpointer,
        )

    def lease_lost(self, input: LeaseLostInput) -> None:
        self._final_call({"action": "leaseLost"}, None)

    def shard_ended(self, input: ShardEndedInput) -> None:
        self._final_call({"action": "shardEnded"}, input.checkpointer)

    def shutdown_requested(self, input: ShutdownRequestedInput) -> None:
        self._final_call({"action": "shutdownRequested"}, input.checkpointer)

    def _final_call(self, message: dict[str, Any], checkpointer: Checkpointer | None) -> None:
        """The child's last message: it is closed afterwards whatever happened."""
        if self.child is None:
            return
        try:
            self._call(message, checkpointer)
        finally:
            self.child.close()
            log.info("shard %s: child exited with %s", self.shard_id, self.child.proc.returncode)

    def _call(self, message: dict[str, Any], checkpointer: Checkpointer | None) -> None:
        child = self.child
        assert child is not None
        action = message["action"]
        child.send(message)
        while True:
            answer = child.receive()
            if answer["action"] == "status" and answer.get("responseFor") == action:
                return
            if answer["action"] == "checkpoint":
                child.send(self._checkpoint(answer, checkpointer))
                continue
            child.kill()
            raise ProcessorFailed(f"shard {self.shard_id}: child answered {answer!r} to {action}; killed")

    def _checkpoint(self, request: dict[str, Any], checkpointer: Checkpointer | None) -> dict[str, Any]:
        """Carry out the child's checkpoint; the answer names the position written or the error."""
        sequence_number = request.get("sequenceNumber")
        sub_sequence_number = request.get("subSequenceNumber")
        response = {
            "action": "checkpoint",
            "sequenceNumber": sequence_number,
            "subSequenceNumber": sub_sequence_number,
        }
        if checkpointer is None:  # leaseLost: the lease is someone else's
            return {**response, "error": "ShutdownException"}
        try:
            if sequence_number is None:
                checkpointer.checkpoint()
            else:
                checkpointer.checkpoint(str(sequence_number), int(sub_sequence_number or 0))
        except (ShutdownException, ValueError, ClientError, BotoCoreError) as error:
            log.info("shard %s: checkpoint %s refused: %s", self.shard_id, sequence_number, error)
            return {**response, "error": checkpoint_error_name(error)}
        written = checkpointer.last_checkpoint
        return {
            **response,
            "sequenceNumber": written.sequence_number,
            "subSequenceNumber": written.sub_sequence_number,
        }


# --- the daemon --------------------------------------------------------------------------------


def make_clients(settings: DaemonSettings) -> tuple[Any, Any]:
    import boto3

    session = boto3.session.Session(region_name=settings.region)
    dynamodb = session.client("dynamodb", endpoint_url=settings.dynamodb_endpoint)
    if settings.dynamodb_streams:
        from .dynamodb_streams import DynamoDBStreamsAdapter

        streams = session.client("dynamodbstreams", endpoint_url=settings.dynamodb_endpoint)
        return DynamoDBStreamsAdapter(streams), dynamodb
    return session.client("kinesis", endpoint_url=settings.kinesis_endpoint), dynamodb


def main(argv: list[str]) -> int:
    from .worker import Worker

    parser = argparse.ArgumentParser(
        prog="tidestream kcl",
        description=(
            "Run a KCL multi-language record processor (e.g. an amazon_kclpy application) without Java: "
            "one child process per shard, KCL's properties file and lease table."
        ),
    )
    parser.add_argument("--properties", required=True, help="KCL .properties file (executableName, ...)")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s",
    )
    try:
        with open(args.properties, encoding="utf-8") as handle:
            settings = DaemonSettings(parse_properties(handle.read()))
    except (OSError, ValueError) as error:
        print(f"tidestream kcl: {args.properties}: {error}", file=sys.stderr)
        return 2
    kinesis, dynamodb = make_clients(settings)
    worker = Worker(settings.config, lambda: MultiLangProcessor(settings), kinesis, dynamodb)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: worker.shutdown())
    log.info(
        "worker %s consuming %s for application %s",
        settings.config.worker_id,
        settings.config.stream_name,
        settings.config.application_name,
    )
    worker.run()
    return 0
