"""Readable tails: how far a reader may read an append-only log kept in the engine.

Writes are visible in the engine as soon as they are applied, before the group commit's fsync
(storage/engine.py). A log that readers consume (a Kinesis shard, a DynamoDB stream) must not
show them a record a power loss could still take back: under strict durability each log's
readable tail moves only when the fsync covering its records has completed. The engine calls
:meth:`ReadableTails.prepare` once per group commit (never per write) and runs what it returns
after the fsync. In relaxed durability (and in memory) records are readable at once: that mode
already accepts losing the last interval on power loss.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from functools import partial
from typing import Any


class ReadableTails:
    """Per log (any hashable key): the last position a reader may see, and the last written.

    ``on_readable(key)`` runs whenever a log's tail moves, so woken readers (SubscribeToShard,
    event source mappings) find the records they were woken for."""

    def __init__(self, engine: Any, on_readable: Callable[[Any], None]) -> None:
        hooks = getattr(engine, "durable_hooks", None)
        #: readers stop at the fsynced tail (strict durability); else at the last write
        self.bounded = hooks is not None and getattr(engine, "durability", "") == "strict"
        self.on_readable = on_readable
        #: key -> last readable position (absent: nothing written since start, so 0)
        self.readable: dict[Hashable, int] = {}
        #: key -> last position written but not yet covered by a completed fsync
        self._unsynced: dict[Hashable, int] = {}
        #: bumped by :meth:`reset`, so a publish prepared before a reset does nothing after it
        self._generation = 0
        if hooks is not None and self.bounded:
            hooks.append(self.prepare)

    def load(self, key: Hashable, position: int) -> None:
        """A log's position as found in the store at start (on disk, so readable)."""
        self.readable[key] = position

    def reset(self) -> None:
        self.readable.clear()
        self._unsynced.clear()
        self._generation += 1

    def last(self, key: Hashable) -> int:
        """The last position of *key* a reader may see."""
        return self.readable.get(key, 0)

    def written(self, key: Hashable, position: int) -> None:
        """Records up to *position* of *key* are in the engine (not yet fsynced when bounded)."""
        if self.bounded:
            self._unsynced[key] = position
        else:
            self.readable[key] = position
            self.on_readable(key)

    def prepare(self) -> Callable[[], None] | None:
        """The engine's hook, right before an fsync: what it covers, published once it is done.
        Entries stay noted until published, so a failed fsync leaves them to the next one."""
        if not self._unsynced:
            return None
        return partial(self._publish, dict(self._unsynced), self._generation)

    def _publish(self, covered: dict[Hashable, int], generation: int) -> None:
        if generation != self._generation:
            return
        readable = self.readable
        unsynced = self._unsynced
        for key, position in covered.items():
            if position > readable.get(key, 0):
                readable[key] = position
            if unsynced.get(key) == position:
                del unsynced[key]
            self.on_readable(key)
