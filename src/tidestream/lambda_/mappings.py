"""Event source mappings as records, their checkpoints, and their storage in the engine.

Keyspace (inside Lambda's ``\\x07``; the prefixes are defined in :mod:`tidestream.storage.keyspace`):

* ``\\x07M<uuid>`` -> a mapping's configuration (JSON, :class:`EventSourceMapping`);
* ``\\x07P<uuid>/<shardId>`` -> the mapping's position in one shard (JSON, :class:`Checkpoint`):
  the last sequence number handed to the function and settled (processed, or discarded after
  its retries), whether the shard is finished, and an open tumbling window's state.

A checkpoint is written after the batch it covers is settled, so a crash replays at most the
batches in flight (at-least-once, as on AWS). Deleting a mapping removes its record and all its
checkpoints in one batch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import orjson

from ..storage import keyspace
from ..storage.engine import Engine, WriteConflict

MAPPING_PREFIX = keyspace.LAMBDA_EVENT_SOURCE_MAPPINGS
CHECKPOINT_PREFIX = keyspace.LAMBDA_MAPPING_CHECKPOINTS

#: LastProcessingResult values AWS reports for stream mappings
NO_RECORDS = "No records processed"
RESULT_OK = "OK"
RESULT_FAILED = "PROBLEM: Function call failed"
#: states in which AWS refuses to change a mapping (and a run has yet to settle)
TRANSITIONAL = ("Creating", "Enabling", "Disabling", "Updating", "Deleting")


@dataclass
class EventSourceMapping:
    """One mapping as stored; the members AWS answers with are rendered by :func:`configuration`."""

    uuid: str
    account: str
    region: str
    function_name: str
    event_source_arn: str
    #: "kinesis" or "dynamodb" (streams read here); "other" for sources not served
    source_kind: str
    starting_position: str | None
    starting_position_timestamp: float | None
    batch_size: int
    batching_window: int
    parallelization_factor: int
    bisect_on_error: bool
    maximum_retry_attempts: int
    maximum_record_age: int
    tumbling_window: int
    function_response_types: list[str]
    filter_criteria: dict | None
    destination_config: dict
    enabled: bool
    state: str
    created: float
    last_modified: float
    last_processing_result: str = NO_RECORDS
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> bytes:
        return MAPPING_PREFIX + self.uuid.encode()

    @property
    def function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account}:function:{self.function_name}"

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account}:event-source-mapping:{self.uuid}"

    @property
    def reports_item_failures(self) -> bool:
        return "ReportBatchItemFailures" in self.function_response_types

    def to_json(self) -> bytes:
        return orjson.dumps(asdict(self))

    @classmethod
    def from_json(cls, raw: bytes) -> EventSourceMapping:
        return cls(**orjson.loads(raw))


@dataclass
class Checkpoint:
    """A mapping's position in one shard."""

    #: the last sequence number settled (None: nothing read yet, start at StartingPosition)
    sequence_number: str | None = None
    #: the shard is closed and every record of it is settled (its children may start)
    finished: bool = False
    #: the open tumbling window: {"start": epoch s, "state": {...}} or None
    window: dict | None = None

    def to_json(self) -> bytes:
        return orjson.dumps(asdict(self))

    @classmethod
    def from_json(cls, raw: bytes) -> Checkpoint:
        return cls(**orjson.loads(raw))


def checkpoint_key(uuid: str, shard_id: str) -> bytes:
    return CHECKPOINT_PREFIX + f"{uuid}/{shard_id}".encode()


