"""Change counters when several nodes capture into one database (``--cluster``).

One node numbers its changes from one in-memory sequence. Several nodes must neither reuse a
number (an outbox entry or a DynamoDB Streams record would overwrite another node's) nor put an
item's changes out of order, and each item's ApproximateCreationDateTime must keep increasing
whichever node makes its next change. So each captured item keeps a *stamp* row in the store
(``CDC_ITEM_STAMPS`` + item key: its last timestamp and last counter), read when the change is
captured and checked unchanged by the item's own checked commit (``write_checked``): if another
node changed the item meanwhile, the commit fails and the write starts again from its read, so
the stamp it builds on is always the item's latest.

A change's counter is ``(clock << NODE_BITS) | node number``: the clock is microseconds,
strictly increasing on this node and above the item's last counter; the node number is one no
other live node holds (a session advisory lock, ``AdvisoryLeases.claim_number``), and a node
that takes over a dead node's number starts its clock above every counter already stored. So
counters are unique, and per item strictly increasing, hence the outbox's key order and a
DynamoDB stream's record order are each item's commit order.
"""

from __future__ import annotations

import time
from typing import Any

import cbor2

from ..storage import keyspace
from ..storage.engine import StorageError

STAMPS = keyspace.CDC_ITEM_STAMPS
#: low bits of a counter holding the node number (4,096 nodes; 10**20 is reached in year ~2500)
NODE_BITS = 12


def stamp_key(item_key: bytes) -> bytes:
    return STAMPS + item_key


class ClusterSequencer:
    """Counters and per-item timestamps for one node of a cluster (see the module docstring)."""

    def __init__(self, engine: Any, leases: Any, floor: int) -> None:
        self.engine = engine
        #: who keeps the node number (``AdvisoryLeases``): its ``number_lost`` stops capture
        self.leases = leases
        self.node_number: int = leases.claim_number(1 << NODE_BITS)
        #: last clock value this node used (microseconds); starts above every stored counter
        self._clock = max(floor >> NODE_BITS, 0)
        #: (stamp key, stamp as read) of the commit being captured, for its checked write
        self._reads: list[tuple[bytes, Any]] = []

    def begin(self, item_key: bytes, last_us: dict[bytes, int]) -> int:
        """The counter of an item's next change; seeds ``last_us`` (the capture's per-item
        timestamps) with the item's last timestamp from any node."""
        if self.leases.number_lost:  # another node may hold the number now: no counter is safe
            raise StorageError("this node lost its change-capture node number; restart it (docs/cluster.md)")
        key = stamp_key(item_key)
        raw = self.engine.get(key)
        stamp = None if raw is None else cbor2.loads(raw)
        self._reads.append((key, stamp))
        last_counter = 0
        if stamp is not None:
            last_ts, last_counter = stamp
            if last_ts > last_us.get(item_key, -1):
                last_us[item_key] = last_ts
        now = int(time.time() * 1_000_000)
        clock = max(now, self._clock + 1, (last_counter >> NODE_BITS) + 1)
        self._clock = clock
        return (clock << NODE_BITS) | self.node_number

    @staticmethod
    def finish(item_key: bytes, last_ts: int, counter: int) -> tuple[bytes, bytes]:
        """The stamp row of the change just captured, for the item's own commit."""
        return stamp_key(item_key), cbor2.dumps([last_ts, counter])

    def checked_reads(self) -> list[tuple[bytes, Any]]:
        """The stamps read since the last call, which the commit must find unchanged."""
        reads, self._reads = self._reads, []
        return reads
