"""Group commit of the RocksDB engine (strict durability), on a real store in a temp dir."""

from __future__ import annotations

import asyncio

from tidestream.storage import engine as engine_module
from tidestream.storage.engine import RocksEngine


def test_writes_of_one_group_resolve_after_one_fsync_and_look_the_loop_up_once(tmp_path, monkeypatch):
    """CPython 3.11's get_running_loop() makes a getpid system call on every call: a group
    looks the loop up once, not once per write (it was 1.25 getpid per PutItem)."""
    store = RocksEngine(str(tmp_path / "db"))
    lookups = []
    real = asyncio.get_running_loop

    def counted() -> asyncio.AbstractEventLoop:
        lookups.append(1)
        return real()

    async def five_writes() -> list[bool]:
        monkeypatch.setattr(engine_module.asyncio, "get_running_loop", counted)
        futures = []
        for i in range(5):
            store.write([(b"k%d" % i, b"v")])
            futures.append(store.sync_future())
        await asyncio.gather(*futures)
        return [f.done() and f.exception() is None for f in futures]

    try:
        assert asyncio.run(five_writes()) == [True] * 5
        assert store.sync_future() is None  # everything written is on disk
        assert len(lookups) == 1
        assert store.get(b"k4") == b"v"
    finally:
        store.close()