class MappingStore:
    """Every mapping, indexed in memory over the engine; checkpoints are read from the engine.

    ``shared`` (``--cluster``): mappings are created, changed and deleted through any node but
    polled by one (the leader, storage/leases.py), so lookups and listings read the store and
    ``announce(key)`` tells the other nodes after each write (the leader restarts the mapping's
    pollers; see :meth:`.state.LambdaState.heard`)."""

    def __init__(
        self, engine: Engine, shared: bool = False, announce: Callable[[bytes], None] | None = None
    ) -> None:
        self.engine = engine
        self.shared = shared
        self.announce = announce
        self.mappings: dict[str, EventSourceMapping] = {}
        self.reload()

    def reload(self) -> None:
        self.mappings = {m.uuid: m for m in self._stored()}

    def _stored(self) -> list[EventSourceMapping]:
        return [
            EventSourceMapping.from_json(v)
            for _, v in self.engine.scan(MAPPING_PREFIX, MAPPING_PREFIX + b"\xff")
        ]

    def get(self, uuid: str) -> EventSourceMapping | None:
        if self.shared:
            return self.refresh(uuid)
        return self.mappings.get(uuid)

    def refresh(self, uuid: str) -> EventSourceMapping | None:
        """This node's copy of a mapping replaced by the store's (None: deleted)."""
        raw = self.engine.get(MAPPING_PREFIX + uuid.encode())
        if raw is None:
            self.mappings.pop(uuid, None)
            return None
        mapping = self.mappings[uuid] = EventSourceMapping.from_json(raw)
        return mapping

    def all(self) -> list[EventSourceMapping]:
        """Every mapping (on a shared store, as stored: others' too)."""
        if self.shared:
            self.reload()
        return list(self.mappings.values())

    def put(self, mapping: EventSourceMapping) -> None:
        self.engine.write([(mapping.key, mapping.to_json())])
        self.mappings[mapping.uuid] = mapping
        self._announce(mapping.key)

    def change(self, uuid: str, **fields: Any) -> None:
        """The pollers' own changes (State, LastProcessingResult) to the stored mapping; on a
        shared store only if no node changed it since it was read here (else the user's update
        wins: the leader hears of it and starts the mapping again)."""
        mapping = self.get(uuid)
        if mapping is None or all(getattr(mapping, k) == v for k, v in fields.items()):
            return
        before = mapping.to_json()
        changed = replace(mapping, **fields)
        if not self.shared:
            self.put(changed)
            return
        try:
            self.engine.write_checked(  # type: ignore[attr-defined]
                [(changed.key, changed.to_json())], [changed.key], lambda v: v[0] == before
            )
        except WriteConflict:
            return
        self.mappings[uuid] = changed
        self._announce(changed.key)

    def delete(self, mapping: EventSourceMapping) -> None:
        """The mapping and all its checkpoints, in one atomic batch."""
        prefix = checkpoint_key(mapping.uuid, "")
        writes: list[tuple[bytes, bytes | None]] = [(mapping.key, None)]
        writes.extend((k, None) for k, _ in self.engine.scan(prefix, prefix + b"\xff"))
        self.engine.write(writes)
        self.mappings.pop(mapping.uuid, None)
        self._announce(mapping.key)

    def _announce(self, key: bytes) -> None:
        if self.announce is not None:
            self.announce(key)

    def listing(self, account: str, region: str) -> list[EventSourceMapping]:
        """One account's and region's mappings, oldest first (a stable order for Marker)."""
        found = [m for m in self.all() if m.account == account and m.region == region]
        return sorted(found, key=lambda m: (m.created, m.uuid))

    def checkpoint(self, uuid: str, shard_id: str) -> Checkpoint | None:
        raw = self.engine.get(checkpoint_key(uuid, shard_id))
        return None if raw is None else Checkpoint.from_json(raw)

    def save_checkpoint(self, uuid: str, shard_id: str, checkpoint: Checkpoint) -> None:
        self.engine.write([(checkpoint_key(uuid, shard_id), checkpoint.to_json())])


def configuration(mapping: EventSourceMapping, dead_letter_log: str | None = None) -> dict[str, Any]:
    """The EventSourceMappingConfiguration shape AWS answers with for a stream mapping.

    With an OnFailure destination, ``TidestreamDeadLetterLog`` names the file its discarded
    batches go to (SDKs ignore members their model lacks; raw JSON shows it)."""
    out: dict[str, Any] = {"UUID": mapping.uuid}
    if mapping.starting_position is not None:
        out["StartingPosition"] = mapping.starting_position
    if mapping.starting_position_timestamp is not None:
        out["StartingPositionTimestamp"] = mapping.starting_position_timestamp
    out.update(
        {
            "BatchSize": mapping.batch_size,
            "MaximumBatchingWindowInSeconds": mapping.batching_window,
            "ParallelizationFactor": mapping.parallelization_factor,
            "EventSourceArn": mapping.event_source_arn,
            "FunctionArn": mapping.function_arn,
            "LastModified": mapping.last_modified,
            "LastProcessingResult": mapping.last_processing_result,
            "State": mapping.state,
            "StateTransitionReason": "User action",
            "DestinationConfig": mapping.destination_config,
            "MaximumRecordAgeInSeconds": mapping.maximum_record_age,
            "BisectBatchOnFunctionError": mapping.bisect_on_error,
            "MaximumRetryAttempts": mapping.maximum_retry_attempts,
            "TumblingWindowInSeconds": mapping.tumbling_window,
            "FunctionResponseTypes": list(mapping.function_response_types),
            "EventSourceMappingArn": mapping.arn,
        }
    )
    if mapping.filter_criteria is not None:
        out["FilterCriteria"] = mapping.filter_criteria
    if dead_letter_log and (mapping.destination_config.get("OnFailure") or {}).get("Destination"):
        out["TidestreamDeadLetterLog"] = dead_letter_log
    return out
