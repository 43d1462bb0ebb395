"""Record retrieval behind a small interface: polling (GetRecords) here, enhanced fan-out in fanout.py.

A ``RecordsFetcher`` is made for one shard at one start position and hands out batches until the
shard ends; the worker does not know how the records travel.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from .config import ConsumerConfig, InitialPosition
from .kpl import MAGIC, deaggregate
from .lease import AT_TIMESTAMP, LATEST, TRIM_HORIZON, ExtendedSequenceNumber
from .processor import Record

log = logging.getLogger(__name__)


@dataclass
class RecordsBatch:
    records: list[Record]
    millis_behind_latest: int | None
    shard_ended: bool = False
    child_shard_ids: frozenset[str] = field(default_factory=frozenset)


class RecordsFetcher(Protocol):
    def get_records(self) -> RecordsBatch:
        """The next batch (possibly empty); blocks for at most about the idle time."""

    def close(self) -> None:
        """Let go of any connection (the shard consumer is done with this shard)."""


def iterator_params(start: ExtendedSequenceNumber, config: ConsumerConfig) -> dict[str, Any]:
    """GetShardIterator arguments for a checkpoint: AT its sequence number (as KCL: a KPL aggregate
    checkpointed part-way must be read again; the shard consumer drops what is at or before the
    checkpoint), or the sentinel's position."""
    sentinel = start.sequence_number
    if not start.is_sentinel:
        return {"ShardIteratorType": "AT_SEQUENCE_NUMBER", "StartingSequenceNumber": sentinel}
    if sentinel == AT_TIMESTAMP:
        if config.initial_timestamp is None:
            raise ValueError("lease checkpoint is AT_TIMESTAMP but no initial_timestamp is configured")
        return {"ShardIteratorType": "AT_TIMESTAMP", "Timestamp": config.initial_timestamp}
    if sentinel in (TRIM_HORIZON, LATEST):
        return {"ShardIteratorType": sentinel}
    raise ValueError(f"cannot read from checkpoint {sentinel}")


def initial_checkpoint(position: InitialPosition) -> ExtendedSequenceNumber:
    return ExtendedSequenceNumber(position.value)


def user_records(
    records: list[Record], hash_range: tuple[int, int] | None, after: ExtendedSequenceNumber | None
) -> list[Record]:
    """What the processor gets: KPL aggregates split into their user records (KCL does this in the
    worker; an aggregate with a user record outside the shard's hash range belongs to another
    shard after a reshard and is dropped), and nothing at or before *after* (the checkpoint a
    read AT its sequence number started from)."""
    out: list[Record] = []
    for record in records:
        if record.data[: len(MAGIC)] == MAGIC:
            out.extend(
                _user_record(user)
                for user in deaggregate(
                    {
                        "SequenceNumber": record.sequence_number,
                        "PartitionKey": record.partition_key,
                        "Data": record.data,
                        "ApproximateArrivalTimestamp": record.approximate_arrival_timestamp,
                    },
                    hash_range,
                )
            )
        else:
            out.append(record)
    if after is not None:
        out = [
            record
            for record in out
            if (int(record.sequence_number), record.sub_sequence_number) > after.key()
        ]
    return out


def _user_record(user: Any) -> Record:
    return Record(
        user.sequence_number,
        user.partition_key,
        user.data,
        user.approximate_arrival,
        user.sub_sequence_number,
        user.aggregated,
        user.explicit_hash_key,
    )


def error_code(error: Exception) -> str | None:
    return getattr(error, "response", {}).get("Error", {}).get("Code")


def next_backoff(
    current: float, config: ConsumerConfig, shard_id: str, operation: str, error: Exception
) -> float:
    """Exponential back-off after a failed read, from throughput_backoff up to its cap (KCL's)."""
    first = config.throughput_backoff_millis / 1000
    backoff = min(current * 2 or first, config.max_throughput_backoff_millis / 1000)
    if error_code(error) in (
        "ProvisionedThroughputExceededException",
        "LimitExceededException",
        "ResourceInUseException",
    ):
        log.debug("shard %s: throttled or busy (%s), backing off %.2fs", shard_id, error_code(error), backoff)
    else:
        log.warning("shard %s: %s failed (%s); retrying in %.2fs", shard_id, operation, error, backoff)
    return backoff


class PollingFetcher:
    """GetShardIterator + GetRecords with KCL's polling behaviour.

    Throttling (ProvisionedThroughputExceededException) and other failures back off
    exponentially up to a cap and retry (KCL keeps retrying too); an expired iterator is renewed
    after the last sequence number seen; no NextShardIterator is SHARD_END.
    """

    def __init__(
        self,
        kinesis: Any,
        config: ConsumerConfig,
        shard_id: str,
        start: ExtendedSequenceNumber,
        stopping: threading.Event,
    ) -> None:
        self.kinesis = kinesis
        self.config = config
        self.shard_id = shard_id
        self.start = start
        self.stopping = stopping
        self.iterator: str | None = None
        self.last_sequence_number: str | None = None
        self.first_call = True
        self.backoff = 0.0

    def close(self) -> None:
        pass  # an iterator is no connection: nothing to let go of

    def _new_iterator(self) -> str:
        if self.last_sequence_number is not None:  # every user record of it was received
            params = {
                "ShardIteratorType": "AFTER_SEQUENCE_NUMBER",
                "StartingSequenceNumber": self.last_sequence_number,
            }
        else:
            params = iterator_params(self.start, self.config)
        return self.kinesis.get_shard_iterator(
            StreamName=self.config.stream_name, ShardId=self.shard_id, **params
        )["ShardIterator"]

    def get_records(self) -> RecordsBatch:
        """One GetRecords call after the idle time (or the back-off after a failure). A failed
        call returns an empty batch, so the caller re-checks its lease between retries."""
        if not self.first_call:
            self.stopping.wait(self.backoff or self.config.idle_time_between_reads_millis / 1000)
        self.first_call = False
        try:
            batch = self._fetch_renewing_expired()
        except (ClientError, BotoCoreError) as error:  # throttling, 5xx, connection: retried like KCL
            self._back_off(error)
            return RecordsBatch([], None)
        self.backoff = 0.0
        return batch

    def _fetch_renewing_expired(self) -> RecordsBatch:
        try:
            return self._fetch_once()
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ExpiredIteratorException":
                raise
        log.info("shard %s: iterator expired, renewing after %s", self.shard_id, self.last_sequence_number)
        self.iterator = None
        return self._fetch_once()

    def _back_off(self, error: Exception) -> None:
        self.backoff = next_backoff(self.backoff, self.config, self.shard_id, "GetRecords", error)

    def _fetch_once(self) -> RecordsBatch:
        if self.iterator is None:
            self.iterator = self._new_iterator()
        page = self.kinesis.get_records(ShardIterator=self.iterator, Limit=self.config.max_records)
        records = [Record.from_api(raw) for raw in page.get("Records", [])]
        if records:
            self.last_sequence_number = records[-1].sequence_number
        self.iterator = page.get("NextShardIterator")
        behind = page.get("MillisBehindLatest")
        if self.iterator is None:
            children = frozenset(child["ShardId"] for child in page.get("ChildShards", []))
            return RecordsBatch(records, behind, True, children)
        return RecordsBatch(records, behind)
