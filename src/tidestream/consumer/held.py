"""A lease this worker holds: the one in-memory copy that renewals and checkpoints share."""

from __future__ import annotations

import threading
import time

from .lease import ExtendedSequenceNumber, Lease


class HeldLease:
    """The counter of a held lease changes with every renewal and checkpoint; both go through
    ``lock`` so each conditional write names the counter the previous one produced."""

    def __init__(self, lease: Lease, counter: int, owner: str) -> None:
        self.lease_key = lease.lease_key
        self.snapshot = lease
        self.owner = owner
        self.counter = counter
        self.checkpoint: ExtendedSequenceNumber = lease.checkpoint
        self.lock = threading.Lock()
        self.last_renewed = time.monotonic()
        self.lost = threading.Event()

    def renewed(self, counter: int) -> None:
        self.counter = counter
        self.last_renewed = time.monotonic()

    def expired(self, failover_seconds: float) -> bool:
        """Other workers may take the lease once it has not been renewed for the failover time:
        stop processing before that, by our own clock."""
        return time.monotonic() - self.last_renewed > failover_seconds

    def mark_lost(self) -> None:
        self.lost.set()
