"""Worker configuration: KCL's names and defaults (LeaseManagementConfig, PollingConfig)."""

from __future__ import annotations

import socket
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum


class InitialPosition(str, Enum):
    """Where a lease created at the application's first start begins (KCL InitialPositionInStream)."""

    TRIM_HORIZON = "TRIM_HORIZON"
    LATEST = "LATEST"
    AT_TIMESTAMP = "AT_TIMESTAMP"


def default_worker_id() -> str:
    """Unique per process, like KCL's examples (host + random), so a restart is a new worker."""
    return f"{socket.gethostname()}:{uuid.uuid4()}"


@dataclass
class ConsumerConfig:
    """Everything a Worker needs besides its clients and its processor factory.

    ``application_name`` names the lease table (KCL: applicationName = tableName by default).
    Times are in milliseconds like KCL's settings so values can be copied from a KCL config.
    """

    application_name: str
    stream_name: str
    worker_id: str = field(default_factory=default_worker_id)
    table_name: str | None = None
    initial_position: InitialPosition = InitialPosition.TRIM_HORIZON
    initial_timestamp: datetime | None = None
    # lease management (LeaseManagementConfig)
    failover_time_millis: int = 10_000
    epsilon_millis: int = 25
    max_leases_for_worker: int = 2**31 - 1
    max_leases_to_steal_at_one_time: int = 1
    shard_sync_interval_millis: int = 60_000
    lease_taker_interval_millis: int | None = None  # KCL: (failover + epsilon) * 2
    parent_shard_poll_interval_millis: int = 10_000
    # retrieval (PollingConfig)
    max_records: int = 10_000
    idle_time_between_reads_millis: int = 1_000
    throughput_backoff_millis: int = 1_000
    max_throughput_backoff_millis: int = 10_000
    # retrieval mode: "polling" (GetRecords) or "fanout" (enhanced fan-out, SubscribeToShard) with
    # a stream consumer named consumer_name (default: the application name), registered if missing
    retrieval: str = "polling"
    consumer_name: str | None = None
    # graceful shutdown: how long shutdown() waits for processors before giving up
    shutdown_timeout_millis: int = 30_000

    def __post_init__(self) -> None:
        self.initial_position = InitialPosition(self.initial_position)
        if self.initial_position is InitialPosition.AT_TIMESTAMP and self.initial_timestamp is None:
            raise ValueError("initial_position AT_TIMESTAMP needs initial_timestamp")
        if self.failover_time_millis <= 0:
            raise ValueError("failover_time_millis must be positive")
        if self.retrieval not in ("polling", "fanout"):
            raise ValueError(f"retrieval must be 'polling' or 'fanout', got {self.retrieval!r}")
        if not 1 <= self.max_records <= 10_000:
            raise ValueError("max_records must be 1..10000 (the GetRecords Limit range)")

    @property
    def lease_table_name(self) -> str:
        return self.table_name or self.application_name

    @property
    def stream_consumer_name(self) -> str:
        return self.consumer_name or self.application_name

    @property
    def renew_interval_seconds(self) -> float:
        """KCL renews every failoverTime/3 - epsilon, so two renewals may fail before expiry."""
        return max(self.failover_time_millis / 3 - self.epsilon_millis, 1) / 1000

    @property
    def taker_interval_seconds(self) -> float:
        millis = self.lease_taker_interval_millis
        if millis is None:
            millis = (self.failover_time_millis + self.epsilon_millis) * 2
        return millis / 1000
