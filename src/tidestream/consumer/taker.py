"""Which leases a worker should take: KCL's balancing rules as pure functions.

Expiry is judged by this worker's own clock: a lease whose counter has not moved for the
failover time (since this worker first saw that counter) is expired. No clocks are compared
across workers.
"""

from __future__ import annotations

import math
import random
import time
from collections import Counter
from dataclasses import dataclass

from .lease import Lease


@dataclass
class Observation:
    counter: int
    owner: str | None
    since: float  # monotonic time at which this worker first saw this counter


class LeaseObserver:
    """Remembers when each lease's counter last changed, as seen by this worker."""

    def __init__(self) -> None:
        self.seen: dict[str, Observation] = {}

    def observe(self, leases: list[Lease], now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        current = {}
        for lease in leases:
            previous = self.seen.get(lease.lease_key)
            if (
                previous is None
                or previous.counter != lease.lease_counter
                or previous.owner != lease.lease_owner
            ):
                previous = Observation(lease.lease_counter, lease.lease_owner, now)
            current[lease.lease_key] = previous
        self.seen = current

    def is_expired(self, lease: Lease, failover_seconds: float, now: float | None = None) -> bool:
        """Unowned leases are free at once; owned ones after failover time without a counter change."""
        if lease.lease_owner is None:
            return True
        now = time.monotonic() if now is None else now
        seen = self.seen.get(lease.lease_key)
        return seen is not None and now - seen.since > failover_seconds


def target_lease_count(lease_count: int, worker_count: int, max_leases_for_worker: int) -> int:
    """About leases/workers, rounded up, at least one, at most the per-worker cap."""
    if lease_count == 0:
        return 0
    target = max(1, math.ceil(lease_count / max(worker_count, 1)))
    return min(target, max_leases_for_worker)


def leases_to_steal(
    active: list[Lease], me: str, needed: int, target: int, max_steal: int, rng: random.Random
) -> list[Lease]:
    """At most *max_steal* leases from the most loaded other worker, only if it is above target
    (or at target while we need more than one: otherwise two workers at target-1 and target
    would never converge)."""
    counts = Counter(lease.lease_owner for lease in active if lease.lease_owner != me)
    if not counts or needed <= 0:
        return []
    busiest, busiest_count = max(sorted(counts.items()), key=lambda item: item[1])
    over = busiest_count - target
    steal = min(needed, over)
    if needed > 1 and over == 0:
        steal = 1
    steal = min(steal, max_steal)
    if steal <= 0:
        return []
    candidates = [lease for lease in active if lease.lease_owner == busiest]
    return rng.sample(candidates, steal)


def choose_leases_to_take(
    leases: list[Lease],
    me: str,
    held: set[str],
    observer: LeaseObserver,
    failover_seconds: float,
    max_leases_for_worker: int,
    max_steal: int,
    rng: random.Random | None = None,
    now: float | None = None,
) -> list[Lease]:
    """The leases this worker should try to take now (finished leases are nobody's business)."""
    rng = rng or random.Random()
    live = [lease for lease in leases if not lease.is_finished]
    # a lease in the table under our name that we do not hold is left from an earlier run of
    # this worker id: free to take again
    free = [
        lease
        for lease in live
        if lease.lease_key not in held
        and (lease.lease_owner == me or observer.is_expired(lease, failover_seconds, now))
    ]
    free_keys = {lease.lease_key for lease in free}
    active = [lease for lease in live if lease.lease_key not in free_keys]
    workers = {lease.lease_owner for lease in active} | {me}
    target = target_lease_count(len(live), len(workers), max_leases_for_worker)
    needed = target - len(held)
    if needed <= 0:
        return []
    if free:
        rng.shuffle(free)
        return free[:needed]
    return leases_to_steal(active, me, needed, target, max_steal, rng)
