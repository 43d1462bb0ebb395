"""A lease row in KCL's own DynamoDB schema (KCL 2.x/3.x, single-stream mode).

The attribute names and DynamoDB types are KCL's, so a Java KCL worker and this runtime can take
over each other's lease table. Attributes this runtime does not understand (KCL 3.x's
``throughputKBps``, multi-stream fields...) are never rewritten: every change is an UpdateItem of
named attributes, never a whole-item put of an existing lease.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# attribute names (KCL DynamoDBLeaseSerializer)
LEASE_KEY = "leaseKey"  # S, the table's hash key: the shard id
LEASE_OWNER = "leaseOwner"  # S, absent when nobody holds the lease
LEASE_COUNTER = "leaseCounter"  # N, bumped by every take/renew/checkpoint/release
CHECKPOINT = "checkpoint"  # S, sequence number or a sentinel
CHECKPOINT_SUB = "checkpointSubSequenceNumber"  # N
PENDING_CHECKPOINT = "pendingCheckpoint"  # S (two-phase checkpoint)
PENDING_CHECKPOINT_SUB = "pendingCheckpointSubSequenceNumber"  # N
PENDING_CHECKPOINT_STATE = "pendingCheckpointState"  # B
OWNER_SWITCHES = "ownerSwitchesSinceCheckpoint"  # N
PARENT_SHARD_IDS = "parentShardId"  # SS (singular name, set value: KCL's spelling)
CHILD_SHARD_IDS = "childShardIds"  # SS
STARTING_HASH_KEY = "startingHashKey"  # S (decimal)
ENDING_HASH_KEY = "endingHashKey"  # S (decimal)
CHECKPOINT_OWNER = "checkpointOwner"  # S, KCL 3.x graceful hand-off in progress
THROUGHPUT_KBPS = "throughputKBps"  # N, KCL 3.x load metric (read, never written)

# checkpoint sentinels (KCL SentinelCheckpoint)
TRIM_HORIZON = "TRIM_HORIZON"
LATEST = "LATEST"
AT_TIMESTAMP = "AT_TIMESTAMP"
SHARD_END = "SHARD_END"
SENTINELS = frozenset({TRIM_HORIZON, LATEST, AT_TIMESTAMP, SHARD_END})


@dataclass(frozen=True, order=True)
class ExtendedSequenceNumber:
    """A checkpoint position: a Kinesis sequence number (or sentinel) plus the KPL sub-sequence."""

    sequence_number: str
    sub_sequence_number: int = 0

    @property
    def is_sentinel(self) -> bool:
        return self.sequence_number in SENTINELS

    def key(self) -> tuple[int, int]:
        """Numeric order of two real sequence numbers (strings of up to 56 digits)."""
        return (int(self.sequence_number), self.sub_sequence_number)


@dataclass
class Lease:
    """One shard's lease as read from the table (a snapshot; the table is the truth)."""

    lease_key: str
    lease_counter: int = 0
    lease_owner: str | None = None
    checkpoint: ExtendedSequenceNumber = ExtendedSequenceNumber(TRIM_HORIZON)
    owner_switches_since_checkpoint: int = 0
    parent_shard_ids: frozenset[str] = frozenset()
    child_shard_ids: frozenset[str] = frozenset()
    starting_hash_key: str | None = None
    ending_hash_key: str | None = None
    pending_checkpoint: ExtendedSequenceNumber | None = None
    checkpoint_owner: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def shard_id(self) -> str:
        return self.lease_key

    @property
    def is_finished(self) -> bool:
        return self.checkpoint.sequence_number == SHARD_END


def _s(item: dict, name: str) -> str | None:
    value = item.get(name)
    return value["S"] if value and "S" in value else None


def _n(item: dict, name: str, default: int = 0) -> int:
    value = item.get(name)
    return int(value["N"]) if value and "N" in value else default


def _ss(item: dict, name: str) -> frozenset[str]:
    value = item.get(name)
    return frozenset(value["SS"]) if value and "SS" in value else frozenset()


KNOWN = frozenset(
    {
        LEASE_KEY,
        LEASE_OWNER,
        LEASE_COUNTER,
        CHECKPOINT,
        CHECKPOINT_SUB,
        PENDING_CHECKPOINT,
        PENDING_CHECKPOINT_SUB,
        OWNER_SWITCHES,
        PARENT_SHARD_IDS,
        CHILD_SHARD_IDS,
        STARTING_HASH_KEY,
        ENDING_HASH_KEY,
        CHECKPOINT_OWNER,
    }
)


def lease_from_item(item: dict[str, dict]) -> Lease:
    """Decode a DynamoDB item (low-level AttributeValue shape) written by KCL or by us."""
    pending = _s(item, PENDING_CHECKPOINT)
    return Lease(
        lease_key=item[LEASE_KEY]["S"],
        lease_counter=_n(item, LEASE_COUNTER),
        lease_owner=_s(item, LEASE_OWNER),
        checkpoint=ExtendedSequenceNumber(_s(item, CHECKPOINT) or TRIM_HORIZON, _n(item, CHECKPOINT_SUB)),
        owner_switches_since_checkpoint=_n(item, OWNER_SWITCHES),
        parent_shard_ids=_ss(item, PARENT_SHARD_IDS),
        child_shard_ids=_ss(item, CHILD_SHARD_IDS),
        starting_hash_key=_s(item, STARTING_HASH_KEY),
        ending_hash_key=_s(item, ENDING_HASH_KEY),
        pending_checkpoint=ExtendedSequenceNumber(pending, _n(item, PENDING_CHECKPOINT_SUB))
        if pending
        else None,
        checkpoint_owner=_s(item, CHECKPOINT_OWNER),
        extra={k: v for k, v in item.items() if k not in KNOWN},
    )


def new_lease_item(lease: Lease) -> dict[str, dict]:
    """The item of a lease created for a newly discovered shard (no owner, counter 0)."""
    item: dict[str, dict] = {
        LEASE_KEY: {"S": lease.lease_key},
        LEASE_COUNTER: {"N": str(lease.lease_counter)},
        CHECKPOINT: {"S": lease.checkpoint.sequence_number},
        CHECKPOINT_SUB: {"N": str(lease.checkpoint.sub_sequence_number)},
        OWNER_SWITCHES: {"N": str(lease.owner_switches_since_checkpoint)},
    }
    if lease.parent_shard_ids:
        item[PARENT_SHARD_IDS] = {"SS": sorted(lease.parent_shard_ids)}
    if lease.starting_hash_key is not None and lease.ending_hash_key is not None:
        item[STARTING_HASH_KEY] = {"S": lease.starting_hash_key}
        item[ENDING_HASH_KEY] = {"S": lease.ending_hash_key}
    return item
