"""Assembling and running the server: engine, services, HTTP, background tasks, signals."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import signal
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from .config import Config
from .http.app import AdminRoute, Application
from .http.server import serve
from .storage import keyspace
from .storage.datadir import DataDir, DataDirError
from .storage.engine import RocksEngine, StorageError
from .storage.recovery import open_checked

if TYPE_CHECKING:
    from .http.query import QueryEndpoint
    from .http.sigv4 import Verifier

log = logging.getLogger("tidestream")


class Server:
    """One running tidestream: build with a :class:`Config`, then ``await run()``."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.engine: RocksEngine | None = None
        self.stopping = asyncio.Event()
        self.data_dir: DataDir | None = None

    def _open_engine(self) -> RocksEngine:
        c = self.config
        if c.store is not None:  # the driver is imported only here: the default path never loads it
            from .storage.postgres import PostgresEngine

            # the data dir may hold a Kinesis key file to import into the store (docs/cluster.md)
            os.makedirs(c.data_dir, exist_ok=True)
            return PostgresEngine(c.store, c.durability, cluster=c.cluster)  # type: ignore[return-value]
        if c.in_memory:
            return RocksEngine(None, in_memory=True, block_cache_mb=c.block_cache_mb)
        self.data_dir = DataDir(c.data_dir)
        self.data_dir.open()
        return open_checked(self.data_dir, c.durability, block_cache_mb=c.block_cache_mb)

    def _node_dir(self) -> str | None:
        """Where this node's own files go (Lambda's unpacked code, logs, dead letters): the
        RocksDB data dir, or with ``--store`` the ``--data-dir`` made for node-local files
        (a cache of what the store holds); None in memory (a temporary directory)."""
        if self.data_dir is not None:
            return self.data_dir.path
        return os.path.abspath(self.config.data_dir) if self.config.store is not None else None

    def build(self) -> Application:
        from .cdc.capture import Capture
        from .cdc.metrics import Metrics
        from .cdc.publisher import Chaos, Publisher
        from .dynamodb.service import build as build_dynamodb
        from .dynamodb.state import Settings
        from .dynamodb.tables import Catalog
        from .dynamodbstreams.service import build as build_streams
        from .http.messages import Response
        from .kinesis.service import build as build_kinesis
        from .protocol import validator

        c = self.config
        self.engine = engine = self._open_engine()
        # each part is built from the ones above it: Kinesis, the table catalog, DynamoDB Streams
        # (reads the catalog), change capture (feeds Streams, checks Kinesis streams), DynamoDB
        # (its commits go through the capture), the publisher (outbox -> Kinesis)
        kinesis_spec, self.kinesis = build_kinesis(engine, c)
        catalog = Catalog(engine)
        streams_spec, self.streams = build_streams(engine, catalog)
        self.metrics = Metrics()
        self.capture = Capture(engine, self.metrics, self._stream_problem, catalog.record, self.streams)
        ddb_spec, self.dynamodb = build_dynamodb(
            engine,
            Settings(status_delay=c.status_delay, ttl_interval=c.ttl_interval),
            catalog=catalog,
            capture=self.capture,
            stream_check=self._stream_problem,
            stream_closing=self.streams.sync_table,
        )
        self.publisher = Publisher(
            engine, self.capture, self.kinesis, self.dynamodb, self.metrics, Chaos.parse(c.cdc_chaos)
        )
        verifier = None
        if c.auth == "enforce":
            from .http.sigv4 import make_authenticator

            assert c.credentials is not None  # the command line refuses enforce without it
            verifier = make_authenticator(c.credentials)
        routes = {
            ("GET", "/metrics"): AdminRoute(
                lambda req: Response(
                    200, self.metrics.render().encode(), [("Content-Type", "text/plain; version=0.0.4")]
                )
            )
        }
        rest = self._build_lambda(engine, routes)
        self.lambda_.attach_sources(
            kinesis_spec.operations,
            streams_spec.operations,
            kinesis_waiter=self.kinesis.append_waiter,
            streams_waiter=self.streams.append_waiter,
        )
        if c.console:  # imported only when on: nothing of it is on an API request's path
            from .console import routes as console_routes

            routes.update(console_routes(self.metrics, time.time))
        return Application(
            [ddb_spec, kinesis_spec, streams_spec],
            engine,
            region=c.region,
            account_id=c.account_id,
            query=self._sts_endpoint(verifier),
            reset=self.reset if c.reset_endpoint else None,
            storage_name="postgresql" if c.store else "memory" if c.in_memory else "rocksdb",
            validator=validator,
            authenticator=verifier,
            admin_authenticator=verifier.admin if verifier else None,
            admin_routes=routes,
            rest_services=rest,
        )

    def _build_lambda(self, engine: RocksEngine, routes: dict[tuple[str, str], AdminRoute]) -> list:
        """Lambda (REST-JSON, routed by path) and the download route of its Code.Location."""
        from .http.restjson import RestJsonRouter
        from .lambda_.logs import LOGS_PATH
        from .lambda_.logs import route as logs_route
        from .lambda_.service import build as build_lambda
        from .lambda_.state import CODE_PATH

        spec, self.lambda_ = build_lambda(engine, self.config, self._node_dir())
        routes[("GET", CODE_PATH)] = AdminRoute(self.lambda_.serve_code, signed=False)
        routes[("GET", LOGS_PATH)] = AdminRoute(logs_route(self.lambda_.root))
        return [(spec, RestJsonRouter("lambda"))]

    def _sts_endpoint(self, verifier: Verifier | None) -> QueryEndpoint:
        """STS over the Query protocol; issued keys verify under ``--auth enforce``."""
        from functools import partial

        from .http.query import QueryEndpoint
        from .sts.service import StsService

        self.sts = StsService(verifier.credentials if verifier is not None else None)
        authenticator = (
            None
            if verifier is None
            else partial(
                verifier.verify, service="sts", missing_text="Request is missing Authentication Token"
            )
        )
        return QueryEndpoint(
            "sts",
            self.sts.operations,
            region=self.config.region,
            account_id=self.config.account_id,
            authenticator=authenticator,
            before=self.sts.expire,
        )

    def _stream_problem(self, arn: str) -> str | None:
        """None if a Kinesis stream ARN names an existing stream, else why not (a cluster node
        looks a stream it does not know up in the store: made on another node a moment ago)."""
        from .kinesis.streams import parse_arn

        parsed = parse_arn(arn)
        if parsed is None:
            return f"Invalid Kinesis stream ARN: {arn}"
        stream = self.kinesis.lookup(*parsed)  # a cluster node reads a stream it has not heard of
        if stream is None or stream.status == "DELETING":
            return f"Kinesis stream {arn} not found"
        return None

    def _where(self) -> str:
        """Where the data is, for the start-up log line (no password)."""
        c = self.config
        if c.store is not None:
            from .storage.postgres import redacted

            return redacted(c.store)
        return "memory" if c.in_memory else os.path.abspath(c.data_dir)

    def reset(self) -> None:
        """Wipe all state (tests call POST /_tidestream/reset between tests)."""
        assert self.engine is not None
        self.engine.delete_range(*keyspace.EVERYTHING)
        if self.dynamodb.catalog.announce is not None:  # cluster mode: the other nodes reload too
            self.dynamodb.catalog.announce(b"")
        self.dynamodb.reload()
        self.kinesis.reload()
        self.streams.reload()
        self.lambda_.reset()
        self.metrics.clear()
        self.capture.reset()
        self.publisher.reset()

    def _start_background(self) -> list[asyncio.Future]:
        """Every background loop; those named by a lease run on one node of a cluster at a time
        (storage/leases.py), the others (STS expiry, idle sandboxes) on every node."""
        from functools import partial

        from .dynamodb.pitr import pruner as pitr_pruner
        from .dynamodb.ttl import sweeper
        from .storage.leases import leases_for, while_leading

        jobs = [
            ("ttl-sweeps", partial(sweeper, self.dynamodb)),
            ("cdc-publisher", self.publisher.run),
            (None, self.sts.expiry),
            ("pitr-pruning", partial(pitr_pruner, self.dynamodb)),
            *self.kinesis.background_jobs(),
            *self.streams.background_jobs(),
            *self.lambda_.background_jobs(),
        ]
        leases = leases_for(self.engine)
        return [
            asyncio.ensure_future(
                run(self.stopping) if job is None else while_leading(leases, job, run, self.stopping)
            )
            for job, run in jobs
        ]

    def _ssl_context(self):
        c = self.config
        if not c.tls_cert:
            return None
        import ssl

        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(c.tls_cert, c.tls_key)
        ctx.set_alpn_protocols(["h2", "http/1.1"])
        return ctx

    async def run(self, *, signals: bool = True, ready: Callable[[int], None] | None = None) -> None:
        """Serve until :attr:`stopping` is set. ``signals``: stop on SIGINT/SIGTERM (the main
        thread of the CLI; an embedded server in another thread can't install handlers);
        ``ready``: called with the bound port once the server accepts connections."""
        c = self.config
        t0 = time.perf_counter()
        app = self.build()
        assert self.engine is not None
        self.engine.start_background()
        server = await serve(app, c.host, c.port, self._ssl_context())
        if signals:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, self.stopping.set)
        tasks = self._start_background()
        where = self._where()
        scheme = "https" if c.tls_cert else "http"
        port = server.sockets[0].getsockname()[1]
        self.lambda_.endpoint = f"{scheme}://{_reachable(c.host)}:{port}"
        log.info(
            "tidestream listening on %s://%s:%d data=%s durability=%s (started in %.0f ms)",
            scheme,
            c.host,
            port,
            where,
            self.engine.durability,
            (time.perf_counter() - t0) * 1000,
        )
        exposure = exposure_warning(c)
        if exposure:
            log.warning("%s", exposure)
        if ready is not None:
            ready(port)
        _release_startup_memory()
        _keep_large_buffers()
        await self.stopping.wait()
        server.close()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.lambda_.close()
        try:  # change capture's inline appends leave shard counter rows behind (kinesis/records.py)
            self.kinesis.save_counters()
        except StorageError as err:  # a dying disk: the next start recovers them from the records
            log.warning("shard counters not saved at stop: %s", err)
        self.engine.close()
        if self.data_dir is not None:
            self.data_dir.close()
        log.info("tidestream stopped")


