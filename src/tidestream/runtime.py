"""Assembling and running the server: engine, services, HTTP, background tasks, signals."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time

from .config import Config
from .http.app import Application
from .http.server import serve
from .storage.datadir import DataDir, DataDirError
from .storage.engine import RocksEngine

log = logging.getLogger("tidestream")


class Server:
    """One running tidestream: build with a :class:`Config`, then ``await run()``."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.engine: RocksEngine | None = None
        self.stopping = asyncio.Event()
        self.data_dir: DataDir | None = None
        self.kinesis = None

    def _open_engine(self) -> RocksEngine:
        c = self.config
        if c.in_memory:
            return RocksEngine(None, in_memory=True)
        self.data_dir = DataDir(c.data_dir)
        self.data_dir.open()
        return RocksEngine(self.data_dir.store_path, durability=c.durability)

    def build(self) -> Application:
        from .dynamodb.service import build as build_dynamodb
        from .dynamodb.state import Settings
        from .protocol import validator

        c = self.config
        self.engine = engine = self._open_engine()
        ddb_spec, self.dynamodb = build_dynamodb(
            engine, Settings(status_delay=c.status_delay, ttl_interval=c.ttl_interval))
        from .kinesis.service import build as build_kinesis

        kinesis_spec, self.kinesis = build_kinesis(engine, c)
        services = [ddb_spec, kinesis_spec]
        return Application(services, engine, region=c.region, account_id=c.account_id,
                           reset=self.reset if c.reset_endpoint else None,
                           storage_name="memory" if c.in_memory else "rocksdb",
                           validator=validator)

    def reset(self) -> None:
        """Wipe all state (tests call POST /_tidestream/reset between tests)."""
        assert self.engine is not None
        self.engine.delete_range(b"\x00", b"\xff" * 8)
        self.dynamodb.reload()
        if self.kinesis is not None and hasattr(self.kinesis, "reload"):
            self.kinesis.reload()

    async def run(self) -> None:
        c = self.config
        t0 = time.perf_counter()
        app = self.build()
        assert self.engine is not None
        self.engine.start_background()
        server = await serve(app, c.host, c.port)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.stopping.set)
        from .dynamodb.ttl import sweeper

        tasks = [asyncio.ensure_future(sweeper(self.dynamodb, self.stopping))]
        if self.kinesis is not None and hasattr(self.kinesis, "background"):
            tasks.extend(asyncio.ensure_future(c) for c in self.kinesis.background(self.stopping))
        where = "memory" if c.in_memory else os.path.abspath(c.data_dir)
        port = server.sockets[0].getsockname()[1]
        log.info("tidestream listening on http://%s:%d data=%s durability=%s (started in %.0f ms)",
                 c.host, port, where, self.engine.durability, (time.perf_counter() - t0) * 1000)
        await self.stopping.wait()
        server.close()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.engine.close()
        if self.data_dir is not None:
            self.data_dir.close()
        log.info("tidestream stopped")


def run(config: Config) -> None:
    logging.basicConfig(level=getattr(logging, config.log_level.upper(), logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvloop is a dependency; keep running without it
        pass
    try:
        asyncio.run(Server(config).run())
    except DataDirError as err:
        log.error("%s", err)
        raise SystemExit(2)
