"""Shard discovery: ListShards (paginated) and a lease for every shard that has none."""

from __future__ import annotations

import logging
from typing import Any

from .config import ConsumerConfig, InitialPosition
from .lease import SHARD_END, TRIM_HORIZON, ExtendedSequenceNumber, Lease
from .lease_table import LeaseTable

log = logging.getLogger(__name__)


def list_shards(kinesis: Any, stream_name: str, page_size: int = 1000) -> list[dict[str, Any]]:
    """Every shard of the stream, open and closed (within retention), across pages."""
    shards: list[dict[str, Any]] = []
    page = kinesis.list_shards(StreamName=stream_name, MaxResults=page_size)
    while True:
        shards.extend(page.get("Shards", []))
        token = page.get("NextToken")
        if not token:
            return shards
        page = kinesis.list_shards(NextToken=token, MaxResults=page_size)  # no StreamName with a token


def parent_ids(shard: dict[str, Any]) -> frozenset[str]:
    return frozenset(p for p in (shard.get("ParentShardId"), shard.get("AdjacentParentShardId")) if p)


def starting_checkpoint(
    shard: dict[str, Any], first_sync: bool, position: InitialPosition
) -> ExtendedSequenceNumber:
    """Where a new lease starts.

    At the application's first sync every shard starts at the configured initial position (a
    closed shard read from LATEST has nothing left: it starts finished). Shards that appear
    later are children of shards already consumed: they are read from their beginning.
    """
    if not first_sync:
        return ExtendedSequenceNumber(TRIM_HORIZON)
    closed = "EndingSequenceNumber" in shard.get("SequenceNumberRange", {})
    if closed and position is InitialPosition.LATEST:
        return ExtendedSequenceNumber(SHARD_END)
    return ExtendedSequenceNumber(position.value)


def sync_shards(kinesis: Any, table: LeaseTable, config: ConsumerConfig) -> int:
    """Create the missing leases; returns how many this call created."""
    shards = list_shards(kinesis, config.stream_name)
    existing = {lease.lease_key for lease in table.list_leases()}
    first_sync = not existing
    created = 0
    for shard in shards:
        if shard["ShardId"] in existing:
            continue
        hash_range = shard.get("HashKeyRange", {})
        lease = Lease(
            lease_key=shard["ShardId"],
            checkpoint=starting_checkpoint(shard, first_sync, config.initial_position),
            parent_shard_ids=parent_ids(shard),
            starting_hash_key=hash_range.get("StartingHashKey"),
            ending_hash_key=hash_range.get("EndingHashKey"),
        )
        if table.create_lease_if_absent(lease):
            created += 1
            log.info("created lease %s at %s", lease.lease_key, lease.checkpoint.sequence_number)
    return created