def _release_startup_memory() -> None:
    """Give the C heap's free pages back to the OS once serving starts. Compiling and importing
    the modules at start leaves megabytes of freed memory that glibc keeps (RSS 44.5 -> ~41 MiB
    idle); ``malloc_trim`` is glibc's, so elsewhere this does nothing."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


#: glibc's ``mallopt`` parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
#: buffers up to this size come from the C heap and are reused; larger ones are mapped
_HEAP_BUFFER_BYTES = 16 * 1024 * 1024


def _keep_large_buffers() -> None:
    """Multi-MB buffers (a GetRecords page of 10,000 records is ~4 MB of JSON, copied a few
    times on its way out) from glibc's heap, reused, rather than mapped fresh and unmapped when
    freed, which makes the kernel fault in every page of them again for each response: on a
    200k-record drain the server's CPU fell by ~20% (system time 0.18 -> 0.11 s), for up to
    32 MB of freed heap kept (RSS after that drain 76 -> 90 MB; idle RSS is unchanged).
    glibc only; elsewhere this does nothing."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, _HEAP_BUFFER_BYTES)
        libc.mallopt(_M_TRIM_THRESHOLD, 2 * _HEAP_BUFFER_BYTES)
    except (OSError, AttributeError):
        pass


def exposure_warning(config: Config) -> str | None:
    """The startup warning for a server others can reach with no authentication (None if safe).

    Anyone on the network could then read, change and wipe every table and stream, so the
    warning says so plainly and names the two ways out."""
    if config.auth == "enforce" or _is_loopback(config.host):
        return None
    return (
        "!!! SECURITY WARNING: listening on %s WITHOUT AUTHENTICATION: anyone who can reach "
        "this port can read and change all tables and streams%s. Use --host 127.0.0.1, or "
        "--auth enforce --credentials FILE (see docs/security.md). !!!"
        % (config.host, " and wipe everything (POST /_tidestream/reset)" if config.reset_endpoint else "")
    )


