"""The record processor interface in KCL's shape (ShardRecordProcessor) and its inputs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .lease import ExtendedSequenceNumber

if TYPE_CHECKING:
    from .checkpoint import Checkpointer


@dataclass(frozen=True)
class Record:
    """A Kinesis record as GetRecords returns it (``data`` is bytes), or one user record of a KPL
    aggregate (``aggregated``: its ``sub_sequence_number`` is its index in the aggregate)."""

    sequence_number: str
    partition_key: str
    data: bytes
    approximate_arrival_timestamp: datetime | None = None
    sub_sequence_number: int = 0
    aggregated: bool = False
    explicit_hash_key: str | None = None

    @classmethod
    def from_api(cls, raw: dict[str, Any]) -> Record:
        return cls(
            raw["SequenceNumber"], raw["PartitionKey"], raw["Data"], raw.get("ApproximateArrivalTimestamp")
        )


@dataclass(frozen=True)
class InitializationInput:
    shard_id: str
    extended_sequence_number: ExtendedSequenceNumber
    pending_checkpoint_sequence_number: ExtendedSequenceNumber | None = None


@dataclass(frozen=True)
class ProcessRecordsInput:
    records: list[Record]
    checkpointer: Checkpointer
    millis_behind_latest: int | None
    is_at_shard_end: bool = False


@dataclass(frozen=True)
class LeaseLostInput:
    """No checkpointer: the lease belongs to another worker now, checkpointing would fail."""


@dataclass(frozen=True)
class ShardEndedInput:
    checkpointer: Checkpointer


@dataclass(frozen=True)
class ShutdownRequestedInput:
    checkpointer: Checkpointer


class ProcessorFailed(Exception):
    """Raised by a processor that cannot go on (e.g. its child process died): the shard's consumer
    stops instead of skipping the batch, and the lease is retaken from its checkpoint."""


class RecordProcessor:
    """Subclass this; one instance per shard lease, all calls from that lease's thread.

    ``shard_ended`` must call ``input.checkpointer.checkpoint()``: a shard whose end is not
    checkpointed is never finished, and its children are never processed (KCL refuses the same).
    """

    def initialize(self, input: InitializationInput) -> None:
        pass

    def process_records(self, input: ProcessRecordsInput) -> None:
        raise NotImplementedError

    def lease_lost(self, input: LeaseLostInput) -> None:
        pass

    def shard_ended(self, input: ShardEndedInput) -> None:
        raise NotImplementedError("shard_ended must call input.checkpointer.checkpoint()")

    def shutdown_requested(self, input: ShutdownRequestedInput) -> None:
        pass
