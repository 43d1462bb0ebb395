"""Enhanced fan-out retrieval (SubscribeToShard) behind the ``RecordsFetcher`` interface.

The worker registers (or reuses) one stream consumer named after the application; each shard
consumer subscribes from its checkpoint and reads the subscription's events one by one. A
subscription ends by itself (every 5 minutes on AWS); the next call resubscribes AFTER the last
ContinuationSequenceNumber, so a session that ends mid-consumption loses and repeats nothing. An
event without a ContinuationSequenceNumber is the shard's end, with its ChildShards.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from urllib3.exceptions import HTTPError as ConnectionBroken

from .config import ConsumerConfig
from .lease import ExtendedSequenceNumber
from .processor import Record
from .retrieval import RecordsBatch, error_code, iterator_params, next_backoff

log = logging.getLogger(__name__)

CONSUMER_ACTIVE_TIMEOUT_SECONDS = 60.0


class StreamConsumerRegistration:
    """The application's registered stream consumer, looked up or registered once per worker."""

    def __init__(self, kinesis: Any, stream_name: str, consumer_name: str) -> None:
        self.kinesis = kinesis
        self.stream_name = stream_name
        self.consumer_name = consumer_name
        self._arn: str | None = None
        self._lock = threading.Lock()

    def consumer_arn(self) -> str:
        with self._lock:
            if self._arn is None:
                self._arn = self._register_or_reuse()
            return self._arn

    def _register_or_reuse(self) -> str:
        stream_arn = self.kinesis.describe_stream_summary(StreamName=self.stream_name)[
            "StreamDescriptionSummary"
        ]["StreamARN"]
        description = self._describe(stream_arn)
        if description is None:
            try:
                self.kinesis.register_stream_consumer(StreamARN=stream_arn, ConsumerName=self.consumer_name)
                log.info("registered stream consumer %s on %s", self.consumer_name, self.stream_name)
            except ClientError as error:
                if error_code(error) != "ResourceInUseException":  # another worker registered it first
                    raise
        return self._wait_active(stream_arn)

    def _describe(self, stream_arn: str) -> dict[str, Any] | None:
        try:
            return self.kinesis.describe_stream_consumer(
                StreamARN=stream_arn, ConsumerName=self.consumer_name
            )["ConsumerDescription"]
        except ClientError as error:
            if error_code(error) == "ResourceNotFoundException":
                return None
            raise

    def _wait_active(self, stream_arn: str) -> str:
        """A new consumer is CREATING for a few seconds on AWS; SubscribeToShard needs ACTIVE."""
        deadline = time.monotonic() + CONSUMER_ACTIVE_TIMEOUT_SECONDS
        while True:
            description = self._describe(stream_arn)
            if description is not None and description["ConsumerStatus"] == "ACTIVE":
                return description["ConsumerARN"]
            if time.monotonic() > deadline:
                raise RuntimeError(f"stream consumer {self.consumer_name} did not become ACTIVE")
            time.sleep(0.5)


def starting_position(start: ExtendedSequenceNumber, config: ConsumerConfig) -> dict[str, Any]:
    """SubscribeToShard's StartingPosition for a checkpoint (the same rules as GetShardIterator)."""
    params = iterator_params(start, config)
    position: dict[str, Any] = {"Type": params["ShardIteratorType"]}
    if "StartingSequenceNumber" in params:
        position["SequenceNumber"] = params["StartingSequenceNumber"]
    if "Timestamp" in params:
        position["Timestamp"] = params["Timestamp"]
    return position


class FanOutFetcher:
    """One shard's subscriptions, one event per ``get_records()``.

    A call blocks until the next event: a batch of records, or the server's heartbeat while the
    shard is idle (at least every 5 s on AWS), so lease loss and shutdown are noticed within one
    heartbeat. Failures (ResourceInUse for a subscription still open elsewhere, throttling, a broken
    connection) drop the subscription and back off like polling does.
    """

    def __init__(
        self,
        kinesis: Any,
        config: ConsumerConfig,
        shard_id: str,
        start: ExtendedSequenceNumber,
        stopping: threading.Event,
        registration: StreamConsumerRegistration,
    ) -> None:
        self.kinesis = kinesis
        self.config = config
        self.shard_id = shard_id
        self.start = start
        self.stopping = stopping
        self.registration = registration
        self.continuation: str | None = None  # where the next subscription starts (after it)
        self.events: Iterator[dict[str, Any]] | None = None
        self.event_stream: Any = None
        self.backoff = 0.0
        self.subscriptions = 0

    def get_records(self) -> RecordsBatch:
        if self.backoff:
            self.stopping.wait(self.backoff)
        try:
            if self.events is None:
                self._subscribe()
            assert self.events is not None
            event = next(self.events, None)
        except (ClientError, BotoCoreError, ConnectionBroken, OSError) as error:
            # an exception event, a refused call, or the connection breaking mid-session
            self.close()
            self.backoff = next_backoff(self.backoff, self.config, self.shard_id, "SubscribeToShard", error)
            return RecordsBatch([], None)
        self.backoff = 0.0
        if event is None:  # the session ended (5 minutes on AWS): resubscribe on the next call
            log.debug(
                "shard %s: subscription ended; resubscribing after %s", self.shard_id, self.continuation
            )
            self.close()
            return RecordsBatch([], None)
        return self._batch(event.get("SubscribeToShardEvent"))

    def _subscribe(self) -> None:
        if self.continuation is None:
            position = starting_position(self.start, self.config)
        else:  # everything up to the continuation was received
            position = {"Type": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": self.continuation}
        response = self.kinesis.subscribe_to_shard(
            ConsumerARN=self.registration.consumer_arn(), ShardId=self.shard_id, StartingPosition=position
        )
        self.event_stream = response["EventStream"]
        self.events = iter(self.event_stream)
        self.subscriptions += 1

    def _batch(self, body: dict[str, Any] | None) -> RecordsBatch:
        if body is None:  # an event type this client does not know: nothing to deliver
            return RecordsBatch([], None)
        records = [Record.from_api(raw) for raw in body.get("Records", [])]
        behind = body.get("MillisBehindLatest")
        continuation = body.get("ContinuationSequenceNumber")
        if continuation is None:  # the shard is closed and fully read
            self.close()
            children = frozenset(child["ShardId"] for child in body.get("ChildShards", []))
            return RecordsBatch(records, behind, True, children)
        self.continuation = continuation
        return RecordsBatch(records, behind)

    def close(self) -> None:
        stream, self.event_stream, self.events = self.event_stream, None, None
        if stream is not None:
            try:
                stream.close()
            except Exception:  # a connection already broken: nothing left to close
                log.debug("shard %s: closing the subscription failed", self.shard_id, exc_info=True)
