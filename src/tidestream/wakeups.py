"""Append notifications: readers that would otherwise poll wait on an event set by the writer.

A writer calls :meth:`Wakeups.notify` for a key (a stream id) once its records are in the engine;
a reader takes :meth:`Wakeups.waiter` *before* it reads, so an append made between its read and
its wait still wakes it. An event exists only while someone waits, so ``notify`` with no reader
costs one pop on an empty dict. Used by SubscribeToShard (:mod:`tidestream.kinesis.fanout`) and by
Lambda's event source mappings (Kinesis and DynamoDB Streams); everything runs on the server's
event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable


class Wakeups:
    __slots__ = ("_events",)

    def __init__(self) -> None:
        self._events: dict[Hashable, asyncio.Event] = {}

    def notify(self, key: Hashable) -> None:
        """Records were appended under *key*: wake whoever waits for it."""
        event = self._events.pop(key, None)
        if event is not None:
            event.set()

    def waiter(self, key: Hashable) -> asyncio.Event:
        """The event the next :meth:`notify` of *key* sets (shared by all its readers)."""
        event = self._events.get(key)
        if event is None:
            event = self._events[key] = asyncio.Event()
        return event

    def reset(self) -> None:
        """Wake everyone (the state was wiped); they look again and find what is left."""
        for event in self._events.values():
            event.set()
        self._events.clear()
