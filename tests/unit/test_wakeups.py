"""tidestream.wakeups: the append notification SubscribeToShard and mapping pollers wait on."""

from __future__ import annotations

import asyncio

from tidestream.wakeups import Wakeups


def test_an_append_after_taking_the_waiter_wakes_it_and_a_new_one_is_handed_out():
    async def scenario() -> None:
        wakeups = Wakeups()
        first = wakeups.waiter(7)
        assert wakeups.waiter(7) is first  # one event per key, shared by its readers
        wakeups.notify(8)  # another stream: not this one
        assert not first.is_set()
        wakeups.notify(7)
        assert first.is_set()
        second = wakeups.waiter(7)
        assert second is not first and not second.is_set()  # the next append is a new wait

    asyncio.run(scenario())


def test_notify_without_readers_keeps_nothing_and_reset_wakes_everyone():
    async def scenario() -> None:
        wakeups = Wakeups()
        wakeups.notify(1)
        assert not wakeups.waiter(1).is_set()  # an append nobody waited for is not remembered
        waiting = [wakeups.waiter(1), wakeups.waiter(2)]
        wakeups.reset()
        assert all(event.is_set() for event in waiting)
        assert not wakeups.waiter(1).is_set()

    asyncio.run(scenario())
