"""A tidestream server inside your Python process: ``with tidestream.Server() as ts: ...``.

It runs the real server (the same HTTP stack, engine and services as ``tidestream serve``) on its
own event loop in a background thread, on a free loopback port. A thread rather than a
subprocess because it is ready sooner (measured in docs/testing.md) and needs no interpreter of
its own; clients still talk to it over real HTTP, exactly as they would to AWS.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import urllib.request
from typing import Any

from ..config import Config

#: credentials the embedded server accepts (with ``--auth off`` any well-formed key works)
ACCESS_KEY_ID = "test"
SECRET_ACCESS_KEY = "test"
#: C stack for the server thread: the validators recurse as deep as request nesting allows
_STACK_BYTES = 64 * 1024 * 1024


class Server:
    """A running tidestream for tests and scripts.

    ``data_dir=None`` keeps everything in memory (the default for tests); a path keeps data on
    disk across runs. Any other :class:`~tidestream.config.Config` field can be passed by name
    (``status_delay=0.5``, ``cdc_chaos="duplicate=0.1"``, ...).
    """

    def __init__(
        self,
        data_dir: str | None = None,
        *,
        port: int = 0,
        host: str = "127.0.0.1",
        region: str = "us-east-1",
        **options: Any,
    ) -> None:
        options.setdefault("durability", "relaxed")
        self.config = Config(
            host=host,
            port=port,
            region=region,
            in_memory=data_dir is None,
            data_dir=data_dir or "",
            log_level="WARNING",
            **options,
        )
        self.port = 0
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: Any = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    # lifecycle ---------------------------------------------------------------------------
    def start(self, timeout: float = 30.0) -> Server:
        """Start serving; returns once the server accepts connections."""
        if self._thread is not None:
            return self
        sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
        previous = threading.stack_size(_STACK_BYTES)
        try:
            self._thread = threading.Thread(target=self._serve, name="tidestream-server", daemon=True)
            self._thread.start()
        finally:
            threading.stack_size(previous)
        if not self._ready.wait(timeout):
            raise RuntimeError("tidestream server did not start in time")
        if self._error is not None:
            self._thread.join()
            self._thread = None
            raise RuntimeError(f"tidestream server failed to start: {self._error}") from self._error
        return self

    def _serve(self) -> None:
        from ..runtime import Server as Runtime

        try:
            import uvloop

            loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
        except ImportError:  # pragma: no cover - uvloop is a dependency
            loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            self._server = Runtime(self.config)
            loop.run_until_complete(self._server.run(signals=False, ready=self._on_ready))
        except BaseException as err:  # noqa: BLE001 - handed to the thread that called start()
            self._error = err
        finally:
            self._ready.set()
            loop.close()

    def _on_ready(self, port: int) -> None:
        self.port = port
        self._ready.set()

    def stop(self) -> None:
        """Stop serving and close the store (data on disk stays for the next start)."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        if not loop.is_closed():
            loop.call_soon_threadsafe(self._server.stopping.set)
        thread.join(30)
        self._thread = None

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # for clients -------------------------------------------------------------------------
    @property
    def endpoint_url(self) -> str:
        return f"http://{self.config.host}:{self.port}"

    @property
    def region(self) -> str:
        return self.config.region

    def reset(self) -> None:
        """Wipe all tables and streams (fast: one range delete)."""
        req = urllib.request.Request(
            self.endpoint_url + "/_tidestream/reset",
            method="POST",
            data=b"",
            headers={"X-Tidestream-Admin": "1"},
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            resp.read()

    def client_kwargs(self) -> dict[str, Any]:
        """What boto3.client/resource need to reach this server."""
        return {
            "endpoint_url": self.endpoint_url,
            "region_name": self.region,
            "aws_access_key_id": ACCESS_KEY_ID,
            "aws_secret_access_key": SECRET_ACCESS_KEY,
        }

    def client(self, service: str, **kwargs: Any) -> Any:
        """A boto3 client for ``dynamodb``, ``kinesis`` or ``dynamodbstreams``."""
        import boto3

        return boto3.client(service, **{**self.client_kwargs(), **kwargs})

    def resource(self, service: str = "dynamodb", **kwargs: Any) -> Any:
        import boto3

        return boto3.resource(service, **{**self.client_kwargs(), **kwargs})

    def environ(self) -> dict[str, str]:
        """Environment variables that send code building its own clients to this server."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
        }