def _reachable(host: str) -> str:
    """The address a local process reaches the server at (functions' AWS_ENDPOINT_URL)."""
    if host in ("0.0.0.0", "", "::"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve to anything


class JsonLogFormatter(logging.Formatter):
    """``--log-format json``: one JSON object per line, for log shippers (Loki, ELK, CloudWatch)
    that would otherwise have to parse free text."""

    converter = time.gmtime  # type: ignore[assignment]  # logging's documented way to log in UTC

    def format(self, record: logging.LogRecord) -> str:
        import orjson

        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry).decode()


def configure_logging(config: Config) -> None:
    """Plain text lines (default, local time as before) or JSON lines (UTC), on stderr."""
    handler = logging.StreamHandler()
    if config.log_format == "json":
        formatter: logging.Formatter = JsonLogFormatter()
    else:
        formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handler.setFormatter(formatter)
    logging.basicConfig(
        level=getattr(logging, config.log_level.upper(), logging.INFO), handlers=[handler], force=True
    )


def run(config: Config) -> None:
    # Request parsers bound nesting (orjson: 1024 levels, cbor2: 400); the recursive validators
    # and item code must outlast that depth so hostile input is answered, never a RecursionError
    import sys

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    configure_logging(config)
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvloop is a dependency; keep running without it
        pass
    try:
        asyncio.run(Server(config).run())
    except (DataDirError, StorageError) as err:  # refuse to start, clearly: no traceback
        log.error("%s", err)
        raise SystemExit(2)
